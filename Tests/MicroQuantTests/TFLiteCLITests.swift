// `calibrate model.tflite` through the built command: --report writes the imported model's report (issue 10:
// the report works on an imported model as on a calibrated one); options that need calibration are refused.
import Foundation
import Testing

@Suite(.serialized) struct TFLiteCLITests {
    @Test func reportOfAnImportedModel() throws {
        guard let cal = CLI.find("calibrate") else { return }
        let tmp = try scratchDirectory("tflite-report")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let model = "Tests/TFLiteTests/Fixtures/tflite/add_broadcast_channel.tflite"
        let rep = tmp.appendingPathComponent("rep")
        let r = try cal.run([model, "-o", tmp.appendingPathComponent("m.mqm").path, "--report", rep.path])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("imported from tflite") && r.out.contains("MACs") && r.out.contains("no SQNR (no float reference)"), "\(r.out)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: rep.appendingPathComponent("report.json"))) as? [String: Any]
        let layers = json?["layers"] as? [[String: Any]] ?? []
        #expect(layers.map { $0["op"] as? String } == ["conv", "conv_1x1", "mean", "add"])
        #expect(layers.last?["inputShapes"] as? [[Int]] == [[1, 5, 5, 8], [1, 1, 1, 8]])
        #expect((json?["accuracyNote"] as? String)?.contains("no SQNR") == true)
        #expect(FileManager.default.fileExists(atPath: rep.appendingPathComponent("report.html").path))
        // calibration options still do not apply
        let bad = try cal.run([model, "-o", tmp.appendingPathComponent("n.mqm").path, "--data", "x.npy"])
        #expect(bad.status != 0 && bad.err.contains("--data") && readable(bad.err), "\(bad.err)")
    }
}
