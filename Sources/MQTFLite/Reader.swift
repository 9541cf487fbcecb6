// TFLite flatbuffer -> TFLiteModel. Field ids are those of TFLite's schema.fbs (facts of the format);
// every offset, vtable, vector length and index is checked (FlatBuffer.swift), and the indices that
// tie the model together (operator -> opcode, operator/subgraph -> tensor, tensor -> buffer) are
// range-checked here, so a TFLiteModel can be indexed without further checks.

/// Why a .tflite file could not be read.
public enum TFLiteReadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Shorter than the 8-byte header (root offset + file identifier).
    case tooShort(file: String, size: Int)
    /// Bytes 4..<8 are not "TFL3".
    case fileIdentifier(file: String, found: String)
    /// Model.version is not 3.
    case schemaVersion(file: String, version: UInt32)
    /// A structural error (offset, vtable, vector length, string) at a table/field path.
    case structure(file: String, FlatBufferError)
    /// A value out of range (an index, a union type, an enum), at a table/field path.
    case invalid(file: String, path: String, reason: String)

    public var description: String {
        switch self {
        case let .tooShort(f, n):
            return "\(f): not a TFLite model: \(n) bytes, shorter than the 8-byte FlatBuffer header"
        case let .fileIdentifier(f, id):
            return "\(f): not a TFLite model: file identifier is \(id), expected \"TFL3\" (bytes 4..7)"
        case let .schemaVersion(f, v):
            return "\(f): TFLite schema version \(v) is not supported (only version 3)"
        case let .structure(f, e):
            return "\(f): corrupt TFLite file: \(e)"
        case let .invalid(f, p, r):
            return "\(f): invalid TFLite model: \(p): \(r)"
        }
    }
}

/// Reads .tflite files.
public enum TFLiteReader {
    /// The schema version this reader understands.
    public static let schemaVersion: UInt32 = 3

    /// Decodes `bytes`; `file` names the file in error messages.
    public static func read(_ bytes: [UInt8], file: String = "model.tflite") throws(TFLiteReadError) -> TFLiteModel {
        guard bytes.count >= 8 else { throw .tooShort(file: file, size: bytes.count) }
        let ident = Array(bytes[4..<8])
        guard ident == Array("TFL3".utf8) else {
            let shown = ident.allSatisfy { $0 >= 0x20 && $0 < 0x7f }
                ? "\"\(String(decoding: ident, as: UTF8.self))\""
                : ident.map { String($0, radix: 16) }.joined(separator: " ")
            throw .fileIdentifier(file: file, found: shown)
        }
        do {
            return try Decoder(fb: FlatBuffer(bytes), file: file).model()
        } catch let e as FlatBufferError {
            throw .structure(file: file, e)
        } catch let e as TFLiteReadError {
            throw e
        } catch {
            throw .invalid(file: file, path: "Model", reason: "\(error)")
        }
    }
}

/// The decoding pass (one per file).
private struct Decoder {
    let fb: FlatBuffer
    let file: String

    func invalid(_ path: String, _ reason: String) -> TFLiteReadError { .invalid(file: file, path: path, reason: reason) }

    func model() throws -> TFLiteModel {
        let m = try fb.root(path: "Model")
        let version = try m.u32(0, "version")
        guard version == TFLiteReader.schemaVersion else { throw TFLiteReadError.schemaVersion(file: file, version: version) }
        var codes: [TFLiteOperatorCode] = []
        if let v = try m.vector(1, "operator_codes", elementSize: 4) {
            for i in 0..<v.count {
                let t = try v.table(i)
                codes.append(TFLiteOperatorCode(
                    deprecatedBuiltinCode: try t.i8(0, "deprecated_builtin_code"),
                    builtinCode: try t.i32(3, "builtin_code"),
                    customCode: try t.string(1, "custom_code"),
                    version: try t.i32(2, "version", default: 1)))
            }
        }
        var buffers: [[UInt8]] = []
        if let v = try m.vector(4, "buffers", elementSize: 4) {
            for i in 0..<v.count { buffers.append(try buffer(try v.table(i))) }
        }
        guard let sv = try m.vector(2, "subgraphs", elementSize: 4), sv.count >= 1 else {
            throw invalid("Model.subgraphs", "the model has no subgraph")
        }
        var subgraphs: [TFLiteSubGraph] = []
        for i in 0..<sv.count {
            subgraphs.append(try subgraph(try sv.table(i), opcodes: codes.count, buffers: buffers.count))
        }
        return TFLiteModel(version: version, description: try m.string(3, "description") ?? "",
                           operatorCodes: codes, subgraphs: subgraphs, buffers: buffers)
    }

    /// Buffer: data [ubyte] (field 0), or for files over 2 GB offset/size (fields 1, 2) of bytes after
    /// the flatbuffer (offset 0/1 = none).
    func buffer(_ t: FBTable) throws -> [UInt8] {
        if let d = try t.vector(0, "data", elementSize: 1) { return d.bytes() }
        let off = try t.u64(1, "offset"), size = try t.u64(2, "size")
        guard off > 1 else { return [] }
        guard off <= UInt64(fb.count), size <= UInt64(fb.count) - off else {
            throw invalid(t.path, "external data of \(size) bytes at offset \(off) lies outside the \(fb.count)-byte file")
        }
        try fb.budget.spend(Int(size), path: t.path, offset: Int(off))
        return Array(fb.bytes[Int(off)..<Int(off + size)])
    }

    func indices(_ v: FBVector?, limit: Int, optional: Bool, what: String) throws -> [Int] {
        guard let v else { return [] }
        return try v.int32s().enumerated().map { i, x in
            if optional && x == -1 { return -1 }
            guard x >= 0 && Int(x) < limit else {
                throw invalid(v.elementPath(i), "\(what) index \(x) is out of range (0..<\(limit))")
            }
            return Int(x)
        }
    }

    func subgraph(_ g: FBTable, opcodes: Int, buffers: Int) throws -> TFLiteSubGraph {
        var tensors: [TFLiteTensor] = []
        if let v = try g.vector(0, "tensors", elementSize: 4) {
            for i in 0..<v.count { tensors.append(try tensor(try v.table(i), buffers: buffers)) }
        }
        let n = tensors.count
        let inputs = try indices(try g.vector(1, "inputs", elementSize: 4), limit: n, optional: false, what: "tensor")
        let outputs = try indices(try g.vector(2, "outputs", elementSize: 4), limit: n, optional: false, what: "tensor")
        var ops: [TFLiteOperator] = []
        if let v = try g.vector(3, "operators", elementSize: 4) {
            for i in 0..<v.count {
                let t = try v.table(i)
                let oc = try t.u32(0, "opcode_index")
                guard Int(oc) < opcodes else {
                    throw invalid(t.fieldPath("opcode_index"), "operator \(i): opcode index \(oc) is out of range (the model has \(opcodes) operator code(s))")
                }
                ops.append(TFLiteOperator(
                    opcodeIndex: Int(oc),
                    inputs: try indices(try t.vector(1, "inputs", elementSize: 4), limit: n, optional: true, what: "operator \(i): tensor"),
                    outputs: try indices(try t.vector(2, "outputs", elementSize: 4), limit: n, optional: false, what: "operator \(i): tensor"),
                    options: try options(t)))
            }
        }
        return TFLiteSubGraph(name: try g.string(4, "name") ?? "", tensors: tensors, inputs: inputs, outputs: outputs, operators: ops)
    }

    func tensor(_ t: FBTable, buffers: Int) throws -> TFLiteTensor {
        let buf = try t.u32(2, "buffer")
        guard Int(buf) < max(buffers, 1) else {
            throw invalid(t.fieldPath("buffer"), "buffer index \(buf) is out of range (the model has \(buffers) buffer(s))")
        }
        var q: TFLiteQuantization? = nil
        if let qt = try t.table(4, "quantization") {
            q = TFLiteQuantization(
                min: try qt.vector(0, "min", elementSize: 4)?.floats() ?? [],
                max: try qt.vector(1, "max", elementSize: 4)?.floats() ?? [],
                scale: try qt.vector(2, "scale", elementSize: 4)?.floats() ?? [],
                zeroPoint: try qt.vector(3, "zero_point", elementSize: 8)?.int64s() ?? [],
                detailsType: try qt.u8(4, "details_type"),
                quantizedDimension: try qt.i32(6, "quantized_dimension"))
        }
        return TFLiteTensor(
            name: try t.string(3, "name") ?? "",
            shape: try t.vector(0, "shape", elementSize: 4)?.int32s() ?? [],
            type: TFLiteTensorType(try t.u8(1, "type")),
            buffer: Int(buf),
            quantization: q,
            isVariable: try t.bool(5, "is_variable"),
            isSparse: try t.field(6, "sparsity", size: 4) != nil)
    }

    func activation(_ t: FBTable, _ id: Int) throws -> TFLiteActivation {
        let raw = try t.u8(id, "fused_activation_function")
        guard let a = TFLiteActivation(rawValue: raw) else {
            throw invalid(t.fieldPath("fused_activation_function"), "unknown activation function \(raw)")
        }
        return a
    }

    func padding(_ t: FBTable) throws -> TFLitePadding {
        let raw = try t.u8(0, "padding")
        guard let p = TFLitePadding(rawValue: raw) else { throw invalid(t.fieldPath("padding"), "unknown padding \(raw)") }
        return p
    }

    /// builtin_options_type (field 3) and builtin_options (field 4).
    func options(_ op: FBTable) throws -> TFLiteOptions {
        let type = try op.u8(3, "builtin_options_type")
        if type == 0 { return .none }
        let name: String
        switch type {
        case 1: name = "builtin_options<Conv2DOptions>"
        case 2: name = "builtin_options<DepthwiseConv2DOptions>"
        case 5: name = "builtin_options<Pool2DOptions>"
        case 8: name = "builtin_options<FullyConnectedOptions>"
        default: name = "builtin_options"
        }
        guard let t = try op.table(4, name) else {
            // A type without a table: every field takes its default.
            return try defaults(type, path: op.fieldPath(name))
        }
        return try decode(type, t)
    }

    func defaults(_ type: UInt8, path: String) throws -> TFLiteOptions {
        switch type {
        case 1, 2, 5, 8:
            throw invalid(path, "options of type \(type) are declared but absent")
        default: return .other(type: type)
        }
    }

    func decode(_ type: UInt8, _ t: FBTable) throws -> TFLiteOptions {
        switch type {
        case 1:
            return .conv2D(TFLiteConv2DOptions(
                padding: try padding(t), strideW: try t.i32(1, "stride_w"), strideH: try t.i32(2, "stride_h"),
                activation: try activation(t, 3),
                dilationW: try t.i32(4, "dilation_w_factor", default: 1), dilationH: try t.i32(5, "dilation_h_factor", default: 1)))
        case 2:
            return .depthwiseConv2D(TFLiteDepthwiseConv2DOptions(
                padding: try padding(t), strideW: try t.i32(1, "stride_w"), strideH: try t.i32(2, "stride_h"),
                depthMultiplier: try t.i32(3, "depth_multiplier"), activation: try activation(t, 4),
                dilationW: try t.i32(5, "dilation_w_factor", default: 1), dilationH: try t.i32(6, "dilation_h_factor", default: 1)))
        case 5:
            return .pool2D(TFLitePool2DOptions(
                padding: try padding(t), strideW: try t.i32(1, "stride_w"), strideH: try t.i32(2, "stride_h"),
                filterW: try t.i32(3, "filter_width"), filterH: try t.i32(4, "filter_height"), activation: try activation(t, 5)))
        case 8:
            return .fullyConnected(TFLiteFullyConnectedOptions(
                activation: try activation(t, 0), weightsFormat: try t.u8(1, "weights_format"), keepNumDims: try t.bool(2, "keep_num_dims")))
        case 9: return .softmax(beta: try t.f32(0, "beta"))
        case 10: return .concatenation(axis: try t.i32(0, "axis"), activation: try activation(t, 1))
        case 11: return .add(activation: try activation(t, 0))
        case 21: return .mul(activation: try activation(t, 0))
        case 17: return .reshape(newShape: try t.vector(0, "new_shape", elementSize: 4)?.int32s())
        case 30: return .squeeze(dims: try t.vector(0, "squeeze_dims", elementSize: 4)?.int32s() ?? [])
        case 27: return .reducer(keepDims: try t.bool(0, "keep_dims"))
        default: return .other(type: type)
        }
    }
}
