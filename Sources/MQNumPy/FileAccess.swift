// File access with errors in words: every message names the path and says what is wrong ("is a
// directory", "no such file", "permission denied"), never a raw Foundation error dump. Shared by the
// readers (.npy, ONNX, packed models) and the commands' output writers.

import Foundation

/// A file-system error for people: the path, what the file is for, and what is wrong.
public struct FileError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The path as given.
    public let path: String
    /// What the file is for ("model", "--data", "output"...).
    public let what: String
    /// What is wrong, in words.
    public let reason: String

    public init(path: String, what: String, reason: String) {
        self.path = path
        self.what = what
        self.reason = reason
    }

    public var description: String {
        path.isEmpty ? "\(what): \(reason)" : "\(what) '\(path)': \(reason)"
    }
}

/// Reading and preparing files with readable errors.
public enum FileAccess {
    /// The text of an errno value ("No such file or directory").
    public static func errnoText(_ e: Int32) -> String { String(cString: strerror(e)) }

    /// What is at `path`: nil when nothing (or a dangling link), else whether it is a directory.
    public static func kind(_ path: String) -> (exists: Bool, isDirectory: Bool) {
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDir)
        return (exists, exists && isDir.boolValue)
    }

    /// Reads a whole regular file. Errors: an empty path, no such file, a directory, not readable.
    public static func readFile(_ path: String, what: String) throws -> [UInt8] {
        guard !path.isEmpty else { throw FileError(path: path, what: what, reason: "the path is empty") }
        let k = kind(path)
        guard k.exists else { throw FileError(path: path, what: what, reason: "no such file") }
        guard !k.isDirectory else { throw FileError(path: path, what: what, reason: "is a directory, expected a file") }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw FileError(path: path, what: what, reason: "cannot open: \(errnoText(errno))") }
        defer { close(fd) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileError(path: path, what: what, reason: "cannot read: \(errnoText(errno))")
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    /// Checks that a file can be written at `path` (the directories above it may still have to be
    /// created): the path is not empty, not a directory, and no regular file stands where a directory
    /// on its way must be. Throws a `FileError` in words.
    public static func checkOutput(_ path: String, what: String) throws {
        guard !path.isEmpty else { throw FileError(path: path, what: what, reason: "the path is empty") }
        guard !path.hasSuffix("/") else { throw FileError(path: path, what: what, reason: "names a directory (ends with '/'), expected a file") }
        if kind(path).isDirectory { throw FileError(path: path, what: what, reason: "is a directory, expected a file") }
        var dir = (path as NSString).deletingLastPathComponent
        while !dir.isEmpty {
            let k = kind(dir)
            if k.exists {
                guard k.isDirectory else {
                    throw FileError(path: path, what: what, reason: "'\(dir)' is a file, not a directory: cannot create the file inside it")
                }
                guard access(dir, W_OK | X_OK) == 0 else {
                    throw FileError(path: path, what: what, reason: "directory '\(dir)' is not writable (\(errnoText(errno)))")
                }
                return
            }
            let up = (dir as NSString).deletingLastPathComponent
            if up == dir { break }
            dir = up
        }
    }

    /// Creates `dir` and its missing parents (mode 0777 & ~umask). Returns the topmost directory it
    /// created (nil when `dir` existed), so a failed run can remove exactly what it made.
    @discardableResult
    public static func createDirectories(_ dir: String, what: String) throws -> String? {
        guard !dir.isEmpty else { return nil }
        let k = kind(dir)
        if k.exists {
            guard k.isDirectory else { throw FileError(path: dir, what: what, reason: "is a file, expected a directory") }
            return nil
        }
        var missing: [String] = []
        var d = dir
        while !d.isEmpty && !kind(d).exists {
            missing.append(d)
            let up = (d as NSString).deletingLastPathComponent
            if up == d { break }
            d = up
        }
        if !d.isEmpty && kind(d).exists && !kind(d).isDirectory {
            throw FileError(path: dir, what: what, reason: "cannot create the directory: '\(d)' is a file")
        }
        var created: [String] = []
        for m in missing.reversed() {
            if mkdir(m, 0o777) != 0 && errno != EEXIST {
                let e = errno
                for c in created.reversed() { rmdir(c) }
                throw FileError(path: dir, what: what, reason: "cannot create directory '\(m)': \(errnoText(e))")
            }
            created.append(m)
        }
        return created.first
    }

    /// A readable text for any error thrown by Foundation file calls: the POSIX reason when there is one.
    public static func describe(_ error: Error) -> String {
        if let f = error as? FileError { return f.reason }
        let ns = error as NSError
        if ns.domain == NSPOSIXErrorDomain { return errnoText(Int32(ns.code)) }
        if let u = ns.userInfo[NSUnderlyingErrorKey] as? NSError, u.domain == NSPOSIXErrorDomain { return errnoText(Int32(u.code)) }
        switch ns.code {
        case NSFileNoSuchFileError, NSFileReadNoSuchFileError: return "no such file"
        case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: return "permission denied"
        case NSFileWriteOutOfSpaceError: return "no space left on the device"
        case NSFileWriteFileExistsError: return "a file is in the way"
        case NSFileWriteVolumeReadOnlyError: return "read-only file system"
        default: return "file error \(ns.code)"
        }
    }
}
