// Host simulation against independent references: the runtime fixture's expected outputs
// (csrc/tools/mq_gen_fixture.c, int64/float64 reference) and fully connected models packed here
// with an Int64 reference written in TestSupport.swift.

import Foundation
import MicroQuantC
import MQSimulation
import XCTest

final class SimulatorTests: XCTestCase {
    func fixture(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: repoRoot.appendingPathComponent("csrc/tests/fixtures").appendingPathComponent(name)))
    }

    func testRuntimeFixtureMatchesItsIndependentReference() throws {
        let sim = try Simulator(bytes: fixture("model.mqm"))
        XCTAssertEqual(sim.model.inputs.count, 1)
        XCTAssertEqual(sim.model.outputs.count, 2)
        let input = try fixture("input_0.bin")
        XCTAssertEqual(input.count, sim.model.inputs[0].byteCount)
        let result = try sim.run(codes: [input], sampleCount: 1)
        XCTAssertEqual(result.codes[0], try fixture("expected_0.bin"), "output 0 differs from the fixture's reference")
        XCTAssertEqual(result.codes[1], try fixture("expected_1.bin"), "output 1 differs from the fixture's reference")
    }

    func testFullyConnectedAgainstInt64Reference() throws {
        var seed: UInt64 = 0x9E3779B97F4A7C15
        for (rows, n, k) in [(1, 1, 1), (1, 7, 33), (3, 16, 64), (2, 5, 640), (4, 9, 17)] {
            for dtype in [ElementType.uint8, .int8] {
                for perChannel in [false, true] {
                    seed = seed &* 6364136223846793005 &+ 1442695040888963407
                    let c = FCCase(seed: seed | 1, rows: rows, n: n, k: k, inDtype: dtype, perChannel: perChannel, relu: perChannel)
                    let sim = try Simulator(bytes: try c.pack())
                    var r = XorShift(state: seed ^ 0x5555 | 1)
                    let samples = 3
                    let x = (0..<(samples * rows * k)).map { _ in UInt8(r.int(0...255)) }
                    let got = try sim.run(codes: [x], sampleCount: samples)
                    for s in 0..<samples {
                        let want = c.reference(Array(x[(s * rows * k)..<((s + 1) * rows * k)]))
                        XCTAssertEqual(Array(got.codes(sample: s, output: 0)), want,
                                       "rows \(rows) n \(n) k \(k) \(dtype) perChannel \(perChannel) sample \(s)")
                    }
                }
            }
        }
    }

    func testFloatInputsAreQuantizedWithTheInputQParams() throws {
        let c = FCCase(seed: 42, rows: 1, n: 4, k: 8, inDtype: .uint8, perChannel: true, relu: false)
        let sim = try Simulator(bytes: try c.pack())
        let t = sim.model.inputs[0]
        XCTAssertEqual(t.scale, 0.05)
        // exact multiples of the scale land on known codes; ties round half to even; saturation
        let values: [Float] = [0, 0.05, -0.05, 0.025, 0.075, 100, -100, 1.0]
        let codes = try quantize(values, as: t, what: "x")
        let zp = Int(c.inZP)
        func clamp(_ v: Int) -> UInt8 { UInt8(min(max(v, 0), 255)) }
        XCTAssertEqual(codes, [clamp(zp), clamp(zp + 1), clamp(zp - 1), clamp(zp + 0), clamp(zp + 2), 255, 0, clamp(zp + 20)])
        let viaFloats = try sim.run(floats: [values], sampleCount: 1)
        let viaCodes = try sim.run(codes: [codes], sampleCount: 1)
        XCTAssertEqual(viaFloats.codes, viaCodes.codes)
        let y = try viaCodes.floats(output: 0)
        let o = sim.model.outputs[0]
        XCTAssertEqual(y, viaCodes.codes[0].map { (Float(Int8(bitPattern: $0)) - Float(o.zeroPoint)) * o.scale })
        XCTAssertThrowsError(try quantize([.nan], as: t, what: "x"))
    }

    func testBadModelsAreRejected() throws {
        let blob = try fixture("model.mqm")
        for cut in [0, 1, 16, 47, 48, blob.count / 2, blob.count - 1] {
            XCTAssertThrowsError(try PackedModel(bytes: Array(blob.prefix(cut)), source: "cut\(cut)")) { e in
                guard case SimulationError.loadFailed(let src, _, _, _) = e else { return XCTFail("\(e)") }
                XCTAssertEqual(src, "cut\(cut)")
            }
        }
        var flipped = blob
        flipped[blob.count - 100] ^= 0x10
        XCTAssertThrowsError(try PackedModel(bytes: flipped)) { e in
            XCTAssertTrue("\(e)".contains("not a valid MicroQuant model"), "\(e)")
        }
        XCTAssertThrowsError(try PackedModel(contentsOf: URL(fileURLWithPath: "/nonexistent/model.mqm")))
    }

    /// A packed model of another format version is rejected with a message naming both versions.
    func testOtherFormatVersionIsNamed() throws {
        var blob = try fixture("model.mqm")
        func le32(_ v: UInt32, at o: Int) { for i in 0..<4 { blob[o + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) } }
        func fixCRCs() {
            let body = blob[64...].withUnsafeBytes { mq_crc32($0.baseAddress, $0.count) }
            le32(body, at: 16)
            let head = blob[0..<60].withUnsafeBytes { mq_crc32($0.baseAddress, $0.count) }
            le32(head, at: 60)
        }
        blob[4] = 1; blob[5] = 0; blob[24] = 1  // format 1.0, min runtime 1.0 (what runtime 1.0 wrote)
        fixCRCs()
        XCTAssertThrowsError(try PackedModel(bytes: blob, source: "old.mqm")) { e in
            guard case SimulationError.formatVersion(let src, let found, _, let supported) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(src, "old.mqm")
            XCTAssertEqual(found, "1.0")
            XCTAssertTrue(supported.hasPrefix("2.x"), supported)
            XCTAssertTrue("\(e)".contains("format version 1.0 found"), "\(e)")
            XCTAssertTrue("\(e)".contains("this runtime supports 2.x"), "\(e)")
        }
        blob[4] = 2; blob[24] = 2; blob[26] = 9  // format 2.0 asking for runtime 2.9
        fixCRCs()
        XCTAssertThrowsError(try PackedModel(bytes: blob, source: "new.mqm")) { e in
            guard case SimulationError.formatVersion(_, let found, let minRuntime, _) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(found, "2.0")
            XCTAssertEqual(minRuntime, "2.9")
        }
    }

    func testWrongInputsAreRejected() throws {
        let sim = try Simulator(bytes: fixture("model.mqm"))
        let n = sim.model.inputs[0].byteCount
        XCTAssertThrowsError(try sim.run(codes: [], sampleCount: 1))
        XCTAssertThrowsError(try sim.run(codes: [[UInt8](repeating: 0, count: n - 1)], sampleCount: 1))
        XCTAssertThrowsError(try sim.run(floats: [[Float](repeating: 0, count: 3)], sampleCount: 1))
        // shape rules: [N] + per-sample shape, or [N] + the model shape
        let shape = sim.model.inputs[0].shape
        XCTAssertEqual(try sim.sampleCount(shape: [5] + sim.sampleShape(input: 0), input: 0), 5)
        XCTAssertEqual(try sim.sampleCount(shape: [2] + shape, input: 0), 2)
        XCTAssertThrowsError(try sim.sampleCount(shape: [5, 3], input: 0)) { e in
            XCTAssertTrue("\(e)".contains("wrong shape"), "\(e)")
        }
    }

    func testDemoModelIsLoadableAndDescribesEveryOp() throws {
        let model = try PackedModel(contentsOf: repoRoot.appendingPathComponent("boards/common/demo.mqm"))
        let kinds = model.layers().map(\.kind)
        XCTAssertEqual(kinds, [.fullyConnected, .fullyConnected, .add, .reshape, .softmax, .transpose, .lut, .conv1x1])
        let l = model.layers()
        XCTAssertEqual(l[0].macs, 24 * 32)
        XCTAssertTrue(l[0].fusedLUT)
        XCTAssertFalse(l[1].fusedLUT)
        XCTAssertEqual(l[7].macs, 3 * 3 * 12 * 8)
        XCTAssertFalse(l[3].copies, "the demo reshape is planned in place")
        XCTAssertEqual(model.inputs.map(\.name), ["x", "z"])
        XCTAssertEqual(model.outputs.map(\.name), ["scores", "tanh", "conv"])
        // the firmware build list: every op type the model uses, once, in op-type order
        XCTAssertEqual(model.opBuildList(), ["FULLY_CONNECTED", "CONV_1X1", "LUT", "ADD", "RESHAPE", "SOFTMAX", "TRANSPOSE",
                                              // then the GEMM variants: FC0 batch 1 per channel, FC1 batch 1 per tensor,
                                              // the CONV_1X1 on the INT8 z, per tensor (boards/tools/mq_demo_model.c)
                                              "GEMM_BATCHED", "GEMM_INT8", "GEMM_PER_CHANNEL", "GEMM_PER_TENSOR"])
    }
}
