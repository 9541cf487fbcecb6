// `calibrate model.tflite --report`: the report of an imported model (CalibrationReport.buildImported).
import Foundation
import Testing
import MQPacking
import MQQuantization
import MQReport
@testable import MQTFLiteImport

@Suite struct ImportedReportTests {
    func report(_ path: String) throws -> (QuantizedModel, CalibrationReport, Int) {
        let q = try TFLiteImporter.importModel(bytes: try fixtureBytes(path), file: path)
        let plan = MemoryPlanner.plan(q)
        let blob = try Packer.pack(q, plan: plan, metadata: PackMetadata(sourceName: path, sourceSHA256: [], calibrationMethod: "imported:tflite"))
        let r = CalibrationReport.buildImported(model: q, plan: plan, packedBytes: blob.count, source: path, sha256: [1, 2],
                                                format: "tflite", detail: "int8 TFLite model")
        return (q, r, plan.arenaSize)
    }

    @Test func kwsLayers() throws {
        let (q, r, arena) = try report("mlperf/kws_ref_model_int8.tflite")
        #expect(r.importedFrom == "tflite" && r.outputSQNRDB.isEmpty && r.arenaBytes == arena)
        #expect(r.layers.count == q.nodes.count && r.tensors.count == q.tensors.count)
        // first layer: conv 10x4 kernel over 1 channel, output [1, 25, 5, 64]
        let l0 = r.layers[0]
        #expect(l0.op == "conv" && l0.inputShapes == [[1, 49, 10, 1]] && l0.outputShape == [1, 25, 5, 64])
        #expect(l0.macs == 25 * 5 * 64 * 10 * 4)
        #expect(l0.outputScale == q.tensors[q.nodes[0].output].qparams.scale && l0.outputZeroPoint == -128)
        // depthwise 3x3 over 64 channels, output 25 x 5 x 64
        #expect(r.layers[1].op == "depthwise_conv" && r.layers[1].macs == 25 * 5 * 64 * 9)
        // constant bytes per layer add up to the model's
        #expect(r.layers.reduce(0) { $0 + ($1.constantBytes ?? 0) } == q.constantBytes && q.constantBytes > 0)
        #expect(r.layers.first { $0.op == "reshape" }?.macs == 0)
        #expect(r.tensors.allSatisfy { $0.qparamsFrom == "imported:tflite" && $0.sqnrDB == nil })
        let note = try #require(r.accuracyNote)
        #expect(note.contains("no float model") && note.contains("no SQNR"))
        let table = r.table()
        #expect(table.contains("MACs") && table.contains("no SQNR") && table.contains("[1,25,5,64]"))
        #expect(!table.contains("SQNR dB"))
        let json = try JSONSerialization.jsonObject(with: try r.json()) as? [String: Any]
        #expect(json?["importedFrom"] as? String == "tflite")
        let html = r.html()
        #expect(html.contains("MACs per inference") && html.contains("no SQNR") && html.contains("0:CONV_2D"))
    }

    @Test func constantOperandInTheReport() throws {
        let (q, r, _) = try report("tflite/add_const_channel.tflite")
        #expect(r.layers.count == 1 && r.layers[0].op == "add")
        #expect(r.layers[0].inputShapes == [[1, 4, 5, 8], [8]])
        #expect(r.layers[0].constantBytes == 8 && r.layers[0].macs == 0)
        #expect(r.tensors.filter { $0.qparamsFrom.hasSuffix("(constant)") }.count == 1)
        #expect(q.constantBytes == 8)
    }
}
