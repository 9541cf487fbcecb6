// Per-layer precision (`calibrate --precision int16|auto`): rewrites an 8-bit QuantizedModel so the chosen layers run
// on int16 activations with the 16x8 kernels (packed format 2.1, mq_kernels_s16.h), with conversion ops where the
// precision changes. int16 tensors are symmetric: zero point 0, scale max|x| / 32767 of the calibration range.
//
// A layer is promoted as a whole: its inputs are read as int16 (an 8-bit tensor gets a QUANTIZE_S16 copy), its output
// is written as int16, and an 8-bit consumer of that output reads a REQUANTIZE_S16_TO_8 copy. Views (reshape) follow
// their input. Model inputs and outputs stay 8-bit (a model output produced in int16 is converted at the end).

import MQCalibration
import MQGraph
import MicroQuantC

/// Why a layer has the precision it has (for the report).
public struct LayerPrecision: Sendable, Equatable {
    /// Node index in the 8-bit model and its name.
    public var node: Int
    public var name: String
    public var kind: String
    /// True when the layer runs on int16 activations.
    public var int16: Bool
    /// The reason in words ("no 16x8 kernel", "--precision int16", "auto: +3.2 dB for 96 B", ...).
    public var reason: String
    /// auto: the model's output SQNR gain (dB) measured with this layer alone in int16, and its extra arena bytes.
    public var gainDB: Double?
    public var extraArenaBytes: Int?

    public init(node: Int, name: String, kind: String, int16: Bool, reason: String, gainDB: Double? = nil,
                extraArenaBytes: Int? = nil) {
        self.node = node; self.name = name; self.kind = kind; self.int16 = int16; self.reason = reason
        self.gainDB = gainDB; self.extraArenaBytes = extraArenaBytes
    }
}

/// `calibrate --precision`.
public enum PrecisionMode: String, Sendable, CaseIterable, Codable {
    /// Every activation 8-bit (the default).
    case int8
    /// Every layer with a 16x8 kernel on int16 activations.
    case int16
    /// Layers in int16 chosen by measured output SQNR and planned arena within `--ram-budget` (PrecisionSearch).
    case auto
}

public enum Precision {
    /// The int16 scale of a tensor: max|x| / 32767 of its observed range, else of the 8-bit representable range.
    public static func scale16(_ t: QTensor) -> Float {
        var amax: Float
        switch t.origin {
        case .observed(_, let clip): amax = max(abs(clip.min), abs(clip.max))
        case .fixed: amax = 1
        default:
            let r = t.qparams.representableRange
            amax = max(abs(r.min), abs(r.max))
        }
        if !amax.isFinite || amax <= 0 { amax = 1 }
        return max(amax / 32767, Float.leastNormalMagnitude)
    }

    /// The activation op fused as LUT epilogue of node `n` (the last fused float node), when it has a 16-bit table.
    static func fusedActivation(_ n: QNode, graph: Graph) -> Node? {
        guard n.fused.count >= 2, let act = graph.nodes.first(where: { $0.name == n.fused.last }) else { return nil }
        return act
    }

    static func lut16Desc(_ op: Op) -> mq_activation_desc? {
        guard let d = Quantizer.activationDesc(op), d.fn != MQ_ACT_IDENTITY else { return nil }
        return d
    }

    /// True when node `i` of `m` has a 16x8 form (a kernel for its op, and a 513-entry table for a fused or
    /// standalone activation).
    public static func promotable(_ m: QuantizedModel, node i: Int, graph: Graph) -> Bool {
        let n = m.nodes[i]
        switch n.op {
        case .fullyConnected(let g), .conv1x1(let g):
            if g.lut != nil { return fusedActivation(n, graph: graph).flatMap { lut16Desc($0.op) } != nil }
            return true
        case .conv(let c):
            if c.gemm.lut != nil { return fusedActivation(n, graph: graph).flatMap { lut16Desc($0.op) } != nil }
            return true
        case .depthwiseConv(let d):
            if d.lut != nil { return fusedActivation(n, graph: graph).flatMap { lut16Desc($0.op) } != nil }
            return true
        case .add, .averagePool, .maxPool:
            return true
        case .mul(let q):
            if case .channel = q.broadcast { return true }
            return true
        case .lut:
            return graph.nodes.first(where: { $0.name == n.name }).flatMap { lut16Desc($0.op) } != nil
        case .softmax(let axis, _, _, _):
            // TFLite's int16 softmax runs along the last axis
            return axis == m.tensors[n.inputs[0]].shape.count - 1 && m.tensors[n.inputs[0]].shape.last.map { $0 <= 65535 } == true
        default:
            return false
        }
    }

    /// Rewrites the 8-bit model `m` with the nodes in `promote` on int16 activations. Nodes that are not
    /// `promotable` are ignored. Throws when a promoted layer's constants cannot be prepared (e.g. an output
    /// multiplier beyond TFLite's int64 requantization range).
    public static func apply(_ m: QuantizedModel, graph: Graph, promote: Set<Int>) throws -> QuantizedModel {
        var tensors: [QTensor] = []
        var nodes: [QNode] = []
        var v8: [Int: Int] = [:], v16: [Int: Int] = [:]
        let outputSet = Set(m.outputs)
        func add(_ t: QTensor) -> Int { tensors.append(t); return tensors.count - 1 }
        func int16Tensor(_ t: QTensor, name: String, scale: Float) -> QTensor {
            var c = t
            c.name = name
            c.qparams = QParams(scale: scale, zeroPoint: 0, dtype: t.qparams.dtype)
            c.isInt16 = true
            return c
        }
        func mult(_ real: Double, _ what: String) throws -> (Int32, Int32) {
            var mm: Int32 = 0, sh: Int32 = 0
            try check(mq_quantize_multiplier(real, &mm, &sh), "mq_quantize_multiplier", what)
            return (mm, sh)
        }
        func get16(_ t: Int) throws -> Int {
            if let x = v16[t] { return x }
            guard let x8 = v8[t] else { throw QuantizationError.internalError("precision: tensor \(t) has no version") }
            let src = tensors[x8]
            let s16 = scale16(m.tensors[t])
            let id = add(int16Tensor(m.tensors[t], name: m.tensors[t].name + "@s16", scale: s16))
            let (mm, sh) = try mult(Double(src.qparams.scale) / Double(s16), "int16 copy of '\(src.name)'")
            nodes.append(QNode(name: src.name + "@s16", fused: [], op: .quantizeS16(multiplier: mm, shift: sh), inputs: [x8], output: id))
            v16[t] = id
            return id
        }
        func get8(_ t: Int) throws -> Int {
            if let x = v8[t] { return x }
            guard let x16 = v16[t] else { throw QuantizationError.internalError("precision: tensor \(t) has no version") }
            var copy = m.tensors[t]
            if outputSet.contains(t) {
                // the model output keeps its name on the 8-bit copy
                tensors[x16].name = m.tensors[t].name + "@s16"
            } else {
                copy.name = m.tensors[t].name + "@q8"
            }
            let id = add(copy)
            let (mm, sh) = try mult(Double(tensors[x16].qparams.scale) / Double(copy.qparams.scale), "8-bit copy of '\(copy.name)'")
            nodes.append(QNode(name: copy.name + "@q8", fused: [], op: .requantizeS16To8(multiplier: mm, shift: sh), inputs: [x16], output: id))
            v8[t] = id
            return id
        }
        /// Clamp [lo, hi] of 8-bit codes (qparams q) as int16 codes at scale s16.
        func clamp16(_ lo: Int32, _ hi: Int32, _ q: QParams, _ s16: Float) -> (Int32, Int32) {
            func conv(_ c: Int32) -> Int32 {
                let v = (Double(c - q.zeroPoint) * Double(q.scale) / Double(s16)).rounded(.toNearestOrEven)
                return Int32(min(max(v, -32768), 32767))
            }
            // the 8-bit bounds as real values (a uint8 tensor with zero point 0 clamps at 0.0: an implicit ReLU)
            return (conv(lo), conv(hi))
        }
        func floatBias(_ name: String) -> [Float]? {
            guard let node = graph.nodes.first(where: { $0.name == name }) else { return nil }
            switch node.op {
            case .fullyConnected(let f): return f.bias?.data
            case .conv1x1(let c): return c.bias?.data
            case .conv(let c): return c.bias?.data
            default: return nil
            }
        }
        func bias64(_ name: String, int32Bias: [Int32], sIn8: Float, wScales: [Float], sIn16: Float) -> [Int64] {
            let fb = floatBias(name)
            return (0..<int32Bias.count).map { c in
                let w = Double(c < wScales.count ? wScales[c] : 1)
                // the float bias when the graph has it (no bias correction folded), else the 8-bit layer's int32 bias
                var b = Double(int32Bias[c]) * Double(sIn8) * w
                if let fb, fb.count == int32Bias.count { b = Double(fb[c]) }
                let v = (b / (Double(sIn16) * w)).rounded(.toNearestOrAwayFromZero)
                return v.isFinite ? Int64(max(min(v, 9e15), -9e15)) : 0
            }
        }
        func outputMultipliers(_ sIn: Float, _ wScales: [Float], _ sOut: Float, _ what: String) throws -> ([Int32], [Int32]) {
            var mm = [Int32](repeating: 0, count: wScales.count), sh = mm
            let ws = wScales.map { Double($0) }
            try check(mq_s16_output_multipliers(Double(sIn), ws, Int32(ws.count), Double(sOut), &mm, &sh, nil),
                      "mq_s16_output_multipliers", what)
            return (mm, sh)
        }
        func lutTable(_ act: Node, _ sIn: Float, _ sOut: Float) throws -> [Int16] {
            guard var d = lut16Desc(act.op) else {
                throw QuantizationError.unsupported(node: act.name, reason: "\(act.op.kind) has no 16-bit table form")
            }
            var t = [Int16](repeating: 0, count: Int(MQ_LUT16_SIZE))
            try check(mq_lut16_build(&d, Double(sIn), Double(sOut), &t), "mq_lut16_build", "'\(act.name)' (\(act.op.kind))")
            return t
        }

        for i in m.inputs { v8[i] = add(m.tensors[i]) }
        for (i, n) in m.nodes.enumerated() {
            let outT = m.tensors[n.output]
            if case .reshape = n.op, v8[n.inputs[0]] == nil, let x16 = v16[n.inputs[0]] {
                // a view of an int16 tensor stays int16 (same scale)
                let id = add(int16Tensor(outT, name: outT.name, scale: tensors[x16].qparams.scale))
                nodes.append(QNode(name: n.name, fused: n.fused, op: .reshape, inputs: [x16], output: id))
                v16[n.output] = id
                continue
            }
            guard promote.contains(i), promotable(m, node: i, graph: graph) else {
                let ins = try n.inputs.map { try get8($0) }
                let id = add(outT)
                v8[n.output] = id
                nodes.append(QNode(name: n.name, fused: n.fused, op: n.op, inputs: ins, output: id))
                continue
            }
            let ins = try n.inputs.map { try get16($0) }
            let sIn = tensors[ins[0]].qparams.scale
            let sIn8 = m.tensors[n.inputs[0]].qparams.scale
            var sOut = scale16(outT)
            var ops: [(QOp, String)] = []  // the promoted op, then an optional LUT16 epilogue
            // A fused activation becomes its own LUT16 op on an int16 pre-activation tensor.
            func preScale(_ act: Node) -> Float {
                let name = act.inputs.first ?? ""
                if let p = m.preActivations.first(where: { $0.name == name }) { return scale16(p) }
                return sOut
            }
            switch n.op {
            case .fullyConnected, .conv1x1, .conv:
                let g: QGemm
                switch n.op {
                case .fullyConnected(let x), .conv1x1(let x): g = x
                case .conv(let c): g = c.gemm
                default: throw QuantizationError.internalError("precision: '\(n.name)'")
                }
                let act = g.lut != nil ? fusedActivation(n, graph: graph) : nil
                let target = act.map(preScale) ?? sOut
                let (mm, sh) = try outputMultipliers(sIn, g.weightScales, target, "layer '\(n.name)'")
                let (lo, hi) = clamp16(g.actMin, g.actMax, QParams(scale: g.outScale, zeroPoint: g.outZeroPoint, dtype: g.outDType), target)
                let g16 = QGemmS16(n: g.n, k: g.k, weights: g.weights, weightScales: g.weightScales,
                                   bias: bias64(n.fused[0], int32Bias: g.bias, sIn8: sIn8, wScales: g.weightScales, sIn16: sIn),
                                   multipliers: mm, shifts: sh, actMin: lo, actMax: hi)
                switch n.op {
                case .fullyConnected: ops.append((.fullyConnectedS16(g16), n.name))
                case .conv(let c): ops.append((.convS16(window: c.window, inC: c.inC, gemm: g16), n.name))
                default:
                    let w = QWindow(kernelH: 1, kernelW: 1, strideH: g.strideH, strideW: g.strideW,
                                    padTop: g.padTop, padBottom: g.padBottom, padLeft: g.padLeft, padRight: g.padRight)
                    ops.append((.convS16(window: w, inC: g.k, gemm: g16), n.name))
                }
                if let act { ops.append((.lut16(table: try lutTable(act, target, sOut), name: act.op.kind), act.name)) }
            case .depthwiseConv(let d):
                let act = d.lut != nil ? fusedActivation(n, graph: graph) : nil
                let target = act.map(preScale) ?? sOut
                let (mm, sh) = try outputMultipliers(sIn, d.weightScales, target, "layer '\(n.name)'")
                let q8 = QParams(scale: act == nil ? outT.qparams.scale : (m.preActivations.first { $0.name == act?.inputs.first }?.qparams.scale ?? outT.qparams.scale),
                                 zeroPoint: d.outZeroPoint, dtype: outT.qparams.dtype)
                let (lo, hi) = clamp16(d.actMin, d.actMax, q8, target)
                let d16 = QDepthwiseS16(window: d.window, inC: d.inC, depthMultiplier: d.depthMultiplier, weights: d.weights,
                                        bias: bias64(n.fused[0], int32Bias: d.bias, sIn8: sIn8, wScales: d.weightScales, sIn16: sIn),
                                        multipliers: mm, shifts: sh, actMin: lo, actMax: hi)
                ops.append((.depthwiseConvS16(d16), n.name))
                if let act { ops.append((.lut16(table: try lutTable(act, target, sOut), name: act.op.kind), act.name)) }
            case .add(let p):
                let s2 = tensors[ins[1]].qparams.scale
                let (lo, hi) = clamp16(p.act_min, p.act_max, outT.qparams, sOut)
                var a = mq_add_s16_params()
                try check(mq_add_s16_prepare(Double(sIn), Double(s2), Double(sOut), lo, hi, &a), "mq_add_s16_prepare", "add '\(n.name)'")
                ops.append((.addS16(a), n.name))
            case .mul(let q):
                let s2 = tensors[ins[1]].qparams.scale
                let (lo, hi) = clamp16(q.actMin, q.actMax, outT.qparams, sOut)
                let (mm, sh) = try mult(Double(sIn) * Double(s2) / Double(sOut), "mul '\(n.name)'")
                ops.append((.mulS16(QMul(multiplier: mm, shift: sh, actMin: lo, actMax: hi, broadcast: q.broadcast)), n.name))
            case .averagePool(let q), .maxPool(let q):
                sOut = sIn  // pooling keeps the scale
                let (lo, hi) = clamp16(q.actMin, q.actMax, outT.qparams, sOut)
                let q16 = QPool(window: q.window, actMin: lo, actMax: hi)
                if case .maxPool = n.op { ops.append((.maxPoolS16(q16), n.name)) } else { ops.append((.averagePoolS16(q16), n.name)) }
            case .softmax:
                sOut = 1.0 / 32768  // TFLite's fixed int16 softmax output scale
                var mm: Int32 = 0, sh: Int32 = 0
                var expT = [Int16](repeating: 0, count: Int(MQ_LUT16_SIZE)), recipT = expT
                try check(mq_softmax_s16_prepare(Double(sIn), 1.0, &expT, &recipT, &mm, &sh), "mq_softmax_s16_prepare", "softmax '\(n.name)'")
                ops.append((.softmaxS16(inputMultiplier: mm, inputShift: sh, expTable: expT, recipTable: recipT), n.name))
            case .lut(_, let name):
                guard let act = graph.nodes.first(where: { $0.name == n.name }) else {
                    throw QuantizationError.internalError("precision: no float node '\(n.name)'")
                }
                ops.append((.lut16(table: try lutTable(act, sIn, sOut), name: name), n.name))
            default:
                throw QuantizationError.internalError("precision: node '\(n.name)' (\(n.op.kind)) is not promotable")
            }
            var cur = ins
            for (k, (op, name)) in ops.enumerated() {
                let last = k == ops.count - 1
                let t: QTensor
                if last {
                    t = int16Tensor(outT, name: outT.name, scale: sOut)
                } else {
                    // the pre-activation tensor (between the layer and its LUT16)
                    let act = fusedActivation(n, graph: graph)
                    let preName = act?.inputs.first ?? (outT.name + "@pre")
                    let pre = m.preActivations.first { $0.name == preName } ?? outT
                    t = int16Tensor(pre, name: preName, scale: scale16(pre))
                }
                let id = add(t)
                nodes.append(QNode(name: name, fused: last ? Array(n.fused.dropFirst(ops.count == 1 ? 0 : 1)) : [n.fused[0]],
                                   op: op, inputs: cur, output: id))
                cur = [id]
            }
            v16[n.output] = cur[0]
        }
        let outputs = try m.outputs.map { try get8($0) }
        let inputs = m.inputs.compactMap { v8[$0] }
        guard inputs.count == m.inputs.count else { throw QuantizationError.internalError("precision: a model input was lost") }
        var out = QuantizedModel(name: m.name, activationDType: m.activationDType, observer: m.observer, tensors: tensors,
                                 nodes: nodes, inputs: inputs, outputs: outputs, preActivations: m.preActivations)
        out.rounding = m.rounding
        out.singleRoundingConv = m.singleRoundingConv
        out.ortFloat32 = m.ortFloat32
        out.importedFrom = m.importedFrom
        return out
    }
}
