// Quantizer: float graph + observers -> QuantizedModel. All arithmetic that must agree with the
// device (multipliers, bias folding, packing, LUTs, softmax tables, add parameters) is done by the
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

/// Per output channel symmetric int8 weights: scale[c] = max|W[c,:]| / 127, codes round_half_even(W / scale)
/// clamped to [-127, 127] (the TFLite / CMSIS-NN convention; -128 is never used so the range is symmetric).
/// An all-zero row gets scale 1 and zero codes.
public func quantizeWeightsPerChannel(_ w: [Float], n: Int, k: Int) -> (codes: [Int8], scales: [Float]) {
    var codes = [Int8](repeating: 0, count: n * k)
    var scales = [Float](repeating: 1, count: n)
    for c in 0..<n {
        var amax: Float = 0
        for j in 0..<k { amax = max(amax, abs(w[c * k + j])) }
        let s: Float = amax > 0 ? amax / 127 : 1
        scales[c] = s
        for j in 0..<k {
            let q = (Double(w[c * k + j]) / Double(s)).rounded(.toNearestOrEven)
            codes[c * k + j] = Int8(min(max(q, -127), 127))
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
    public static func quantize(graph: Graph, plan: QuantizationPlan, observers: [String: Observer],
                                dtype: ActivationDType, observer kind: ObserverKind) throws -> QuantizedModel {
        let qp = try assignQParams(graph: graph, plan: plan, observers: observers, dtype: dtype)
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
        for p in plan.ops {
            let ins = try p.inputs.map { try tensor($0) }
            let out = try tensor(p.output)
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
                var g = try prepareGemm(layer: layer, inQ: inQ, outQ: requantTo, clamp: clamp?.op)
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
            case .softmax(let node, let axis):
                var table = [UInt32](repeating: 0, count: 256)
                try check(mq_softmax_build_exp_table(Double(tensors[ins[0]].qparams.scale), &table),
                          "mq_softmax_build_exp_table", "softmax '\(node.name)'")
                op = .softmax(axis: axis, expTable: table)
            }
            nodes.append(QNode(name: p.fused[0], fused: p.fused, op: op, inputs: ins, output: out))
        }
        let outputs = try graph.outputs.map { try tensor($0.name) }
        return QuantizedModel(name: graph.name, activationDType: dtype, observer: kind, tensors: tensors,
                              nodes: nodes, inputs: inputs, outputs: outputs, preActivations: preActivations)
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
    static func prepareGemm(layer: Node, inQ: QParams, outQ: QParams, clamp: Op?) throws -> QGemm {
        let weight: ConstantTensor, bias: ConstantTensor?
        var conv: Conv1x1? = nil
        switch layer.op {
        case .fullyConnected(let fc): weight = fc.weight; bias = fc.bias
        case .conv1x1(let c): weight = c.weight; bias = c.bias; conv = c
        default: throw QuantizationError.internalError("prepareGemm on \(layer.op.kind)")
        }
        let n = weight.shape[0], k = weight.shape[1]
        let (codes, wScales) = quantizeWeightsPerChannel(weight.data, n: n, k: k)
        var bq = [Int32](repeating: 0, count: n)
        var mult = [Int32](repeating: 0, count: n)
        var shift = [Int32](repeating: 0, count: n)
        for c in 0..<n {
            let bs = Double(inQ.scale) * Double(wScales[c])
            if let b = bias {
                let v = (Double(b.data[c]) / bs).rounded(.toNearestOrEven)
                guard abs(v) < 2147483647 else {
                    throw QuantizationError.unsupported(node: layer.name, reason: "bias[\(c)] = \(b.data[c]) does not fit int32 at scale \(bs) (input scale \(inQ.scale) x weight scale \(wScales[c]))")
                }
                bq[c] = Int32(v)
            }
            try check(mq_quantize_multiplier(bs / Double(outQ.scale), &mult[c], &shift[c]),
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
