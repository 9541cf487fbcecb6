import MQGraph

/// Everything the ONNX importer can reject, each with a message that names what was wrong and where.
public enum ImportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be read.
    case unreadable(file: String, reason: String)
    /// The bytes are not a valid ONNX ModelProto (corrupt or truncated protobuf, missing graph, bad tensor sizes).
    case corrupt(file: String, reason: String)
    /// A tensor stores its data in an external file; MicroQuant needs self-contained models.
    case externalData(file: String, tensor: String, location: String)
    /// An operator MicroQuant does not implement.
    case unsupportedOp(opType: String, node: String, supported: [String])
    /// A Conv whose kernel is not 1x1.
    case convKernel(node: String, kernel: [Int])
    /// A supported operator used in a way MicroQuant does not support (attribute, operand kind, shape).
    case unsupported(opType: String, node: String, reason: String)
    /// The model is structurally invalid or outside the supported subset (dynamic non-batch dimensions,
    /// non-float inputs, unknown tensor names).
    case invalidModel(String)
    /// The imported graph failed validation (a bug or an inconsistent model).
    case graph(GraphError)
    /// A weight, bias or normalization parameter is NaN, infinite, or too large for float32.
    case nonFinite(file: String, tensor: String, node: String, what: String, index: Int, value: Double)

    /// The ONNX operators the importer accepts (some only inside a pattern).
    public static let supportedOps: [String] = [
        "Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Constant", "Conv (group 1 or depthwise)",
        "Div/Mul/Sub (by a per-channel or scalar constant; Mul also of two activations, SiLU, HardSwish and GELU/Erf patterns)",
        "Dropout", "Erf (in the GELU/Erf pattern)", "Flatten", "Gelu", "Gemm", "GlobalAveragePool", "GlobalMaxPool", "HardSigmoid", "HardSwish",
        "Identity", "MatMul", "MaxPool", "Pad (constant)", "ReduceMean", "Relu", "Reshape", "Sigmoid", "Softmax", "Squeeze", "Tanh", "Transpose", "Unsqueeze",
        "Shape, Gather, Cast (constant shape computations only)",
    ]

    public var description: String {
        switch self {
        case .unreadable(let f, let r):
            return "cannot read ONNX model '\(f)': \(r)"
        case .corrupt(let f, let r):
            return "'\(f)' is not a valid ONNX model: \(r)"
        case .externalData(let f, let t, let loc):
            return "'\(f)': initializer '\(t)' keeps its data in an external file ('\(loc)'); external data is not supported — re-export with the weights embedded (onnx.save(model, path, save_as_external_data=False))"
        case .unsupportedOp(let op, let node, let supported):
            return "unsupported operator \(op) (node '\(node)'); supported operators: \(supported.joined(separator: ", "))"
        case .convKernel(let node, let k):
            return "Conv '\(node)' has a \(k.map(String.init).joined(separator: "x")) kernel; only 1x1 (pointwise) convolutions are supported"
        case .unsupported(let op, let node, let reason):
            return "\(op) '\(node)': \(reason)"
        case .invalidModel(let m):
            return "invalid or unsupported model: \(m)"
        case .graph(let g):
            return "imported graph is inconsistent: \(g)"
        case let .nonFinite(f, t, node, what, index, value):
            let v = value.isNaN ? "NaN" : (value.isInfinite ? (value > 0 ? "+inf" : "-inf") : "\(value) (beyond float32)")
            return "'\(f)': \(what) '\(t)' of node '\(node)' has a non-finite value \(v) at flat index \(index); weights, biases and normalization parameters must be finite float32 numbers"
        }
    }
}
