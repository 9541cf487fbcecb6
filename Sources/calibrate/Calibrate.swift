// `swift run calibrate`: ONNX float model + calibration data in, calibrated and packed int8 model out.

import ArgumentParser
import Foundation
import MQCalibration
import MQGraph
import MQNumPy
import MQONNX
import MQPacking
import MQQuantization
import MQReport
import MQSimulation
import MQTFLiteImport

extension ObserverKind: ExpressibleByArgument {}
extension ActivationDType: ExpressibleByArgument {}
extension WeightMethod: ExpressibleByArgument {}
extension RequantizeRounding: ExpressibleByArgument {}
extension PrecisionMode: ExpressibleByArgument {}

/// A failure with a message for the user (printed as "error: ...", exit status 1).
struct UserError: Error, CustomStringConvertible {
    let description: String
    init(_ m: String) { description = m }
}

@main
struct Calibrate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Calibrate and quantize an ONNX float model to int8 (or import an int8 .tflite) and write the packed MicroQuant model.",
        discussion: """
        With no arguments, runs on the bundled example in examples/ (a model and its calibration data) and \
        writes out/<model>.mqm. The packed model runs on the device (csrc/ runtime) and on the host \
        (`swift run simulate`) with the same bytes and the same code.

        An int8 TensorFlow Lite model (.tflite, fully quantized by TFLiteConverter) is imported without \
        calibration: its quantization parameters are taken from the file, and the packed model computes \
        what TensorFlow Lite Micro computes (--rounding tflite-micro, the default) or what TensorFlow \
        Lite's own interpreter computes (--rounding tflite). --report writes the per-layer report of the \
        imported model (op, shapes, qparams, MACs, constant bytes; no SQNR: there is no float model). \
        --data, --observer and the other calibration options do not apply.

        Examples:
          swift run calibrate examples/tinyconv.onnx --data examples/tinyconv_calib.npy --report out/report
          swift run calibrate Tests/TFLiteTests/Fixtures/mlperf/kws_ref_model_int8.tflite -o out/kws.mqm --board nucleo-l4r5zi
          swift run calibrate Tests/TFLiteTests/Fixtures/mlperf/ad01_int8.tflite --rounding tflite -o out/ad_litert.mqm
          swift run calibrate Tests/TFLiteTests/Fixtures/mlperf/kws_ref_model_int8.tflite -o out/kws.mqm --report out/kws_report
        """)

    @Argument(help: "The float model (.onnx), or an int8 .tflite to import as it is. Default: the bundled example in examples/.")
    var model: String?

    @Option(name: .long, help: ArgumentHelp("Calibration data: a float32 .npy [N, sample shape...] or a directory of .npy files (concatenated along axis 0); for a model with several inputs, repeat as --data NAME=FILE.npy per input, or give one .npz with one array per input name.", valueName: "file|NAME=file|file.npz"))
    var data: [String] = []

    @Option(name: [.short, .customLong("output")], help: "Output packed model. Default: out/<model>.mqm.")
    var output: String?

    @Option(help: "Range observer (docs/CALIBRATION.md defines and compares them).")
    var observer: ObserverKind = .percentile

    @Option(help: "Activation type: uint8 (QUInt8, asymmetric) or int8 (TFLite-style).")
    var activations: ActivationDType = .uint8

    @Option(help: "Activation precision per layer: int8 (every activation 8-bit), int16 (every layer with a 16x8 kernel on int16 activations, symmetric, scale max|x|/32767), or auto (the layers in int16 chosen by measured output SQNR and planned arena within --ram-budget: every subset of up to 6 candidate layers, else greedy by gain per extra byte plus one-layer flips; docs/CALIBRATION.md).")
    var precision: PrecisionMode = .int8

    @Option(name: .customLong("ram-budget"), help: ArgumentHelp("--precision auto: the arena budget in bytes (default 1.25 x the all-int8 arena).", valueName: "BYTES"))
    var ramBudget: Int?

    @Option(help: "Per-channel weight scales: minmax (max|w| / 127) or mse (clip ratio in 0.80...1.00 minimising each channel's squared weight error).")
    var weights: WeightMethod = WeightOptions().method

    @Flag(help: "Bias correction: fold each layer's expected output error on the calibration data (int8 weights on the quantized input vs float weights on the float input) into its bias.")
    var biasCorrection = false

    @Option(help: "Percentile kept by --observer percentile, in (0, 100].")
    var percentile: Double = 99.99

    @Option(help: "Write report.json and report.html into this directory.")
    var report: String?

    @Option(help: ArgumentHelp("Evaluation data for the SQNR report, in the forms of --data (repeat NAME=FILE.npy per input, or one .npz); default: the calibration data.", valueName: "file|NAME=file|file.npz"))
    var test: [String] = []

    @Option(help: "Samples used for the SQNR evaluation (>= 1).")
    var evalSamples: Int = 256

    @Option(help: "Write the packed model's dequantized output 0 on the evaluation samples to this .npy (float32 [N, ...]).")
    var evalOutput: String?

    @Option(help: "Check that the model fits boards/<NAME>/board.json (flash and RAM).")
    var board: String?

    @Option(help: "Requantization rounding of an imported model: for a .tflite tflite-micro (double rounding, TensorFlow Lite Micro + CMSIS-NN) or tflite (TensorFlow Lite's own FULLY_CONNECTED rounds once, as ai-edge-litert); for a pre-quantized ONNX (QDQ) model onnxruntime (its float32 output stage emulated exactly with integers: portable kernels, no in-place or streamed layers; default: one exact rounding).")
    var rounding: RequantizeRounding = .double

    @Flag(name: .customLong("no-in-place"), help: "Plan every output apart from its input: no 1x1 / depthwise convolution in place (for comparison; the outputs are the same bytes).")
    var noInPlace = false

    @Flag(name: .customLong("no-stream"), help: "Do not stream pixel-wise chains that end in flatten + fully connected pixel by pixel (packed STREAM_FC ops; by default they are when that lowers the arena). The outputs are the same bytes.")
    var noStream = false

    @Flag(name: .customLong("no-row-stream"), help: "Do not run residual blocks row by row (packed ROW_STREAM ops: intermediate tensors kept as rings of rows, the block output over its input; by default they are when that lowers the arena). The outputs are the same bytes.")
    var noRowStream = false

    @Flag(name: .customLong("no-stride-hoist"), help: "Keep strided 1x1 convolutions as imported: do not move their subsampling to the start of the pixel-wise chain of 1x1 convolutions and activations that produces their input (for comparison; the float outputs are the same).")
    var noStrideHoist = false

    @Flag(name: .shortAndLong, help: "Print only errors and the output path.")
    var quiet = false

    /// Bad arguments (exit 64, like every ArgumentParser usage error): each message names the option
    /// and its valid range.
    mutating func validate() throws {
        guard percentile.isFinite, percentile > 0, percentile <= 100 else {
            throw ValidationError("--percentile must be a number in (0, 100] (the percent of values kept, e.g. 99.99), not \(percentile)")
        }
        if let ramBudget {
            guard ramBudget >= 1 else { throw ValidationError("--ram-budget must be a number of bytes >= 1, not \(ramBudget)") }
            guard precision == .auto else { throw ValidationError("--ram-budget applies to --precision auto (it bounds the arena of the layers promoted to int16); add --precision auto") }
        }
        guard evalSamples >= 1 else { throw ValidationError("--eval-samples must be an integer >= 1, not \(evalSamples)") }
        for (opt, specs) in [("--data", data), ("--test", test)] where specs.count > 1 {
            if let plain = specs.first(where: { !$0.contains("=") && !$0.hasSuffix(".npz") }) {
                throw ValidationError("\(opt) was given \(specs.count) times and '\(plain)' names no input: with several, each must be NAME=FILE.npy for one model input (or give one .npz with an array per input name)")
            }
        }
        var paths: [(String, String?)] = [("MODEL", model), ("-o/--output", output), ("--report", report),
                                          ("--eval-output", evalOutput), ("--board", board)]
        paths += data.map { ("--data", $0) } + test.map { ("--test", $0) }
        for (name, value) in paths where value?.isEmpty == true {
            throw ValidationError("\(name) is an empty string: give a path\(name == "--board" ? " (a board name)" : "")")
        }
    }

    mutating func run() throws {
        do {
            try calibrate()
        } catch let e as ExitCode {
            throw e
        } catch {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    func log(_ s: String) { if !quiet { FileHandle.standardError.write(Data((s + "\n").utf8)) } }

    /// The bundled example: the first examples/<stem>.onnx (sorted) that has examples/<stem>_calib.npy.
    static func bundledExample() throws -> (model: String, data: String) {
        let dir = "examples"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        let preferred = ["tinyconv", "example", "mlp"]
        let stems = names.filter { $0.hasSuffix(".onnx") }.map { String($0.dropLast(5)) }
            .filter { names.contains("\($0)_calib.npy") }
            .sorted { a, b in
                let ia = preferred.firstIndex(of: a) ?? preferred.count, ib = preferred.firstIndex(of: b) ?? preferred.count
                return ia != ib ? ia < ib : a < b
            }
        guard let s = stems.first else {
            throw UserError("no MODEL given and no bundled example found (looked for examples/<name>.onnx with examples/<name>_calib.npy in \(FileManager.default.currentDirectoryPath)); run from the repository root or pass MODEL.onnx --data CALIB.npy")
        }
        return ("\(dir)/\(s).onnx", "\(dir)/\(s)_calib.npy")
    }

    /// Loads a data set: one FILE.npy / directory (a single-input model), NAME=FILE.npy per input, or FILE.npz
    /// with one array per input name. NaN/Inf are an error naming the file, the input, the sample and the flat
    /// index (checked here, before any long work).
    static func loadData(_ specs: [String], option: String, graph: Graph) throws -> CalibrationData {
        let inputNames = Set(graph.inputs.map(\.name))
        func named(_ spec: String) -> (String, String)? {
            guard let eq = spec.firstIndex(of: "=") else { return nil }
            let name = String(spec[..<eq])
            return inputNames.contains(name) ? (name, String(spec[spec.index(after: eq)...])) : nil
        }
        var arrays: [(name: String, values: [Float], shape: [Int], file: String)] = []
        for spec in specs {
            if let (name, path) = named(spec) {
                let arr = try NumPy.load(path: path)
                arrays.append((name, arr.floats(), arr.shape, path))
            } else if spec.hasSuffix(".npz") {
                for (name, arr) in try NumPy.readNPZ(contentsOf: URL(fileURLWithPath: spec)) {
                    arrays.append((name, arr.floats(), arr.shape, "\(spec):\(name)"))
                }
            } else if specs.count == 1 {
                guard graph.inputs.count == 1 else {
                    let names = graph.inputs.map { "'\($0.name)' \(shapeString($0.shape))" }.joined(separator: ", ")
                    throw UserError("\(option) \(spec): the model has \(graph.inputs.count) inputs (\(names)); give \(option) NAME=FILE.npy once per input, or one .npz with one array per input name")
                }
                let arr = try NumPy.load(path: spec)
                arrays.append((graph.inputs[0].name, arr.floats(), arr.shape, spec))
            } else {
                throw UserError("\(option) '\(spec)': with several data arguments each must be NAME=FILE.npy naming a model input (\(graph.inputs.map(\.name).joined(separator: ", "))) or an .npz with one array per input")
            }
        }
        for a in arrays {
            let per = max(a.shape.dropFirst().reduce(1, *), 1)
            if let bad = a.values.firstIndex(where: { !$0.isFinite }) {
                throw UserError("\(option) \(a.file): sample \(bad / per) holds \(a.values[bad]) (flat index \(bad), value \(bad % per) of the sample); the data must be finite numbers")
            }
        }
        do {
            if arrays.count == 1 && graph.inputs.count == 1 {
                return try CalibrationData.single(graph: graph, values: arrays[0].values, shape: arrays[0].shape)
            }
            return try CalibrationData.named(graph: graph, arrays: arrays.map { ($0.name, $0.values, $0.shape) }, source: specs.joined(separator: " "))
        } catch let e as QuantizationError {
            throw UserError("\(option) \(specs.joined(separator: " ")): \(e)")
        }
    }

    /// Warnings about data that calibrates nothing: every value the same, or every sample the same.
    static func constantDataWarnings(_ data: CalibrationData, path: String) -> [String] {
        guard let x = data.inputs.first, let first = x.first, data.count > 0 else { return [] }
        if x.allSatisfy({ $0 == first }) {
            return ["every value of the calibration data \(path) is \(first): the model is calibrated on nothing (its ranges come from a constant); give real samples"]
        }
        let per = x.count / data.count
        if data.count > 1, per > 0 {
            let s0 = x[0..<per]
            var same = true
            for s in 1..<data.count where !x[(s * per)..<((s + 1) * per)].elementsEqual(s0) { same = false; break }
            if same { return ["all \(data.count) calibration samples in \(path) are identical: the model is calibrated on one sample"] }
        }
        return []
    }

    func warn(_ s: String) { if !quiet { FileHandle.standardError.write(Data("warning: \(s)\n".utf8)) } }

    func calibrate() throws {
        var modelPath = model
        var dataSpecs = data
        if modelPath == nil {
            let ex = try Self.bundledExample()
            modelPath = ex.model
            if dataSpecs.isEmpty { dataSpecs = [ex.data] }
            log("no model given: using the bundled example \(ex.model) with \(dataSpecs.joined(separator: " "))")
        }
        guard let modelPath else { throw UserError("no model") }
        if modelPath.lowercased().hasSuffix(".tflite") { return try importTFLite(modelPath) }
        if rounding == .single {
            throw UserError("--rounding tflite applies to imported .tflite models; an ONNX model takes --rounding onnxruntime (pre-quantized QDQ models) or none")
        }
        guard !dataSpecs.isEmpty else { throw UserError("--data CALIB.npy is required with a model (the calibration inputs, [N, sample shape...]; NAME=FILE.npy per input or one .npz for several inputs)") }
        let dataPath = dataSpecs.joined(separator: " ")

        // Every output path is checked before the long work (and written atomically at the end).
        let stem = URL(fileURLWithPath: modelPath).deletingPathExtension().lastPathComponent
        let outPath = output ?? "out/\(stem).mqm"
        try FileAccess.checkOutput(outPath, what: output == nil ? "output" : "-o/--output")
        if let report {
            if FileAccess.kind(report).exists && !FileAccess.kind(report).isDirectory {
                throw FileError(path: report, what: "--report", reason: "is a file, expected a directory (report.json and report.html are written into it)")
            }
            try FileAccess.checkOutput("\(report)/report.json", what: "--report")
        }
        if let evalOutput { try FileAccess.checkOutput(evalOutput, what: "--eval-output") }

        let onnxBytes = try FileAccess.readFile(modelPath, what: "model")
        let imported = try ONNXImporter.importModel(data: Data(onnxBytes), file: modelPath, defaultName: stem)
        var graph = imported
        var hoist: StrideHoistResult? = nil
        if !noStrideHoist {
            // exact rewrite: strided 1x1 convolutions subsample at the start of their pixel-wise input chain
            let r = try imported.hoistingStrides()
            if !r.rewrites.isEmpty { graph = r.graph; hoist = r }
            for s in r.skipped { log("stride hoist: not rewritten: \(s)") }
        }
        let calib = try Self.loadData(dataSpecs, option: "--data", graph: graph)
        // --test is read and checked now, not after the calibration
        let testData = test.isEmpty ? nil : try Self.loadData(test, option: "--test", graph: graph)
        log("model \(modelPath): \(graph.nodes.count) nodes, input \(graph.inputs.map(\.description).joined(separator: ", ")); \(calib.count) calibration samples from \(dataPath)")
        for w in Self.constantDataWarnings(calib, path: dataPath) { warn(w) }

        var activations = self.activations
        let qdqDType = try Quantizer.qdqActivationDType(graph)
        if let qdq = qdqDType {
            // ONNX QDQ model: qparams from the graph, no calibration (the data only feeds the float reference)
            activations = qdq
            log("pre-quantized ONNX (QDQ): qparams of \(graph.quantization.count) tensors taken from the model, not calibrated; \(qdq) activations")
        }
        if rounding == .onnxruntime {
            guard qdqDType != nil else {
                throw UserError("--rounding onnxruntime applies to pre-quantized ONNX (QDQ) models; \(modelPath) is a float model calibrated here (double rounding)")
            }
            guard precision == .int8 else {
                throw UserError("--rounding onnxruntime runs the 8-bit layers of a QDQ model as onnxruntime does; --precision \(precision.rawValue) does not apply")
            }
        }
        let plan = try QuantizationPlan(graph: graph)
        var opts = ObserverOptions()
        opts.percentile = percentile
        let progress = Progress(total: calib.count, label: "calibrating (\(observer.rawValue))", quiet: quiet)
        let extremes = SampleExtremes()
        let observers = try Calibrator.run(graph: graph, plan: plan, data: calib, kind: observer, options: opts, extremes: extremes,
                                           progress: { done, total in progress.update(done) })
        progress.finish()
        let outliers = extremes.outlierDominated()
        // the first finding in full; downstream tensors driven by the same samples in one line each
        var shownSamples: [[Int]] = []
        for f in outliers.prefix(8) {
            if shownSamples.contains(f.samples) {
                warn("tensor '\(f.tensor)' too (the same sample(s)): |x| up to \(f.peak), 90% of the samples within \(f.typical)")
            } else {
                warn("\(f) [data: \(dataPath)]")
                shownSamples.append(f.samples)
            }
        }
        if outliers.count > 8 { warn("\(outliers.count - 8) more tensor(s) have outlier-dominated ranges") }
        let wopts = WeightOptions(method: weights, biasCorrection: biasCorrection)
        var means: [String: LayerInputMean]? = nil
        if biasCorrection {
            let qp = try Quantizer.assignQParams(graph: graph, plan: plan, observers: observers, dtype: activations)
            means = try Calibrator.layerInputMeans(graph: graph, plan: plan, data: calib,
                                                   inputQParams: qp.mapValues { $0.0 })
        }
        var qmodel = try Quantizer.quantize(graph: graph, plan: plan, observers: observers, dtype: activations, observer: observer,
                                            weights: wopts, layerInputMeans: means)
        if rounding == .onnxruntime {
            qmodel.ortFloat32 = true
            for n in qmodel.ortGlobalPoolsAsMean() { log("rounding onnxruntime: '\(n)' (an average pool over the whole input) runs as onnxruntime's global average pool (MEAN, float32 factor)") }
            if let v = qmodel.ortFloat32Violation() { throw UserError("--rounding onnxruntime: \(modelPath): \(v)") }
            log("rounding onnxruntime: fully connected layers and convolutions compute onnxruntime's float32 output stage (integer emulation, portable kernels; no in-place or streamed layers)")
        }
        if let hoist, !quiet {
            // the arena of the graph as imported: sizes do not depend on the qparams, one sample calibrates it
            let one = CalibrationData(inputs: calib.slice(0, 1, graph: imported), count: 1)
            let before = try? { () throws -> Int in
                let p0 = try QuantizationPlan(graph: imported)
                let o0 = try Calibrator.run(graph: imported, plan: p0, data: one, kind: .minmax, options: ObserverOptions())
                let q0 = try Quantizer.quantize(graph: imported, plan: p0, observers: o0, dtype: activations, observer: .minmax)
                return MemoryPlanner.plan(q0, inPlace: !noInPlace).arenaSize
            }()
            let after = MemoryPlanner.plan(qmodel, inPlace: !noInPlace).arenaSize
            for r in hoist.rewrites { log("stride hoist: \(r)") }
            log("stride hoist: \(hoist.rewrites.count) rewrite(s), MACs \(hoist.macsBefore) -> \(hoist.macsAfter), all-8-bit arena \(before.map(String.init) ?? "?") -> \(after) B (same float outputs; --no-stride-hoist keeps the graph as imported)")
        }
        var precisionSummary: PrecisionSummary? = nil
        if precision != .int8 {
            log("choosing the precision per layer (\(precision.rawValue)) on \(min(evalSamples, calib.count)) calibration samples")
            let choice = try PrecisionSearch.choose(mode: precision, base: qmodel, graph: graph, data: calib, ramBudget: ramBudget,
                                                    maxSamples: evalSamples, heldOut: testData, stream: !noStream, log: log)
            qmodel = choice.model
            precisionSummary = choice.summary
        }
        // the shipped model: pixel-wise chains ending in flatten + fully connected streamed pixel by pixel when that
        // lowers the arena (docs/CALIBRATION.md "Pixel-streamed chains"); the report's per-tensor figures and the
        // evaluation's qparams come from qmodel (the same tensors, the same output bytes)
        let pixelStreamed = noStream ? qmodel : StreamFusion.best(qmodel, inPlace: !noInPlace)
        let shipped = rowStreamed(pixelStreamed)
        if !quiet {
            for n in shipped.nodes {
                guard let st = n.stream else { continue }
                log("pixel stream: '\(n.name)' accumulated over \(st.outH)x\(st.outW) pixels of \(st.members) pixel-wise layer(s) run per pixel (\(n.fused.joined(separator: ", "))), source \(st.nchw ? "NCHW" : "NHWC") stride \(st.strideH)x\(st.strideW)")
            }
            if shipped.nodes.contains(where: { $0.stream != nil }) {
                log("pixel stream: arena \(MemoryPlanner.plan(qmodel, inPlace: !noInPlace).arenaSize) -> \(MemoryPlanner.plan(shipped, inPlace: !noInPlace).arenaSize) B (same output bytes; --no-stream runs the layers one after another)")
            }
        }
        let mplan = MemoryPlanner.plan(shipped, inPlace: !noInPlace)
        let hash = sha256(onnxBytes)
        // e.g. "percentile:99.99"; the weight options are appended when they differ from minmax without correction
        var method = observer == .percentile ? "percentile:\(percentile)" : observer.rawValue
        if weights != .minmax { method += " weights:\(weights.rawValue)" }
        if biasCorrection { method += " bias-correction" }
        if precision != .int8 { method += " precision:\(precision.rawValue)" }
        if rounding == .onnxruntime { method += " rounding:onnxruntime" }
        let packed = try Packer.pack(shipped, plan: mplan, metadata: PackMetadata(
            sourceName: URL(fileURLWithPath: modelPath).lastPathComponent, sourceSHA256: hash, calibrationMethod: method))

        let evalData = testData ?? calib
        let evalName = test.isEmpty ? dataPath : test.joined(separator: " ")
        log("evaluating the packed model through the C runtime on \(min(evalSamples, evalData.count)) samples of \(evalName)")
        let evaluation = try Evaluation.run(graph: graph, model: qmodel, packed: packed, data: evalData, maxSamples: evalSamples)
        var rep = CalibrationReport.build(graph: graph, model: qmodel, observers: observers, plan: mplan, packedBytes: packed.count,
                                          evaluation: evaluation, source: URL(fileURLWithPath: modelPath).lastPathComponent,
                                          sha256: hash, calibrationSamples: calib.count, evaluationData: evalName,
                                          evaluatedOnTestData: !test.isEmpty)
        rep.precision = precisionSummary
        if let board { try Self.checkBoard(board, packed: packed, log: log) }

        // Write everything atomically; on failure remove what this run wrote (all outputs or none).
        var files: [(String, Data)] = [(outPath, Data(packed))]
        if let report {
            files.append(("\(report)/report.json", try rep.json()))
            files.append(("\(report)/report.html", Data(rep.html().utf8)))
        }
        if let evalOutput {
            // output 0 to the given path; further outputs k to <path without .npy>_<k>.npy
            for (k, info) in graph.outputs.enumerated() {
                let sample = info.shape.first == 1 ? Array(info.shape.dropFirst()) : info.shape
                let arr = try NPYArray(float32: evaluation.outputs[k], shape: [evaluation.samples] + sample)
                let stemPath = evalOutput.hasSuffix(".npy") ? String(evalOutput.dropLast(4)) : evalOutput
                files.append((k == 0 ? evalOutput : "\(stemPath)_\(k).npy", Data(NumPy.encode(arr))))
            }
        }
        try AtomicWriter.writeAll(files)
        if !quiet { print(rep.table()) }
        if !outliers.isEmpty && !quiet {
            print("warning: \(outliers.count) tensor range(s) are dominated by outlier samples (see the warnings above)\(test.isEmpty ? "; the SQNR above is measured on those same calibration samples, give --test clean data for an honest number" : "")")
        }
        if let report { log("report: \(report)/report.json, \(report)/report.html") }
        print("wrote \(outPath) (\(packed.count) bytes, \(Self.arenaSummary(mplan)))")
    }

    /// The shipped model with its residual blocks row-streamed when that lowers the arena (unless --no-row-stream),
    /// logged.
    func rowStreamed(_ m: QuantizedModel) -> QuantizedModel {
        guard !noRowStream else { return m }
        let r = RowStreamFusion.best(m, inPlace: !noInPlace, log: { (s: String) in self.log(s) })
        if !quiet, r.nodes.contains(where: { $0.rows != nil }) {
            for (i, n) in r.nodes.enumerated() {
                guard let rows = n.rows else { continue }
                let names = r.nodes[i..<min(i + rows.members, r.nodes.count)].map(\.name).joined(separator: ", ")
                log("row stream: \(rows.members) layers run row by row (\(names)), rings of \(rows.ringRows.map(String.init).joined(separator: "/")) rows")
            }
            log("row stream: arena \(MemoryPlanner.plan(m, inPlace: !noInPlace).arenaSize) -> \(MemoryPlanner.plan(r, inPlace: !noInPlace).arenaSize) B (same output bytes; --no-row-stream runs the layers one after another)")
        }
        return r
    }

    /// `calibrate model.tflite`: import an int8 TFLite model as it is (no calibration), pack it.
    func importTFLite(_ modelPath: String) throws {
        if rounding == .onnxruntime {
            throw UserError("--rounding onnxruntime applies to pre-quantized ONNX (QDQ) models; \(modelPath) is a TFLite model: tflite-micro or tflite")
        }
        if precision != .int8 || ramBudget != nil {
            throw UserError("\(modelPath) is an int8 TFLite model imported as it is: --precision and --ram-budget apply to calibrated ONNX models")
        }
        if !data.isEmpty || !test.isEmpty || evalOutput != nil {
            throw UserError("\(modelPath) is an int8 TFLite model: it is imported without calibration, so --data, --test and --eval-output do not apply (use `swift run simulate` to run it)")
        }
        if let report {
            if FileAccess.kind(report).exists && !FileAccess.kind(report).isDirectory {
                throw FileError(path: report, what: "--report", reason: "is a file, expected a directory (report.json and report.html are written into it)")
            }
            try FileAccess.checkOutput("\(report)/report.json", what: "--report")
        }
        let bytes: [UInt8]
        do { bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: modelPath))) } catch {
            throw UserError("cannot read model '\(modelPath)': \(error.localizedDescription)")
        }
        let stem = URL(fileURLWithPath: modelPath).deletingPathExtension().lastPathComponent
        let qmodel: QuantizedModel
        do { qmodel = try TFLiteImporter.importModel(bytes: bytes, file: modelPath, name: stem, rounding: rounding) } catch {
            throw UserError(error.description)
        }
        log("model \(modelPath): int8 TFLite, \(qmodel.nodes.count) ops: imported without calibration (quantization parameters from the file), rounding \(rounding.rawValue)")
        let shipped = rowStreamed(qmodel)
        let mplan = MemoryPlanner.plan(shipped, inPlace: !noInPlace)
        let packed = try Packer.pack(shipped, plan: mplan, metadata: PackMetadata(
            sourceName: URL(fileURLWithPath: modelPath).lastPathComponent, sourceSHA256: sha256(bytes),
            calibrationMethod: "imported:tflite rounding:\(rounding.rawValue)"))
        if let board { try Self.checkBoard(board, packed: packed, log: log) }
        let outPath = output ?? "out/\(stem).mqm"
        var files: [(String, Data)] = [(outPath, Data(packed))]
        var rep: CalibrationReport? = nil
        if let report {
            let r = CalibrationReport.buildImported(model: qmodel, plan: mplan, packedBytes: packed.count,
                                                    source: URL(fileURLWithPath: modelPath).lastPathComponent, sha256: sha256(bytes),
                                                    format: "tflite", detail: "int8 TFLite model (rounding \(rounding.rawValue))")
            files.append(("\(report)/report.json", try r.json()))
            files.append(("\(report)/report.html", Data(r.html().utf8)))
            rep = r
        }
        try AtomicWriter.writeAll(files)
        if !quiet { print(rep?.table() ?? Self.importTable(qmodel)) }
        if let report { log("report: \(report)/report.json, \(report)/report.html") }
        print("wrote \(outPath) (\(packed.count) bytes, \(Self.arenaSummary(mplan)))")
    }

    /// The arena figures of a plan: size, its lower bound, the ops in place and the out-of-place bounds.
    static func arenaSummary(_ p: MemoryPlan) -> String {
        "arena \(p.arenaSize) bytes, lower bound \(p.lowerBound); \(p.inPlaceNodes.count) ops in place; out of place: plain lower bound \(p.plainLowerBound), largest input+output pair \(p.largestPairBound)"
    }

    /// One line per op of an imported model: op, output tensor, shape and qparams.
    static func importTable(_ m: QuantizedModel) -> String {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
        var lines = [pad("layer", 26) + pad("op", 16) + pad("output", 34) + pad("shape", 18) + "scale, zero point"]
        for n in m.nodes {
            let t = m.tensors[n.output]
            lines.append(pad(n.name, 26) + pad(n.op.kind, 16) + pad(String(t.name.suffix(33)), 34)
                         + pad("\(t.shape)", 18) + "\(t.qparams.scale), \(t.qparams.zeroPoint)")
        }
        lines.append("flash: \(m.constantBytes) bytes of constants; qparams imported from the file (no calibration)")
        return lines.joined(separator: "\n")
    }

    /// The fit check of `simulate --board` (MQSimulation.FitReport): flash = packed model + the runtime
    /// code measured for the board's core (boards/runtime-size.json), RAM = arena + I/O + stack + static
    /// data, against boards/NAME/board.json. Throws, with the full report, when the model does not fit.
    static func checkBoard(_ name: String, packed: [UInt8], log: (String) -> Void) throws {
        let catalog = try BoardCatalog.locate()
        let board: BoardConfig
        do {
            board = try catalog.board(named: name)
        } catch BoardError.unknownBoard(_, let available, let directory) {
            throw UserError("unknown board '\(name)': no \(directory)/\(name)/board.json (boards: \(available.isEmpty ? "none" : available.joined(separator: ", ")))")
        }
        let fit = try FitReport(model: try PackedModel(bytes: packed, source: "packed model"), board: board,
                                sizes: try catalog.runtimeSizes(), costs: try catalog.costModel())
        var problems: [String] = []
        if !fit.fitsFlash { problems.append("flash: model \(fit.modelBytes) B + runtime code \(fit.firmwareCodeBytes) B = \(fit.flashBytes) bytes of flash, the board has \(board.flash.size)") }
        if !fit.fitsRAM { problems.append("RAM: arena \(fit.arenaBytes) B + I/O \(fit.ioBytes) B + stack \(fit.stackBytes) B + static \(fit.staticRAMBytes) B = \(fit.ramBytes) bytes of RAM, the board has \(board.ram.size)") }
        guard problems.isEmpty else {
            throw UserError("model does not fit board '\(name)': " + problems.joined(separator: "; ") + "\n" + fit.render())
        }
        log("board \(name): flash \(fit.flashBytes) B (model \(fit.modelBytes) + runtime code \(fit.firmwareCodeBytes)) of \(board.flash.size) B, RAM \(fit.ramBytes) B of \(board.ram.size) B: fits")
    }
}

/// Progress on stderr: a bar redrawn in place on a terminal, plain lines (every ~10%) otherwise.
final class Progress {
    let total: Int, label: String, quiet: Bool
    let tty = isatty(2) != 0
    var lastDecile = -1
    init(total: Int, label: String, quiet: Bool) { self.total = total; self.label = label; self.quiet = quiet }
    func update(_ done: Int) {
        guard !quiet else { return }
        if tty {
            let w = 30, f = total > 0 ? done * w / total : w
            let bar = String(repeating: "#", count: f) + String(repeating: ".", count: w - f)
            FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(done)/\(total)".utf8))
        } else {
            let d = total > 0 ? done * 10 / total : 10
            if d != lastDecile { lastDecile = d; FileHandle.standardError.write(Data("\(label): \(done)/\(total) samples\n".utf8)) }
        }
    }
    func finish() { if tty && !quiet { FileHandle.standardError.write(Data("\n".utf8)) } }
}

/// Writes files via a temporary file in the same directory + rename; all or nothing: on any failure the
/// temporary files, the files already renamed (their previous contents restored) and the directories the
/// run created are removed again. Errors name the path and say what is wrong.
enum AtomicWriter {
    static func writeAll(_ files: [(String, Data)]) throws {
        let fm = FileManager.default
        var temps: [(String, String)] = []
        var createdDirs: [String] = []
        var backups: [(String, String)] = []      // (backup, original) of files replaced so far
        var installed: [String] = []              // new files renamed into place with nothing before them
        func cleanup() {
            for p in installed { unlink(p) }
            for (b, orig) in backups.reversed() { rename(b, orig) }
            for (t, _) in temps { unlink(t) }
            for d in createdDirs.reversed() { try? fm.removeItem(atPath: d) }
        }
        do {
            for (path, _) in files { try FileAccess.checkOutput(path, what: "output") }
            for (path, data) in files {
                let dir = (path as NSString).deletingLastPathComponent
                if let top = try FileAccess.createDirectories(dir, what: "output directory") { createdDirs.append(top) }
                let tmp = (dir.isEmpty ? "." : dir) + "/.\((path as NSString).lastPathComponent).tmp-\(getpid())"
                guard fm.createFile(atPath: tmp, contents: data) else {
                    throw FileError(path: path, what: "output", reason: "cannot write the file in '\(dir.isEmpty ? "." : dir)': \(FileAccess.errnoText(errno))")
                }
                temps.append((tmp, path))
            }
            for (tmp, path) in temps {
                if FileAccess.kind(path).exists {
                    let b = tmp + ".old"
                    guard rename(path, b) == 0 else { throw FileError(path: path, what: "output", reason: "cannot replace it: \(FileAccess.errnoText(errno))") }
                    backups.append((b, path))
                } else {
                    installed.append(path)
                }
                guard rename(tmp, path) == 0 else {
                    throw FileError(path: path, what: "output", reason: "cannot rename \(tmp) to it: \(FileAccess.errnoText(errno))")
                }
            }
            for (b, _) in backups { unlink(b) }
        } catch {
            cleanup()
            throw error
        }
    }
}
