// Parameters of the convolutional op set of the float IR (issue 10): KxK and depthwise
// convolution, average / max pooling, mean over axes, constant padding, concatenation,
// elementwise multiply and per-channel affine. All spatial ops are NHWC (channels last),
// the layout the device runs; the importer places transposes (which cancel) around them.

/// A 2-D sliding window over the H and W axes of an NHWC tensor.
/// Output size per axis: out = (in + padBefore + padAfter - dilation * (kernel - 1) - 1) / stride + 1
/// (floor division; must be >= 1), the formula of mq_window (csrc/include/microquant/mq_kernels.h).
public struct Window2D: Sendable, Hashable {
    public var kernelH: Int, kernelW: Int
    public var strideH: Int, strideW: Int
    public var dilationH: Int, dilationW: Int
    /// Padding in pixels, each side separately (TF "SAME" is asymmetric).
    public var padTop: Int, padLeft: Int, padBottom: Int, padRight: Int

    public init(kernelH: Int, kernelW: Int, strideH: Int = 1, strideW: Int = 1, dilationH: Int = 1, dilationW: Int = 1,
                padTop: Int = 0, padLeft: Int = 0, padBottom: Int = 0, padRight: Int = 0) {
        self.kernelH = kernelH; self.kernelW = kernelW
        self.strideH = strideH; self.strideW = strideW
        self.dilationH = dilationH; self.dilationW = dilationW
        self.padTop = padTop; self.padLeft = padLeft; self.padBottom = padBottom; self.padRight = padRight
    }

    /// True when every field is in a sane range (kernel, stride, dilation in 1..2^16, pads in 0..2^16).
    public var isValid: Bool {
        let pos = [kernelH, kernelW, strideH, strideW, dilationH, dilationW]
        let pads = [padTop, padLeft, padBottom, padRight]
        return pos.allSatisfy { $0 >= 1 && $0 <= 1 << 16 } && pads.allSatisfy { $0 >= 0 && $0 <= 1 << 16 }
    }

    /// Output spatial size for an h x w input, or nil when it would be < 1 or the window is invalid.
    public func outputSize(h: Int, w: Int) -> (h: Int, w: Int)? {
        guard isValid else { return nil }
        let eh = h + padTop + padBottom - dilationH * (kernelH - 1) - 1
        let ew = w + padLeft + padRight - dilationW * (kernelW - 1) - 1
        guard eh >= 0, ew >= 0 else { return nil }
        return (eh / strideH + 1, ew / strideW + 1)
    }
}

/// A 2-D convolution in NHWC, group 1 (dense) or group = input channels (depthwise, with a channel
/// multiplier: output channel o reads input channel o / multiplier).
/// out[n, oy, ox, o] = bias[o] + sum_{ky, kx, c} x[n, oy*sh - pt + ky*dh, ox*sw - pl + kx*dw, g(o)*cg + c] * weight[o, ky, kx, c]
/// with cg = input channels per group, g(o) = o / (out / group); taps outside the input read zero.
public struct Conv2D: Sendable, Hashable {
    /// Weights [out, kernelH, kernelW, in / group] (OHWI, TFLite's CONV_2D layout; the ONNX
    /// [out, in / group, kh, kw] kernel transposed).
    public var weight: ConstantTensor
    /// Bias [out], or nil.
    public var bias: ConstantTensor?
    /// Kernel size, strides, dilations and padding (kernel must match the weight shape).
    public var window: Window2D
    /// 1 (dense) or the number of input channels (depthwise).
    public var group: Int

    public init(weight: ConstantTensor, bias: ConstantTensor?, window: Window2D, group: Int = 1) {
        self.weight = weight
        self.bias = bias
        self.window = window
        self.group = group
    }

    /// Output channels.
    public var outChannels: Int { weight.shape.first ?? 0 }
    /// Input channels read by one output channel.
    public var inChannelsPerGroup: Int { weight.shape.count == 4 ? weight.shape[3] : 0 }
    /// True for group > 1 (depthwise: one input channel per group).
    public var isDepthwise: Bool { group > 1 }
    /// Output channels per input channel of a depthwise conv (1 for dense).
    public var depthMultiplier: Int { group > 1 ? outChannels / group : 1 }
}

/// Average or max pooling window (NHWC, per channel).
public struct Pool2D: Sendable, Hashable {
    /// Kernel, strides and padding (dilation 1).
    public var window: Window2D
    /// Average pooling only: divide by the full kernel size including padded taps (ONNX
    /// count_include_pad = 1) instead of the number of taps inside the input (the default, and TFLite's).
    public var countIncludePad: Bool

    public init(window: Window2D, countIncludePad: Bool = false) {
        self.window = window
        self.countIncludePad = countIncludePad
    }
}

/// Output shape rules of the convolutional op set (called from `Op.outputShape`).
extension Op {
    func convSetOutputShape(inputs: [[Int]], fail: (String) -> GraphError) throws -> [Int] {
        let x = inputs[0]
        switch self {
        case .conv(let c):
            guard c.weight.shape.count == 4 else { throw fail("weight must be [out, kh, kw, in/group], got \(shapeString(c.weight.shape))") }
            guard x.count == 4 else { throw fail("input must be NHWC (rank 4)") }
            guard c.window.kernelH == c.weight.shape[1], c.window.kernelW == c.weight.shape[2] else {
                throw fail("kernel \(c.window.kernelH)x\(c.window.kernelW) does not match the weight \(shapeString(c.weight.shape))")
            }
            guard c.group >= 1, x[3] % c.group == 0, x[3] / c.group == c.inChannelsPerGroup,
                  c.outChannels >= 1, c.outChannels % c.group == 0 else {
                throw fail("\(x[3]) input channels do not fit group \(c.group) and weight \(shapeString(c.weight.shape))")
            }
            guard c.group == 1 || c.inChannelsPerGroup == 1 else { throw fail("only group 1 or depthwise (group = input channels) is supported") }
            if let b = c.bias, b.shape != [c.outChannels] { throw fail("bias must be [\(c.outChannels)], got \(shapeString(b.shape))") }
            guard let o = c.window.outputSize(h: x[1], w: x[2]) else { throw fail("output would be empty or the window is invalid") }
            return [x[0], o.h, o.w, c.outChannels]
        case .averagePool(let p), .maxPool(let p):
            guard x.count == 4 else { throw fail("input must be NHWC (rank 4)") }
            guard p.window.dilationH == 1, p.window.dilationW == 1 else { throw fail("pooling has no dilation") }
            guard p.window.padTop < p.window.kernelH, p.window.padBottom < p.window.kernelH,
                  p.window.padLeft < p.window.kernelW, p.window.padRight < p.window.kernelW else {
                throw fail("padding must be smaller than the kernel")
            }
            guard let o = p.window.outputSize(h: x[1], w: x[2]) else { throw fail("output would be empty or the window is invalid") }
            return [x[0], o.h, o.w, x[3]]
        case .mean(let axes):
            guard !axes.isEmpty, Set(axes).count == axes.count, axes.allSatisfy({ $0 >= 0 && $0 < x.count }) else {
                throw fail("axes \(axes) out of range or repeated")
            }
            var s = x
            for a in axes { s[a] = 1 }
            return s
        case .pad(let before, let after, let value):
            guard before.count == x.count, after.count == x.count else { throw fail("pads need \(x.count) values per side") }
            guard (before + after).allSatisfy({ $0 >= 0 && $0 <= 1 << 16 }) else { throw fail("pads must be in 0...65536") }
            guard value.isFinite else { throw fail("pad value must be finite") }
            return zip(x, zip(before, after)).map { $0 + $1.0 + $1.1 }
        case .concat(let axis):
            guard axis >= 0, axis < x.count else { throw fail("axis \(axis) out of range") }
            var total = 0
            for s in inputs {
                guard s.count == x.count, s.indices.allSatisfy({ $0 == axis || s[$0] == x[$0] }) else {
                    throw fail("inputs \(shapeString(x)) and \(shapeString(s)) differ outside axis \(axis)")
                }
                total += s[axis]
            }
            var out = x
            out[axis] = total
            return out
        case .mul:
            let b = inputs[1]
            guard Op.mulBroadcast(x, b) != nil else {
                throw fail("second operand \(shapeString(b)) must have the same shape, one value per channel (last axis) or one value")
            }
            return x
        case .affine(let scale, let shift):
            guard let c = x.last else { throw fail("needs rank >= 1") }
            for t in [scale, shift].compactMap({ $0 }) where t.shape != [c] && t.shape != [1] {
                throw fail("scale/shift must be [\(c)] (channels, last axis) or [1], got \(shapeString(t.shape))")
            }
            return x
        default:
            throw GraphError.malformed("convSetOutputShape on \(kind)")
        }
    }

    /// How the second operand of `mul` broadcasts over the first: .none (same shape), .channel (one value
    /// per element of the last axis, every other dimension 1), .scalar (one value); nil otherwise.
    public static func mulBroadcast(_ a: [Int], _ b: [Int]) -> MulBroadcast? {
        if a == b { return MulBroadcast.none }
        if b.allSatisfy({ $0 == 1 }) { return .scalar }
        if b.count == a.count, let l = a.last, b.last == l, b.dropLast().allSatisfy({ $0 == 1 }) { return .channel }
        return nil
    }
}

/// Broadcast of the second operand of `Op.mul`.
public enum MulBroadcast: Sendable, Equatable {
    case none, channel, scalar
}
