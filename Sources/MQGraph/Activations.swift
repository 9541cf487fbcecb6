// Float reference of the elementwise activations, computed in Double and numerically
// stable for every finite input: the LUT-able ones call mq_activation_eval (csrc/host,
// mq_host.h), the one definition shared with the LUT builder; ReLU/Clip are done here.

import MicroQuantC

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@inline(__always) func mqExp(_ x: Double) -> Double { exp(x) }

extension Op {
    /// The csrc activation descriptor of a LUT-able activation op (sigmoid, silu, tanh, hardSigmoid,
    /// hardSwish, gelu), or nil for every other op. The float executor evaluates these ops through
    /// `mq_activation_eval` with this descriptor, and the LUT builder (`mq_lut_build`) tabulates the
    /// same definition, so the float reference and the device tables agree by construction.
    public var activationDescriptor: mq_activation_desc? {
        switch self {
        case .sigmoid: return mq_activation_desc(fn: MQ_ACT_SIGMOID, alpha: 0, beta: 0)
        case .silu: return mq_activation_desc(fn: MQ_ACT_SILU, alpha: 0, beta: 0)
        case .tanh: return mq_activation_desc(fn: MQ_ACT_TANH, alpha: 0, beta: 0)
        case .hardSigmoid(let a, let b): return mq_activation_desc(fn: MQ_ACT_HARDSIGMOID, alpha: Double(a), beta: Double(b))
        case .hardSwish: return mq_activation_desc(fn: MQ_ACT_HARDSWISH, alpha: 0, beta: 0)
        case .gelu: return mq_activation_desc(fn: MQ_ACT_GELU, alpha: 0, beta: 0)
        default: return nil
        }
    }

    /// The value of an elementwise activation op at x (Double precision):
    /// relu, clip, identity here; sigmoid, silu, hardSigmoid, hardSwish, tanh and gelu (exact erf
    /// form) through `mq_activation_eval` (csrc/host). Returns nil for ops that are not elementwise
    /// activations.
    public func activation(_ x: Double) -> Double? {
        switch self {
        case .relu: return x > 0 ? x : 0
        case .clip(let lo, let hi): return Swift.min(Swift.max(x, Double(lo)), Double(hi))
        case .identity: return x
        default:
            guard var d = activationDescriptor else { return nil }
            return mq_activation_eval(&d, x)
        }
    }
}

/// Applies an elementwise activation op in place (values computed in Double, stored as Float).
func applyActivation(_ op: Op, _ p: UnsafeMutableBufferPointer<Float>) {
    switch op {
    case .relu:
        for i in 0..<p.count where !(p[i] > 0) { p[i] = 0 }
    case .clip(let lo, let hi):
        for i in 0..<p.count { p[i] = Swift.min(Swift.max(p[i], lo), hi) }
    case .identity:
        break
    default:
        guard var d = op.activationDescriptor else { preconditionFailure("\(op.kind) is not an activation") }
        for i in 0..<p.count { p[i] = Float(mq_activation_eval(&d, Double(p[i]))) }
    }
}
