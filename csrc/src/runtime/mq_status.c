/* mq_status_str: a static English description for every mq_status code. */
#include "microquant/mq_status.h"

const char *mq_status_str(mq_status status)
{
    switch (status) {
    case MQ_OK: return "ok";
    case MQ_ERR_NULL: return "a required pointer was NULL";
    case MQ_ERR_SHAPE: return "dimensions are zero, negative, inconsistent or too large";
    case MQ_ERR_QPARAMS: return "scale, zero point, multiplier, shift or clamp range out of range";
    case MQ_ERR_DTYPE: return "data type not supported by the operation";
    case MQ_ERR_BUFFER: return "a caller-provided buffer is too small or overlaps another";
    case MQ_ERR_ALIGN: return "a pointer or offset is not aligned as required";
    case MQ_ERR_FORMAT_MAGIC: return "not a MicroQuant model (bad magic)";
    case MQ_ERR_FORMAT_VERSION: return "model format or minimum runtime version not supported";
    case MQ_ERR_FORMAT_SIZE: return "model blob truncated, or a declared size disagrees with the blob";
    case MQ_ERR_FORMAT_CRC: return "model CRC-32 mismatch";
    case MQ_ERR_FORMAT_BOUNDS: return "an offset or length in the model points outside its section or the blob";
    case MQ_ERR_FORMAT_TENSOR: return "invalid tensor record in the model (dtype, rank, shape, qparams)";
    case MQ_ERR_FORMAT_OP: return "invalid op record in the model (ids, shapes, parameters)";
    case MQ_ERR_UNSUPPORTED_OP: return "op type not implemented by this runtime";
    case MQ_ERR_ARENA: return "arena too small or misaligned, or a tensor lies outside it";
    case MQ_ERR_INDEX: return "input/output index out of range";
    }
    return "unknown status code";
}
