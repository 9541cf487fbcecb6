// End to end on the importer's fixtures: ONNX -> calibrate -> quantize -> pack -> mq_model_load/run,
// compared with the onnxruntime float outputs committed with the fixtures; and the error cases.
import Foundation
import Testing
import MicroQuantC
@testable import MQCalibration
@testable import MQGraph
@testable import MQNumPy
@testable import MQONNX
@testable import MQPacking
@testable import MQQuantization
@testable import MQReport

let onnxFixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/onnx")
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// `graph` quantized with min/max observers, calibrated on the first `samples` rows of `x` (every row when nil).
func minmaxQuantized(_ graph: Graph, _ x: NPYArray, samples: Int? = nil, dtype: ActivationDType) throws -> QuantizedModel {
    let n = samples ?? x.shape[0], row = x.shape.dropFirst().reduce(1, *)
    let data = try CalibrationData.single(graph: graph, values: Array(try x.floats().prefix(n * row)),
                                          shape: [n] + Array(x.shape.dropFirst()))
    let plan = try QuantizationPlan(graph: graph)
    return try Quantizer.quantize(graph: graph, plan: plan, observers: try Calibrator.run(graph: graph, plan: plan, data: data, kind: .minmax),
                                  dtype: dtype, observer: .minmax)
}

/// Import, calibrate on the fixture's own inputs, pack, and run every sample through the C runtime.
/// Returns the SQNR (dB) of output 0 against onnxruntime's float output.
func endToEnd(_ name: String, observer: ObserverKind = .minmax, dtype: ActivationDType = .uint8) throws -> Double {
    let graph = try ONNXImporter.importModel(at: onnxFixtures.appendingPathComponent("\(name).onnx"))
    let x = try NumPy.read(contentsOf: onnxFixtures.appendingPathComponent("\(name)_input.npy"))
    let y = try NumPy.read(contentsOf: onnxFixtures.appendingPathComponent("\(name)_output.npy"))
    let data = try CalibrationData.single(graph: graph, values: x.floats(), shape: x.shape)
    let plan = try QuantizationPlan(graph: graph)
    let obs = try Calibrator.run(graph: graph, plan: plan, data: data, kind: observer)
    let qm = try Quantizer.quantize(graph: graph, plan: plan, observers: obs, dtype: dtype, observer: observer)
    let bytes = try Packer.pack(qm, plan: MemoryPlanner.plan(qm), metadata: PackMetadata(sourceName: name, sourceSHA256: [], calibrationMethod: observer.rawValue))
    let model = try PackedModel(bytes: bytes)
    let inQ = qm.tensors[qm.inputs[0]].qparams, outQ = qm.tensors[qm.outputs[0]].qparams
    let e = graph.inputs[0].elementCount
    var got: [Float] = []
    for s in 0..<data.count {
        let codes = data.inputs[0][(s * e)..<((s + 1) * e)].map { UInt8(truncatingIfNeeded: inQ.quantize($0)) }
        got += dequantize(try model.run([codes])[0], outQ)
    }
    let ref = y.floats()
    #expect(ref.count == got.count, "\(name): output size")
    var acc = SQNRAccumulator()
    acc.add(float: ref, quantized: got)
    return acc.db
}

@Suite struct CalibrateTests {
    /// Every fixture with inputs and reference outputs quantizes, packs, loads and runs; the int8 result
    /// stays close to onnxruntime's float output. Thresholds: 8-bit activations give ~30-45 dB on these
    /// small random models; 20 dB catches a wrong layout, scale, LUT or op (those give < 10 dB).
    @Test(arguments: [
        "add_residual", "clip_attrs_opset6", "clip_min_only", "clip_relu6_inputs", "conv1x1", "conv1x1_stride2_pad",
        "conv_bn_relu", "conv_transpose_sigmoid", "dfl_head", "dynamic_batch_mlp", "flatten_cnn_head",
        "gelu_erf_pattern", "gelu_op", "gemm_bn", "gemm_nobias", "gemm_transb_raw", "hardsigmoid_torch",
        "hardswish", "matmul_add", "matmul_add_rank3", "relu", "sigmoid", "silu_pattern", "softmax_conv_channels", "tanh",
    ])
    func fixtureRunsThroughCRuntime(_ name: String) throws {
        for dtype in ActivationDType.allCases {
            let db = try endToEnd(name, dtype: dtype)
            #expect(db > 20, "\(name) \(dtype): SQNR \(db) dB")
        }
    }

    @Test func everyObserverOnDFLHead() throws {
        for kind in ObserverKind.allCases {
            let db = try endToEnd("dfl_head", observer: kind)
            #expect(db > 20, "\(kind): SQNR \(db) dB")
        }
    }

    @Test func importerErrorsReachTheUser() {
        do {
            _ = try ONNXImporter.importModel(at: onnxFixtures.appendingPathComponent("err_unsupported_op.onnx"))
            Issue.record("an unsupported op must be rejected")
        } catch let e as ImportError {
            guard case .unsupportedOp(let op, _, let supported) = e else { Issue.record("got \(e)"); return }
            #expect(!op.isEmpty && supported.contains("Gemm"))
            #expect(e.description.contains(op))
        } catch { Issue.record("unexpected \(error)") }
        #expect(throws: ImportError.self) { _ = try ONNXImporter.importModel(at: onnxFixtures.appendingPathComponent("err_softmax_opset11_2axes.onnx")) }
    }

    @Test func shapeMismatchNamesExpectedAndGot() throws {
        let graph = try ONNXImporter.importModel(at: onnxFixtures.appendingPathComponent("dfl_head.onnx"))
        do {
            _ = try CalibrationData.single(graph: graph, values: [Float](repeating: 0, count: 2 * 64 * 9), shape: [2, 64, 9])
            Issue.record("a wrong sample shape must be rejected")
        } catch let e as QuantizationError {
            #expect(e == .shapeMismatch(input: graph.inputs[0].name, expected: [64, 10], got: [2, 64, 9]))
            #expect(e.description.contains("[64, 10]") && e.description.contains("[2, 64, 9]"))
        }
    }

    /// The CLI binary (built by `swift build`, which scripts/test.sh runs before `swift test`): no arguments
    /// runs the bundled example; errors exit non-zero with a message and leave no output file.
    @Test func cliBehaviour() throws {
        let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        // the calibrate built next to this test binary (any --scratch-path), else the default .build/debug
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("calibrate")
        let bin = FileManager.default.isExecutableFile(atPath: beside.path) ? beside : repo.appendingPathComponent(".build/debug/calibrate")
        guard FileManager.default.isExecutableFile(atPath: bin.path) else {
            Issue.record("\(bin.path) not found: run `swift build` before `swift test` (scripts/test.sh does)")
            return
        }
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mq-cli-\(getpid())")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        func run(_ args: [String], cwd: URL? = nil) throws -> (Int32, String, String) {
            let p = Process()
            p.executableURL = bin
            p.arguments = args
            p.currentDirectoryURL = cwd ?? repo
            let o = Pipe(), e = Pipe()
            p.standardOutput = o
            p.standardError = e
            try p.run()
            let od = o.fileHandleForReading.readDataToEndOfFile(), ed = e.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return (p.terminationStatus, String(decoding: od, as: UTF8.self), String(decoding: ed, as: UTF8.self))
        }
        // the bundled example, with a report
        let out = tmp.appendingPathComponent("ex.mqm").path
        let (st, so, _) = try run(["-o", out, "--report", tmp.appendingPathComponent("rep").path, "--eval-samples", "16"])
        #expect(st == 0 && so.contains("wrote \(out)"))
        let model = try PackedModel(bytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: out))))
        #expect(String(decoding: model.metadata(MQ_META_CALIBRATION), as: UTF8.self) == "percentile:99.99")
        let html = try String(contentsOf: tmp.appendingPathComponent("rep/report.html"), encoding: .utf8)
        #expect(html.contains("<svg") && !html.contains("<script"))
        // weight options: recorded in the metadata, and they change the packed bytes
        let opt = tmp.appendingPathComponent("opt.mqm").path
        let (sto, _, _) = try run(["-o", opt, "--weights", "mse", "--bias-correction", "--eval-samples", "16", "-q"])
        #expect(sto == 0)
        let optBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: opt)))
        #expect(String(decoding: try PackedModel(bytes: optBytes).metadata(MQ_META_CALIBRATION), as: UTF8.self)
                == "percentile:99.99 weights:mse bias-correction")
        #expect(optBytes != [UInt8](try Data(contentsOf: URL(fileURLWithPath: out))))
        let (stw, _, sew) = try run(["-o", opt, "--weights", "l2"])
        #expect(stw != 0 && sew.contains("weights"))
        // NaN in the data: message names the sample, exit 1, nothing written
        let graph = try ONNXImporter.importModel(at: onnxFixtures.appendingPathComponent("relu.onnx"))
        let e = graph.inputs[0].elementCount
        var v = [Float](repeating: 0.25, count: 3 * e)
        v[2 * e] = .nan
        let sampleShape = graph.inputs[0].shape.first == 1 ? Array(graph.inputs[0].shape.dropFirst()) : graph.inputs[0].shape
        let bad = tmp.appendingPathComponent("bad.npy")
        try NumPy.write(try NPYArray(float32: v, shape: [3] + sampleShape), to: bad)
        let never = tmp.appendingPathComponent("never/x.mqm")
        let (st2, _, se2) = try run([onnxFixtures.appendingPathComponent("relu.onnx").path, "--data", bad.path, "-o", never.path])
        #expect(st2 != 0 && se2.contains("sample 2"))
        #expect(!FileManager.default.fileExists(atPath: never.deletingLastPathComponent().path))
        // unsupported op from the importer
        let (st3, _, se3) = try run([onnxFixtures.appendingPathComponent("err_unsupported_op.onnx").path, "--data", bad.path, "-o", never.path])
        #expect(st3 != 0 && se3.contains("unsupported operator"))
        // unknown board
        let good = tmp.appendingPathComponent("good.npy")
        try NumPy.write(try NPYArray(float32: [Float](repeating: 0.25, count: 3 * e), shape: [3] + sampleShape), to: good)
        let (st4, _, se4) = try run([onnxFixtures.appendingPathComponent("relu.onnx").path, "--data", good.path, "-o", never.path, "--board", "no-such-board"])
        #expect(st4 != 0 && se4.contains("unknown board 'no-such-board'"))
        #expect(!FileManager.default.fileExists(atPath: never.path))
        // a board it fits
        let fits = tmp.appendingPathComponent("fits.mqm")
        let (st5, _, _) = try run([onnxFixtures.appendingPathComponent("relu.onnx").path, "--data", good.path, "-o", fits.path, "--board", "mps2-an385", "-q"])
        #expect(st5 == 0 && FileManager.default.fileExists(atPath: fits.path))
        // a board it does not fit: a boards/ directory in the working directory (found before the checkout's)
        // with the checkout's measured tables and a copy of mps2-an385 shrunk to 16 KiB of flash, 4 KiB of RAM
        let repoBoards = packageRoot.appendingPathComponent("boards")
        let tmpBoards = tmp.appendingPathComponent("boards")
        let boardDir = tmpBoards.appendingPathComponent("tiny")
        try FileManager.default.createDirectory(at: boardDir, withIntermediateDirectories: true)
        try Data().write(to: tmpBoards.appendingPathComponent("CMakeLists.txt"))
        for table in ["runtime-size.json", "cost-model.json"] {
            try FileManager.default.copyItem(at: repoBoards.appendingPathComponent(table), to: tmpBoards.appendingPathComponent(table))
        }
        var cfg = try JSONSerialization.jsonObject(with: Data(contentsOf: repoBoards.appendingPathComponent("mps2-an385/board.json"))) as! [String: Any]
        cfg["name"] = "tiny"
        cfg["flash"] = ["base": 0, "size": 16384, "what": "test"]
        cfg["ram"] = ["base": 536870912, "size": 4096, "what": "test"]
        try JSONSerialization.data(withJSONObject: cfg).write(to: boardDir.appendingPathComponent("board.json"))
        let (st6, _, se6) = try run([onnxFixtures.appendingPathComponent("relu.onnx").path, "--data", good.path, "-o", never.path, "--board", "tiny"], cwd: tmp)
        // the model alone (a few hundred bytes) fits 16 KiB: only the runtime code counted with it does not
        #expect(st6 != 0 && se6.contains("does not fit board 'tiny'") && se6.contains("runtime code") && se6.contains("bytes of flash"))
        #expect(se6.contains("bytes of RAM"))
        #expect(!FileManager.default.fileExists(atPath: never.path))
    }
}
