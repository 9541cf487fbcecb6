// Errors of the TFLite importer: each names the file, the operator (index and op name) and the tensor.

import MQTFLite

/// Why an int8 .tflite model cannot be imported.
public enum TFLiteImportError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be read (corrupt, truncated, wrong identifier, schema version).
    case read(TFLiteReadError)
    /// Operators the importer does not support: "index NAME" each, e.g. ["3 SUB", "7 GATHER"].
    case unsupportedOps(file: String, ops: [String])
    /// A tensor that must be quantized has no (or no usable) quantization parameters.
    case missingQuantization(file: String, op: Int, opName: String, tensor: Int, tensorName: String, reason: String)
    /// Anything else about one operator (a type, a shape, an option, a constant).
    case invalid(file: String, op: Int, opName: String, reason: String)
    /// About the model as a whole (inputs, outputs, subgraphs).
    case model(file: String, reason: String)

    public var description: String {
        switch self {
        case .read(let e): return e.description
        case let .unsupportedOps(f, ops):
            return "\(f): unsupported TFLite operator(s): \(ops.map { "operator \($0)" }.joined(separator: ", ")); "
                + "supported: \(TFLiteImporter.supportedOps.map(\.name).joined(separator: ", ")) (docs/IMPORT.md)"
        case let .missingQuantization(f, op, name, t, tn, r):
            return "\(f): operator \(op) (\(name)): tensor \(t) '\(tn)' \(r); only fully int8-quantized models can be imported (TFLiteConverter with a representative dataset and TFLITE_BUILTINS_INT8)"
        case let .invalid(f, op, name, r): return "\(f): operator \(op) (\(name)): \(r)"
        case let .model(f, r): return "\(f): \(r)"
        }
    }
}
