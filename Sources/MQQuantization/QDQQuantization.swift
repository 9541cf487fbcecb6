// Qparams of a pre-quantized (ONNX QDQ) model: taken from the graph (Graph.quantization), not calibrated.
// Every tensor the int8 model needs qparams for must have them; the nodes whose outputs lack them would run
// in float and are listed by name in one error.

import MQCalibration
import MQGraph
import MicroQuantC

extension Quantizer {
    /// The activation type of a QDQ model (nil for a float model); an error when int8 and uint8 are mixed.
    public static func qdqActivationDType(_ graph: Graph) throws -> ActivationDType? {
        let kinds = Set(graph.quantization.values.map(\.signed))
        guard let first = kinds.first else { return nil }
        guard kinds.count == 1 else {
            let s = graph.quantization.filter { $0.value.signed }.map(\.value.node).sorted().prefix(3)
            let u = graph.quantization.filter { !$0.value.signed }.map(\.value.node).sorted().prefix(3)
            throw QuantizationError.unsupported(node: graph.name, reason: "the QDQ model mixes int8 (\(s.joined(separator: ", "))) and uint8 (\(u.joined(separator: ", "))) activations; one type per model is supported")
        }
        return first ? .int8 : .uint8
    }

    /// Qparams of every quantized tensor from the QDQ annotations (origin `.imported("onnx-qdq")`).
    static func qdqQParams(graph: Graph, plan: QuantizationPlan, dtype: ActivationDType) throws -> [String: (QParams, QParamsOrigin)] {
        var out: [String: (QParams, QParamsOrigin)] = [:]
        var floatNodes: [String] = []
        func producer(_ t: String) -> String { graph.producer(of: t)?.name ?? "graph input '\(t)'" }
        func annotated(_ t: String) -> QParams? {
            guard let a = graph.quantization[t] else { return nil }
            return QParams(scale: a.scale, zeroPoint: a.zeroPoint, dtype: a.signed ? .int8 : .uint8)
        }
        // A graph input the model quantizes only after a view (tf2onnx's Reshape before the first
        // QuantizeLinear): the input takes the view output's qparams.
        var viewAnnotation: [String: QParams] = [:]
        for t in plan.inherits.keys.sorted() {
            if let q = annotated(t), viewAnnotation[plan.qparamsSource(t)] == nil { viewAnnotation[plan.qparamsSource(t)] = q }
        }
        for t in plan.observed {
            if let q = annotated(t) ?? viewAnnotation[t] { out[t] = (q, .imported("onnx-qdq")) } else { floatNodes.append(producer(t)) }
        }
        for t in plan.fixed {
            // sigmoid: its table writes any qparams; softmax: mq_softmax_table writes any qparams
            if let q = annotated(t) {
                out[t] = (q, .imported("onnx-qdq"))
            } else {
                floatNodes.append(producer(t))   // the model leaves this output in float
            }
        }
        guard floatNodes.isEmpty else {
            throw QuantizationError.unsupported(node: graph.name, reason: "QDQ model: the outputs of these nodes have no QuantizeLinear/DequantizeLinear (or qparams the integer kernels cannot produce), so they cannot run in integers (nodes left in float): " + floatNodes.joined(separator: ", "))
        }
        for t in plan.inherits.keys {
            let src = plan.qparamsSource(t)
            guard let q = out[src] else { throw QuantizationError.internalError("no qparams for '\(src)'") }
            out[t] = (q.0, .inherited(from: src))
        }
        return out
    }
}

extension Quantizer {
    /// The qparams of the codes the mean / softmax / pool / view kernel itself writes for planned op `kind`
    /// (nil: the kernel writes the output tensor's qparams, whatever they are).
    static func kernelOutputQParams(_ kind: PlannedOp.Kind, input: QParams, dtype: ActivationDType) throws -> QParams? {
        switch kind {
        case .view, .transpose, .pool, .pad: return input
        // softmax: the one-rounding softmax (mq_softmax_table) writes the graph's qparams, whatever they are
        default: return nil
        }
    }

    /// 256-entry table requantizing codes with qparams `a` to qparams `b` as onnxruntime's
    /// DequantizeLinear -> QuantizeLinear pair computes it in float32 (docs/QUANTIZATION.md, "QDQ requantize"):
    /// x = float32(q - zp_a) * s_a;  y = clamp(round_half_even(x / s_b) + zp_b, qmin_b, qmax_b).
    /// Indexed by the input byte (int8 codes by their two's-complement byte).
    public static func qdqRequantizeTable(from a: QParams, to b: QParams) -> [UInt8] {
        var t = [UInt8](repeating: 0, count: 256)
        for i in 0..<256 {
            let code = a.dtype == .int8 ? Int32(Int8(truncatingIfNeeded: i)) : Int32(i)
            let x = Float(code - a.zeroPoint) * a.scale
            let r = (x / b.scale).rounded(.toNearestOrEven)
            let v = r.isFinite ? Int32(clamping: Int64(max(min(r, 1e6), -1e6))) + b.zeroPoint : b.zeroPoint
            t[i] = UInt8(truncatingIfNeeded: min(max(v, b.dtype.qmin), b.dtype.qmax))
        }
        return t
    }
}
