/* rpi-pico: the 256-byte second-stage boot loader slot at the start of flash (0x10000000).
 *
 * The RP2040 boot ROM copies these 256 bytes to SRAM and executes them only if the CRC-32 in the
 * last 4 bytes matches; boot2 configures the QSPI flash for execute-in-place and jumps to the
 * vector table at 0x10000100. Building with -DMQ_PICO_BOOT2=/path/boot2.bin embeds such a
 * boot2 (for example the padded, checksummed boot2 that the Pico SDK builds for the board's
 * flash chip). Without it the slot is zero-filled: the ROM's CRC check fails and it falls back
 * to USB BOOTSEL mode, so that image does NOT boot (it is cross-compiled only in the tests). */
    .section .boot2, "ax", %progbits
#ifdef MQ_PICO_BOOT2_FILE
    .incbin MQ_PICO_BOOT2_FILE
#else
    .space 256, 0
#endif
    .section .note.GNU-stack, "", %progbits
