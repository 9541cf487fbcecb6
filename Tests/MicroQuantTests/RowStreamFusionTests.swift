// Row-streamed segments (MQPacking.RowStreamFusion, packed ROW_STREAM): the ResNet-8 image classifier stand-ins (the
// int8 TFLite import and the float ONNX calibrated with the defaults) packed with row streaming must fit issue 11's
// arena budget (0.6 x TFLite Micro's: 32,997 B) and give the same output bytes as the layers one after another, on the
// bundled test and calibration inputs, for the classifier output and for every residual block's output (made model
// outputs, so the comparison sees exact int8 codes before the softmax); models without a residual block (tinyconv,
// bandlevels) are left as they are.

import Foundation
import Testing
import MicroQuantC
@testable import MQCalibration
@testable import MQGraph
@testable import MQNumPy
@testable import MQONNX
@testable import MQPacking
@testable import MQQuantization
@testable import MQSimulation
@testable import MQTFLiteImport

private func packed(_ m: QuantizedModel) throws -> (MQSimulation.PackedModel, Int) {
    let plan = MemoryPlanner.plan(m)
    let bytes = try Packer.pack(m, plan: plan, metadata: PackMetadata(sourceName: "t", sourceSHA256: [], calibrationMethod: "t"))
    return (try MQSimulation.PackedModel(bytes: bytes), plan.arenaSize)
}

/// Output bytes of every sample (quantized with the model input's qparams).
private func outputs(_ runner: MQSimulation.PackedModel, _ m: QuantizedModel, _ xs: [[Float]]) throws -> [[UInt8]] {
    let q = m.tensors[m.inputs[0]].qparams
    return try xs.map { x in try runner.run(codes: [x.map { UInt8(truncatingIfNeeded: q.quantize($0)) }]).flatMap { $0 } }
}

/// Every ADD's output also a model output (the residual blocks' outputs), in `m` and in its row-streamed form.
private func withBlockOutputs(_ m: QuantizedModel) -> QuantizedModel {
    var r = m
    for n in m.nodes { if case .add = n.op, !r.outputs.contains(n.output) { r.outputs.append(n.output) } }
    return r
}

private func samples(_ file: String) throws -> [[Float]] {
    let a = try NumPy.read(contentsOf: packageRoot.appendingPathComponent("bench/data/\(file)"))
    let per = a.shape.dropFirst().reduce(1, *)
    let f = a.floats()
    return (0..<a.shape[0]).map { Array(f[($0 * per)..<(($0 + 1) * per)]) }
}

private func check(_ m: QuantizedModel, _ what: String) throws {
    let xs = try samples("ic_test.npy") + samples("ic_calib.npy")
    for blocks in [false, true] {
        let base = blocks ? withBlockOutputs(m) : m
        let shipped = RowStreamFusion.best(base)
        let segments = shipped.nodes.filter { $0.rows != nil }
        // each of the three stages lowers the arena (with the block outputs kept to the end, at least the first two)
        #expect(blocks ? segments.count >= 2 : segments.count == 3, "\(what): \(segments.count) segments")
        #expect(segments.first?.rows?.ringRows == [3, 1], "\(what): stage-1 rings")
        // with the block outputs kept, stage 2 lowers the arena only without its ADD's 2 KB term tables (its ADD rows
        // then run untabulated: the same bytes, checked below); the shipped model tabulates all three
        #expect(segments.filter { $0.rows?.addTerms == false }.count == (blocks ? 1 : 0), "\(what): untabulated ADDs")
        let (r0, a0) = try packed(base), (r1, a1) = try packed(shipped)
        #expect(a0 == 51_168, "\(what): arena layer by layer \(a0)")
        // 24,352 B: the three segments' rings and, live over each segment, its ADD's 2 KB term tables (arena scratch,
        // not the stack)
        if !blocks {
            #expect(a1 <= 32_997 && a1 == 24_352, "\(what): row-streamed arena \(a1)")
            #expect(MemoryPlanner.plan(shipped).termsOffsets.count == 3, "\(what): ADD term tables planned")
        }
        #expect(try outputs(r1, shipped, xs) == outputs(r0, base, xs), "\(what) (block outputs \(blocks)): output bytes differ")
        // every block streamed (stage 3 too): the same bytes
        let all = try #require(RowStreamFusion.fused(base))
        #expect(all.nodes.filter { $0.rows != nil }.count == 3)
        #expect(try outputs(try packed(all).0, all, xs) == outputs(r0, base, xs), "\(what): all blocks streamed, output bytes differ")
    }
}

@Suite struct RowStreamFusionTests {
    @Test func icTFLiteImportFitsAndMatches() throws {
        let url = packageRoot.appendingPathComponent("bench/models/ic_resnet8_style_int8.tflite")
        let m = try TFLiteImporter.importModel(bytes: [UInt8](try Data(contentsOf: url)), file: url.path)
        try check(m, "int8 TFLite")
    }

    @Test func icFloatONNXCalibratedFitsAndMatches() throws {
        let graph = try ONNXImporter.importModel(at: packageRoot.appendingPathComponent("bench/models/ic_resnet8_style_float.onnx"))
        let x = try NumPy.read(contentsOf: packageRoot.appendingPathComponent("bench/data/ic_calib.npy"))
        let m = try minmaxQuantized(graph, x, dtype: .uint8)
        try check(m, "float ONNX")
    }

    @Test func tinyconvWithoutResidualBlocksUnchanged() throws {
        let ex = packageRoot.appendingPathComponent("examples")
        let graph = try ONNXImporter.importModel(at: ex.appendingPathComponent("tinyconv.onnx"))
        let x = try NumPy.read(contentsOf: ex.appendingPathComponent("tinyconv_calib.npy"))
        let m = try minmaxQuantized(graph, x, samples: 8, dtype: .uint8)
        #expect(RowStreamFusion.fused(m) == nil, "tinyconv has no residual block to stream")
    }
}
