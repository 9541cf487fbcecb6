// Report: SQNR arithmetic, JSON round trip, table and HTML content.
import Foundation
import Testing
@testable import MQCalibration
@testable import MQGraph
@testable import MQPacking
@testable import MQQuantization
@testable import MQReport

@Suite struct ReportTests {
    @Test func sqnrByHand() {
        // signal 3^2 + 4^2 = 25, noise 0.5^2 = 0.25 -> 10 log10(100) = 20 dB
        var a = SQNRAccumulator()
        a.add(float: [3, 4], quantized: [3, 4.5])
        #expect(abs(a.db - 20) < 1e-12)
        #expect(sqnr(signal: 1, noise: 0) == .infinity)
    }

    @Test func reportContents() throws {
        let g = try makeMLP()
        let (_, obs, qm, data) = try calibrate(g)
        let plan = MemoryPlanner.plan(qm)
        let bytes = try Packer.pack(qm, plan: plan, metadata: PackMetadata(sourceName: "mlp.onnx", sourceSHA256: sha256([1]), calibrationMethod: "minmax"))
        let ev = try Evaluation.run(graph: g, model: qm, packed: bytes, data: data, maxSamples: 16)
        #expect(ev.samples == 16 && ev.outputs[0].count == 16 * 4)
        // the output SQNR recomputed here from the returned outputs and the float executor
        let ex = try FloatExecutor(graph: g)
        var acc = SQNRAccumulator()
        for s in 0..<16 { acc.add(float: try ex.run(sample: data.slice(s, 1, graph: g))[0], quantized: Array(ev.outputs[0][(s * 4)..<(s * 4 + 4)])) }
        #expect(abs(acc.db - ev.outputSQNR[0]) < 1e-9)
        #expect(ev.outputSQNR[0] > 25)
        let rep = CalibrationReport.build(graph: g, model: qm, observers: obs, plan: plan, packedBytes: bytes.count, evaluation: ev,
                                          source: "mlp.onnx", sha256: sha256([1]), calibrationSamples: data.count, evaluationData: "calib")
        #expect(rep.flashBytes == bytes.count && rep.arenaBytes == plan.arenaSize && rep.arenaLowerBound == plan.lowerBound)
        #expect(rep.layers.map(\.name) == ["fc1", "fc2"] && rep.layers[1].fused == ["fc2", "sig"])
        let x = try #require(rep.tensors.first { $0.name == "x" })
        #expect(x.qparamsFrom == "observed:minmax" && x.histCounts != nil && x.clipMin == obs["x"]!.seenMin)
        #expect(rep.tensors.first { $0.name == "y" }!.qparamsFrom == "fixed:sigmoid output")
        #expect(rep.tensors.first { $0.name == "z" }!.fusedPreActivation)
        let back = try JSONDecoder().decode(CalibrationReport.self, from: try rep.json())
        #expect(back.layers.count == 2 && back.outputs == ["y"] && back.tensors.count == rep.tensors.count)
        let table = rep.table()
        #expect(table.contains("fc1") && table.contains("lower bound \(plan.lowerBound)"))
        let html = rep.html()
        #expect(html.hasPrefix("<!DOCTYPE html>") && html.contains("<svg") && !html.contains("<script"))
        #expect(html.components(separatedBy: "<svg").count - 1 == rep.tensors.filter { $0.histCounts != nil }.count)
    }
}
