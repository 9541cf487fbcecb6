// Issue 13 through the commands a user runs: `calibrate` and `simulate` binaries (built by `swift build`,
// which scripts/test.sh runs before `swift test`). Bad arguments, file errors, atomic outputs, bad data,
// warnings, headline metrics. Every error: non-zero exit, a message naming the file/option/tensor, no raw
// Foundation error text.
import Foundation
import Testing
@testable import MQNumPy

/// Runs a built command of this package; nil when the binary is missing (reported as an issue by the caller).
struct CLI {
    let bin: URL
    static func find(_ name: String) -> CLI? {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent(name)
        let bin = FileManager.default.isExecutableFile(atPath: beside.path) ? beside : packageRoot.appendingPathComponent(".build/debug/\(name)")
        guard FileManager.default.isExecutableFile(atPath: bin.path) else {
            Issue.record("\(bin.path) not found: run `swift build` before `swift test` (scripts/test.sh does)")
            return nil
        }
        return CLI(bin: bin)
    }
    /// (exit status, stdout, stderr); a trap shows as a status >= 128 or a signal.
    func run(_ args: [String], cwd: URL = packageRoot) throws -> (status: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = bin
        p.arguments = args
        p.currentDirectoryURL = cwd
        // stdout and stderr to files (no pipe can fill up and block the child)
        let dir = FileManager.default.temporaryDirectory
        let tag = "\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        let oURL = dir.appendingPathComponent("mq-cli-out-\(tag)"), eURL = dir.appendingPathComponent("mq-cli-err-\(tag)")
        FileManager.default.createFile(atPath: oURL.path, contents: nil)
        FileManager.default.createFile(atPath: eURL.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: oURL); try? FileManager.default.removeItem(at: eURL) }
        p.standardOutput = try FileHandle(forWritingTo: oURL)
        p.standardError = try FileHandle(forWritingTo: eURL)
        try p.run()
        p.waitUntilExit()
        let od = try Data(contentsOf: oURL), ed = try Data(contentsOf: eURL)
        let status = p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus
        return (status, String(decoding: od, as: UTF8.self), String(decoding: ed, as: UTF8.self))
    }
}

/// A fresh temporary directory, removed by the caller's defer.
func scratchDirectory(_ tag: String) throws -> URL {
    let d = FileManager.default.temporaryDirectory.appendingPathComponent("mq-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
    return d
}

func fx(_ name: String) -> String { onnxFixtures.appendingPathComponent(name).path }

/// No raw Foundation error in a message.
func readable(_ s: String) -> Bool { !s.contains("NSCocoaErrorDomain") && !s.contains("UserInfo") && !s.contains("Error Domain=") }

@Suite(.serialized) struct CalibrateCLIRobustnessTests {
    @Test func numericOptionsAreValidatedWithTheirRange() throws {
        guard let cal = CLI.find("calibrate") else { return }
        let base = [fx("relu.onnx"), "--data", fx("relu_input.npy"), "-o", "/tmp/never-\(getpid()).mqm"]
        for p in ["0", "150", "nan", "-1", "-inf"] {
            let r = try cal.run(base + ["--percentile=\(p)"])
            #expect(r.status == 64, "--percentile \(p): exit \(r.status)")
            #expect(r.err.contains("--percentile") && r.err.contains("(0, 100]"), "--percentile \(p): \(r.err)")
        }
        for (opt, v) in [("--eval-samples", "0"), ("--eval-samples", "-3")] {
            let r = try cal.run(base + ["\(opt)=\(v)"])
            #expect(r.status == 64 && r.err.contains(opt) && r.err.contains(">= 1"), "\(opt) \(v): \(r.err)")
        }
        let empty = try cal.run([fx("relu.onnx"), "--data", fx("relu_input.npy"), "-o", ""])
        #expect(empty.status == 64 && empty.err.contains("-o/--output is an empty string"), "\(empty.err)")
        // --data twice without input names: an error, not "the last one wins"
        let twice = try cal.run([fx("relu.onnx"), "--data", fx("relu_input.npy"), "--data", fx("relu_input.npy"), "-o", "/tmp/never.mqm"])
        #expect(twice.status == 64 && twice.err.contains("--data was given 2 times") && twice.err.contains("NAME=FILE.npy"), "\(twice.err)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/never-\(getpid()).mqm"))
    }

    @Test func fileErrorsInWords() throws {
        guard let cal = CLI.find("calibrate") else { return }
        let tmp = try scratchDirectory("cal-files")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let file = tmp.appendingPathComponent("plain.txt")
        try Data("x".utf8).write(to: file)
        let cases: [([String], String)] = [
            ([tmp.path, "--data", fx("relu_input.npy"), "-o", tmp.appendingPathComponent("a.mqm").path], "model '\(tmp.path)': is a directory, expected a file"),
            ([fx("relu.onnx"), "--data", fx("relu_input.npy"), "-o", tmp.path], "'\(tmp.path)': is a directory, expected a file"),
            ([fx("relu.onnx"), "--data", fx("relu_input.npy"), "-o", file.path + "/sub/a.mqm"], "is a file, not a directory"),
            ([fx("relu.onnx"), "--data", fx("relu_input.npy"), "-o", tmp.appendingPathComponent("a.mqm").path, "--report", file.path], "--report '\(file.path)': is a file, expected a directory"),
            ([fx("relu.onnx"), "--data", tmp.appendingPathComponent("missing.npy").path, "-o", tmp.appendingPathComponent("a.mqm").path], "no such file"),
            ([tmp.appendingPathComponent("missing.onnx").path, "--data", fx("relu_input.npy"), "-o", tmp.appendingPathComponent("a.mqm").path], "no such file"),
            ([fx("relu.onnx"), "--data", file.path, "-o", tmp.appendingPathComponent("a.mqm").path], "not a NumPy .npy file"),
        ]
        for (args, want) in cases {
            let r = try cal.run(args)
            #expect(r.status == 1, "\(args): exit \(r.status)")
            #expect(r.err.contains(want) && readable(r.err), "\(args): \(r.err)")
        }
        #expect(!FileManager.default.fileExists(atPath: tmp.appendingPathComponent("a.mqm").path))
    }

    /// All outputs or none: when --report cannot be created, no packed model is left and an existing
    /// output keeps its previous contents.
    @Test func atomicOutputs() throws {
        guard let cal = CLI.find("calibrate") else { return }
        let tmp = try scratchDirectory("cal-atomic")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let out = tmp.appendingPathComponent("m.mqm")
        // /proc refuses new directories even for root: the report directory cannot be created
        let r = try cal.run([fx("relu.onnx"), "--data", fx("relu_input.npy"), "-o", out.path, "--report", "/proc/mq-no-such-dir/rep"])
        #expect(r.status == 1 && r.err.contains("/proc/mq-no-such-dir") && readable(r.err), "\(r.err)")
        #expect(!FileManager.default.fileExists(atPath: out.path), "the packed model must not be left behind")
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path).isEmpty, "no temporary file left")
        try Data("previous".utf8).write(to: out)
        let r2 = try cal.run([fx("relu.onnx"), "--data", fx("relu_input.npy"), "-o", out.path, "--report", "/proc/mq-no-such-dir/rep"])
        #expect(r2.status == 1)
        #expect(try Data(contentsOf: out) == Data("previous".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: tmp.path) == ["m.mqm"])
    }

    @Test func badDataIsNamedBeforeTheLongWork() throws {
        guard let cal = CLI.find("calibrate") else { return }
        let tmp = try scratchDirectory("cal-data")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let x = try NumPy.read(contentsOf: packageRoot.appendingPathComponent("examples/tinyconv_test.npy"))
        var v = x.floats()
        let per = v.count / x.shape[0]
        v[5 * per + 83] = .nan
        let bad = tmp.appendingPathComponent("nan_test.npy")
        try NumPy.write(try NPYArray(float32: v, shape: x.shape), to: bad)
        let out = tmp.appendingPathComponent("m.mqm")
        let r = try cal.run(["examples/tinyconv.onnx", "--data", "examples/tinyconv_calib.npy", "--test", bad.path, "-o", out.path])
        #expect(r.status == 1 && r.err.contains("--test \(bad.path)") && r.err.contains("sample 5 holds nan"), "\(r.err)")
        #expect(!r.err.contains("calibrating"), "the --test data must be checked before the calibration: \(r.err)")
        #expect(!FileManager.default.fileExists(atPath: out.path))
        // the same in --data
        let r2 = try cal.run(["examples/tinyconv.onnx", "--data", bad.path, "-o", out.path])
        #expect(r2.status == 1 && r2.err.contains("--data \(bad.path)") && r2.err.contains("sample 5"), "\(r2.err)")
        // two inputs and one unnamed data file: the inputs are named, and how to give data per input
        let r3 = try cal.run([fx("err_two_inputs.onnx"), "--data", fx("relu_input.npy"), "-o", out.path])
        #expect(r3.status == 1 && r3.err.contains("'a'") && r3.err.contains("'b'") && r3.err.contains("NAME=FILE.npy once per input"), "\(r3.err)")
        // non-finite weights: named initializer and index, no trap
        let r4 = try cal.run([fx("err_nan_weight.onnx"), "--data", fx("dead_units_input.npy"), "-o", out.path])
        #expect(r4.status == 1 && r4.err.contains("'fc.weight'") && r4.err.contains("index 5"), "\(r4.err)")
        // int64 input, zero-sized dimension: in words
        let r5 = try cal.run([fx("err_int64_input.onnx"), "--data", fx("relu_input.npy"), "-o", out.path])
        #expect(r5.status == 1 && r5.err.contains("'ids' is int64") && !r5.err.contains("element type 7;"), "\(r5.err)")
        let r6 = try cal.run([fx("err_zero_dim.onnx"), "--data", fx("relu_input.npy"), "-o", out.path])
        #expect(r6.status == 1 && r6.err.contains("zero-sized dimension (0) at axis 1") && !r6.err.contains("dynamic"), "\(r6.err)")
    }

    /// Huge finite values (1e37 .. 3e38) in the calibration data of a ReLU model: no trap in any observer.
    @Test func hugeCalibrationValuesDoNotTrap() throws {
        guard let cal = CLI.find("calibrate") else { return }
        let tmp = try scratchDirectory("cal-huge")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let x = try NumPy.read(contentsOf: onnxFixtures.appendingPathComponent("relu_input.npy"))
        var v = x.floats().map { $0 * 1e-3 }
        v[v.count - 1] = 1e37
        v[v.count - 2] = -3.4e38
        let huge = tmp.appendingPathComponent("huge.npy")
        try NumPy.write(try NPYArray(float32: v, shape: x.shape), to: huge)
        for obs in ["minmax", "moving-average", "histogram", "percentile", "entropy", "mse"] {
            let r = try cal.run([fx("relu.onnx"), "--data", huge.path, "--observer", obs, "-o", tmp.appendingPathComponent("\(obs).mqm").path])
            #expect(r.status == 0 || r.status == 1, "\(obs): exit \(r.status) (a trap?) \(r.err.suffix(300))")
            #expect(r.status == 0, "\(obs): \(r.err.suffix(300))")
        }
    }

    @Test func warningsAndHonestHeadline() throws {
        guard let cal = CLI.find("calibrate") else { return }
        let tmp = try scratchDirectory("cal-warn")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let x = try NumPy.read(contentsOf: packageRoot.appendingPathComponent("examples/tinyconv_calib.npy"))
        var v = x.floats()
        let per = v.count / x.shape[0]
        v[17 * per] = 1e30   // one corrupted recording
        let outl = tmp.appendingPathComponent("outlier.npy")
        try NumPy.write(try NPYArray(float32: v, shape: x.shape), to: outl)
        let out = tmp.appendingPathComponent("m.mqm").path
        let r = try cal.run(["examples/tinyconv.onnx", "--data", outl.path, "--test", "examples/tinyconv_test.npy", "-o", out, "--eval-samples", "64"])
        #expect(r.status == 0)
        #expect(r.err.contains("warning: the range of tensor 'input' is dominated by 1 of 1000") && r.err.contains("sample(s) 17 "), "\(r.err)")
        #expect(r.out.contains("model output output: SQNR") && r.out.contains("on 64 --test samples (examples/tinyconv_test.npy)"), "\(r.out)")
        // clean data: no outlier warning; without --test the headline says it is measured on calibration data
        let r2 = try cal.run(["examples/tinyconv.onnx", "--data", "examples/tinyconv_calib.npy", "-o", out, "--eval-samples", "64"])
        #expect(r2.status == 0 && !r2.err.contains("warning"), "\(r2.err)")
        #expect(r2.out.contains("on 64 calibration samples (optimistic"), "\(r2.out)")
        // constant data
        let zeros = tmp.appendingPathComponent("zeros.npy")
        try NumPy.write(try NPYArray(float32: [Float](repeating: 0, count: v.count), shape: x.shape), to: zeros)
        let r3 = try cal.run(["examples/tinyconv.onnx", "--data", zeros.path, "-o", out, "--eval-samples", "8"])
        #expect(r3.err.contains("warning: every value of the calibration data") && r3.err.contains("calibrated on nothing"), "\(r3.err)")
        var same = [Float]()
        for _ in 0..<4 { same += v[0..<per] }
        let ident = tmp.appendingPathComponent("same.npy")
        try NumPy.write(try NPYArray(float32: same, shape: [4] + Array(x.shape.dropFirst())), to: ident)
        let r4 = try cal.run(["examples/tinyconv.onnx", "--data", ident.path, "-o", out, "--eval-samples", "4"])
        #expect(r4.err.contains("all 4 calibration samples") && r4.err.contains("identical"), "\(r4.err)")
    }

    /// Argmax agreement only for classification-like outputs: not for the 336-value DFL head (4 x 84).
    @Test func headlineMetricByTask() throws {
        guard let cal = CLI.find("calibrate") else { return }
        let tmp = try scratchDirectory("cal-task")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let dfl = try cal.run([fx("dfl_head_336.onnx"), "--data", fx("dfl_head_336_input.npy"), "-o", tmp.appendingPathComponent("d.mqm").path, "--report", tmp.appendingPathComponent("rep").path])
        #expect(dfl.status == 0, "\(dfl.err)")
        #expect(!dfl.out.contains("argmax") && dfl.out.contains("max |error|") && dfl.out.contains("mean |error|"), "\(dfl.out)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: tmp.appendingPathComponent("rep/report.json"))) as? [String: Any]
        #expect(json?["outputTask"] as? String == "regression" && json?["top1Agreement"] == nil)
        let mlp = try cal.run([fx("sklearn_mlp.onnx"), "--data", fx("sklearn_mlp_input.npy"), "-o", tmp.appendingPathComponent("m.mqm").path])
        #expect(mlp.status == 0 && mlp.out.contains("argmax agreement with float (output 0)"), "\(mlp.out + mlp.err)")
        let tc = try cal.run(["examples/tinyconv.onnx", "--data", "examples/tinyconv_calib.npy", "-o", tmp.appendingPathComponent("t.mqm").path, "--eval-samples", "32"])
        #expect(tc.out.contains(">0.5 agreement") && !tc.out.contains("argmax"), "\(tc.out)")
    }
}

@Suite(.serialized) struct SimulateCLIRobustnessTests {
    @Test func inputsAndPathsInWords() throws {
        guard let cal = CLI.find("calibrate"), let sim = CLI.find("simulate") else { return }
        let tmp = try scratchDirectory("sim")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let model = tmp.appendingPathComponent("du.mqm").path
        let c = try cal.run([fx("dead_units.onnx"), "--data", fx("dead_units_input.npy"), "-o", model, "-q"])
        #expect(c.status == 0, "\(c.err)")
        // the dead-unit model runs in simulate, and matches the float model
        let ok = try sim.run([model, "--input", fx("dead_units_input.npy"), "--reference", fx("dead_units.onnx")])
        #expect(ok.status == 0 && ok.out.contains("SQNR"), "\(ok.err)")
        let zero = tmp.appendingPathComponent("zero.npy"), zdim = tmp.appendingPathComponent("zdim.npy"), i64 = tmp.appendingPathComponent("i64.npy")
        try NumPy.write(try NPYArray(float32: [], shape: [0, 8]), to: zero)
        try NumPy.write(try NPYArray(float32: [], shape: [4, 0]), to: zdim)
        try NumPy.write(try NPYArray(dtype: .int64, shape: [2, 8], bytes: [UInt8](repeating: 0, count: 128)), to: i64)
        let file = tmp.appendingPathComponent("plain.txt")
        try Data("x".utf8).write(to: file)
        let cases: [([String], String)] = [
            ([model, "--input", zero.path], "holds 0 samples"),
            ([model, "--input", zdim.path], "zero-sized dimension"),
            ([model, "--input", i64.path], "the array is int64"),
            ([tmp.path], "is a directory, expected a file"),
            ([model, "--input", tmp.appendingPathComponent("x.bin").path], "no such file"),
            ([model, "--input", fx("dead_units_input.npy"), "--output", tmp.path], "--output '\(tmp.path)': is a directory"),
            ([model, "--input", fx("dead_units_input.npy"), "--output", file.path + "/y.npy"], "is a file, not a directory"),
            ([model, "--input", fx("dead_units_input.npy"), "--board", "mps2-an385", "--qemu", "--work-dir", file.path], "--work-dir '\(file.path)': is a file"),
            ([model, "--input", fx("dead_units_input.npy"), "--reference", tmp.path], "is a directory"),
        ]
        for (args, want) in cases {
            let r = try sim.run(args)
            #expect(r.status == 1, "\(args): exit \(r.status)")
            #expect(r.err.contains(want) && readable(r.err), "\(args): \(r.err)")
            #expect(!r.err.contains("element type") && !r.err.contains("dynamic"))
        }
        // bad arguments: exit 64, naming the option
        for (args, want) in [([model, "--limit", "0"], "--limit"), ([model, "--timeout", "0"], "--timeout"), ([model, "--qemu"], "--qemu"),
                             ([model, "--output", ""], "--output"), ([model, "--emit-c-array", "m.c", "--symbol", "9x"], "--symbol")] {
            let r = try sim.run(args)
            #expect(r.status == 64 && r.err.contains(want), "\(args): exit \(r.status) \(r.err)")
        }
        // the --help examples name files of the checkout
        let h = try sim.run(["--help"])
        #expect(h.out.contains("out/tinyconv.mqm") && !h.out.contains("out/example.mqm") && h.out.contains("64 bad arguments"))
    }
}
