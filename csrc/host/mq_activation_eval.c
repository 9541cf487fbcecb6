/* mq_activation_eval: numerically stable float64 activation functions (finite for every finite x). */
#include <float.h>
#include <math.h>

#include "microquant/mq_host.h"

/* log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|)). */
static double mq_softplus(double x)
{
    return (x > 0.0 ? x : 0.0) + log1p(exp(-fabs(x)));
}

/* 1 / (1 + exp(-x)) through exp(-|x|) (never overflows). */
static double mq_sigmoid(double x)
{
    const double e = exp(-fabs(x));
    return x >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}

double mq_activation_eval(const mq_activation_desc *fn, double x)
{
    if (fn == NULL) {
        return x;
    }
    switch (fn->fn) {
    case MQ_ACT_IDENTITY:
        return x;
    case MQ_ACT_SIGMOID:
        return mq_sigmoid(x);
    case MQ_ACT_SILU:
        return x * mq_sigmoid(x);
    case MQ_ACT_TANH:
        return tanh(x);
    case MQ_ACT_HARDSIGMOID: {
        const double v = fn->alpha * x + fn->beta;
        return v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v);
    }
    case MQ_ACT_HARDSWISH: {
        /* x * relu6(x + 3) / 6, with the saturated ends returned directly (no x * 6 overflow). */
        if (x <= -3.0) {
            return 0.0;
        }
        if (x >= 3.0) {
            return x;
        }
        return x * (x + 3.0) / 6.0;
    }
    case MQ_ACT_GELU:
        /* x * Phi(x) = x/2 * erfc(-x/sqrt(2)): erfc keeps the relative precision for large negative x. */
        return 0.5 * x * erfc(-x / sqrt(2.0));
    case MQ_ACT_ELU:
        return x > 0.0 ? x : fn->alpha * expm1(x);
    case MQ_ACT_MISH:
        return x * tanh(mq_softplus(x));
    case MQ_ACT_EXP:
        /* exp saturates at DBL_MAX instead of overflowing to inf. */
        return x >= log(DBL_MAX) ? DBL_MAX : exp(x);
    case MQ_ACT_RELU:
        return x > 0.0 ? x : 0.0;
    case MQ_ACT_RELU6:
        return x > 0.0 ? (x < 6.0 ? x : 6.0) : 0.0;
    }
    return x;
}
