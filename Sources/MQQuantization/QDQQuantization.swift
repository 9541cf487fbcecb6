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
        for t in plan.observed {
            if let q = annotated(t) { out[t] = (q, .imported("onnx-qdq")) } else { floatNodes.append(producer(t)) }
        }
        var s: Double = 0
        var z: Int32 = 0
        try check(mq_sigmoid_output_qparams(dtype.c, &s, &z), "mq_sigmoid_output_qparams", "\(dtype)")
        let fixedQ = QParams(scale: Float(s), zeroPoint: z, dtype: dtype)
        for t in plan.fixed {
            let isSoftmax = graph.producer(of: t).map { if case .softmax = $0.op { return true } else { return false } } ?? false
            if let q = annotated(t) {
                if isSoftmax && (q.scale != fixedQ.scale || q.zeroPoint != fixedQ.zeroPoint) {
                    floatNodes.append("\(producer(t)) (softmax output qparams \(q.scale), \(q.zeroPoint); the int8 softmax writes \(fixedQ.scale), \(fixedQ.zeroPoint))")
                    continue
                }
                out[t] = (q, .imported("onnx-qdq"))
            } else {
                floatNodes.append(producer(t))   // the model leaves this output in float
            }
        }
        guard floatNodes.isEmpty else {
            throw QuantizationError.unsupported(node: graph.name, reason: "QDQ model: the outputs of these nodes have no QuantizeLinear/DequantizeLinear (or qparams the integer kernels cannot produce), so they cannot run in integers: " + floatNodes.joined(separator: ", "))
        }
        for t in plan.inherits.keys {
            let src = plan.qparamsSource(t)
            guard let q = out[src] else { throw QuantizationError.internalError("no qparams for '\(src)'") }
            out[t] = (q.0, .inherited(from: src))
        }
        return out
    }
}
