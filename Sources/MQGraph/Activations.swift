// Float reference of the elementwise activations, computed in Double and numerically
// stable for every finite input (sigmoid through exp(-|x|)); the same definitions as
// mq_activation_eval in csrc (mq_host.h) and ONNX's operator specs.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@inline(__always) func mqExp(_ x: Double) -> Double { exp(x) }

/// Stable logistic sigmoid: 1 / (1 + exp(-x)) without overflow for any finite x.
@inline(__always) public func stableSigmoid(_ x: Double) -> Double {
    if x >= 0 {
        return 1 / (1 + exp(-x))
    }
    let e = exp(x)
    return e / (1 + e)
}

extension Op {
    /// The value of an elementwise activation op at x (Double precision):
    /// relu, clip, sigmoid, silu, hardSigmoid, hardSwish, tanh, gelu (exact erf form), identity.
    /// Returns nil for ops that are not elementwise activations.
    public func activation(_ x: Double) -> Double? {
        switch self {
        case .relu: return x > 0 ? x : 0
        case .clip(let lo, let hi): return Swift.min(Swift.max(x, Double(lo)), Double(hi))
        case .sigmoid: return stableSigmoid(x)
        case .silu: return x * stableSigmoid(x)
        case .hardSigmoid(let a, let b): return Swift.max(0, Swift.min(1, Double(a) * x + Double(b)))
        case .hardSwish: return x * Swift.max(0, Swift.min(1, x / 6 + 0.5))
        case .tanh: return libmTanh(x)
        case .gelu: return 0.5 * x * (1 + erf(x / 2.0.squareRoot()))
        case .identity: return x
        default: return nil
        }
    }
}

@inline(__always) private func libmTanh(_ x: Double) -> Double { tanh(x) }

/// Applies an elementwise activation op in place (values computed in Double, stored as Float).
func applyActivation(_ op: Op, _ p: UnsafeMutableBufferPointer<Float>) {
    switch op {
    case .relu:
        for i in 0..<p.count where !(p[i] > 0) { p[i] = 0 }
    case .clip(let lo, let hi):
        for i in 0..<p.count { p[i] = Swift.min(Swift.max(p[i], lo), hi) }
    case .sigmoid:
        for i in 0..<p.count { p[i] = Float(stableSigmoid(Double(p[i]))) }
    case .silu:
        for i in 0..<p.count { let x = Double(p[i]); p[i] = Float(x * stableSigmoid(x)) }
    default:
        for i in 0..<p.count { p[i] = Float(op.activation(Double(p[i]))!) }
    }
}
