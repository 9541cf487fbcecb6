// `simulate --input X.npy --output Y.npy` streams the set through the batched host path chunk by chunk
// (Sources/simulate/Stream.swift); `--per-sample` reads the whole set, runs mq_model_run per sample and writes
// the whole array at once (the old path). Both must write the same .npy bytes, float and --raw, for every
// chunk size (chunk boundaries inside the set), with --limit, float64 inputs, and several inputs and outputs.
// A NaN or infinity is reported with its flat index and leaves no output file.

import Foundation
import MQNumPy
import MQSimulation
import XCTest

final class SimulateStreamTests: XCTestCase {
    /// The built `simulate` (beside the test bundle, else .build/debug); nil when missing (a test failure).
    func simulateBinary() -> URL? {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("simulate")
        for u in [beside, repoRoot.appendingPathComponent(".build/debug/simulate")] where FileManager.default.isExecutableFile(atPath: u.path) {
            return u
        }
        XCTFail("simulate not built: run `swift build` before `swift test`")
        return nil
    }

    func run(_ bin: URL, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = bin
        p.arguments = args
        let dir = FileManager.default.temporaryDirectory
        let tag = "\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let o = dir.appendingPathComponent("mq-stream-out-\(tag)"), e = dir.appendingPathComponent("mq-stream-err-\(tag)")
        FileManager.default.createFile(atPath: o.path, contents: nil)
        FileManager.default.createFile(atPath: e.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: o); try? FileManager.default.removeItem(at: e) }
        p.standardOutput = try FileHandle(forWritingTo: o)
        p.standardError = try FileHandle(forWritingTo: e)
        try p.run()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: try Data(contentsOf: o), as: UTF8.self),
                String(decoding: try Data(contentsOf: e), as: UTF8.self))
    }

    /// Output file i of `--output base` (NAME_i.npy for i > 0).
    func outputPath(_ base: URL, _ i: Int) -> URL {
        i == 0 ? base : base.deletingLastPathComponent().appendingPathComponent(base.deletingPathExtension().lastPathComponent + "_\(i).npy")
    }

    func testStreamedBatchedPathWritesThePerSamplePathsBytes() throws {
        guard let bin = simulateBinary() else { return }
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mq-stream-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        var r = XorShift(state: 0x57AE_A1ED_0BA7_C4ED)
        var nonFiniteChecked = 0
        for path in ["boards/common/demo.mqm", "csrc/tests/fixtures/convnet.mqm"] {
            let modelPath = repoRoot.appendingPathComponent(path).path
            let sim = try Simulator(contentsOf: URL(fileURLWithPath: modelPath))
            let m = sim.model
            let samples = 37
            // float32 inputs: values around every code (x = (q - zp) * scale + small offsets, exact ties included),
            // and the same values as float64 (exact: they are floats)
            var f32: [String] = [], f64: [String] = []
            for (i, t) in m.inputs.enumerated() {
                let shape = [samples] + sim.sampleShape(input: i)
                let (lo, hi) = t.dtype == .uint8 ? (0, 255) : (t.dtype == .int16 ? (-32768, 32767) : (-128, 127))
                let values: [Float] = (0..<(samples * t.elementCount)).map { _ in
                    let q = Double(r.int((lo - 3)...(hi + 3)) - Int(t.zeroPoint))
                    let off = [0.0, 0.5, -0.5, 0.25, 0.49][r.int(0...4)]
                    return Float((q + off) * Double(t.scale))
                }
                let a = tmp.appendingPathComponent("x\(i).npy"), b = tmp.appendingPathComponent("x\(i)_f64.npy")
                try NumPy.write(try NPYArray(float32: values, shape: shape), to: a)
                var wide = [UInt8]()
                for v in values { withUnsafeBytes(of: Double(v).bitPattern.littleEndian) { wide += $0 } }
                try NumPy.write(try NPYArray(dtype: .float64, shape: shape, bytes: wide), to: b)
                f32 += ["--input", a.path]
                f64 += ["--input", b.path]
            }
            for extra in [[], ["--raw"], ["--limit", "11"]] {
                let ref = tmp.appendingPathComponent("per_sample.npy")
                let rp = try run(bin, [modelPath] + f32 + ["--output", ref.path, "--per-sample"] + extra)
                XCTAssertEqual(rp.status, 0, "\(path) --per-sample \(extra): \(rp.err)")
                XCTAssertTrue(rp.out.contains("(per-sample)"), rp.out)
                let want = try (0..<m.outputs.count).map { try Data(contentsOf: outputPath(ref, $0)) }
                // the per-sample file holds what the simulator computes (shape, dtype, values of Simulator.run)
                let arr = try NumPy.decode([UInt8](want[0]), name: "per_sample.npy")
                XCTAssertEqual(arr.shape.first, extra.contains("--limit") ? 11 : samples)
                for (inputs, chunk) in [(f32, [String]()), (f32, ["--chunk", "1"]), (f32, ["--chunk", "5"]), (f32, ["--chunk", "64"]), (f64, ["--chunk", "4"])] {
                    let out = tmp.appendingPathComponent("streamed.npy")
                    let rs = try run(bin, [modelPath] + inputs + ["--output", out.path] + extra + chunk)
                    XCTAssertEqual(rs.status, 0, "\(path) \(extra) \(chunk): \(rs.err)")
                    XCTAssertTrue(rs.out.contains("streamed in chunks of"), rs.out)
                    for o in 0..<m.outputs.count {
                        XCTAssertEqual(try Data(contentsOf: outputPath(out, o)), want[o], "\(path) output \(o) \(extra) \(chunk)")
                    }
                }
            }
            // a non-finite value: named with its flat index and sample, no output file left behind
            if let t = m.inputs.first {
                var values = [Float](repeating: 0.5 * t.scale, count: samples * t.elementCount)
                let at = 20 * t.elementCount + 3
                values[at] = -.infinity
                let bad = tmp.appendingPathComponent("bad.npy"), out = tmp.appendingPathComponent("never.npy")
                try NumPy.write(try NPYArray(float32: values, shape: [samples] + sim.sampleShape(input: 0)), to: bad)
                var args = f32
                args[1] = bad.path  // input 0 bad, the others as above
                let rb = try run(bin, [modelPath] + args + ["--output", out.path, "--chunk", "7"])
                XCTAssertEqual(rb.status, 1)
                XCTAssertTrue(rb.err.contains("value -inf at flat index \(at) (sample 20) is not finite"), rb.err)
                XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
                XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.path).filter { $0.hasSuffix(".tmp") }, [])
                nonFiniteChecked += 1
            }
        }
        XCTAssertEqual(nonFiniteChecked, 2, "both models check the non-finite error")
    }

    /// The stream moves floats in pieces of at most 48 Ki values (Stream.swift): with 800 samples of the demo
    /// model (200 + 32 input floats, 24 + 24 + 108 output floats per sample) pieces end inside samples and inside
    /// chunks, and an output spans pieces too. Same bytes as --per-sample; a non-finite value in a later piece is
    /// named with its flat index in the whole file.
    func testStreamedPiecesInsideSamplesKeepThePerSampleBytes() throws {
        guard let bin = simulateBinary() else { return }
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mq-pieces-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        var r = XorShift(state: 0x9E37_79B9_7F4A_7C15)
        let modelPath = repoRoot.appendingPathComponent("boards/common/demo.mqm").path
        let sim = try Simulator(contentsOf: URL(fileURLWithPath: modelPath))
        let m = sim.model
        let samples = 800
        var args: [String] = [], inputs: [[Float]] = []
        for (i, t) in m.inputs.enumerated() {
            let values: [Float] = (0..<(samples * t.elementCount)).map { _ in
                Float((Double(r.int(-140...140)) + [0.0, 0.5, -0.5, 0.3][r.int(0...3)]) * Double(t.scale))
            }
            let a = tmp.appendingPathComponent("x\(i).npy")
            try NumPy.write(try NPYArray(float32: values, shape: [samples] + sim.sampleShape(input: i)), to: a)
            args += ["--input", a.path]
            inputs.append(values)
        }
        XCTAssertGreaterThan(samples * m.inputs[1].elementCount, 3 * (48 << 10), "input 1 spans several pieces")
        for extra in [[], ["--raw"]] {
            let ref = tmp.appendingPathComponent("per_sample.npy")
            let rp = try run(bin, [modelPath] + args + ["--output", ref.path, "--per-sample"] + extra)
            XCTAssertEqual(rp.status, 0, "--per-sample \(extra): \(rp.err)")
            let want = try (0..<m.outputs.count).map { try Data(contentsOf: outputPath(ref, $0)) }
            for chunk in [[String](), ["--chunk", "333"], ["--chunk", "1000"]] {
                let out = tmp.appendingPathComponent("streamed.npy")
                let rs = try run(bin, [modelPath] + args + ["--output", out.path] + extra + chunk)
                XCTAssertEqual(rs.status, 0, "\(extra) \(chunk): \(rs.err)")
                XCTAssertTrue(rs.out.contains("streamed in chunks of"), rs.out)
                for o in 0..<m.outputs.count {
                    XCTAssertEqual(try Data(contentsOf: outputPath(out, o)), want[o], "output \(o) \(extra) \(chunk)")
                }
            }
        }
        // a NaN in input 1's fourth piece (flat index 150,001 > 3 x 49,152), sample 750, the whole set one chunk
        var bad1 = inputs[1]
        let at = 750 * m.inputs[1].elementCount + 1
        bad1[at] = .nan
        let bad = tmp.appendingPathComponent("bad.npy"), out = tmp.appendingPathComponent("never.npy")
        try NumPy.write(try NPYArray(float32: bad1, shape: [samples] + sim.sampleShape(input: 1)), to: bad)
        var badArgs = args
        badArgs[3] = bad.path
        let rb = try run(bin, [modelPath] + badArgs + ["--output", out.path, "--chunk", "1000"])  // one chunk: piece 4 of it
        XCTAssertEqual(rb.status, 1)
        XCTAssertTrue(rb.err.contains("value nan at flat index \(at) (sample 750) is not finite"), rb.err)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out.path))
    }
}
