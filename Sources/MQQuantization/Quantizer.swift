// Quantizer: float graph + observers -> QuantizedModel. All arithmetic that must agree with the
// device (multipliers, bias folding, packing, LUTs, softmax constants, add parameters) is done by the
// C host library (mq_host.h) so there is one definition of each formula.

import MQCalibration
import MQGraph
import MicroQuantC

extension ActivationDType {
    /// The C dtype.
    public var c: mq_dtype { self == .uint8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8 }
}

/// Throws `cLibrary` unless `st` is MQ_OK.
@inline(__always)
func check(_ st: mq_status, _ fn: String, _ ctx: @autoclosure () -> String) throws {
    if st != MQ_OK {
        throw QuantizationError.cLibrary(function: fn, status: String(cString: mq_status_str(st)), context: ctx())
    }
}

/// How the per-channel weight scale is chosen (`calibrate --weights`).
public enum WeightMethod: String, Sendable, CaseIterable, Codable {
    /// scale[c] = max|W[c,:]| / 127 (no clipping).
    case minmax
    /// scale[c] = r * max|W[c,:]| / 127 with the clip ratio r from `WeightOptions.clipRatios` that
    /// minimises the channel's squared weight error sum_j (W[c,j] - scale * q(W[c,j]))^2.
    case mse
}

/// Options of the weight quantization.
public struct WeightOptions: Sendable, Equatable {
    /// Scale rule per output channel (default minmax: on the compared models mse did not help, docs/CALIBRATION.md).
    public var method: WeightMethod = .minmax
    /// MSE search: smallest clip ratio tried (the grid is 1, 1 - d, ..., minClipRatio with d = (1 - minClipRatio) / clipSteps).
    public var minClipRatio: Double = 0.80
    /// MSE search: grid intervals between 1 and `minClipRatio` (20 -> ratios 1.00, 0.99, ..., 0.80).
    public var clipSteps: Int = 20
    /// Bias correction: subtract each layer's expected output error on the calibration data,
    /// `sum_j (W_q[c,j] E[x_q][j] - W[c,j] E[x][j])` (int8 weights on the fake-quantized input vs float
    /// weights on the float input), from each channel's bias (needs `Calibrator.layerInputMeans`).
    public var biasCorrection: Bool = false
    /// Per output channel weight scales given by the model (pre-quantized ONNX QDQ: `Graph.weightScales`), by
    /// layer node name: such a layer's codes are round_half_even(W / scale[c]) clamped to [-127, 127].
    public var givenScales: [String: [Float]] = [:]
    /// Requantization multipliers from onnxruntime's float32 scale (s_in * s_w) / s_out (pre-quantized QDQ
    /// models, so the Q31 multiplier is exactly the float32 factor onnxruntime multiplies by).
    public var float32Multipliers: Bool = false

    /// The real requantization factor of a layer channel: in float64, or as onnxruntime computes it in float32.
    func requantScale(_ sIn: Float, _ sW: Float, _ sOut: Float) -> Double {
        float32Multipliers ? Double((sIn * sW) / sOut) : Double(sIn) * Double(sW) / Double(sOut)
    }

    /// The defaults above.
    public init() {}

    /// Options with the given method (other fields at their defaults).
    public init(method: WeightMethod, biasCorrection: Bool = false) {
        self.method = method
        self.biasCorrection = biasCorrection
    }

    /// The clip ratios of the MSE search, largest first: 1 - i * (1 - minClipRatio) / clipSteps, i = 0...clipSteps.
    public var clipRatios: [Double] {
        let steps = max(clipSteps, 0)
        if steps == 0 { return [1] }
        return (0...steps).map { 1 - Double($0) * (1 - minClipRatio) / Double(steps) }
    }
}

/// Squared error sum_j (w[j] - s * clamp(round_half_even(w[j] / s), -127, 127))^2 of one channel at scale `s`, in float64.
public func weightQuantizationError(_ w: ArraySlice<Float>, scale s: Float) -> Double {
    let sd = Double(s)
    var e = 0.0
    for v in w {
        let q = min(max((Double(v) / sd).rounded(.toNearestOrEven), -127), 127)
        let d = Double(v) - q * sd
        e += d * d
    }
    return e
}

/// Per output channel symmetric int8 weights, W row-major [n, k]: codes round_half_even(W / scale[c])
/// clamped to [-127, 127] (the TFLite / CMSIS-NN convention; -128 is never used so the range is
/// symmetric), zero point 0. `.minmax`: scale[c] = max|W[c,:]| / 127. `.mse`: scale[c] = r * max|W[c,:]| / 127
/// (computed in float64, stored as float32) for the clip ratio r in `options.clipRatios` with the least
/// `weightQuantizationError` (ties: the largest r, so r = 1 unless clipping strictly helps).
/// An all-zero row gets scale 1 and zero codes.
/// Floors (docs/QUANTIZATION.md, "Dead and tiny channels"): every scale is at least `Float.leastNormalMagnitude`
/// (a row of float32 denormals would otherwise get a denormal or zero scale) and at least `minScales[c]`
/// when given (`Quantizer.biasScaleFloor`: the scale at which the channel's bias fits the int32 accumulator).
/// A floored channel's codes are computed at the floored scale (rows far below it become 0).
/// Returns codes [n * k] and scales [n].
public func quantizeWeightsPerChannel(_ w: [Float], n: Int, k: Int,
                                      options: WeightOptions = WeightOptions(method: .minmax),
                                      minScales: [Float]? = nil) -> (codes: [Int8], scales: [Float]) {
    var codes = [Int8](repeating: 0, count: n * k)
    var scales = [Float](repeating: 1, count: n)
    let ratios = options.method == .mse ? options.clipRatios : [1]
    for c in 0..<n {
        let row = w[(c * k)..<((c + 1) * k)]
        var amax: Float = 0
        for v in row where v.isFinite { amax = max(amax, abs(v)) }
        var s: Float = 1
        if amax > 0 {
            s = amax / 127
            if ratios.count > 1 {
                var best = weightQuantizationError(row, scale: s)
                for r in ratios.dropFirst() {
                    let cand = Float(Double(amax) * r / 127)
                    guard cand >= Float.leastNormalMagnitude else { continue }
                    let e = weightQuantizationError(row, scale: cand)
                    if e < best { best = e; s = cand }
                }
            }
        }
        s = max(s, Float.leastNormalMagnitude)
        if let f = minScales, c < f.count, f[c].isFinite, f[c] > s { s = f[c] }
        scales[c] = s
        for j in 0..<k {
            let q = (Double(w[c * k + j]) / Double(s)).rounded(.toNearestOrEven)
            codes[c * k + j] = q.isNaN ? 0 : Int8(min(max(q, -127), 127))
        }
    }
    return (codes, scales)
}

/// Codes round_half_even(W / scales[c]) clamped to [-127, 127] for given per-channel scales (a pre-quantized
/// model's: the codes are the model's own when W was dequantized from them); nil when the scales do not fit.
public func quantizeWeightsWithScales(_ w: [Float], n: Int, k: Int, scales: [Float]) -> (codes: [Int8], scales: [Float])? {
    guard scales.count == n, w.count == n * k, scales.allSatisfy({ $0.isFinite && $0 > 0 }) else { return nil }
    var codes = [Int8](repeating: 0, count: n * k)
    for c in 0..<n {
        for j in 0..<k {
            let q = (Double(w[c * k + j]) / Double(scales[c])).rounded(.toNearestOrEven)
            codes[c * k + j] = q.isNaN ? 0 : Int8(min(max(q, -127), 127))
        }
    }
    return (codes, scales)
}

/// Builds the QuantizedModel.
public enum Quantizer {
    /// The qparams of every tensor: observed ones from their observer's range, sigmoid / softmax
    /// outputs fixed (mq_sigmoid_output_qparams), views inherit.
    public static func assignQParams(graph: Graph, plan: QuantizationPlan, observers: [String: Observer],
                                     dtype: ActivationDType) throws -> [String: (QParams, QParamsOrigin)] {
        if !graph.quantization.isEmpty { return try qdqQParams(graph: graph, plan: plan, dtype: dtype) }
        var out: [String: (QParams, QParamsOrigin)] = [:]
        for t in plan.observed {
            guard let o = observers[t] else { throw QuantizationError.internalError("no observer for '\(t)'") }
            let r: (min: Float, max: Float)
            do { r = try o.range() } catch {
                throw QuantizationError.internalError("observer of '\(t)': \(error)")
            }
            out[t] = (try QParams.affine(min: r.min, max: r.max, dtype: dtype), .observed(o.kind, clip: ClipRange(min: r.min, max: r.max)))
        }
        var s: Double = 0
        var z: Int32 = 0
        try check(mq_sigmoid_output_qparams(dtype.c, &s, &z), "mq_sigmoid_output_qparams", "\(dtype)")
        for t in plan.fixed {
            let isSoftmax = graph.producer(of: t).map { if case .softmax = $0.op { return true } else { return false } } ?? false
            out[t] = (QParams(scale: Float(s), zeroPoint: z, dtype: dtype), .fixed(isSoftmax ? "softmax output" : "sigmoid output"))
        }
        for t in plan.inherits.keys {
            let src = plan.qparamsSource(t)
            guard let q = out[src] else { throw QuantizationError.internalError("no qparams for '\(src)'") }
            out[t] = (q.0, .inherited(from: src))
        }
        return out
    }

    /// Quantizes the graph with the given observers (from `Calibrator.run`).
    /// `weights` chooses the per-channel weight scales; with `weights.biasCorrection`, `layerInputMeans`
    /// (from `Calibrator.layerInputMeans`, keyed by layer node name) must hold the mean input of every
    /// fully connected / conv layer.
    public static func quantize(graph: Graph, plan: QuantizationPlan, observers: [String: Observer],
                                dtype: ActivationDType, observer kind: ObserverKind,
                                weights: WeightOptions = WeightOptions(),
                                layerInputMeans: [String: LayerInputMean]? = nil) throws -> QuantizedModel {
        let qp = try assignQParams(graph: graph, plan: plan, observers: observers, dtype: dtype)
        let qdq = !graph.quantization.isEmpty
        var weights = weights
        weights.givenScales = graph.weightScales
        weights.float32Multipliers = qdq
        var tensors: [QTensor] = []
        var index: [String: Int] = [:]
        func tensor(_ name: String) throws -> Int {
            if let i = index[name] { return i }
            guard let shape = graph.shapes[name], let q = qp[name] else {
                throw QuantizationError.internalError("tensor '\(name)' has no shape or qparams")
            }
            tensors.append(QTensor(name: name, shape: shape, qparams: q.0, origin: q.1))
            index[name] = tensors.count - 1
            return tensors.count - 1
        }
        let inputs = try graph.inputs.map { try tensor($0.name) }
        var nodes: [QNode] = []
        var preActivations: [QTensor] = []
        /// A tensor `name` with the given qparams (the kernel's output or a requantized input) and a
        /// requantize table node between it and `other` (QDQ graphs: the graph's own quantization steps).
        func requantizeTensor(_ name: String, shape: [Int], qparams: QParams, of base: Int) -> Int {
            tensors.append(QTensor(name: name, shape: shape, qparams: qparams, origin: .inherited(from: tensors[base].name)))
            return tensors.count - 1
        }
        for p in plan.ops {
            var ins = try p.inputs.map { try tensor($0) }
            let finalOut = try tensor(p.output)
            var out = finalOut
            if qdq, case .concat(let node) = p.kind {
                // inputs the graph quantized on their own are requantized to the concat's qparams first
                for (j, i) in ins.enumerated() where tensors[i].qparams != tensors[finalOut].qparams {
                    let r = requantizeTensor(tensors[i].name + "#requantized", shape: tensors[i].shape, qparams: tensors[finalOut].qparams, of: i)
                    nodes.append(QNode(name: node.name + "/requantize\(j)", fused: [], op: .lut(table: qdqRequantizeTable(from: tensors[i].qparams, to: tensors[r].qparams), name: "requantize"),
                                       inputs: [i], output: r))
                    ins[j] = r
                }
            }
            if qdq, let kq = try kernelOutputQParams(p.kind, input: tensors[ins.first ?? finalOut].qparams, dtype: dtype),
               kq != tensors[finalOut].qparams {
                out = requantizeTensor(tensors[finalOut].name + "#kernel", shape: tensors[finalOut].shape, qparams: kq, of: finalOut)
            }
            let op: QOp
            switch p.kind {
            case let .gemm(layer, clamp, act):
                let inQ = tensors[ins[0]].qparams
                let requantTo: QParams
                if let li = p.lutInput {
                    guard let q = qp[li] else { throw QuantizationError.internalError("no qparams for '\(li)'") }
                    requantTo = q.0
                    preActivations.append(QTensor(name: li, shape: graph.shapes[li] ?? [], qparams: q.0, origin: q.1))
                } else {
                    requantTo = tensors[out].qparams
                }
                var mean: LayerInputMean? = nil
                var gemmLike = false
                switch layer.op { case .fullyConnected, .conv1x1: gemmLike = true; default: break }
                if !gemmLike {
                    // KxK / depthwise convolution and affine layers (ConvQuantizer.swift); bias correction
                    // covers fully connected and 1x1 layers only.
                    var lut: [UInt8]? = nil
                    if let act { lut = try buildLUT(act.op, node: act.name, inQ: requantTo, outQ: tensors[out].qparams) }
                    op = try ConvQuantizer.layer(layer, inShape: tensors[ins[0]].shape, inQ: inQ, outQ: requantTo, clamp: clamp?.op,
                                                 lut: lut, lutName: act?.op.kind, weights: weights)
                    break
                }
                if weights.biasCorrection {
                    guard let m = layerInputMeans?[layer.name] else {
                        throw QuantizationError.internalError("bias correction: no calibration input mean for layer '\(layer.name)'")
                    }
                    mean = m
                }
                var g = try prepareGemm(layer: layer, inQ: inQ, outQ: requantTo, clamp: clamp?.op, weights: weights, inputMean: mean)
                if let act {
                    let outQ = tensors[out].qparams
                    g.lut = try buildLUT(act.op, node: act.name, inQ: requantTo, outQ: outQ)
                    g.lutName = act.op.kind
                }
                if case .conv1x1 = layer.op { op = .conv1x1(g) } else { op = .fullyConnected(g) }
            case .lut(let node):
                op = .lut(table: try buildLUT(node.op, node: node.name, inQ: tensors[ins[0]].qparams, outQ: tensors[out].qparams),
                          name: node.op.kind)
            case let .add(node, clamp):
                let a = tensors[ins[0]].qparams, b = tensors[ins[1]].qparams, o = tensors[out].qparams
                let (lo, hi) = clampRange(clamp?.op, o)
                var params = mq_add_params()
                try check(mq_add_prepare(Double(a.scale), a.zeroPoint, dtype.c, Double(b.scale), b.zeroPoint, dtype.c,
                                         Double(o.scale), o.zeroPoint, dtype.c, lo, hi, &params),
                          "mq_add_prepare", "add '\(node.name)'")
                op = .add(params)
            case .view:
                op = .reshape
            case .transpose(_, let perm):
                op = .transpose(perm: perm)
            case .pool, .mean, .pad, .concat, .mul:
                op = try ConvQuantizer.other(p.kind, inputs: ins.map { tensors[$0] }, output: tensors[out], onnxRuntimeMean: qdq)
            case .softmax(let node, let axis) where qdq:
                // the graph's output qparams with one rounding, as onnxruntime's QLinearSoftmax computes them (its
                // default optimizations fuse DQ -> Softmax -> Q into it: the output reciprocal is floor(1 / s_out)):
                // no requantize after it (docs/QUANTIZATION.md section 7d)
                var table = [Int32](repeating: 0, count: 256)
                var m: Int32 = 0, sh: Int32 = 0
                try check(mq_softmax_table_prepare(Double(tensors[ins[0]].qparams.scale), Double(tensors[out].qparams.scale),
                                                   MQ_SOFTMAX_RECIP_ORT_QLINEAR, &table, &m, &sh),
                          "mq_softmax_table_prepare", "softmax '\(node.name)' (input scale \(tensors[ins[0]].qparams.scale), output scale \(tensors[out].qparams.scale))")
                op = .softmaxTable(axis: axis, expTable: table, multiplier: m, shift: sh)
            case .softmax(let node, let axis):
                var mult: Int32 = 0, left: Int32 = 0, diffMin: Int32 = 0
                try check(mq_softmax_prepare(Double(tensors[ins[0]].qparams.scale), 1.0, &mult, &left, &diffMin),
                          "mq_softmax_prepare", "softmax '\(node.name)'")
                op = .softmax(axis: axis, inputMultiplier: mult, inputLeftShift: left, diffMin: diffMin)
            }
            nodes.append(QNode(name: p.fused[0], fused: p.fused, op: op, inputs: ins, output: out))
            if out != finalOut {
                // the graph requantizes the kernel's output (QDQ): a table node, as onnxruntime computes it
                nodes.append(QNode(name: p.fused[0] + "/requantize", fused: [], op: .lut(table: qdqRequantizeTable(from: tensors[out].qparams, to: tensors[finalOut].qparams), name: "requantize"),
                                   inputs: [out], output: finalOut))
            }
        }
        let outputs = try graph.outputs.map { try tensor($0.name) }
        var model = QuantizedModel(name: graph.name, activationDType: dtype, observer: kind, tensors: tensors,
                                   nodes: nodes, inputs: inputs, outputs: outputs, preActivations: preActivations)
        // QDQ: onnxruntime requantizes a layer's output once (float32 product, round half to even); the fully
        // connected layers and the convolutions round once too (docs/QUANTIZATION.md, "Pre-quantized ONNX (QDQ)")
        if qdq { model.rounding = .single; model.singleRoundingConv = true }
        return model
    }

    /// Code-domain clamp of a fused ReLU / Clip for output qparams q (the dtype range when none).
    public static func clampRange(_ op: Op?, _ q: QParams) -> (Int32, Int32) {
        var lo = q.dtype.qmin, hi = q.dtype.qmax
        switch op {
        case .relu?:
            lo = max(lo, q.zeroPoint)
        case let .clip(a, b)?:
            if a.isFinite { lo = max(lo, Int32(clamping: Int64(q.zeroPoint) + Int64((Double(a) / Double(q.scale)).rounded(.toNearestOrEven).clamped(-1e9, 1e9)))) }
            if b.isFinite { hi = min(hi, Int32(clamping: Int64(q.zeroPoint) + Int64((Double(b) / Double(q.scale)).rounded(.toNearestOrEven).clamped(-1e9, 1e9)))) }
            if lo > hi { lo = hi }
        default: break
        }
        return (lo, hi)
    }

    /// Per-channel weights, int32 bias, folded bias, multipliers, packing.
    /// With `inputMean` (the layer's mean float input m and fake-quantized input mq per input feature /
    /// channel, length k) the float bias is corrected first (`biasWithCorrection`):
    /// b'[c] = b[c] - sum_j (scale[c] * codes[c,j] * mq[j] - W[c,j] * m[j]), so the expected output of the
    /// int8 layer on the calibration data equals the float layer's (bias correction).
    static func prepareGemm(layer: Node, inQ: QParams, outQ: QParams, clamp: Op?,
                            weights: WeightOptions = WeightOptions(method: .minmax), inputMean: LayerInputMean? = nil) throws -> QGemm {
        let weight: ConstantTensor, bias: ConstantTensor?
        var conv: Conv1x1? = nil
        switch layer.op {
        case .fullyConnected(let fc): weight = fc.weight; bias = fc.bias
        case .conv1x1(let c): weight = c.weight; bias = c.bias; conv = c
        case .conv(let c):
            // OHWI rows [out, kh * kw * in]: the GEMM of mq_conv
            weight = ConstantTensor(shape: [c.outChannels, c.weight.elementCount / max(c.outChannels, 1)], data: c.weight.data)
            bias = c.bias
        default: throw QuantizationError.internalError("prepareGemm on \(layer.op.kind)")
        }
        let n = weight.shape[0], k = weight.shape[1]
        // Non-finite parameters are an error (never a trap); the ONNX importer already names the
        // initializer, this covers graphs built otherwise and values that overflowed while folding.
        if let i = weight.data.firstIndex(where: { !$0.isFinite }) {
            throw QuantizationError.unsupported(node: layer.name, reason: "weight [\(i / max(k, 1)), \(i % max(k, 1))] (flat index \(i)) is \(weight.data[i]); weights must be finite")
        }
        if let b = bias?.data, let i = b.firstIndex(where: { !$0.isFinite }) {
            throw QuantizationError.unsupported(node: layer.name, reason: "bias[\(i)] is \(b[i]); biases must be finite")
        }
        let floors = bias.map { biasScaleFloor($0.data, inputScale: inQ.scale) }
        let (codes, wScales) = weights.givenScales[layer.name].flatMap { quantizeWeightsWithScales(weight.data, n: n, k: k, scales: $0) }
            ?? quantizeWeightsPerChannel(weight.data, n: n, k: k, options: weights, minScales: floors)
        if let m = inputMean, m.float.count != k || (m.quantized.map { $0.count != k } ?? false) {
            throw QuantizationError.internalError("bias correction: '\(layer.name)' has \(k) inputs, the mean has \(m.float.count)")
        }
        let floatBias: [Double]? = try biasWithCorrection(bias?.data, weight: weight.data, codes: codes, scales: wScales,
                                                          n: n, k: k, inputMean: inputMean, layer: layer.name)
        var bq = [Int32](repeating: 0, count: n)
        var mult = [Int32](repeating: 0, count: n)
        var shift = [Int32](repeating: 0, count: n)
        for c in 0..<n {
            let bs = Double(inQ.scale) * Double(wScales[c])
            if let b = floatBias {
                let v = (b[c] / bs).rounded(.toNearestOrEven)
                guard abs(v) < 2147483647 else {
                    throw QuantizationError.unsupported(node: layer.name, reason: "bias[\(c)] = \(b[c]) does not fit int32 at scale \(bs) (input scale \(inQ.scale) x weight scale \(wScales[c]), floored for the bias; the input scale is too small for this bias)")
                }
                bq[c] = Int32(v)
            }
            try check(mq_quantize_multiplier(weights.requantScale(inQ.scale, wScales[c], outQ.scale), &mult[c], &shift[c]),
                      "mq_quantize_multiplier", "'\(layer.name)' channel \(c)")
        }
        var folded = [Int32](repeating: 0, count: n)
        try check(mq_fold_bias(codes, bq, Int32(n), Int32(k), inQ.zeroPoint, inQ.dtype.c, &folded),
                  "mq_fold_bias", "'\(layer.name)'")
        let psize = mq_packed_weights_size_n4k16(Int32(n), Int32(k))
        var packed = [Int8](repeating: 0, count: psize)
        try check(mq_pack_weights_n4k16(codes, Int32(n), Int32(k), &packed, psize), "mq_pack_weights_n4k16", "'\(layer.name)'")
        let (lo, hi) = clampRange(clamp, outQ)
        var g = QGemm(n: n, k: k, weights: codes, weightScales: wScales, packedWeights: packed, bias: bq,
                      foldedBias: folded, multipliers: mult, shifts: shift, outDType: outQ.dtype,
                      outZeroPoint: outQ.zeroPoint, outScale: outQ.scale, actMin: lo, actMax: hi, lut: nil, lutName: nil)
        if let c = conv {
            g.strideH = c.strideH; g.strideW = c.strideW
            g.padTop = c.padTop; g.padLeft = c.padLeft; g.padBottom = c.padBottom; g.padRight = c.padRight
        }
        return g
    }

    /// Largest |int32 bias code| the weight-scale floor aims at: 2^30, which leaves 2^30 of the int32
    /// accumulator for the sum of products (|sum_k (x - zp) w| <= k * 255 * 127 < 2^30 for k < 33,000).
    public static let biasCodeLimit: Double = 1_073_741_824   // 2^30

    /// Per-channel minimum weight scale so that bias[c] / (inputScale * scale) stays within
    /// `biasCodeLimit`: |bias[c]| / (inputScale * 2^30), rounded up to a float32. Channels whose weights
    /// are all (nearly) zero -- dead units, weights decayed to 1e-25, float32 denormals -- would otherwise
    /// get a scale so small that their bias cannot be an int32; with the floor their codes are 0 and their
    /// output is their bias, requantized like any other channel. Channels with ordinary weights are
    /// unaffected (their max|w| / 127 is far above the floor).
    public static func biasScaleFloor(_ bias: [Float], inputScale: Float) -> [Float] {
        bias.map { b in
            let f = abs(Double(b)) / (Double(inputScale) * biasCodeLimit)
            guard f.isFinite else { return .infinity }
            let r = Float(f)
            return Double(r) < f ? r.nextUp : r
        }
    }

    /// The float64 bias of a layer (nil when it has none and no correction applies): `bias[c]`, minus
    /// the expected output error `sum_j (scales[c] * codes[c*k+j] * mq[j] - weight[c*k+j] * m[j])` when
    /// `inputMean` is given (m = its float mean, mq = its fake-quantized mean, or m when absent).
    static func biasWithCorrection(_ bias: [Float]?, weight: [Float], codes: [Int8], scales: [Float], n: Int, k: Int,
                                   inputMean: LayerInputMean?, layer: String) throws -> [Double]? {
        guard let mean = inputMean else { return bias.map { $0.map(Double.init) } }
        let m = mean.float, mq = mean.quantized ?? mean.float
        var out = bias.map { $0.map(Double.init) } ?? [Double](repeating: 0, count: n)
        for c in 0..<n {
            var e = 0.0
            let s = Double(scales[c])
            for j in 0..<k { e += s * Double(codes[c * k + j]) * mq[j] - Double(weight[c * k + j]) * m[j] }
            out[c] -= e
            guard out[c].isFinite else {
                throw QuantizationError.unsupported(node: layer, reason: "bias correction of channel \(c) is not finite")
            }
        }
        return out
    }

    /// The activation descriptor of an elementwise op (nil if it has none).
    public static func activationDesc(_ op: Op) -> mq_activation_desc? {
        var d = mq_activation_desc()
        switch op {
        case .sigmoid: d.fn = MQ_ACT_SIGMOID
        case .silu: d.fn = MQ_ACT_SILU
        case .tanh: d.fn = MQ_ACT_TANH
        case .hardSigmoid(let a, let b): d.fn = MQ_ACT_HARDSIGMOID; d.alpha = Double(a); d.beta = Double(b)
        case .hardSwish: d.fn = MQ_ACT_HARDSWISH
        case .gelu: d.fn = MQ_ACT_GELU
        case .relu: d.fn = MQ_ACT_RELU
        case .clip(let lo, let hi) where lo == 0 && hi == 6: d.fn = MQ_ACT_RELU6
        case .clip(let lo, let hi) where lo == 0 && hi == .infinity: d.fn = MQ_ACT_RELU
        case .clip, .identity: d.fn = MQ_ACT_IDENTITY   // a general clip: identity table, then clamped (buildLUT)
        default: return nil
        }
        return d
    }

    /// 256-entry table of `op` from codes with qparams inQ to codes with qparams outQ (mq_lut_build).
    public static func buildLUT(_ op: Op, node: String, inQ: QParams, outQ: QParams) throws -> [UInt8] {
        guard var d = activationDesc(op) else {
            throw QuantizationError.unsupported(node: node, reason: "\(op.kind) has no table form")
        }
        var t = [UInt8](repeating: 0, count: 256)
        try check(mq_lut_build(&d, Double(inQ.scale), inQ.zeroPoint, inQ.dtype.c, Double(outQ.scale), outQ.zeroPoint, outQ.dtype.c, &t),
                  "mq_lut_build", "'\(node)' (\(op.kind))")
        if case .clip = op, d.fn == MQ_ACT_IDENTITY {
            // clip(lo, hi) = identity clamped to [q(lo), q(hi)] in the output code domain
            let (lo, hi) = clampRange(op, outQ)
            for i in 0..<256 {
                let c = outQ.dtype == .uint8 ? Int32(t[i]) : Int32(Int8(bitPattern: t[i]))
                let v = min(max(c, lo), hi)
                t[i] = UInt8(truncatingIfNeeded: v)
            }
        }
        return t
    }
}

extension Double {
    func clamped(_ lo: Double, _ hi: Double) -> Double { Swift.min(Swift.max(self, lo), hi) }
}
