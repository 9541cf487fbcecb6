/*
 * MicroQuant: status codes shared by every kernel, the loader and the interpreter.
 * No function in csrc/ has undefined behaviour on bad arguments: it returns one of these.
 */
#ifndef MICROQUANT_MQ_STATUS_H
#define MICROQUANT_MQ_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    MQ_OK = 0,
    MQ_ERR_NULL = 1,          /* a required pointer was NULL */
    MQ_ERR_SHAPE = 2,         /* dimensions are zero, negative, inconsistent or too large */
    MQ_ERR_QPARAMS = 3,       /* scale, zero point, multiplier, shift or clamp range out of range */
    MQ_ERR_DTYPE = 4,         /* a data type the operation does not support */
    MQ_ERR_BUFFER = 5,        /* a caller-provided buffer (scratch, arena, output) is too small */
    MQ_ERR_ALIGN = 6,         /* a pointer or offset is not aligned as required */
    MQ_ERR_FORMAT_MAGIC = 16, /* not a MicroQuant model (bad magic) */
    MQ_ERR_FORMAT_VERSION = 17, /* format or minimum runtime version not supported */
    MQ_ERR_FORMAT_SIZE = 18,  /* blob truncated, or a declared size disagrees with the blob */
    MQ_ERR_FORMAT_CRC = 19,   /* CRC-32 mismatch */
    MQ_ERR_FORMAT_BOUNDS = 20, /* an offset or length points outside its section or the blob */
    MQ_ERR_FORMAT_TENSOR = 21, /* a tensor record is invalid (dtype, rank, shape, qparams) */
    MQ_ERR_FORMAT_OP = 22,    /* an op record is invalid (ids, shapes, parameters) */
    MQ_ERR_UNSUPPORTED_OP = 23, /* an op type this runtime does not implement */
    MQ_ERR_ARENA = 24,        /* arena too small, misaligned, or a tensor outside it */
    MQ_ERR_INDEX = 25         /* input/output index out of range */
} mq_status;

/* A short, human-readable, static English description of a status code. Never NULL. */
const char *mq_status_str(mq_status status);

#ifdef __cplusplus
}
#endif

#endif /* MICROQUANT_MQ_STATUS_H */
