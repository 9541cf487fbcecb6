// int8 TFLite model -> QuantizedModel, with the quantization parameters of the file (no calibration)
// and TensorFlow Lite Micro's arithmetic for every prepared constant (docs/IMPORT.md, docs/QUANTIZATION.md):
//   FULLY_CONNECTED, per-tensor weights: M = double(float(s_in * s_w)) / double(s_out)
//   CONV_2D / DEPTHWISE_CONV_2D (and per-channel FC): M[c] = double(s_in) * double(s_w[c]) / double(s_out)
//   fused RELU / RELU6 / RELU_N1_TO_1: zp + round_half_away(float(f) / s_out), clamped to [-128, 127]
//   SAME padding: total = max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0), before = total / 2

import Foundation
import MQCalibration
import MQQuantization
import MQTFLite
import MicroQuantC

/// Imports already-quantized int8 TFLite models.
public enum TFLiteImporter {
    /// Every operator the importer accepts.
    public static let supportedOps: [TFLiteOpCode] = [
        .conv2D, .depthwiseConv2D, .fullyConnected, .averagePool2D, .maxPool2D, .add, .mul, .reshape, .squeeze,
        .softmax, .logistic, .tanh, .hardSwish, .concatenation, .pad, .mean, .quantize, .dequantize,
    ]

    /// Reads and imports a .tflite file.
    public static func importModel(bytes: [UInt8], file: String, name: String? = nil,
                                   rounding: RequantizeRounding = .double) throws(TFLiteImportError) -> QuantizedModel {
        let model: TFLiteModel
        do { model = try TFLiteReader.read(bytes, file: file) } catch { throw .read(error) }
        let stem = name ?? URL(fileURLWithPath: file).deletingPathExtension().lastPathComponent
        return try importModel(model, file: file, name: stem, rounding: rounding)
    }

    /// Imports a decoded model (subgraph 0).
    public static func importModel(_ model: TFLiteModel, file: String, name: String,
                                   rounding: RequantizeRounding = .double) throws(TFLiteImportError) -> QuantizedModel {
        var b = Builder(model: model, file: file, rounding: rounding)
        try b.run()
        var q = QuantizedModel(name: name, activationDType: .int8, observer: .minmax, tensors: b.tensors, nodes: b.nodes,
                               inputs: b.inputs, outputs: b.outputs)
        q.rounding = rounding
        q.importedFrom = "tflite"
        return q
    }
}

/// TfLiteRound (std::round: half away from zero) of a float quotient, as an Int64 clamped far outside int8.
func roundAway(_ x: Float) -> Int64 {
    guard x.isFinite else { return x > 0 ? 1 << 20 : -(1 << 20) }
    return Int64(Double(x).rounded(.toNearestOrAwayFromZero).clamped(-1e6, 1e6))
}

/// Product of dimensions, nil when one is negative or the product exceeds 2^31 (no overflow trap on
/// corrupt shapes).
func elementCount(_ dims: [Int]) -> Int? {
    var n = 1
    for d in dims {
        guard d >= 0 else { return nil }
        let (p, o) = n.multipliedReportingOverflow(by: d)
        guard !o, p <= 1 << 31 else { return nil }
        n = p
    }
    return n
}

private extension Double {
    func clamped(_ lo: Double, _ hi: Double) -> Double { Swift.min(Swift.max(self, lo), hi) }
}

/// One import.
private struct Builder {
    let model: TFLiteModel
    let file: String
    /// Which interpreter to reproduce (RequantizeRounding): also picks the LOGISTIC / TANH table.
    let rounding: RequantizeRounding
    let g: TFLiteSubGraph
    var tensors: [QTensor] = []
    var nodes: [QNode] = []
    var inputs: [Int] = []
    var outputs: [Int] = []
    /// TFLite tensor index -> QTensor index.
    var map: [Int: Int] = [:]
    /// TFLite tensors that are the float side of a boundary QUANTIZE / DEQUANTIZE -> the int8 tensor.
    var boundary: [Int: Int] = [:]

    init(model: TFLiteModel, file: String, rounding: RequantizeRounding = .double) {
        self.model = model
        self.file = file
        self.rounding = rounding
        g = model.subgraphs.first ?? TFLiteSubGraph(name: "", tensors: [], inputs: [], outputs: [], operators: [])
    }

    // MARK: helpers

    /// The op name of operator i ("?" for an index that names no operator: never traps).
    func opName(_ i: Int) -> String { g.operators.indices.contains(i) ? model.opCode(g.operators[i]).name : "?" }
    func invalid(_ i: Int, _ r: String) -> TFLiteImportError { .invalid(file: file, op: i, opName: opName(i), reason: r) }
    func tname(_ t: Int) -> String { g.tensors[t].name.isEmpty ? "tensor\(t)" : g.tensors[t].name }

    /// Per-tensor int8 activation qparams of tensor t (input or output of op i).
    func actQParams(_ t: Int, op i: Int) throws(TFLiteImportError) -> QParams {
        let tensor = g.tensors[t]
        guard tensor.type == .int8 else {
            throw .missingQuantization(file: file, op: i, opName: opName(i), tensor: t, tensorName: tname(t),
                                       reason: "is \(tensor.type), not int8")
        }
        guard let q = tensor.quantization, q.detailsType == 0, q.scale.count == 1, q.zeroPoint.count == 1 else {
            throw .missingQuantization(file: file, op: i, opName: opName(i), tensor: t, tensorName: tname(t),
                                       reason: "has no per-tensor quantization parameters (scale, zero point)")
        }
        let s = q.scale[0], zp = q.zeroPoint[0]
        guard s.isFinite, s > 0, (-128...127).contains(zp) else {
            throw .missingQuantization(file: file, op: i, opName: opName(i), tensor: t, tensorName: tname(t),
                                       reason: "has unusable quantization parameters (scale \(s), zero point \(zp))")
        }
        return QParams(scale: s, zeroPoint: Int32(zp), dtype: .int8)
    }

    func shape(_ t: Int) -> [Int] { g.tensors[t].shape.map { Int($0) } }

    /// The QTensor of an activation tensor, created on first use.
    mutating func arena(_ t: Int, op i: Int) throws(TFLiteImportError) -> Int {
        let t = boundary[t] ?? t
        if let q = map[t] { return q }
        let sh = shape(t)
        guard (1...4).contains(sh.count), sh.allSatisfy({ $0 >= 1 && $0 <= 1 << 24 }) else {
            throw invalid(i, "tensor \(t) '\(tname(t))' has shape \(sh); supported: rank 1..4, every dimension >= 1")
        }
        guard let count = elementCount(sh), count <= 1 << 28 else { throw invalid(i, "tensor \(t) '\(tname(t))' is too large") }
        if model.buffers.indices.contains(g.tensors[t].buffer), !model.buffers[g.tensors[t].buffer].isEmpty {
            throw invalid(i, "tensor \(t) '\(tname(t))' is a constant; this operator needs an activation here")
        }
        let qp = try actQParams(t, op: i)
        map[t] = tensors.count
        tensors.append(QTensor(name: tname(t), shape: sh, qparams: qp, origin: .imported("tflite")))
        return tensors.count - 1
    }

    /// An operand of ADD / MUL / CONCATENATION: the activation's QTensor, or, for a tensor with data in its
    /// buffer, a constant QTensor (int8, per-tensor qparams; rank 0 becomes [1]) packed as a CONST tensor.
    mutating func operand(_ t: Int, op i: Int) throws(TFLiteImportError) -> Int {
        let t = boundary[t] ?? t
        if let q = map[t] { return q }
        guard model.buffers.indices.contains(g.tensors[t].buffer), !model.buffers[g.tensors[t].buffer].isEmpty else {
            return try arena(t, op: i)
        }
        let sh = shape(t)
        guard sh.count <= 4, sh.allSatisfy({ $0 >= 1 && $0 <= 1 << 24 }) else {
            throw invalid(i, "constant tensor \(t) '\(tname(t))' has shape \(sh); supported: rank 0..4, every dimension >= 1")
        }
        let qp = try actQParams(t, op: i)
        let data = try constant(t, op: i, role: "constant operand", elementSize: 1)
        map[t] = tensors.count
        var q = QTensor(name: tname(t), shape: sh.isEmpty ? [1] : sh, qparams: qp, origin: .imported("tflite"))
        q.constant = data
        tensors.append(q)
        return tensors.count - 1
    }

    /// How operand shape `s` broadcasts to output shape `o` (TFLite / NumPy rules, `s` padded with leading 1s):
    /// nil when it does not reduce to same shape, per channel (last axis) or scalar.
    func broadcastKind(_ s: [Int], to o: [Int]) -> QMul.Broadcast? {
        guard s.count <= o.count else { return nil }
        let p = [Int](repeating: 1, count: o.count - s.count) + s
        if p == o { return QMul.Broadcast.none }
        if p.allSatisfy({ $0 == 1 }) { return .scalar }
        if let c = o.last, p.last == c, p.dropLast().allSatisfy({ $0 == 1 }) { return .channel(c) }
        return nil
    }

    /// Tensor q with `target`'s shape (same element count, leading 1s): a constant is reshaped in place, an
    /// activation through a reshape view.
    mutating func conform(_ q: Int, to target: [Int], op i: Int) -> Int {
        guard tensors[q].shape != target else { return q }
        if tensors[q].constant != nil { tensors[q].shape = target; return q }
        var v = tensors[q]
        v.name = tensors[q].name + ".view"
        v.shape = target
        tensors.append(v)
        emit(i, .reshape, [q], tensors.count - 1)
        return tensors.count - 1
    }

    /// The bytes of a constant tensor with `elements` elements of `size` bytes.
    func constant(_ t: Int, op i: Int, role: String, elementSize: Int) throws(TFLiteImportError) -> [UInt8] {
        guard t >= 0 else { throw invalid(i, "the \(role) is missing") }
        let tensor = g.tensors[t]
        let data = model.buffers.indices.contains(tensor.buffer) ? model.buffers[tensor.buffer] : []
        guard !data.isEmpty else { throw invalid(i, "the \(role) (tensor \(t) '\(tname(t))') is not a constant") }
        guard let n = elementCount(shape(t)), n <= 1 << 28 else {
            throw invalid(i, "the \(role) (tensor \(t) '\(tname(t))') has an invalid shape \(shape(t))")
        }
        guard data.count == n * elementSize else {
            throw invalid(i, "the \(role) (tensor \(t) '\(tname(t))') holds \(data.count) bytes; shape \(shape(t)) needs \(n * elementSize)")
        }
        return data
    }

    func int32s(_ d: [UInt8]) -> [Int32] {
        stride(from: 0, to: d.count - 3, by: 4).map {
            Int32(bitPattern: UInt32(d[$0]) | UInt32(d[$0 + 1]) << 8 | UInt32(d[$0 + 2]) << 16 | UInt32(d[$0 + 3]) << 24)
        }
    }

    /// int8 weights with zero point 0; per-tensor (1 scale) or per-channel along `axis` (`channels` scales).
    func weights(_ t: Int, op i: Int, channels: Int, axis: Int) throws(TFLiteImportError) -> (codes: [Int8], scales: [Float]) {
        let tensor = g.tensors[t]
        guard tensor.type == .int8 else { throw invalid(i, "weights (tensor \(t) '\(tname(t))') are \(tensor.type), not int8") }
        let data = try constant(t, op: i, role: "weight tensor", elementSize: 1)
        guard let q = tensor.quantization, q.detailsType == 0, !q.scale.isEmpty else {
            throw .missingQuantization(file: file, op: i, opName: opName(i), tensor: t, tensorName: tname(t),
                                       reason: "(weights) has no quantization parameters")
        }
        guard q.scale.count == 1 || (q.scale.count == channels && Int(q.quantizedDimension) == axis) else {
            throw invalid(i, "weights '\(tname(t))' have \(q.scale.count) scales along dimension \(q.quantizedDimension); expected 1 or \(channels) along \(axis)")
        }
        guard q.zeroPoint.allSatisfy({ $0 == 0 }) else {
            throw invalid(i, "weights '\(tname(t))' have a nonzero zero point; int8 weights must be symmetric")
        }
        guard q.scale.allSatisfy({ $0.isFinite && $0 > 0 }) else { throw invalid(i, "weights '\(tname(t))' have a scale <= 0 or not finite") }
        let scales = q.scale.count == 1 ? [Float](repeating: q.scale[0], count: channels) : q.scale
        return (data.map { Int8(bitPattern: $0) }, scales)
    }

    func bias(_ t: Int, op i: Int, n: Int) throws(TFLiteImportError) -> [Int32] {
        guard t >= 0 else { return [Int32](repeating: 0, count: n) }
        guard g.tensors[t].type == .int32 else { throw invalid(i, "bias '\(tname(t))' is \(g.tensors[t].type), not int32") }
        let b = int32s(try constant(t, op: i, role: "bias", elementSize: 4))
        guard b.count == n else { throw invalid(i, "bias '\(tname(t))' has \(b.count) values for \(n) output channels") }
        return b
    }

    func multiplier(_ real: Double, op i: Int, what: String) throws(TFLiteImportError) -> (Int32, Int32) {
        var m: Int32 = 0, s: Int32 = 0
        guard mq_quantize_multiplier(real, &m, &s) == MQ_OK else {
            throw invalid(i, "\(what): the requantization multiplier \(real) is not finite and >= 0")
        }
        return (m, s)
    }

    /// CalculateActivationRangeQuantized (int8).
    func activationRange(_ a: TFLiteActivation, _ q: QParams, op i: Int) throws(TFLiteImportError) -> (Int32, Int32) {
        func quant(_ f: Float) -> Int64 { Int64(q.zeroPoint) + roundAway(f / q.scale) }
        var lo: Int64 = -128, hi: Int64 = 127
        switch a {
        case .none: break
        case .relu: lo = max(lo, quant(0))
        case .relu6: lo = max(lo, quant(0)); hi = min(hi, quant(6))
        case .reluN1To1: lo = max(lo, quant(-1)); hi = min(hi, quant(1))
        case .tanh, .signBit: throw invalid(i, "fused activation \(a) is not supported (RELU, RELU6, RELU_N1_TO_1 are)")
        }
        guard lo <= hi else { throw invalid(i, "the fused activation's range is empty for the output qparams") }
        return (Int32(lo), Int32(hi))
    }

    /// TFLite's explicit padding of one axis.
    func explicitPadding(_ p: TFLitePadding, input: Int, kernel: Int, stride: Int, dilation: Int) -> (Int, Int, Int) {
        let eff = (kernel - 1) * dilation + 1
        switch p {
        case .same:
            let out = (input + stride - 1) / stride
            let total = max((out - 1) * stride + eff - input, 0)
            return (out, total / 2, total - total / 2)
        case .valid:
            return ((input - eff + stride) / stride, 0, 0)
        }
    }

    mutating func emit(_ i: Int, _ op: QOp, _ ins: [Int], _ out: Int) {
        nodes.append(QNode(name: "\(i):\(opName(i))", fused: ["\(i):\(opName(i))"], op: op, inputs: ins, output: out))
    }

    /// A GEMM (fully connected / conv rows) prepared like Quantizer.prepareGemm, from the file's constants.
    func gemm(n: Int, k: Int, codes: [Int8], scales: [Float], bias: [Int32], mult: [Int32], shift: [Int32],
              inQ: QParams, outQ: QParams, act: (Int32, Int32), op i: Int) throws(TFLiteImportError) -> QGemm {
        var folded = [Int32](repeating: 0, count: n)
        guard mq_fold_bias(codes, bias, Int32(n), Int32(k), inQ.zeroPoint, inQ.dtype.c, &folded) == MQ_OK else {
            throw invalid(i, "the bias folded with the input zero point does not fit int32")
        }
        let psize = mq_packed_weights_size_n4k16(Int32(n), Int32(k))
        var packed = [Int8](repeating: 0, count: psize)
        guard psize > 0, mq_pack_weights_n4k16(codes, Int32(n), Int32(k), &packed, psize) == MQ_OK else {
            throw invalid(i, "cannot pack \(n) x \(k) weights")
        }
        return QGemm(n: n, k: k, weights: codes, weightScales: scales, packedWeights: packed, bias: bias, foldedBias: folded,
                     multipliers: mult, shifts: shift, outDType: .int8, outZeroPoint: outQ.zeroPoint, outScale: outQ.scale,
                     actMin: act.0, actMax: act.1, lut: nil, lutName: nil)
    }

    // MARK: the import

    mutating func run() throws(TFLiteImportError) {
        guard model.subgraphs.count >= 1 else { throw .model(file: file, reason: "the model has no subgraph") }
        guard !g.operators.isEmpty else { throw .model(file: file, reason: "subgraph 0 has no operators") }
        // Every operator supported? (all of them named at once)
        let unsupported = g.operators.indices.filter { !TFLiteImporter.supportedOps.contains(model.opCode(g.operators[$0])) }
        guard unsupported.isEmpty else {
            throw .unsupportedOps(file: file, ops: unsupported.map { "\($0) \(opName($0))" })
        }
        guard !g.inputs.isEmpty, !g.outputs.isEmpty else { throw .model(file: file, reason: "the model has no inputs or no outputs") }
        // Boundary QUANTIZE (float input -> int8) and DEQUANTIZE (int8 -> float output): the int8 side
        // becomes the model's input / output; the host quantizes / dequantizes (simulate).
        var skip = Set<Int>()
        for (i, op) in g.operators.enumerated() {
            let code = model.opCode(op)
            guard code == .quantize || code == .dequantize, op.inputs.count == 1, op.outputs.count == 1, op.inputs[0] >= 0 else { continue }
            let a = op.inputs[0], b = op.outputs[0]
            if code == .quantize, g.tensors[a].type == .float32, g.inputs.contains(a) {
                boundary[a] = b; skip.insert(i)
            } else if code == .dequantize, g.tensors[b].type == .float32, g.outputs.contains(b) {
                boundary[b] = a; skip.insert(i)
            } else if code == .dequantize || g.tensors[a].type != .int8 {
                throw invalid(i, "only QUANTIZE of a float model input, QUANTIZE int8 -> int8 and DEQUANTIZE of a model output are supported")
            }
        }
        for t in g.inputs { inputs.append(try arena(t, op: g.operators.indices.first ?? 0)) }
        for (i, op) in g.operators.enumerated() where !skip.contains(i) {
            try convert(i, op)
        }
        for t in g.outputs {
            let t2 = boundary[t] ?? t
            guard let q = map[t2] else { throw .model(file: file, reason: "model output \(t) '\(tname(t))' is not computed by any operator") }
            outputs.append(q)
        }
        guard !nodes.isEmpty else { throw .model(file: file, reason: "the model has no operator left to run") }
    }

    mutating func convert(_ i: Int, _ op: TFLiteOperator) throws(TFLiteImportError) {
        let code = model.opCode(op)
        func input(_ k: Int) throws(TFLiteImportError) -> Int {
            guard k < op.inputs.count, op.inputs[k] >= 0 else { throw invalid(i, "input \(k) is missing") }
            return op.inputs[k]
        }
        guard op.outputs.count == 1 else { throw invalid(i, "has \(op.outputs.count) outputs; supported: 1") }
        let outT = op.outputs[0]
        switch code {
        case .fullyConnected: try fullyConnected(i, op)
        case .conv2D: try conv2D(i, op)
        case .depthwiseConv2D: try depthwise(i, op)
        case .averagePool2D, .maxPool2D: try pool(i, op, max: code == .maxPool2D)
        case .add, .mul:
            let a = try input(0), b = try input(1)
            let ai = try operand(a, op: i), bi = try operand(b, op: i), o = try arena(outT, op: i)
            let act: TFLiteActivation
            switch op.options {
            case .add(let x), .mul(let x): act = x
            case .none: act = .none
            default: throw invalid(i, "unexpected options \(op.options)")
            }
            guard tensors[ai].constant == nil || tensors[bi].constant == nil else {
                throw invalid(i, "both inputs are constants (a constant expression the converter did not fold)")
            }
            let qo = tensors[o].qparams
            let range = try activationRange(act, qo, op: i)
            // The full-size operand first (ADD and MUL are symmetric in TFLite's arithmetic); the other same
            // shape, per channel (last axis) or scalar.
            let so = shape(outT), sa = shape(a), sb = shape(b)
            let ka = broadcastKind(sa, to: so), kb = broadcastKind(sb, to: so)
            var first = ai, second = bi
            let bcast: QMul.Broadcast
            if ka == QMul.Broadcast.none, let k = kb { bcast = k }
            else if kb == QMul.Broadcast.none, let k = ka { bcast = k; swap(&first, &second) }
            else {
                throw invalid(i, "\(code.name) broadcast \(sa) and \(sb) -> \(so) is not supported: one input must have the output's shape, the other the same shape, one value per channel (last axis) or one value")
            }
            first = conform(first, to: so, op: i)
            if bcast == .none { second = conform(second, to: so, op: i) }
            let q1 = tensors[first].qparams, q2 = tensors[second].qparams
            let (cb, ch): (mq_broadcast, Int32)
            switch bcast {
            case .none: (cb, ch) = (MQ_BCAST_NONE, 0)
            case .scalar: (cb, ch) = (MQ_BCAST_SCALAR, 0)
            case .channel(let c): (cb, ch) = (MQ_BCAST_CHANNEL, Int32(c))
            }
            if code == .add {
                var p = mq_add_params()
                guard mq_add_prepare(Double(q1.scale), q1.zeroPoint, MQ_DTYPE_INT8, Double(q2.scale), q2.zeroPoint, MQ_DTYPE_INT8,
                                     Double(qo.scale), qo.zeroPoint, MQ_DTYPE_INT8, range.0, range.1, &p) == MQ_OK else {
                    throw invalid(i, "cannot prepare the requantized add for these scales")
                }
                p.broadcast = cb
                p.channels = ch
                emit(i, .add(p), [first, second], o)
            } else {
                var p = mq_mul_params()
                guard mq_mul_prepare(Double(q1.scale), q1.zeroPoint, MQ_DTYPE_INT8, Double(q2.scale), q2.zeroPoint, MQ_DTYPE_INT8,
                                     Double(qo.scale), qo.zeroPoint, MQ_DTYPE_INT8, range.0, range.1, cb, ch, &p) == MQ_OK else {
                    throw invalid(i, "cannot prepare the requantized multiply for these scales")
                }
                emit(i, .mul(QMul(multiplier: p.out_multiplier, shift: p.out_shift, actMin: range.0, actMax: range.1, broadcast: bcast)),
                     [first, second], o)
            }
        case .reshape, .squeeze:
            let a = try arena(try input(0), op: i), o = try arena(outT, op: i)
            guard tensors[a].byteCount == tensors[o].byteCount else {
                throw invalid(i, "reshape from \(tensors[a].shape) to \(tensors[o].shape) changes the element count")
            }
            guard tensors[a].qparams == tensors[o].qparams else {
                throw invalid(i, "input and output quantization differ (a reshape must keep them)")
            }
            emit(i, .reshape, [a], o)
        case .softmax:
            let a = try arena(try input(0), op: i), o = try arena(outT, op: i)
            var beta: Float = 1
            if case .softmax(let b) = op.options { beta = b }
            guard beta > 0, beta.isFinite else { throw invalid(i, "softmax beta \(beta) must be > 0") }
            let qo = tensors[o].qparams
            guard qo.scale == 1.0 / 256.0, qo.zeroPoint == -128 else {
                throw invalid(i, "int8 softmax output qparams must be (1/256, -128), found (\(qo.scale), \(qo.zeroPoint))")
            }
            var mult: Int32 = 0, left: Int32 = 0, diffMin: Int32 = 0
            guard mq_softmax_prepare(Double(tensors[a].qparams.scale), Double(beta), &mult, &left, &diffMin) == MQ_OK else {
                throw invalid(i, "cannot prepare the softmax for input scale \(tensors[a].qparams.scale) and beta \(beta)")
            }
            emit(i, .softmax(axis: -1, inputMultiplier: mult, inputLeftShift: left, diffMin: diffMin), [a], o)
        case .hardSwish:
            let a = try arena(try input(0), op: i), o = try arena(outT, op: i)
            let qi = tensors[a].qparams, qo = tensors[o].qparams
            guard let t = TFLiteHardSwish.table(inScale: qi.scale, inZeroPoint: qi.zeroPoint, outScale: qo.scale, outZeroPoint: qo.zeroPoint) else {
                throw invalid(i, "HARD_SWISH: the output scale is too small for TFLite's int8 kernel (output multiplier >= 1)")
            }
            emit(i, .lut(table: t, name: "hard_swish"), [a], o)
        case .logistic, .tanh:
            // The two interpreters differ here (scripts/make_tflite_lut_sweep.py: 25 of 200 LOGISTIC and 11 of 200
            // TANH tables): TensorFlow Lite Micro runs the fixed-point algorithm (LogisticTanh.swift, evaluated for
            // all 256 codes), TensorFlow Lite (ai-edge-litert) a table of the float function (mq_lut_build).
            let a = try arena(try input(0), op: i), o = try arena(outT, op: i)
            let qi = tensors[a].qparams, qo = tensors[o].qparams
            let f: TFLiteLogisticTanh.Function = code == .logistic ? .logistic : .tanh
            var t: [UInt8]
            do {
                t = try TFLiteLogisticTanh.table(f, inScale: qi.scale, inZeroPoint: qi.zeroPoint, outScale: qo.scale, outZeroPoint: qo.zeroPoint)
            } catch {
                switch error {
                case .outputQParams(let r), .inputScale(let r): throw invalid(i, r)
                }
            }
            if rounding == .single {
                var d = mq_activation_desc()
                d.fn = code == .logistic ? MQ_ACT_SIGMOID : MQ_ACT_TANH
                guard mq_lut_build(&d, Double(qi.scale), qi.zeroPoint, MQ_DTYPE_INT8, Double(qo.scale), qo.zeroPoint, MQ_DTYPE_INT8, &t) == MQ_OK else {
                    throw invalid(i, "cannot tabulate \(code.name) for these qparams")
                }
            }
            emit(i, .lut(table: t, name: code.name.lowercased()), [a], o)
        case .quantize:
            // int8 -> int8 requantization (the boundary ones were removed): a 256-entry table of
            // TFLite's Requantize, zp_out + MultiplyByQuantizedMultiplier(x - zp_in, M, s), M = s_in / s_out.
            let a = try arena(try input(0), op: i), o = try arena(outT, op: i)
            let qi = tensors[a].qparams, qo = tensors[o].qparams
            let (m, s) = try multiplier(Double(qi.scale) / Double(qo.scale), op: i, what: "QUANTIZE")
            var t = [UInt8](repeating: 0, count: 256)
            for c in 0..<256 {
                let x = Int32(Int8(truncatingIfNeeded: c)) - qi.zeroPoint
                let v = Int64(qo.zeroPoint) + Int64(mq_requantize(x, m, s))
                t[c] = UInt8(truncatingIfNeeded: Int8(min(max(v, -128), 127)))
            }
            emit(i, .lut(table: t, name: "requantize"), [a], o)
        case .concatenation:
            guard case .concatenation(let axis, let act) = op.options else { throw invalid(i, "CONCATENATION without options") }
            guard act == .none else { throw invalid(i, "a fused activation on CONCATENATION is not supported") }
            let o = try arena(outT, op: i)
            let rank = tensors[o].shape.count
            let ax = Int(axis) < 0 ? Int(axis) + rank : Int(axis)
            guard (0..<rank).contains(ax) else { throw invalid(i, "axis \(axis) is out of range for rank \(rank)") }
            var ins: [Int] = []
            for k in op.inputs.indices {
                var a = try operand(try input(k), op: i)
                if tensors[a].shape.count < rank {   // e.g. a constant written without the batch axis
                    let s = tensors[a].shape
                    a = conform(a, to: [Int](repeating: 1, count: rank - s.count) + s, op: i)
                }
                guard tensors[a].qparams == tensors[o].qparams else {
                    throw invalid(i, "input \(k) has other qparams than the output; requantizing concatenation is not supported")
                }
                ins.append(a)
            }
            emit(i, .concat(axis: ax), ins, o)
        case .pad:
            let a = try arena(try input(0), op: i), o = try arena(outT, op: i)
            let pt = try input(1)
            let rank = tensors[a].shape.count
            let raw: [Int]
            if g.tensors[pt].type == .int32 {
                raw = int32s(try constant(pt, op: i, role: "paddings", elementSize: 4)).map { Int($0) }
            } else if g.tensors[pt].type == .int64 {
                let d = try constant(pt, op: i, role: "paddings", elementSize: 8)
                raw = stride(from: 0, to: d.count - 7, by: 8).map { j in
                    Int(truncatingIfNeeded: (0..<8).reduce(UInt64(0)) { $0 | UInt64(d[j + $1]) << (8 * UInt64($1)) })
                }
            } else { throw invalid(i, "paddings must be int32 or int64") }
            guard raw.count == 2 * rank, raw.allSatisfy({ $0 >= 0 && $0 <= 1 << 16 }) else {
                throw invalid(i, "paddings \(raw) do not fit rank \(rank) (2 non-negative values per axis)")
            }
            guard tensors[a].qparams == tensors[o].qparams else { throw invalid(i, "PAD input and output qparams differ") }
            emit(i, .pad(before: stride(from: 0, to: raw.count, by: 2).map { raw[$0] },
                         after: stride(from: 1, to: raw.count, by: 2).map { raw[$0] }), [a], o)
        case .mean:
            let a = try arena(try input(0), op: i), o = try arena(outT, op: i)
            let axesT = try input(1)
            guard g.tensors[axesT].type == .int32 else { throw invalid(i, "MEAN axes must be int32") }
            let axes = Set(int32s(try constant(axesT, op: i, role: "axes", elementSize: 4)).map { Int($0) < 0 ? Int($0) + 4 : Int($0) })
            guard tensors[a].shape.count == 4, axes == [1, 2] else {
                throw invalid(i, "MEAN over axes \(axes.sorted()) of a rank-\(tensors[a].shape.count) tensor; supported: axes 1, 2 of NHWC")
            }
            let qi = tensors[a].qparams, qo = tensors[o].qparams
            let xs = tensors[a].shape
            var p = mq_mean_params()
            guard mq_mean_prepare(Int32(xs[0]), Int32(xs[1]), Int32(xs[2]), Int32(xs[3]), Double(qi.scale), qi.zeroPoint, MQ_DTYPE_INT8,
                                  Double(qo.scale), qo.zeroPoint, MQ_DTYPE_INT8, -128, 127, &p) == MQ_OK else {
                throw invalid(i, "cannot prepare MEAN for these shapes and scales")
            }
            emit(i, .mean(QMean(multiplier: p.multiplier, shift: p.shift, actMin: -128, actMax: 127)), [a], o)
        case .dequantize:
            throw invalid(i, "DEQUANTIZE is only supported on a model output")
        default:
            throw .unsupportedOps(file: file, ops: ["\(i) \(code.name)"])
        }
    }

    mutating func fullyConnected(_ i: Int, _ op: TFLiteOperator) throws(TFLiteImportError) {
        guard op.inputs.count >= 2, op.inputs[0] >= 0, op.inputs[1] >= 0 else { throw invalid(i, "needs an input and weights") }
        var act = TFLiteActivation.none
        switch op.options {
        case .fullyConnected(let o):
            guard o.weightsFormat == 0 else { throw invalid(i, "shuffled weights (weights_format \(o.weightsFormat)) are not supported") }
            act = o.activation
        case .none: break
        default: throw invalid(i, "unexpected options \(op.options)")
        }
        let wT = op.inputs[1]
        let ws = shape(wT)
        guard ws.count == 2, ws[0] >= 1, ws[1] >= 1, ws[0] <= 1 << 16, ws[1] <= 1 << 16 else { throw invalid(i, "weights shape \(ws) is not [N, K]") }
        let n = ws[0], k = ws[1]
        var x = try arena(op.inputs[0], op: i)
        let o = try arena(op.outputs[0], op: i)
        let inQ = tensors[x].qparams, outQ = tensors[o].qparams
        let (codes, scales) = try weights(wT, op: i, channels: n, axis: 0)
        let b = try bias(op.inputs.count > 2 ? op.inputs[2] : -1, op: i, n: n)
        let perTensor = g.tensors[wT].quantization?.scale.count == 1
        var mult = [Int32](), shift = [Int32]()
        for c in 0..<n {
            // TFLite Micro: per-tensor FC forms s_in * s_w in float32 (GetQuantizedConvolutionMultipler);
            // per-channel in double (PopulateConvolutionQuantizationParams).
            let real = perTensor ? Double(inQ.scale * scales[c]) / Double(outQ.scale)
                                 : Double(inQ.scale) * Double(scales[c]) / Double(outQ.scale)
            let (m, s) = try multiplier(real, op: i, what: "channel \(c)")
            mult.append(m); shift.append(s)
        }
        let total = tensors[x].byteCount
        guard total % k == 0 else { throw invalid(i, "input of \(total) elements is not a multiple of K = \(k)") }
        let rows = total / k
        guard tensors[o].byteCount == rows * n else { throw invalid(i, "output shape \(tensors[o].shape) is not \(rows) x \(n)") }
        // Our FULLY_CONNECTED needs input [.., k] with the output's leading dims: view the input that way.
        let lead = Array(tensors[o].shape.dropLast())
        if tensors[x].shape.last != k || Array(tensors[x].shape.dropLast()) != lead {
            let viewShape = lead + [k]
            var v = tensors[x]
            v.name = tensors[x].name + ".rows"
            v.shape = viewShape.count <= 4 ? viewShape : [rows, k]
            tensors.append(v)
            emit(i, .reshape, [x], tensors.count - 1)
            x = tensors.count - 1
        }
        let gm = try gemm(n: n, k: k, codes: codes, scales: scales, bias: b, mult: mult, shift: shift, inQ: inQ, outQ: outQ,
                          act: try activationRange(act, outQ, op: i), op: i)
        emit(i, .fullyConnected(gm), [x], o)
    }

    /// Per-channel multipliers in double throughout (PopulateConvolutionQuantizationParams).
    func convMultipliers(_ inQ: QParams, _ scales: [Float], _ outQ: QParams, op i: Int) throws(TFLiteImportError) -> ([Int32], [Int32]) {
        var mult = [Int32](), shift = [Int32]()
        for (c, sw) in scales.enumerated() {
            let (m, s) = try multiplier(Double(inQ.scale) * Double(sw) / Double(outQ.scale), op: i, what: "channel \(c)")
            mult.append(m); shift.append(s)
        }
        return (mult, shift)
    }

    func window(_ i: Int, input: [Int], output: [Int], kernelH: Int, kernelW: Int, strideH: Int32, strideW: Int32,
                dilationH: Int32, dilationW: Int32, padding: TFLitePadding) throws(TFLiteImportError) -> QWindow {
        guard strideH >= 1, strideW >= 1, dilationH >= 1, dilationW >= 1, strideH <= 1 << 16, strideW <= 1 << 16,
              dilationH <= 1 << 16, dilationW <= 1 << 16 else {
            throw invalid(i, "strides (\(strideH), \(strideW)) and dilations (\(dilationH), \(dilationW)) must be >= 1")
        }
        let (oh, pt, pb) = explicitPadding(padding, input: input[1], kernel: kernelH, stride: Int(strideH), dilation: Int(dilationH))
        let (ow, pl, pr) = explicitPadding(padding, input: input[2], kernel: kernelW, stride: Int(strideW), dilation: Int(dilationW))
        guard oh == output[1], ow == output[2] else {
            throw invalid(i, "output spatial size \(output[1])x\(output[2]) does not match the padding's \(oh)x\(ow)")
        }
        return QWindow(kernelH: kernelH, kernelW: kernelW, strideH: Int(strideH), strideW: Int(strideW),
                       dilationH: Int(dilationH), dilationW: Int(dilationW), padTop: pt, padBottom: pb, padLeft: pl, padRight: pr)
    }

    mutating func conv2D(_ i: Int, _ op: TFLiteOperator) throws(TFLiteImportError) {
        guard case .conv2D(let opt) = op.options else { throw invalid(i, "CONV_2D without Conv2DOptions") }
        guard op.inputs.count >= 2, op.inputs[0] >= 0, op.inputs[1] >= 0 else { throw invalid(i, "needs an input and weights") }
        let x = try arena(op.inputs[0], op: i), o = try arena(op.outputs[0], op: i)
        let xs = tensors[x].shape, os = tensors[o].shape
        let wT = op.inputs[1], ws = shape(wT)
        guard xs.count == 4, os.count == 4, ws.count == 4, ws[3] == xs[3], ws[0] == os[3], xs[0] == os[0] else {
            throw invalid(i, "shapes input \(xs), weights \(ws), output \(os) are not NHWC / OHWI of one convolution (grouped convolution is not supported)")
        }
        guard ws[1] >= 1, ws[2] >= 1, ws[1] <= 1 << 12, ws[2] <= 1 << 12, ws[1] * ws[2] * ws[3] <= 1 << 24 else {
            throw invalid(i, "kernel \(ws[1])x\(ws[2]) over \(ws[3]) channels is out of range")
        }
        let n = ws[0], k = ws[1] * ws[2] * ws[3]
        let inQ = tensors[x].qparams, outQ = tensors[o].qparams
        let (codes, scales) = try weights(wT, op: i, channels: n, axis: 0)
        let b = try bias(op.inputs.count > 2 ? op.inputs[2] : -1, op: i, n: n)
        let (mult, shift) = try convMultipliers(inQ, scales, outQ, op: i)
        let w = try window(i, input: xs, output: os, kernelH: ws[1], kernelW: ws[2], strideH: opt.strideH, strideW: opt.strideW,
                           dilationH: opt.dilationH, dilationW: opt.dilationW, padding: opt.padding)
        var gm = try gemm(n: n, k: k, codes: codes, scales: scales, bias: b, mult: mult, shift: shift, inQ: inQ, outQ: outQ,
                          act: try activationRange(opt.activation, outQ, op: i), op: i)
        if ws[1] == 1 && ws[2] == 1 && (1...2).contains(w.strideH) && (1...2).contains(w.strideW) {
            gm.strideH = w.strideH; gm.strideW = w.strideW
            gm.padTop = w.padTop; gm.padBottom = w.padBottom; gm.padLeft = w.padLeft; gm.padRight = w.padRight
            emit(i, .conv1x1(gm), [x], o)
        } else {
            emit(i, .conv(QConv(window: w, inC: xs[3], gemm: gm)), [x], o)
        }
    }

    mutating func depthwise(_ i: Int, _ op: TFLiteOperator) throws(TFLiteImportError) {
        guard case .depthwiseConv2D(let opt) = op.options else { throw invalid(i, "DEPTHWISE_CONV_2D without options") }
        guard op.inputs.count >= 2, op.inputs[0] >= 0, op.inputs[1] >= 0 else { throw invalid(i, "needs an input and weights") }
        let x = try arena(op.inputs[0], op: i), o = try arena(op.outputs[0], op: i)
        let xs = tensors[x].shape, os = tensors[o].shape
        let wT = op.inputs[1], ws = shape(wT)
        guard xs.count == 4, os.count == 4, ws.count == 4, ws[0] == 1, ws[3] == os[3], xs[0] == os[0], os[3] % xs[3] == 0 else {
            throw invalid(i, "shapes input \(xs), weights \(ws), output \(os) are not those of a depthwise convolution")
        }
        guard ws[1] >= 1, ws[2] >= 1, ws[1] <= 1 << 12, ws[2] <= 1 << 12 else {
            throw invalid(i, "kernel \(ws[1])x\(ws[2]) is out of range")
        }
        let outC = os[3], mult = outC / xs[3]
        guard opt.depthMultiplier == 0 || Int(opt.depthMultiplier) == mult else {
            throw invalid(i, "depth_multiplier \(opt.depthMultiplier) does not match \(xs[3]) -> \(outC) channels")
        }
        let inQ = tensors[x].qparams, outQ = tensors[o].qparams
        let (codes, scales) = try weights(wT, op: i, channels: outC, axis: 3)
        let b = try bias(op.inputs.count > 2 ? op.inputs[2] : -1, op: i, n: outC)
        let (m, s) = try convMultipliers(inQ, scales, outQ, op: i)
        let w = try window(i, input: xs, output: os, kernelH: ws[1], kernelW: ws[2], strideH: opt.strideH, strideW: opt.strideW,
                           dilationH: opt.dilationH, dilationW: opt.dilationW, padding: opt.padding)
        let range = try activationRange(opt.activation, outQ, op: i)
        emit(i, .depthwiseConv(QDepthwise(window: w, inC: xs[3], depthMultiplier: mult, weights: codes, weightScales: scales,
                                          bias: b, multipliers: m, shifts: s, outZeroPoint: outQ.zeroPoint,
                                          actMin: range.0, actMax: range.1, lut: nil)), [x], o)
    }

    mutating func pool(_ i: Int, _ op: TFLiteOperator, max isMax: Bool) throws(TFLiteImportError) {
        guard case .pool2D(let opt) = op.options else { throw invalid(i, "pooling without Pool2DOptions") }
        guard op.inputs.count >= 1, op.inputs[0] >= 0 else { throw invalid(i, "needs an input") }
        let x = try arena(op.inputs[0], op: i), o = try arena(op.outputs[0], op: i)
        let xs = tensors[x].shape, os = tensors[o].shape
        guard xs.count == 4, os.count == 4, xs[0] == os[0], xs[3] == os[3] else { throw invalid(i, "shapes \(xs) -> \(os) are not NHWC pooling") }
        guard tensors[x].qparams == tensors[o].qparams else { throw invalid(i, "input and output qparams differ; int8 pooling keeps them") }
        guard opt.filterH >= 1, opt.filterW >= 1, opt.filterH <= 1 << 16, opt.filterW <= 1 << 16 else {
            throw invalid(i, "filter \(opt.filterH)x\(opt.filterW) must be >= 1")
        }
        let w = try window(i, input: xs, output: os, kernelH: Int(opt.filterH), kernelW: Int(opt.filterW), strideH: opt.strideH,
                           strideW: opt.strideW, dilationH: 1, dilationW: 1, padding: opt.padding)
        let range = try activationRange(opt.activation, tensors[o].qparams, op: i)
        let p = QPool(window: w, actMin: range.0, actMax: range.1)
        emit(i, isMax ? .maxPool(p) : .averagePool(p), [x], o)
    }
}
