// Quantization of the convolutional op set (issue 10) into the quantized IR's conv, depthwise, pooling,
// mean, pad, concat and mul ops. Same rules as the GEMM layers (docs/CALIBRATION.md): int8 weights
// symmetric per output channel, int32 bias at in_scale * w_scale[c], Q31 multipliers from the C host
// library, fused clamp and LUT epilogue.

import Foundation
import MQCalibration
import MQGraph
import MicroQuantC

enum ConvQuantizer {
    static func window(_ w: Window2D) -> QWindow {
        QWindow(kernelH: w.kernelH, kernelW: w.kernelW, strideH: w.strideH, strideW: w.strideW,
                dilationH: w.dilationH, dilationW: w.dilationW,
                padTop: w.padTop, padBottom: w.padBottom, padLeft: w.padLeft, padRight: w.padRight)
    }

    static func multiplier(_ real: Double, _ what: @autoclosure () -> String) throws -> (Int32, Int32) {
        var m: Int32 = 0, s: Int32 = 0
        try check(mq_quantize_multiplier(real, &m, &s), "mq_quantize_multiplier", what())
        return (m, s)
    }

    /// A KxK / depthwise convolution or an affine layer (as a 1x1 depthwise convolution) with its fused
    /// clamp and LUT: `outQ` is the requantization target (the LUT's input qparams when `lut` is set).
    static func layer(_ layer: Node, inShape: [Int], inQ: QParams, outQ: QParams, clamp: Op?, lut: [UInt8]?, lutName: String?,
                      weights: WeightOptions) throws -> QOp {
        let (lo, hi) = Quantizer.clampRange(clamp, outQ)
        switch layer.op {
        case .conv(let c) where !c.isDepthwise:
            var g = try Quantizer.prepareGemm(layer: layer, inQ: inQ, outQ: outQ, clamp: clamp, weights: weights, inputMean: nil)
            g.lut = lut
            g.lutName = lutName
            return .conv(QConv(window: window(c.window), inC: inShape.last ?? 0, gemm: g))
        case .conv(let c):
            let n = c.outChannels, taps = c.window.kernelH * c.window.kernelW
            return .depthwiseConv(try depthwise(name: layer.name, weightRows: c.weight.data, n: n, taps: taps, bias: c.bias?.data,
                                                given: weights.givenScales[layer.name],
                                                window: window(c.window), inC: c.group, inQ: inQ, outQ: outQ, lo: lo, hi: hi,
                                                lut: lut, weights: weights))
        case .affine(let scale, let shift):
            guard inShape.count == 4, let ch = inShape.last else {
                throw QuantizationError.unsupported(node: layer.name, reason: "a per-channel multiply/add of a rank-\(inShape.count) tensor \(shapeString(inShape)) (the device runs it as a 1x1 depthwise convolution of a rank-4 NHWC tensor)")
            }
            let w: [Float] = (0..<ch).map { i in scale.map { $0.data.count == 1 ? $0.data[0] : $0.data[i] } ?? 1 }
            let b = shift.map { t in (0..<ch).map { t.data.count == 1 ? t.data[0] : t.data[$0] } }
            return .depthwiseConv(try depthwise(name: layer.name, weightRows: w, n: ch, taps: 1, bias: b,
                                                window: QWindow(kernelH: 1, kernelW: 1, strideH: 1, strideW: 1), inC: ch,
                                                inQ: inQ, outQ: outQ, lo: lo, hi: hi, lut: lut, weights: weights))
        default:
            throw QuantizationError.internalError("ConvQuantizer.layer on \(layer.op.kind)")
        }
    }

    /// Depthwise weights given as rows [n][taps] (the IR's [out, kh, kw, 1]) -> QDepthwise (weights [taps][n]).
    static func depthwise(name: String, weightRows: [Float], n: Int, taps: Int, bias: [Float]?, given: [Float]? = nil, window: QWindow, inC: Int,
                          inQ: QParams, outQ: QParams, lo: Int32, hi: Int32, lut: [UInt8]?, weights: WeightOptions) throws -> QDepthwise {
        let (codes, scales) = given.flatMap { quantizeWeightsWithScales(weightRows, n: n, k: taps, scales: $0) }
            ?? quantizeWeightsPerChannel(weightRows, n: n, k: taps, options: WeightOptions(method: weights.method))
        var hwo = [Int8](repeating: 0, count: n * taps)
        for o in 0..<n { for t in 0..<taps { hwo[t * n + o] = codes[o * taps + t] } }
        var bq = [Int32](repeating: 0, count: n), mult = bq, shift = bq
        for c in 0..<n {
            let bs = Double(inQ.scale) * Double(scales[c])
            if let b = bias {
                let v = (Double(b[c]) / bs).rounded(.toNearestOrEven)
                guard abs(v) < 2147483647 else {
                    throw QuantizationError.unsupported(node: name, reason: "bias[\(c)] = \(b[c]) does not fit int32 at scale \(bs)")
                }
                bq[c] = Int32(v)
            }
            (mult[c], shift[c]) = try multiplier(weights.requantScale(inQ.scale, scales[c], outQ.scale), "'\(name)' channel \(c)")
        }
        return QDepthwise(window: window, inC: inC, depthMultiplier: n / max(inC, 1), weights: hwo, weightScales: scales, bias: bq,
                          multipliers: mult, shifts: shift, outZeroPoint: outQ.zeroPoint, actMin: lo, actMax: hi, lut: lut)
    }

    /// Pooling, mean, pad, concat and mul.
    /// `onnxRuntimeMean` (QDQ models): the mean and the mul follow onnxruntime's one-rounding arithmetic.
    static func other(_ kind: PlannedOp.Kind, inputs: [QTensor], output: QTensor, onnxRuntimeMean: Bool = false) throws -> QOp {
        let o = output.qparams
        switch kind {
        case .pool(let node):
            guard inputs[0].qparams == o else { throw QuantizationError.internalError("pool '\(node.name)': qparams differ") }
            switch node.op {
            case .averagePool(let p): return .averagePool(QPool(window: window(p.window), actMin: o.dtype.qmin, actMax: o.dtype.qmax))
            case .maxPool(let p): return .maxPool(QPool(window: window(p.window), actMin: o.dtype.qmin, actMax: o.dtype.qmax))
            default: throw QuantizationError.internalError("pool on \(node.op.kind)")
            }
        case let .mean(node, clamp):
            let x = inputs[0]
            guard x.shape.count == 4 else { throw QuantizationError.unsupported(node: node.name, reason: "mean input must be NHWC") }
            let (lo, hi) = Quantizer.clampRange(clamp?.op, o)
            // TFLite's MEAN arithmetic: 1/(h*w) folded into the multiplier (mq_mean_prepare)
            var p = mq_mean_params()
            try check(mq_mean_prepare(Int32(x.shape[0]), Int32(x.shape[1]), Int32(x.shape[2]), Int32(x.shape[3]),
                                      Double(x.qparams.scale), x.qparams.zeroPoint, x.qparams.dtype.c,
                                      Double(o.scale), o.zeroPoint, o.dtype.c, lo, hi, &p), "mq_mean_prepare", "mean '\(node.name)'")
            if onnxRuntimeMean {
                // Pre-quantized (QDQ) models: onnxruntime's QLinearGlobalAveragePool / QLinearAveragePool round
                // acc * s_in / (n * s_out) once, to nearest; TFLite's folded multiplier (normalized, shift < 0)
                // rounds twice, the first time to 2^shift of a code. With shift 0 and the multiplier
                // round(2^31 * s) (not normalized; mq_mean allows [0, 2^31)) mq_requantize rounds once:
                // out = zp_out + round_half_away(acc * M / 2^31), docs/QUANTIZATION.md "QDQ mean".
                let n = Double(x.shape[1] * x.shape[2])
                let real = Double(Float(x.qparams.scale) / (Float(o.scale) * Float(n)))   // onnxruntime's float32 scale
                var sh: Int32 = 0
                while real * pow(2, 31 - Double(sh)) >= 2147483647.5 && sh < 30 { sh += 1 }
                let m = (real * pow(2, 31 - Double(sh))).rounded()
                if m >= 1 && m < 2147483648 {
                    return .mean(QMean(multiplier: Int32(m), shift: sh, actMin: lo, actMax: hi))
                }
            }
            return .mean(QMean(multiplier: p.multiplier, shift: p.shift, actMin: lo, actMax: hi))
        case .pad(let node):
            guard case let .pad(before, after, _) = node.op else { throw QuantizationError.internalError("pad") }
            return .pad(before: before, after: after)
        case .concat(let node):
            guard case .concat(let axis) = node.op else { throw QuantizationError.internalError("concat") }
            for t in inputs where t.qparams != o {
                throw QuantizationError.unsupported(node: node.name, reason: "input '\(t.name)' has qparams other than the output's; a requantize before the concat is not implemented yet")
            }
            return .concat(axis: axis)
        case let .mul(node, clamp):
            let a = inputs[0], b = inputs[1]
            let bc: QMul.Broadcast
            switch Op.mulBroadcast(a.shape, b.shape) {
            case .none?: bc = .none
            case .scalar?: bc = .scalar
            case .channel?: bc = .channel(a.shape.last ?? 1)
            case nil: throw QuantizationError.unsupported(node: node.name, reason: "operands \(shapeString(a.shape)) x \(shapeString(b.shape)) do not broadcast")
            }
            // QDQ models: onnxruntime's QLinearMul rounds float32(prod) * float32(s1 * s2 / s_out) once; the
            // float32 ratio has 24 significant bits, so its Q31 multiplier is exact and mq_requantize_single
            // rounds the exact product once (docs/QUANTIZATION.md section 7d)
            let ratio = onnxRuntimeMean ? Double(a.qparams.scale * b.qparams.scale / o.scale)
                                        : Double(a.qparams.scale) * Double(b.qparams.scale) / Double(o.scale)
            let (m, s) = try multiplier(ratio, "mul '\(node.name)'")
            let (lo, hi) = Quantizer.clampRange(clamp?.op, o)
            return .mul(QMul(multiplier: m, shift: s, actMin: lo, actMax: hi, broadcast: bc, singleRounding: onnxRuntimeMean))
        default:
            throw QuantizationError.internalError("ConvQuantizer.other")
        }
    }
}
