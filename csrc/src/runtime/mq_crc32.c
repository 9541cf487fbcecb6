/*
 * MicroQuant: CRC-32 (IEEE 802.3), reflected polynomial 0xEDB88320, init and final xor 0xFFFFFFFF
 * (the zlib / PNG / Ethernet CRC). Nibble-table variant: 64 bytes of table, two steps per byte,
 * a compromise between code size and speed for the one pass the loader makes over the blob.
 */
#include "mq_format.h"

static const uint32_t mq_crc32_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
    0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu, 0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t mq_crc32(const void *data, size_t n)
{
    const uint8_t *p = (const uint8_t *)data;
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    if (p == NULL) {
        return 0u;
    }
    for (i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ mq_crc32_nibble[crc & 15u];
        crc = (crc >> 4) ^ mq_crc32_nibble[crc & 15u];
    }
    return crc ^ 0xFFFFFFFFu;
}
