// The TFLite reader against ai-edge-litert's own view of the MLPerf Tiny models
// (Fixtures/mlperf/*.details.json, written by scripts/tflite_tensor_details.py), and its errors.
import Foundation
import Testing
@testable import MQTFLite

/// Tests/TFLiteTests/Fixtures.
let tfliteFixtureDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

/// Bytes of a fixture file (relative to Fixtures/).
func fixtureBytes(_ path: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: tfliteFixtureDir.appendingPathComponent(path)))
}

/// ai-edge-litert's get_tensor_details() / _get_ops_details(), as JSON.
struct LiteRTDetails: Decodable {
    struct Tensor: Decodable {
        var index: Int
        var name: String
        var shape: [Int]
        var dtype: String
        var scales: [Float]
        var zero_points: [Int64]
        var quantized_dimension: Int
    }
    struct Op: Decodable {
        var index: Int
        var op_name: String
        var inputs: [Int]
        var outputs: [Int]
    }
    var inputs: [Int]
    var outputs: [Int]
    var tensors: [Tensor]
    var operators: [Op]
}

let mlperfModels = ["kws_ref_model_int8", "ad01_int8"]

/// numpy dtype name of a TFLite tensor type.
func numpyName(_ t: TFLiteTensorType) -> String {
    switch t {
    case .int8: return "int8"
    case .uint8: return "uint8"
    case .int32: return "int32"
    case .int64: return "int64"
    case .float32: return "float32"
    case .int16: return "int16"
    default: return "\(t)"
    }
}

@Suite struct ReaderTests {
    @Test(arguments: mlperfModels)
    func matchesLiteRT(_ name: String) throws {
        let model = try TFLiteReader.read(try fixtureBytes("mlperf/\(name).tflite"), file: name)
        let ref = try JSONDecoder().decode(LiteRTDetails.self, from: Data(try fixtureBytes("mlperf/\(name).details.json")))
        #expect(model.version == 3)
        #expect(model.subgraphs.count == 1)
        let g = model.subgraphs[0]
        #expect(g.inputs == ref.inputs)
        #expect(g.outputs == ref.outputs)
        #expect(g.tensors.count == ref.tensors.count)
        for rt in ref.tensors {
            try #require(rt.index < g.tensors.count)
            let t = g.tensors[rt.index]
            #expect(t.name == rt.name)
            #expect(t.shape.map(Int.init) == rt.shape, "tensor \(rt.index) \(rt.name)")
            #expect(numpyName(t.type) == rt.dtype, "tensor \(rt.index) \(rt.name)")
            let q = t.quantization
            #expect((q?.scale ?? []) == rt.scales, "tensor \(rt.index) \(rt.name) scales")
            #expect((q?.zeroPoint ?? []) == rt.zero_points, "tensor \(rt.index) \(rt.name) zero points")
            #expect(Int(q?.quantizedDimension ?? 0) == rt.quantized_dimension, "tensor \(rt.index) \(rt.name)")
        }
        #expect(g.operators.count == ref.operators.count)
        for (i, ro) in ref.operators.enumerated() where i < g.operators.count {
            let op = g.operators[i]
            #expect(model.opCode(op).name == ro.op_name, "operator \(i)")
            #expect(op.inputs == ro.inputs, "operator \(i)")
            #expect(op.outputs == ro.outputs, "operator \(i)")
        }
    }

    /// Constant sizes agree with shapes and types (weights int8, biases int32), and the options of
    /// the KWS model are the documented ones (shared/models/mlperf-tiny/README.md).
    @Test func kwsOptionsAndBuffers() throws {
        let model = try TFLiteReader.read(try fixtureBytes("mlperf/kws_ref_model_int8.tflite"))
        let g = model.subgraphs[0]
        for (i, op) in g.operators.enumerated() {
            for t in op.inputs.dropFirst() where t >= 0 {
                let tensor = g.tensors[t]
                let elements = tensor.shape.reduce(1) { $0 * Int($1) }
                let size = tensor.type == .int32 ? 4 : (tensor.type == .int64 ? 8 : 1)
                #expect(model.buffers[tensor.buffer].count == elements * size, "operator \(i) input \(t) \(tensor.name)")
            }
        }
        guard case .conv2D(let c0) = g.operators[0].options else { Issue.record("op 0 options \(g.operators[0].options)"); return }
        #expect(c0.padding == .same && c0.strideH == 2 && c0.strideW == 2 && c0.activation == .relu)
        #expect(c0.dilationH == 1 && c0.dilationW == 1)
        #expect(g.tensors[g.operators[0].inputs[1]].shape == [64, 10, 4, 1])
        guard case .depthwiseConv2D(let d1) = g.operators[1].options else { Issue.record("op 1 options"); return }
        #expect(d1.padding == .same && d1.strideH == 1 && d1.depthMultiplier == 1 && d1.activation == .relu)
        guard case .pool2D(let p) = g.operators[9].options else { Issue.record("op 9 options"); return }
        #expect(p.filterH == 25 && p.filterW == 5 && p.padding == .valid)
        guard case .fullyConnected(let f) = g.operators[11].options else { Issue.record("op 11 options"); return }
        #expect(f.activation == .none && f.weightsFormat == 0)
        guard case .softmax(let beta) = g.operators[12].options else { Issue.record("op 12 options"); return }
        #expect(beta == 1)
        // per-channel conv weights: 64 scales along dimension 0
        let w = g.tensors[g.operators[0].inputs[1]].quantization
        #expect(w?.scale.count == 64 && w?.quantizedDimension == 0 && w?.zeroPoint.allSatisfy { $0 == 0 } == true)
    }

    @Test func adIsTenFullyConnected() throws {
        let model = try TFLiteReader.read(try fixtureBytes("mlperf/ad01_int8.tflite"))
        let g = model.subgraphs[0]
        #expect(g.operators.map { model.opCode($0) } == Array(repeating: .fullyConnected, count: 10))
        let acts = g.operators.map { op -> TFLiteActivation? in
            if case .fullyConnected(let o) = op.options { return o.activation }
            return nil
        }
        #expect(acts == Array(repeating: TFLiteActivation.relu, count: 9) + [TFLiteActivation.none])
    }

    // MARK: errors

    func readError(_ bytes: [UInt8]) -> TFLiteReadError? {
        do { _ = try TFLiteReader.read(bytes, file: "x.tflite"); return nil } catch { return error }
    }

    @Test func tooShortAndTruncated() throws {
        let bytes = try fixtureBytes("mlperf/kws_ref_model_int8.tflite")
        #expect(readError(Array(bytes.prefix(5))) == .tooShort(file: "x.tflite", size: 5))
        for n in [8, 64, 1000, bytes.count / 2, bytes.count - 1000] {
            let e = readError(Array(bytes.prefix(n)))
            guard case .structure(_, let fe)? = e else { Issue.record("truncated to \(n): \(String(describing: e))"); continue }
            #expect(fe.reason.contains("past the end"), "\(fe)")
        }
    }

    @Test func wrongIdentifier() throws {
        var bytes = try fixtureBytes("mlperf/ad01_int8.tflite")
        bytes.replaceSubrange(4..<8, with: Array("TFL2".utf8))
        let e = readError(bytes)
        #expect(e == .fileIdentifier(file: "x.tflite", found: "\"TFL2\""))
        #expect(e?.description.contains("expected \"TFL3\"") == true)
    }

    @Test func corruptRootOffset() throws {
        var bytes = try fixtureBytes("mlperf/ad01_int8.tflite")
        bytes.replaceSubrange(0..<4, with: [0xF0, 0xFF, 0xFF, 0x0F])
        guard case .structure(_, let fe)? = readError(bytes) else { Issue.record("no structure error"); return }
        #expect(fe.path.hasPrefix("Model"))
        #expect(fe.offset == 0)
    }

    /// Position of a field of the root table (Model), through the same checked reader.
    func modelField(_ bytes: [UInt8], _ id: Int) throws -> Int {
        let t = try FlatBuffer(bytes).root(path: "Model")
        return try #require(try t.field(id, "f", size: 4))
    }

    @Test func schemaVersion() throws {
        var bytes = try fixtureBytes("mlperf/ad01_int8.tflite")
        let p = try modelField(bytes, 0)
        #expect(bytes[p] == 3)
        bytes[p] = 4
        #expect(readError(bytes) == .schemaVersion(file: "x.tflite", version: 4))
    }

    /// A corrupt offset deep inside: the subgraphs vector's first entry points outside the file.
    @Test func corruptNestedOffset() throws {
        var bytes = try fixtureBytes("mlperf/kws_ref_model_int8.tflite")
        let p = try modelField(bytes, 2)
        let vec = p + Int(UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 | UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24)
        bytes.replaceSubrange((vec + 4)..<(vec + 8), with: [0x00, 0x00, 0x10, 0x00])   // 1 MiB
        guard case .structure(_, let fe)? = readError(bytes) else { Issue.record("no structure error"); return }
        #expect(fe.path == "Model.subgraphs[0]", "\(fe)")
        #expect(fe.offset == vec + 4)
    }

    /// An operator whose opcode index is out of range names the operator.
    @Test func opcodeIndexOutOfRange() throws {
        let bytes = try fixtureBytes("mlperf/kws_ref_model_int8.tflite")
        let model = try TFLiteReader.read(bytes)
        #expect(model.subgraphs[0].operators[3].opcodeIndex != 0)
        // find operator 3's table through the checked reader and rewrite its opcode_index
        let root = try FlatBuffer(bytes).root(path: "Model")
        let ops = try #require(try root.vector(2, "subgraphs", elementSize: 4)?.table(0).vector(3, "operators", elementSize: 4))
        let op3 = try ops.table(3)
        var mutated = bytes
        if let p = try op3.field(0, "opcode_index", size: 4) {
            mutated.replaceSubrange(p..<(p + 4), with: [UInt8(model.operatorCodes.count), 0, 0, 0])
            let e = readError(mutated)
            guard case .invalid(_, let path, let reason)? = e else { Issue.record("\(String(describing: e))"); return }
            #expect(path == "Model.subgraphs[0].operators[3].opcode_index")
            #expect(reason.contains("operator 3") && reason.contains("\(model.operatorCodes.count) operator code"))
        } else {
            Issue.record("operator 3 has the default opcode index 0")
        }
    }
}
