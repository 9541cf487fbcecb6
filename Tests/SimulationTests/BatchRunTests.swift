// The simulator's batch loop (PackedModel.run(codes:sampleCount:), used by Simulator.run): one arena and
// one set of buffers for every sample. Independent-reference checks of the outputs themselves are in
// SimulatorTests (int64 reference); here: a model with several inputs and outputs gives, sample by sample,
// the bytes of separate one-sample runs (no state leaks between samples through the reused arena or
// buffers), and wrong sizes are rejected with the input named.

import Foundation
import MQSimulation
import XCTest

final class BatchRunTests: XCTestCase {
    func testBatchEqualsOneSampleRunsOnAMultiInputModel() throws {
        let model = try PackedModel(contentsOf: repoRoot.appendingPathComponent("boards/common/demo.mqm"))
        XCTAssertGreaterThan(model.inputs.count, 1)
        XCTAssertGreaterThan(model.outputs.count, 1)
        var r = XorShift(state: 0x0DDB1A5E5BAD5EED)
        let samples = 7
        let codes = model.inputs.map { t in (0..<(samples * t.byteCount)).map { _ in UInt8(r.int(0...255)) } }
        let batch = try model.run(codes: codes, sampleCount: samples)
        XCTAssertEqual(batch.count, model.outputs.count)
        // reversed order: a sample's result must not depend on which sample ran before it
        for s in (0..<samples).reversed() {
            let one = try model.run(codes: zip(codes, model.inputs).map { c, t in
                Array(c[(s * t.byteCount)..<((s + 1) * t.byteCount)])
            }, sample: s)
            for (o, t) in model.outputs.enumerated() {
                XCTAssertEqual(Array(batch[o][(s * t.byteCount)..<((s + 1) * t.byteCount)]), one[o],
                               "sample \(s) output \(o)")
            }
        }
        let sim = Simulator(model: model)
        XCTAssertEqual(try sim.run(codes: codes, sampleCount: samples).codes, batch)
    }

    /// The batched host path (mq_model_run_batch, Simulator's default) gives the per-sample loop's bytes, for
    /// several chunk sizes (chunk boundaries inside the set), on the demo model (every op of the first format)
    /// and the convolutional fixture; the per-sample path stays selectable.
    func testBatchedPathEqualsPerSampleLoop() throws {
        var r = XorShift(state: 0xBA7C4ED0BA7C4ED0)
        for path in ["boards/common/demo.mqm", "csrc/tests/fixtures/convnet.mqm"] {
            let model = try PackedModel(contentsOf: repoRoot.appendingPathComponent(path))
            let samples = 23
            let codes = model.inputs.map { t in (0..<(samples * t.byteCount)).map { _ in UInt8(r.int(0...255)) } }
            let loop = try model.run(codes: codes, sampleCount: samples)
            for chunk in [0, 1, 4, 16, 64] {
                XCTAssertEqual(try model.runBatched(codes: codes, sampleCount: samples, chunk: chunk), loop, "\(path) chunk \(chunk)")
            }
            var sim = Simulator(model: model)
            XCTAssertEqual(sim.hostPath, .batched)
            XCTAssertEqual(try sim.run(codes: codes, sampleCount: samples).codes, loop)
            sim.hostPath = .perSample
            XCTAssertEqual(try sim.run(codes: codes, sampleCount: samples).codes, loop)
            XCTAssertEqual(try model.runBatched(codes: model.inputs.map { _ in [] }, sampleCount: 0).map(\.count),
                           model.outputs.map { _ in 0 })
            XCTAssertThrowsError(try model.runBatched(codes: codes, sampleCount: samples + 1))
        }
    }

    func testBatchRejectsWrongSizes() throws {
        let model = try PackedModel(contentsOf: repoRoot.appendingPathComponent("boards/common/demo.mqm"))
        let ok = model.inputs.map { [UInt8](repeating: 0, count: 2 * $0.byteCount) }
        XCTAssertThrowsError(try model.run(codes: Array(ok.dropLast()), sampleCount: 2))
        var short = ok
        short[1].removeLast()
        XCTAssertThrowsError(try model.run(codes: short, sampleCount: 2)) { e in
            XCTAssertTrue("\(e)".contains("input \(model.inputs[1].name)"), "\(e)")
        }
        XCTAssertThrowsError(try model.run(codes: ok, sampleCount: 3))
        let none = try model.run(codes: model.inputs.map { _ in [] }, sampleCount: 0)
        XCTAssertEqual(none.map(\.count), model.outputs.map { _ in 0 })
    }
}
