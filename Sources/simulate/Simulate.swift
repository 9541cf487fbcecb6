// `swift run simulate`: run a packed MicroQuant model on the host through the same C runtime as the
// device; optionally check it fits a board, run it on an emulated board under QEMU and compare byte
// for byte, compare with the float model, or emit the model as a C array for firmware.

import ArgumentParser
import Foundation
import MQNumPy
import MQSimulation

/// Any failure: printed as "simulate: error: <message>" with a non-zero exit.
struct Failure: Error, CustomStringConvertible {
    let message: String
    let code: Int32
    var description: String { message }
}

@main
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate",
        abstract: "Run a packed MicroQuant model on the host (bit-exact with the device), check it fits a board, run it under QEMU.",
        discussion: """
        Examples (after `swift run calibrate`, which writes out/tinyconv.mqm):
          swift run simulate out/tinyconv.mqm --input examples/tinyconv_test.npy --output y.npy
          swift run simulate out/tinyconv.mqm --input examples/tinyconv_test.npy --reference examples/tinyconv.onnx
          swift run simulate out/tinyconv.mqm --board nucleo-l4r5zi
          swift run simulate out/tinyconv.mqm --board nucleo-l4r5zi --placement ram
          swift run simulate out/tinyconv.mqm --input examples/tinyconv_test.npy --board mps2-an386 --qemu
          swift run simulate out/tinyconv.mqm --emit-c-array model.c --symbol mq_fw_model
        Exit status: 0 ok; 1 error; 3 the model does not fit the board; 4 device output differs from the
        host; 64 bad arguments (unknown option, invalid value, a missing or contradictory option).
        """)

    @Argument(help: "Packed model (.mqm) written by `swift run calibrate`.")
    var model: String

    @Option(name: .long, help: "Input samples as .npy (float32, first axis = samples); repeat once per model input. int8/uint8 arrays are taken as codes when they match the input's dtype; a .bin file is raw codes, sample after sample.")
    var input: [String] = []

    @Option(name: .long, help: "Write the outputs as .npy (float32, dequantized; with --qemu the device's outputs). Several model outputs: NAME_<i>.npy for output i > 0.")
    var output: String?

    @Flag(name: .long, help: "Write integer codes instead of dequantized floats.")
    var raw = false

    @Option(name: .long, help: "Board folder under boards/: print the fit report (flash, RAM, latency estimate).")
    var board: String?

    @Flag(name: .long, help: "Build the firmware for --board with this model and inputs, run it under qemu-system-arm, compare with the host byte for byte.")
    var qemu = false

    @Option(name: .long, help: "With --board: where the firmware keeps the model: flash (read in place, the board's factory flash mode; default), flash-single-bank (in place, the board's single-bank flash mode, e.g. STM32L4+ option bit DBANK = 0) or ram (copied to RAM at start-up: +model bytes of RAM). Selects the latency table and, with --qemu, the firmware build (ram: MQ_MODEL_IN_RAM). The report lists every placement the board supports.")
    var placement: String?

    @Option(name: .long, help: "Float ONNX model: run it with the host float executor and print SQNR / max error per output.")
    var reference: String?

    @Option(name: .long, help: "Write the model as a C99 array to this file (for firmware; see docs/BOARDS.md).")
    var emitCArray: String?

    @Option(name: .long, help: "C symbol for --emit-c-array (the firmware expects mq_fw_model).")
    var symbol = "mq_fw_model"

    @Option(name: .long, help: "boards/ directory (default: found from the current directory).")
    var boardsDir: String?

    @Option(name: .long, help: "How the firmware embeds the model and inputs for --qemu: incbin or carray.")
    var embed = "incbin"

    @Flag(name: .long, help: "Print the model's op build list (the ops a firmware must compile in: boards/CMakeLists.txt -DMQ_OPS=...) and exit.")
    var printOps = false

    @Flag(name: .long, help: "With --qemu: build the firmware with every op instead of only the model's (the default build list).")
    var allOps = false

    @Flag(name: .long, help: "Run the host simulation sample by sample through mq_model_run (the firmware's call) instead of the batched host path (mq_model_run_batch, the default; same output bytes).")
    var perSample = false

    @Option(name: .long, help: "Samples per batched host pass (default: automatic, about 1 MiB of intermediate tensors).")
    var chunk: Int?

    @Option(name: .long, help: "Use only the first N samples of the inputs.")
    var limit: Int?

    @Option(name: .long, help: "Seconds before the QEMU run is killed.")
    var timeout = 120

    @Option(name: .long, help: "Build directory for --qemu firmware (default: build/qemu under the checkout).")
    var workDir: String?

    mutating func validate() throws {
        if qemu && board == nil { throw ValidationError("--qemu needs --board NAME (an emulated board)") }
        if qemu && input.isEmpty { throw ValidationError("--qemu needs --input X.npy") }
        if let p = placement {
            if board == nil { throw ValidationError("--placement needs --board NAME") }
            if Placement(rawValue: p) == nil {
                throw ValidationError("--placement must be one of \(Placement.allCases.map(\.rawValue).joined(separator: ", ")), not '\(p)'")
            }
        }
        if output != nil && input.isEmpty { throw ValidationError("--output needs --input X.npy") }
        if reference != nil && input.isEmpty { throw ValidationError("--reference needs --input X.npy") }
        if QEMURunner.Embedding(rawValue: embed) == nil { throw ValidationError("--embed must be incbin or carray, not '\(embed)'") }
        if timeout < 1 { throw ValidationError("--timeout must be at least 1 second") }
        if let l = limit, l < 1 { throw ValidationError("--limit must be an integer >= 1, not \(l)") }
        if let c = chunk, c < 1 { throw ValidationError("--chunk must be an integer >= 1, not \(c)") }
        if chunk != nil && perSample { throw ValidationError("--chunk applies to the batched host path, not --per-sample") }
        if symbol.isEmpty || !symbol.allSatisfy({ $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }) || symbol.first!.isNumber {
            throw ValidationError("--symbol must be a C identifier (letters, digits, _; not starting with a digit), not '\(symbol)'")
        }
        let paths: [(String, String?)] = [("MODEL", model), ("--output", output), ("--reference", reference), ("--emit-c-array", emitCArray),
                                          ("--work-dir", workDir), ("--boards-dir", boardsDir), ("--board", board)]
        for (name, value) in paths where value?.isEmpty == true { throw ValidationError("\(name) is an empty string: give a path") }
        if input.contains("") { throw ValidationError("--input is an empty string: give a path") }
    }

    func run() throws {
        do {
            try execute()
        } catch let f as Failure {
            FileHandle.standardError.write(Data("simulate: error: \(f.message)\n".utf8))
            throw ExitCode(f.code)
        } catch let e as ExitCode {
            throw e
        } catch {
            FileHandle.standardError.write(Data("simulate: error: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }

    func execute() throws {
        // output paths and the work directory are checked before anything runs
        if let out = output { try FileAccess.checkOutput(out, what: "--output") }
        if let c = emitCArray { try FileAccess.checkOutput(c, what: "--emit-c-array") }
        if let w = workDir, FileAccess.kind(w).exists, !FileAccess.kind(w).isDirectory {
            throw Failure(message: "--work-dir '\(w)': is a file, expected a directory (the firmware is built inside it)", code: 1)
        }
        if let w = workDir { try FileAccess.checkOutput("\(w)/x", what: "--work-dir") }
        var sim = try Simulator(contentsOf: URL(fileURLWithPath: model))
        sim.hostPath = perSample ? .perSample : .batched
        sim.chunk = chunk ?? 0
        let m = sim.model
        if printOps {
            // One line, ';'-separated, as boards/CMakeLists.txt takes it: -DMQ_OPS="$(simulate M --print-ops)"
            print(m.opBuildList().joined(separator: ";"))
            return
        }
        print("model \(model): \(m.bytes.count) bytes, \(m.opCount) ops, arena \(m.arenaSize) B (lower bound \(m.arenaLowerBound) B)")
        for (i, t) in m.inputs.enumerated() { print("  input \(i): \(t)") }
        for (i, t) in m.outputs.enumerated() { print("  output \(i): \(t)") }

        if let path = emitCArray {
            let src = try CArray.source(bytes: m.bytes, symbol: symbol, sourceName: URL(fileURLWithPath: model).lastPathComponent)
            try writeAtomically(Data(src.utf8), to: path)
            print("wrote \(path): C array \(symbol) (\(m.bytes.count) bytes)")
        }

        var catalog: BoardCatalog?
        var boardConfig: BoardConfig?
        var fitFailed = false
        var estimate: Double?
        if let name = board {
            let cat = try BoardCatalog.locate(explicit: boardsDir)
            let cfg = try cat.board(named: name)
            catalog = cat
            boardConfig = cfg
            let chosen = placement.flatMap(Placement.init(rawValue:)) ?? .flash
            let (sizes, costs, cycles) = (try cat.runtimeSizes(), try cat.costModel(), try cat.cycleModel())
            let report: FitReport
            do {
                report = try FitReport(model: m, board: cfg, sizes: sizes, costs: costs, cycles: cycles, placement: chosen)
            } catch let e as BoardError {
                if case .unsupportedPlacement = e { throw Failure(message: "\(e)", code: 64) }
                throw e
            }
            print(report.render(), terminator: "")
            // every placement the board supports, side by side (the chosen one's table is above)
            let all = try Placement.supported(by: cfg).map {
                $0 == chosen ? report
                    : try FitReport(model: m, board: cfg, sizes: sizes, costs: costs, cycles: cycles, placement: $0)
            }
            print(FitReport.renderPlacements(all), terminator: "")
            fitFailed = !report.fits
            estimate = report.layers.reduce(0) { $0 + $1.instructions }
            if fitFailed && !qemu {
                throw Failure(message: "the model does not fit \(cfg.name) (flash \(report.flashBytes) of \(cfg.flash.size) B, RAM \(report.ramBytes) of \(cfg.ram.size) B"
                              + (chosen == .ram ? " with the model in RAM, --placement ram" : "") + ")", code: 3)
            }
        }

        guard !input.isEmpty else { return }
        if canStream {
            try runStreamed(sim)
            return
        }
        let (codes, count, inputFloats) = try loadInputs(sim)
        let hostStart = Date()
        let host = try sim.run(codes: codes, sampleCount: count)
        let hostSeconds = Date().timeIntervalSince(hostStart)
        print(String(format: "host: %d sample(s) in %.3f s", count, hostSeconds) + " (\(sim.hostPath.rawValue))")
        var written = host.codes

        if qemu, let cat = catalog, let cfg = boardConfig {
            if fitFailed {
                throw Failure(message: "the model does not fit \(cfg.name): not running it on the device", code: 3)
            }
            var runner = QEMURunner(catalog: cat, workDirectory: workDir.map { URL(fileURLWithPath: $0) })
            runner.runTimeout = TimeInterval(timeout)
            runner.embedding = QEMURunner.Embedding(rawValue: embed)!
            runner.opBuildList = allOps ? nil : m.opBuildList()
            runner.modelInRAM = placement == Placement.ram.rawValue
            if runner.modelInRAM { print("firmware: the model in RAM (.data, copied at start-up; MQ_MODEL_IN_RAM=ON)") }
            print("firmware ops: \(runner.opBuildList.map { $0.joined(separator: ";") } ?? "all")")
            let dev = try runner.run(model: m, inputCodes: codes, sampleCount: count, board: cfg)
            print(String(format: "device %@ (%@, QEMU %@): %d sample(s); build %.1f s, run %.1f s; stack used %d B",
                         cfg.name, cfg.core, cfg.qemu_machine ?? "-", count, dev.buildSeconds, dev.runSeconds, dev.stackBytes))
            // The firmware paints its whole stack reserve before the run (boards/common/mq_startup.c): a run that
            // used all of it may have run past it into .bss (the arena, the I/O buffers), so its outputs prove nothing.
            if dev.stackBytes >= cfg.stack_size {
                throw Failure(message: "device \(cfg.name): the inference used the whole \(cfg.stack_size) B stack reserve "
                              + "(boards/\(cfg.name)/board.json stack_size, the linker script's __mq_stack_size): the stack "
                              + "may have overflowed into RAM below it, so the device outputs are not trusted; raise both "
                              + "for this model", code: 4)
            }
            written = dev.codes
            if let first = dev.instructionsPerSample.first, first > 0 {
                let avg = dev.instructionsPerSample.reduce(0, +) / Double(dev.instructionsPerSample.count)
                var line = String(format: "device: mq_model_run executed %.0f instructions per inference (mean of %d; QEMU -icount, SysTick, +-%.0f)",
                                  avg, dev.instructionsPerSample.count, dev.instructionsPerTick)
                if let est = estimate {
                    line += String(format: "; the fit report's estimate %.0f is %.2fx that", est, est / avg)
                }
                print(line)
            }
            if let diff = firstDifference(host: host.codes, device: dev.codes, outputs: m.outputs) {
                if let out = output { try writeOutputs(written, sim: sim, count: count, to: out) }
                throw Failure(message: "device output differs from the host simulation on \(cfg.name): \(diff)", code: 4)
            }
            let total = dev.codes.reduce(0) { $0 + $1.count }
            print("device vs host: byte-identical (\(total) output bytes over \(count) sample(s))")
        }

        if let path = reference {
            try compareWithReference(path, sim: sim, host: host, inputs: inputFloats, count: count)
        }
        if let out = output {
            try writeOutputs(written, sim: sim, count: count, to: out)
        }
    }

    /// Reads every --input file: codes per model input (all samples) and the sample count.
    func loadInputs(_ sim: Simulator) throws -> ([[UInt8]], Int, [[Float]]) {
        let m = sim.model
        guard input.count == m.inputs.count else {
            throw Failure(message: "the model has \(m.inputs.count) input(s) but \(input.count) --input file(s) were given", code: 1)
        }
        var codes: [[UInt8]] = []
        var floats: [[Float]] = []
        var count: Int?
        for (i, path) in input.enumerated() {
            let t = m.inputs[i]
            if path.hasSuffix(".bin") {
                // Raw codes of this input, sample after sample (the firmware's / the fixtures' format).
                let data: [UInt8]
                do { data = try FileAccess.readFile(path, what: "--input") } catch let e as FileError {
                    throw Failure(message: "\(e)", code: 1)
                }
                guard !data.isEmpty, data.count % t.byteCount == 0 else {
                    throw Failure(message: "\(path): \(data.count) bytes is not a whole number of samples of input \(i) (\(t.byteCount) bytes of \(t.dtype) codes each)", code: 1)
                }
                let n = data.count / t.byteCount
                if let c = count, c != min(n, limit ?? n) {
                    throw Failure(message: "\(path): \(n) samples, but the first --input has \(c)", code: 1)
                }
                count = n
                var c = [UInt8](data)
                if let l = limit, l < n {
                    c = Array(c.prefix(l * t.byteCount))
                    count = l
                }
                codes.append(c)
                // the input as floats only for --reference (the float model's input)
                floats.append(reference == nil ? [] : try dequantize(c, as: t, what: "input \(i) (\(path))"))
                continue
            }
            let arr = try NumPy.load(path: path)
            if let first = arr.shape.first, first == 0 {
                throw Failure(message: "\(path): the array \(arr.shape) holds 0 samples (its first axis counts the samples); give at least one", code: 1)
            }
            if arr.shape.dropFirst().contains(0) {
                throw Failure(message: "\(path): the array \(arr.shape) has a zero-sized dimension: its samples hold no values (model input \(i) expects [N, \(sim.sampleShape(input: i).map(String.init).joined(separator: ", "))])", code: 1)
            }
            let n: Int
            do {
                n = try sim.sampleCount(shape: arr.shape, input: i)
            } catch let e as SimulationError {
                throw Failure(message: "\(path): \(e)", code: 1)
            }
            if let c = count, c != min(n, limit ?? n) {
                throw Failure(message: "\(path): \(n) samples, but the first --input has \(c)", code: 1)
            }
            var used = n
            if let l = limit, l < n { used = l }
            count = used
            let per = arr.count / n
            switch arr.dtype {
            case .float32, .float64:
                let all = arr.floats()
                let values = used == n ? all : Array(all.prefix(used * per))
                if let bad = values.firstIndex(where: { !$0.isFinite }) {
                    throw Failure(message: "\(path): value \(values[bad]) at flat index \(bad) (sample \(bad / t.elementCount)) is not finite", code: 1)
                }
                codes.append(try quantize(values, as: t, what: "input \(i) (\(path))"))
                floats.append(values)
            case .uint8 where t.dtype == .uint8, .int8 where t.dtype == .int8:
                let c = Array(arr.bytes.prefix(used * per))
                codes.append(c)
                floats.append(reference == nil ? [] : try dequantize(c, as: t, what: "input \(i) (\(path))"))
            default:
                throw Failure(message: "\(path): the array is \(arr.dtype.name) ('\(arr.dtype.rawValue)'), which model input \(i) (\(t.dtype) codes) cannot take: give float32 or float64 values (they are quantized with scale \(t.scale), zero point \(t.zeroPoint)) or \(t.dtype) codes", code: 1)
            }
        }
        return (codes, count ?? 0, floats)
    }

    func writeOutputs(_ codes: [[UInt8]], sim: Simulator, count: Int, to path: String) throws {
        let m = sim.model
        for (o, t) in m.outputs.enumerated() {
            let s = t.shape
            let per = (s.count > 1 && s[0] == 1) ? Array(s.dropFirst()) : s
            let shape = [count] + per
            let arr: NPYArray
            if raw {
                switch t.dtype {
                case .uint8: arr = try NPYArray(dtype: .uint8, shape: shape, bytes: codes[o])
                case .int8: arr = try NPYArray(dtype: .int8, shape: shape, bytes: codes[o])
                case .int32: arr = try NPYArray(dtype: .int32, shape: shape, bytes: codes[o])
                case .int16:
                    // .npy int16 is not among the reader's types: widen the little-endian codes to int32
                    var wide: [UInt8] = []
                    wide.reserveCapacity(codes[o].count * 2)
                    var k = 0
                    while k + 1 < codes[o].count {
                        let v = Int32(Int16(bitPattern: UInt16(codes[o][k]) | UInt16(codes[o][k + 1]) << 8))
                        withUnsafeBytes(of: v.littleEndian) { wide += $0 }
                        k += 2
                    }
                    arr = try NPYArray(dtype: .int32, shape: shape, bytes: wide)
                }
            } else {
                arr = try NPYArray(float32: try dequantize(codes[o], as: t, what: "output \(o)"), shape: shape)
            }
            let url = URL(fileURLWithPath: o == 0 ? path : suffixed(path, o))
            let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
            do {
                try FileAccess.checkOutput(url.path, what: "--output")
                try FileAccess.createDirectories(url.deletingLastPathComponent().path, what: "--output directory")
                try NumPy.write(arr, to: tmp)
                guard rename(tmp.path, url.path) == 0 else {
                    throw FileError(path: url.path, what: "--output", reason: "cannot rename the temporary file to it: \(FileAccess.errnoText(errno))")
                }
            } catch let e as FileError {
                unlink(tmp.path)
                throw Failure(message: "\(e)", code: 1)
            } catch {
                unlink(tmp.path)
                throw Failure(message: "--output '\(url.path)': cannot write: \(FileAccess.describe(error))", code: 1)
            }
            print("wrote \(url.path): output \(o) \(raw ? "codes \(t.dtype)" : "float32") \(shape)")
        }
    }

    func suffixed(_ path: String, _ i: Int) -> String {
        let u = URL(fileURLWithPath: path)
        let ext = u.pathExtension
        let base = u.deletingPathExtension().path
        return ext.isEmpty ? "\(base)_\(i)" : "\(base)_\(i).\(ext)"
    }

    func writeAtomically(_ data: Data, to path: String) throws {
        let url = URL(fileURLWithPath: path)
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw Failure(message: "\(path): cannot write (\(FileAccess.describe(error)))", code: 1)
        }
    }
}
