// Streaming .npy access for large arrays: read the header once, then the element bytes in pieces straight into
// the caller's buffer (pread, no whole-file array); write a header, then element bytes piece by piece (write).
// Used by `simulate` to run a whole test set chunk by chunk without holding the set, its codes or its outputs.

import Foundation

/// What an `.npy` header says: element type, shape, and where the element bytes are.
public struct NPYHeader: Sendable, Equatable {
    public let dtype: NPYDType
    public let shape: [Int]
    /// Byte offset of the first element in the file.
    public let dataOffset: Int
    /// Element bytes: product(shape) * dtype.itemSize.
    public let byteCount: Int

    /// Number of elements (product of the shape).
    public var count: Int { dtype.itemSize == 0 ? 0 : byteCount / dtype.itemSize }
}

/// An open `.npy` file whose element bytes are read on demand. Errors are `NPYError`s naming the file,
/// the same as `NumPy.read` gives for the same file.
public final class NPYFileReader {
    public let path: String
    public let header: NPYHeader
    private let fd: Int32

    /// Opens `path` and parses its header (a regular file; a missing or unreadable file, a bad header or too few
    /// element bytes for the shape are errors).
    public init(path: String) throws {
        self.path = path
        do {
            let k = FileAccess.kind(path)
            guard !path.isEmpty else { throw FileError(path: path, what: ".npy file", reason: "the path is empty") }
            guard k.exists else { throw FileError(path: path, what: ".npy file", reason: "no such file or directory") }
            guard !k.isDirectory else { throw FileError(path: path, what: ".npy file", reason: "is a directory, expected a file") }
        } catch let e as FileError {
            throw NPYError.io(file: path, reason: e.reason)
        }
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { throw NPYError.io(file: path, reason: "cannot open: \(FileAccess.errnoText(errno))") }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let e = errno
            close(fd)
            throw NPYError.io(file: path, reason: "cannot read: \(FileAccess.errnoText(e))")
        }
        let size = Int(st.st_size)
        do {
            // 12 bytes hold the magic, the version and the header length; then the whole header
            var head = try NPYFileReader.readPrefix(fd, count: min(size, 12), path: path)
            if head.count >= 10 {
                let v2 = head[6] >= 2
                var len = Int(head[8]) | Int(head[9]) << 8
                if v2, head.count >= 12 { len |= Int(head[10]) << 16 | Int(head[11]) << 24 }
                let need = min(size, (v2 ? 12 : 10) + len)
                if need > head.count { head = try NPYFileReader.readPrefix(fd, count: need, path: path) }
            }
            header = try head.withUnsafeBytes { try NumPy.decodeHeader($0, fileSize: size, name: path) }
        } catch {
            close(fd)
            throw error
        }
        self.fd = fd
    }

    deinit { close(fd) }

    private static func readPrefix(_ fd: Int32, count: Int, path: String) throws -> [UInt8] {
        var b = [UInt8](repeating: 0, count: count)
        let got = b.withUnsafeMutableBytes { preadFully(fd, $0.baseAddress, count, 0) }
        guard got == count else {
            throw NPYError.io(file: path, reason: got < 0 ? "cannot read: \(FileAccess.errnoText(errno))" : "the file shrank while being read")
        }
        return b
    }

    /// Bytes read (short only at end of file), or -1 with errno set.
    private static func preadFully(_ fd: Int32, _ dst: UnsafeMutableRawPointer?, _ count: Int, _ offset: Int) -> Int {
        guard let dst else { return 0 }
        var done = 0
        while done < count {
            let n = pread(fd, dst + done, count - done, off_t(offset + done))
            if n < 0 {
                if errno == EINTR { continue }
                return -1
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Reads `count` element bytes starting `offset` bytes into the element data into `dst`.
    public func read(into dst: UnsafeMutableRawPointer, offset: Int, count: Int) throws {
        guard offset >= 0, count >= 0, offset <= header.byteCount, count <= header.byteCount - offset else {
            throw NPYError.invalidArgument("\(path): bytes \(offset)..<\(offset + count) are outside the \(header.byteCount) element bytes")
        }
        let got = NPYFileReader.preadFully(fd, dst, count, header.dataOffset + offset)
        guard got == count else {
            throw NPYError.io(file: path, reason: got < 0 ? "cannot read: \(FileAccess.errnoText(errno))" : "the file shrank while being read")
        }
    }
}

/// Writes one `.npy` file piece by piece: the header at creation, then `append` the element bytes in order;
/// `finish` checks that exactly the shape's bytes were written and closes it. The file is replaced (created
/// with mode 0666 & ~umask). Errors name the file.
public final class NPYFileWriter {
    public let path: String
    public let dtype: NPYDType
    public let shape: [Int]
    private var fd: Int32
    private var remaining: Int

    public init(path: String, dtype: NPYDType, shape: [Int]) throws {
        self.path = path
        self.dtype = dtype
        self.shape = shape
        let (n, o1) = shape.reduce((1, false)) { acc, d in
            let r = acc.0.multipliedReportingOverflow(by: d)
            return (r.partialValue, acc.1 || r.overflow || d < 0)
        }
        let (bytes, o2) = n.multipliedReportingOverflow(by: dtype.itemSize)
        guard !o1, !o2 else { throw NPYError.invalidArgument("\(path): shape \(shape) is too large or negative") }
        remaining = bytes
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o666)
        guard fd >= 0 else { throw NPYError.io(file: path, reason: "cannot write: \(FileAccess.errnoText(errno))") }
        let head = NumPy.encodeHeader(dtype: dtype, shape: shape)
        do {
            try head.withUnsafeBytes { try writeAll($0) }
        } catch {
            close(fd)
            fd = -1
            throw error
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    private func writeAll(_ b: UnsafeRawBufferPointer) throws {
        guard var p = b.baseAddress else { return }
        var left = b.count
        while left > 0 {
            let n = Foundation.write(fd, p, left)
            if n < 0 {
                if errno == EINTR { continue }
                throw NPYError.io(file: path, reason: "cannot write: \(FileAccess.errnoText(errno))")
            }
            p += n
            left -= n
        }
    }

    /// Appends element bytes (little-endian, C order, continuing where the last call stopped).
    public func append(_ bytes: UnsafeRawBufferPointer) throws {
        guard fd >= 0 else { throw NPYError.io(file: path, reason: "cannot write: the file is closed") }
        guard bytes.count <= remaining else {
            throw NPYError.invalidArgument("\(path): \(bytes.count) more bytes than the shape \(shape) holds")
        }
        try writeAll(bytes)
        remaining -= bytes.count
    }

    /// Closes the file; an error if fewer element bytes than the shape's were appended.
    public func finish() throws {
        guard fd >= 0 else { return }
        let r = close(fd)
        fd = -1
        guard remaining == 0 else { throw NPYError.invalidArgument("\(path): \(remaining) element bytes of shape \(shape) were never written") }
        guard r == 0 else { throw NPYError.io(file: path, reason: "cannot write: \(FileAccess.errnoText(errno))") }
    }
}
