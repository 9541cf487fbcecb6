// MQSimulation: device-in-the-loop on QEMU. Builds the firmware of boards/ for a board with a packed
// model and input samples embedded (cmake + arm-none-eabi-gcc), runs it under qemu-system-arm with
// semihosting, and parses the outputs the device printed (protocol in boards/common/main.c).

import Foundation

/// Which step of a device run failed, and why.
public enum DeviceError: Error, CustomStringConvertible, Equatable {
    /// A tool is not in PATH.
    case toolMissing(step: String, tool: String, hint: String)
    /// The board is cross-compile only.
    case notEmulated(board: String, available: [String])
    case configureFailed(board: String, log: String)
    case buildFailed(board: String, log: String)
    case timeout(step: String, seconds: Int, log: String)
    /// The firmware ran but reported a runtime status (mq_status) or firmware error.
    case deviceStatus(board: String, code: Int, text: String)
    /// QEMU exited abnormally (fault, crash) without the firmware's MQ-DONE line.
    case emulatorFailed(board: String, exitCode: Int, log: String)
    /// The device output could not be parsed or is incomplete.
    case protocolError(board: String, reason: String, log: String)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case let .toolMissing(step, tool, hint):
            return "step '\(step)' failed: \(tool) not found in PATH (\(hint))"
        case let .notEmulated(board, available):
            return "board \(board) is not emulated by QEMU (cross-compile only); QEMU boards: \(available.joined(separator: ", "))"
        case let .configureFailed(board, log):
            return "step 'configure firmware' failed for \(board) (cmake -S boards):\n\(log)"
        case let .buildFailed(board, log):
            return "step 'build firmware' failed for \(board) (cmake --build):\n\(log)"
        case let .timeout(step, seconds, log):
            return "step '\(step)' timed out after \(seconds) s:\n\(log)"
        case let .deviceStatus(board, code, text):
            return "step 'run on device' failed: the firmware on \(board) reported status \(code): \(text)"
        case let .emulatorFailed(board, exitCode, log):
            return "step 'run on device' failed: qemu-system-arm for \(board) exited with \(exitCode) without finishing:\n\(log)"
        case let .protocolError(board, reason, log):
            return "step 'read device output' failed for \(board): \(reason)\n\(log)"
        case let .io(path, reason):
            return "\(path): \(reason)"
        }
    }
}

/// What the device printed.
public struct DeviceRun: Sendable {
    public let board: String
    public let sampleCount: Int
    /// For each model output: the device's codes of every sample, concatenated (sample-major).
    public let codes: [[UInt8]]
    /// Stack high-water mark reported by the firmware (bytes).
    public let stackBytes: Int
    /// Executed instructions of mq_model_run per sample, measured on the device: SysTick ticks under
    /// `-icount shift=0` (1 instruction = 1 ns of virtual time) x 1e9 / clock_hz.
    public let instructionsPerSample: [Double]
    /// Resolution of one reading (instructions per SysTick tick): 1e9 / clock_hz.
    public let instructionsPerTick: Double
    /// The full console text.
    public let log: String
    /// Seconds spent building and running.
    public let buildSeconds: Double
    public let runSeconds: Double
}

/// Builds and runs firmware for QEMU-emulated boards.
public struct QEMURunner: Sendable {
    public enum Embedding: String, Sendable { case incbin, carray }

    public let catalog: BoardCatalog
    /// Build directories go to workDirectory/<board>/ (reused between runs: incremental builds).
    public let workDirectory: URL
    public var buildTimeout: TimeInterval = 300
    public var runTimeout: TimeInterval = 120
    public var embedding: Embedding = .incbin
    /// A pre-generated C array for the model (symbol mq_fw_model), instead of embedding the bytes.
    public var modelCSource: URL?
    /// The firmware's op build list (MQ_OP_<NAME>_ENABLED names, PackedModel.opBuildList()): only these ops
    /// are compiled into the loader and the interpreter, so only their kernels are linked. nil: every op.
    public var opBuildList: [String]?
    /// Link the model into .data (RAM, copied at start-up) instead of .rodata (flash): boards/CMakeLists.txt
    /// MQ_MODEL_IN_RAM (simulate --placement ram).
    public var modelInRAM = false
    public var qemuExecutable = "qemu-system-arm"
    public var cmakeExecutable = "cmake"

    public init(catalog: BoardCatalog, workDirectory: URL? = nil) {
        self.catalog = catalog
        self.workDirectory = workDirectory ?? catalog.root.appendingPathComponent("build").appendingPathComponent("qemu")
    }

    /// Checks the tools a device run needs, in the order of the steps.
    public func checkTools() throws {
        guard findExecutable(cmakeExecutable) != nil else {
            throw DeviceError.toolMissing(step: "configure firmware", tool: cmakeExecutable, hint: "Debian: apt-get install cmake")
        }
        guard findExecutable("arm-none-eabi-gcc") != nil else {
            throw DeviceError.toolMissing(step: "build firmware", tool: "arm-none-eabi-gcc",
                                          hint: "Debian: apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi")
        }
        guard findExecutable(qemuExecutable) != nil else {
            throw DeviceError.toolMissing(step: "run on device", tool: qemuExecutable, hint: "Debian: apt-get install qemu-system-arm")
        }
    }

    /// Builds the firmware for `board` with `model` and the samples (`inputCodes[i]`: input i of every
    /// sample, concatenated), runs it under QEMU and returns the device's outputs.
    public func run(model: PackedModel, inputCodes: [[UInt8]], sampleCount: Int, board: BoardConfig) throws -> DeviceRun {
        guard let machine = board.qemu_machine else {
            let emulated = catalog.names().filter { (try? catalog.board(named: $0).qemu_machine) != nil }
            throw DeviceError.notEmulated(board: board.name, available: emulated)
        }
        try checkTools()
        let fm = FileManager.default
        let dir = workDirectory.appendingPathComponent(board.name)
        let buildDir = dir.appendingPathComponent("build")
        do {
            try fm.createDirectory(at: buildDir, withIntermediateDirectories: true)
            try Data(model.bytes).write(to: dir.appendingPathComponent("model.mqm"))
            let interleaved = Simulator.interleave(codes: inputCodes, inputs: model.inputs, sampleCount: sampleCount)
            try Data(interleaved).write(to: dir.appendingPathComponent("input.bin"))
        } catch {
            throw DeviceError.io(path: dir.path, reason: "cannot write the firmware's model/input files: \(error.localizedDescription)")
        }
        let arena = max(16, (model.arenaSize + 15) / 16 * 16)
        let outBytes = max(16, model.outputs.reduce(0) { $0 + ($1.byteCount + 15) / 16 * 16 })
        let cmake = findExecutable(cmakeExecutable)!
        var args = ["-S", catalog.directory.path, "-B", buildDir.path, "-DBOARD=\(board.name)",
                    "-DMQ_MODEL=\(dir.appendingPathComponent("model.mqm").path)",
                    "-DMQ_INPUT=\(dir.appendingPathComponent("input.bin").path)",
                    "-DMQ_EMBED=\(embedding.rawValue)", "-DMQ_ARENA_SIZE=\(arena)", "-DMQ_OUTPUT_SIZE=\(outBytes)",
                    "-DMQ_MODEL_C=\(modelCSource?.path ?? "")"]
        // "" = every op (the reused build directory must forget an earlier run's list).
        args.append("-DMQ_OPS=\(opBuildList?.joined(separator: ";") ?? "")")
        args.append("-DMQ_MODEL_IN_RAM=\(modelInRAM ? "ON" : "OFF")")
        args.append("-Wno-dev")
        let t0 = Date()
        let conf = try runCommand(cmake, args, log: dir.appendingPathComponent("configure.log"), timeout: buildTimeout)
        if conf.timedOut { throw DeviceError.timeout(step: "configure firmware", seconds: Int(buildTimeout), log: tail(conf.output)) }
        if conf.status != 0 { throw DeviceError.configureFailed(board: board.name, log: tail(conf.output)) }
        let build = try runCommand(cmake, ["--build", buildDir.path, "-j2"], log: dir.appendingPathComponent("build.log"),
                                   timeout: buildTimeout)
        if build.timedOut { throw DeviceError.timeout(step: "build firmware", seconds: Int(buildTimeout), log: tail(build.output)) }
        if build.status != 0 { throw DeviceError.buildFailed(board: board.name, log: tail(build.output, lines: 30)) }
        let t1 = Date()
        let qemu = findExecutable(qemuExecutable)!
        let elf = buildDir.appendingPathComponent("mq_firmware.elf")
        let run = try runCommand(qemu, ["-M", machine, "-nographic", "-monitor", "none", "-serial", "null",
                                        "-icount", "shift=0,align=off,sleep=off",
                                        "-semihosting-config", "enable=on,target=native", "-kernel", elf.path],
                                 log: dir.appendingPathComponent("qemu.log"), timeout: runTimeout)
        let t2 = Date()
        if run.timedOut { throw DeviceError.timeout(step: "run on device (\(machine))", seconds: Int(runTimeout), log: tail(run.output)) }
        let parsed = try QEMURunner.parse(run.output, board: board.name, model: model, sampleCount: sampleCount,
                                          exitCode: Int(run.status))
        let perTick = 1e9 / Double(board.clock_hz)
        return DeviceRun(board: board.name, sampleCount: sampleCount, codes: parsed.codes, stackBytes: parsed.stack,
                         instructionsPerSample: parsed.ticks.map { Double($0) * perTick }, instructionsPerTick: perTick,
                         log: run.output, buildSeconds: t1.timeIntervalSince(t0), runSeconds: t2.timeIntervalSince(t1))
    }

    /// Parses the firmware's console text (boards/common/main.c protocol).
    public static func parse(_ text: String, board: String, model: PackedModel, sampleCount: Int,
                             exitCode: Int) throws -> (codes: [[UInt8]], stack: Int, ticks: [Int]) {
        var done: (Int, String)?
        var stack = 0
        var ticks = [Int](repeating: 0, count: sampleCount)
        var samples: Int?
        var got: [[[UInt8]?]] = model.outputs.map { _ in Array(repeating: nil, count: sampleCount) }
        for raw in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
            let line = String(raw)
            let f = line.split(separator: " ", maxSplits: 3).map(String.init)
            guard let tag = f.first else { continue }
            switch tag {
            case "MQ-DONE":
                done = (Int(f.count > 1 ? f[1] : "") ?? -1, f.count > 2 ? f[2...].joined(separator: " ") : "")
            case "MQ-STACK":
                stack = Int(f.count > 1 ? f[1] : "") ?? 0
            case "MQ-TICKS":
                if f.count >= 3, let s = Int(f[1]), s >= 0, s < sampleCount, let t = Int(f[2]) { ticks[s] = t }
            case "MQ-SAMPLES":
                samples = Int(f.count > 1 ? f[1] : "")
            case "MQ-OUT":
                guard f.count == 4, let s = Int(f[1]), let o = Int(f[2]), s >= 0, s < sampleCount, o >= 0, o < got.count,
                      let bytes = decodeHex(f[3]), bytes.count == model.outputs[o].byteCount else {
                    throw DeviceError.protocolError(board: board, reason: "malformed output line '\(line.prefix(80))'", log: tail(text))
                }
                got[o][s] = bytes
            default:
                continue
            }
        }
        guard let (code, msg) = done else {
            if text.contains("MQ-FAULT") || exitCode != 0 {
                throw DeviceError.emulatorFailed(board: board, exitCode: exitCode, log: tail(text))
            }
            throw DeviceError.protocolError(board: board, reason: "no MQ-DONE line (firmware did not finish)", log: tail(text))
        }
        // the firmware prints an mq_status code without its text unless built with MQ_FW_STATUS_TEXT=ON
        if code != 0 {
            throw DeviceError.deviceStatus(board: board, code: code, text: msg.isEmpty && code > 0 && code < 90 ? statusText(code) : msg)
        }
        guard exitCode == 0 else {
            throw DeviceError.emulatorFailed(board: board, exitCode: exitCode, log: tail(text))
        }
        guard samples == sampleCount else {
            throw DeviceError.protocolError(board: board, reason: "device ran \(samples.map(String.init) ?? "no") samples, expected \(sampleCount)", log: tail(text))
        }
        var codes: [[UInt8]] = []
        for (o, perSample) in got.enumerated() {
            var all: [UInt8] = []
            for (s, b) in perSample.enumerated() {
                guard let b else {
                    throw DeviceError.protocolError(board: board, reason: "no output \(o) for sample \(s)", log: tail(text))
                }
                all.append(contentsOf: b)
            }
            codes.append(all)
        }
        return (codes, stack, ticks)
    }

    static func decodeHex(_ s: String) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count % 2 == 0 else { return nil }
        func nib(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var out = [UInt8]()
        out.reserveCapacity(u.count / 2)
        var i = 0
        while i < u.count {
            guard let h = nib(u[i]), let l = nib(u[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}

/// First difference between host and device codes, nil when byte-identical.
public func firstDifference(host: [[UInt8]], device: [[UInt8]], outputs: [TensorDescription]) -> String? {
    guard host.count == device.count else { return "host has \(host.count) outputs, device \(device.count)" }
    for o in host.indices {
        guard host[o].count == device[o].count else {
            return "output \(o): host \(host[o].count) bytes, device \(device[o].count) bytes"
        }
        if let i = zip(host[o], device[o]).enumerated().first(where: { $0.element.0 != $0.element.1 })?.offset {
            let n = outputs[o].byteCount
            return "output \(o), sample \(i / n), byte \(i % n): host 0x\(String(host[o][i], radix: 16)), device 0x\(String(device[o][i], radix: 16))"
        }
    }
    return nil
}
