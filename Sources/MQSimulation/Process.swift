// MQSimulation: running external tools (cmake, arm-none-eabi-gcc, qemu-system-arm) with a timeout.

import Foundation

/// Result of one external command.
struct CommandResult {
    let status: Int32
    let output: String
    let timedOut: Bool
}

/// Finds an executable in $PATH (nil when it is not there).
func findExecutable(_ name: String) -> URL? {
    if name.contains("/") {
        return FileManager.default.isExecutableFile(atPath: name) ? URL(fileURLWithPath: name) : nil
    }
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    for dir in path.split(separator: ":") where !dir.isEmpty {
        let candidate = URL(fileURLWithPath: String(dir)).appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
    }
    return nil
}

/// Runs `executable args` with stdout and stderr merged into a log file, killing it after `timeout` seconds.
func runCommand(_ executable: URL, _ args: [String], log: URL, timeout: TimeInterval) throws -> CommandResult {
    guard FileManager.default.createFile(atPath: log.path, contents: nil) else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: log.path])
    }
    let handle = try FileHandle(forWritingTo: log)
    defer { try? handle.close() }
    let p = Process()
    p.executableURL = executable
    p.arguments = args
    p.standardOutput = handle
    p.standardError = handle
    p.standardInput = FileHandle.nullDevice
    let done = DispatchSemaphore(value: 0)
    p.terminationHandler = { _ in done.signal() }
    try p.run()
    var timedOut = false
    if done.wait(timeout: .now() + timeout) == .timedOut {
        timedOut = true
        p.terminate()
        if done.wait(timeout: .now() + 5) == .timedOut {
            kill(p.processIdentifier, SIGKILL)
            done.wait()
        }
    }
    let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    return CommandResult(status: p.terminationStatus, output: text, timedOut: timedOut)
}

/// The last `n` lines of a log, for error messages.
func tail(_ text: String, lines n: Int = 15) -> String {
    text.split(separator: "\n", omittingEmptySubsequences: false).suffix(n).joined(separator: "\n")
}
