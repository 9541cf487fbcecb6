// MQNumPy: reader and writer for NumPy's .npy format (versions 1.0, 2.0, 3.0).
//
// Format (numpy/lib/format.py): the magic string "\x93NUMPY", one byte major version,
// one byte minor version, the header length (little-endian uint16 for v1, uint32 for
// v2/v3), then the header: an ASCII (v1/v2) or UTF-8 (v3) Python dict literal such as
// `{'descr': '<f4', 'fortran_order': False, 'shape': (100, 3, 8, 8), }` padded with
// spaces and a final '\n'. The raw element data follows immediately.
//
// Supported element types: '<f4' (float32), '<f8' (float64), '|i1' (int8), '|u1' (uint8),
// '<i4' (int32), '<i8' (int64). Only C order, little-endian (or byte-order-free) data.

import Foundation

/// Element type of an `.npy` array (numpy `descr` string).
public enum NPYDType: String, Sendable, CaseIterable {
    case float32 = "<f4"
    case float64 = "<f8"
    case int8 = "|i1"
    case uint8 = "|u1"
    case int32 = "<i4"
    case int64 = "<i8"

    /// Bytes per element.
    public var itemSize: Int {
        switch self {
        case .int8, .uint8: return 1
        case .float32, .int32: return 4
        case .float64, .int64: return 8
        }
    }

    /// Parses a numpy descr ('<f4', '=f4', '|u1', 'u1', ...). Big-endian ('>') is not supported.
    /// The element type in words ("float32", "int64").
    public var name: String {
        switch self {
        case .float32: return "float32"
        case .float64: return "float64"
        case .int8: return "int8"
        case .uint8: return "uint8"
        case .int32: return "int32"
        case .int64: return "int64"
        }
    }

    static func parse(_ descr: String) -> NPYDType? {
        var d = Substring(descr)
        var order: Character = "<"
        if let first = d.first, "<>|=".contains(first) {
            order = first
            d = d.dropFirst()
        }
        let littleEndianHost = UInt16(1).littleEndian == 1
        switch d {
        case "f4", "f8", "i4", "i8":
            // '=' is native order; '|' is not valid for multi-byte types but accept as native.
            if order == ">" || (order != "<" && !littleEndianHost) { return nil }
            switch d {
            case "f4": return .float32
            case "f8": return .float64
            case "i4": return .int32
            default: return .int64
            }
        case "i1", "b": return .int8
        case "u1", "B": return .uint8
        default: return nil
        }
    }
}

/// Errors from reading or writing `.npy` files; every message names the file.
public enum NPYError: Error, CustomStringConvertible, Equatable {
    case io(file: String, reason: String)
    case badMagic(file: String)
    case unsupportedVersion(file: String, major: UInt8, minor: UInt8)
    case truncated(file: String, expectedBytes: Int, gotBytes: Int)
    case badHeader(file: String, reason: String)
    case unsupportedDType(file: String, descr: String)
    case fortranOrder(file: String)
    case emptyDirectory(directory: String)
    case mismatch(file: String, reason: String)
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .io(file, reason): return "\(file): \(reason)"
        case let .badMagic(file): return "\(file): not a NumPy .npy file (the magic string \\x93NUMPY is missing)"
        case let .unsupportedVersion(file, major, minor):
            return "\(file): unsupported .npy format version \(major).\(minor) (supported: 1.0, 2.0, 3.0)"
        case let .truncated(file, expected, got):
            return "\(file): truncated .npy file: expected \(expected) bytes, got \(got)"
        case let .badHeader(file, reason): return "\(file): malformed .npy header: \(reason)"
        case let .unsupportedDType(file, descr):
            return "\(file): unsupported dtype '\(descr)' (supported: "
                + NPYDType.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
                + "; save with np.save(path, x.astype(np.float32)))"
        case let .fortranOrder(file):
            return "\(file): Fortran-order arrays are not supported; save with np.ascontiguousarray(x)"
        case let .emptyDirectory(dir): return "\(dir): directory contains no .npy files"
        case let .mismatch(file, reason): return "\(file): \(reason)"
        case let .invalidArgument(reason): return reason
        }
    }
}

/// An n-dimensional array as stored in an `.npy` file: C order, little-endian element bytes.
public struct NPYArray: Sendable, Equatable {
    /// Element type.
    public var dtype: NPYDType
    /// Dimensions, outermost first (C order). A scalar has shape [].
    public var shape: [Int]
    /// Raw little-endian element bytes, count = product(shape) * dtype.itemSize.
    public var bytes: [UInt8]

    /// Number of elements (product of the shape; 1 for a scalar).
    public var count: Int { shape.reduce(1, *) }

    /// Creates an array from raw element bytes; throws if the byte count disagrees with the shape.
    public init(dtype: NPYDType, shape: [Int], bytes: [UInt8]) throws {
        guard shape.allSatisfy({ $0 >= 0 }) else { throw NPYError.invalidArgument("negative dimension in shape \(shape)") }
        let n = shape.reduce(1, *)
        guard bytes.count == n * dtype.itemSize else {
            throw NPYError.invalidArgument("\(bytes.count) bytes do not match shape \(shape) of \(dtype.rawValue)")
        }
        self.dtype = dtype
        self.shape = shape
        self.bytes = bytes
    }

    /// A float32 array with the given shape (C order).
    public init(float32 values: [Float], shape: [Int]) throws {
        #if _endian(little)
        // the in-memory floats already are the file's little-endian bytes: one copy
        let b = values.withUnsafeBytes { [UInt8]($0) }
        #else
        var b = [UInt8](repeating: 0, count: values.count * 4)
        b.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() { raw.storeBytes(of: v.bitPattern.littleEndian, toByteOffset: i * 4, as: UInt32.self) }
        }
        #endif
        try self.init(dtype: .float32, shape: shape, bytes: b)
    }

    /// A uint8 array with the given shape.
    public init(uint8 values: [UInt8], shape: [Int]) throws {
        try self.init(dtype: .uint8, shape: shape, bytes: values)
    }

    /// An int8 array with the given shape.
    public init(int8 values: [Int8], shape: [Int]) throws {
        try self.init(dtype: .int8, shape: shape, bytes: values.map { UInt8(bitPattern: $0) })
    }

    /// An int32 array with the given shape.
    public init(int32 values: [Int32], shape: [Int]) throws {
        var b = [UInt8](repeating: 0, count: values.count * 4)
        b.withUnsafeMutableBytes { raw in
            for (i, v) in values.enumerated() { raw.storeBytes(of: v.littleEndian, toByteOffset: i * 4, as: Int32.self) }
        }
        try self.init(dtype: .int32, shape: shape, bytes: b)
    }

    /// The elements converted to Float (exact for int8/uint8/int32 up to 2^24; float64 rounds to nearest).
    public func floats() -> [Float] {
        let n = count
        var out = [Float](repeating: 0, count: n)
        bytes.withUnsafeBytes { raw in
            switch dtype {
            case .float32:
                #if _endian(little)
                out.withUnsafeMutableBytes { dst in
                    if n > 0, let d = dst.baseAddress, let src = raw.baseAddress { d.copyMemory(from: src, byteCount: n * 4) }
                }
                #else
                for i in 0..<n { out[i] = Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self))) }
                #endif
            case .float64:
                for i in 0..<n { out[i] = Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))) }
            case .int8:
                for i in 0..<n { out[i] = Float(Int8(bitPattern: raw[i])) }
            case .uint8:
                for i in 0..<n { out[i] = Float(raw[i]) }
            case .int32:
                for i in 0..<n { out[i] = Float(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))) }
            case .int64:
                for i in 0..<n { out[i] = Float(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self))) }
            }
        }
        return out
    }

    /// The elements as Int64 (float types are truncated toward zero; use for integer arrays).
    public func int64s() -> [Int64] {
        let n = count
        var out = [Int64](repeating: 0, count: n)
        bytes.withUnsafeBytes { raw in
            switch dtype {
            case .float32:
                for i in 0..<n { out[i] = Int64(Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))) }
            case .float64:
                for i in 0..<n { out[i] = Int64(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))) }
            case .int8:
                for i in 0..<n { out[i] = Int64(Int8(bitPattern: raw[i])) }
            case .uint8:
                for i in 0..<n { out[i] = Int64(raw[i]) }
            case .int32:
                for i in 0..<n { out[i] = Int64(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: i * 4, as: Int32.self))) }
            case .int64:
                for i in 0..<n { out[i] = Int64(littleEndian: raw.loadUnaligned(fromByteOffset: i * 8, as: Int64.self)) }
            }
        }
        return out
    }
}

/// Namespace for reading and writing `.npy` files.
public enum NumPy {
    /// Parses the bytes of an `.npy` file. `name` is used in error messages.
    public static func decode(_ data: [UInt8], name: String) throws -> NPYArray {
        let h = try data.withUnsafeBytes { try decodeHeader($0, fileSize: data.count, name: name) }
        return try NPYArray(dtype: h.dtype, shape: h.shape, bytes: Array(data[h.dataOffset..<(h.dataOffset + h.byteCount)]))
    }

    /// Parses the magic, version and header dict of an `.npy` file from its first bytes (`prefix`, at least the
    /// whole header when the file has one) and checks that a file of `fileSize` bytes holds all the element bytes.
    /// The errors of `decode`, word for word.
    static func decodeHeader(_ data: UnsafeRawBufferPointer, fileSize: Int, name: String) throws -> NPYHeader {
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // \x93NUMPY
        let have = min(data.count, 6)
        guard data.count >= 6, Array(data[0..<6]) == magic else {
            if have < 6 && Array(magic.prefix(have)) == Array(data[0..<have]) && have > 0 {
                throw NPYError.truncated(file: name, expectedBytes: 10, gotBytes: fileSize)
            }
            throw NPYError.badMagic(file: name)
        }
        guard data.count >= 8 else { throw NPYError.truncated(file: name, expectedBytes: 10, gotBytes: fileSize) }
        let major = data[6], minor = data[7]
        let headerLenSize: Int
        switch major {
        case 1: headerLenSize = 2
        case 2, 3: headerLenSize = 4
        default: throw NPYError.unsupportedVersion(file: name, major: major, minor: minor)
        }
        guard minor == 0 else { throw NPYError.unsupportedVersion(file: name, major: major, minor: minor) }
        let prefix = 8 + headerLenSize
        guard data.count >= prefix else { throw NPYError.truncated(file: name, expectedBytes: prefix, gotBytes: fileSize) }
        var headerLen = 0
        for i in 0..<headerLenSize { headerLen |= Int(data[8 + i]) << (8 * i) }
        let dataStart = prefix + headerLen
        guard data.count >= dataStart else {
            throw NPYError.truncated(file: name, expectedBytes: dataStart, gotBytes: fileSize)
        }
        let headerBytes = Array(data[prefix..<dataStart])
        guard let header = String(bytes: headerBytes, encoding: major == 3 ? .utf8 : .ascii) else {
            throw NPYError.badHeader(file: name, reason: major == 3 ? "header is not UTF-8" : "header is not ASCII")
        }
        let dict: [String: PyValue]
        do {
            var p = PyLiteralParser(header)
            guard case let .dict(d) = try p.parseValue() else { throw PyLiteralParser.Failure("header is not a dict") }
            dict = d
        } catch let f as PyLiteralParser.Failure {
            throw NPYError.badHeader(file: name, reason: f.message)
        }
        guard case let .string(descr)? = dict["descr"] else {
            throw NPYError.badHeader(file: name, reason: "missing 'descr' string")
        }
        guard case let .bool(fortran)? = dict["fortran_order"] else {
            throw NPYError.badHeader(file: name, reason: "missing 'fortran_order' bool")
        }
        guard case let .tuple(dimsV)? = dict["shape"] else {
            throw NPYError.badHeader(file: name, reason: "missing 'shape' tuple")
        }
        var shape: [Int] = []
        for d in dimsV {
            guard case let .int(v) = d, v >= 0 else { throw NPYError.badHeader(file: name, reason: "shape entries must be non-negative integers") }
            shape.append(v)
        }
        guard let dtype = NPYDType.parse(descr) else { throw NPYError.unsupportedDType(file: name, descr: descr) }
        let (n, o1) = shape.reduce((1, false)) { acc, d in
            let r = acc.0.multipliedReportingOverflow(by: d)
            return (r.partialValue, acc.1 || r.overflow)
        }
        let (nbytes, o2) = n.multipliedReportingOverflow(by: dtype.itemSize)
        guard !o1, !o2 else { throw NPYError.badHeader(file: name, reason: "shape \(shape) is too large") }
        // Fortran order only matters for rank >= 2 with more than one non-unit dimension.
        if fortran && shape.filter({ $0 > 1 }).count > 1 { throw NPYError.fortranOrder(file: name) }
        guard fileSize - dataStart >= nbytes else {
            throw NPYError.truncated(file: name, expectedBytes: dataStart + nbytes, gotBytes: fileSize)
        }
        return NPYHeader(dtype: dtype, shape: shape, dataOffset: dataStart, byteCount: nbytes)
    }

    /// Reads one `.npy` file.
    public static func read(contentsOf url: URL) throws -> NPYArray {
        let data: [UInt8]
        do { data = try FileAccess.readFile(url.path, what: ".npy file") } catch let e as FileError {
            throw NPYError.io(file: url.path, reason: e.reason)
        }
        return try decode(data, name: url.path)
    }

    /// Reads every `*.npy` file in a directory (sorted by file name) and concatenates them along
    /// axis 0. All files must have the same dtype and the same trailing dimensions.
    public static func readDirectory(_ url: URL) throws -> NPYArray {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: url.path) } catch {
            throw NPYError.io(file: url.path, reason: "cannot list directory: \(FileAccess.describe(error))")
        }
        let files = names.filter { $0.hasSuffix(".npy") }.sorted()
        guard !files.isEmpty else { throw NPYError.emptyDirectory(directory: url.path) }
        let arrays = try files.map { try read(contentsOf: url.appendingPathComponent($0)) }
        return try concatenate(arrays, names: files.map { url.appendingPathComponent($0).path })
    }

    /// Reads a file, or a directory of files (see `readDirectory`).
    public static func load(path: String) throws -> NPYArray {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw NPYError.io(file: path, reason: "no such file or directory")
        }
        let url = URL(fileURLWithPath: path)
        return isDir.boolValue ? try readDirectory(url) : try read(contentsOf: url)
    }

    /// Concatenates arrays along axis 0; `names` (same count) are used in error messages.
    public static func concatenate(_ arrays: [NPYArray], names: [String]) throws -> NPYArray {
        guard let first = arrays.first else { throw NPYError.invalidArgument("nothing to concatenate") }
        guard !first.shape.isEmpty else { throw NPYError.mismatch(file: names[0], reason: "a scalar cannot be concatenated along axis 0") }
        var bytes: [UInt8] = []
        var rows = 0
        for (a, name) in zip(arrays, names) {
            guard a.dtype == first.dtype else {
                throw NPYError.mismatch(file: name, reason: "dtype \(a.dtype.rawValue) differs from \(first.dtype.rawValue) in \(names[0])")
            }
            guard a.shape.count == first.shape.count, Array(a.shape.dropFirst()) == Array(first.shape.dropFirst()) else {
                throw NPYError.mismatch(file: name, reason: "shape \(a.shape) does not match \(first.shape) of \(names[0]) beyond axis 0")
            }
            rows += a.shape[0]
            bytes += a.bytes
        }
        return try NPYArray(dtype: first.dtype, shape: [rows] + first.shape.dropFirst(), bytes: bytes)
    }

    /// Serializes an array as `.npy` (version 1.0 when the header fits 65535 bytes, else 2.0);
    /// the header is padded so the data starts at a multiple of 64 bytes, as numpy does.
    public static func encode(_ array: NPYArray) -> [UInt8] {
        encodeHeader(array) + array.bytes
    }

    /// The magic, version and padded header of `encode` (everything before the element bytes).
    static func encodeHeader(_ array: NPYArray) -> [UInt8] { encodeHeader(dtype: array.dtype, shape: array.shape) }

    /// The magic, version and padded header of an array of this dtype and shape.
    static func encodeHeader(dtype: NPYDType, shape: [Int]) -> [UInt8] {
        let shapeStr: String
        switch shape.count {
        case 0: shapeStr = "()"
        case 1: shapeStr = "(\(shape[0]),)"
        default: shapeStr = "(" + shape.map(String.init).joined(separator: ", ") + ")"
        }
        var header = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeStr), }"
        var version: UInt8 = 1
        var prefix = 10
        if header.utf8.count + 1 + prefix > 65535 { version = 2; prefix = 12 }
        let total = prefix + header.utf8.count + 1
        let padded = (total + 63) / 64 * 64
        header += String(repeating: " ", count: padded - total) + "\n"
        var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, version, 0]
        let hl = header.utf8.count
        if version == 1 {
            out += [UInt8(hl & 0xFF), UInt8(hl >> 8)]
        } else {
            out += [UInt8(hl & 0xFF), UInt8((hl >> 8) & 0xFF), UInt8((hl >> 16) & 0xFF), UInt8(hl >> 24)]
        }
        out += Array(header.utf8)
        return out
    }

    /// `encode` as Data, the element bytes copied once (a large array is not copied twice).
    static func encodeData(_ array: NPYArray) -> Data {
        let head = encodeHeader(array)
        var d = Data(capacity: head.count + array.bytes.count)
        d.append(contentsOf: head)
        d.append(contentsOf: array.bytes)
        return d
    }

    /// Writes an array to a `.npy` file (replacing it).
    public static func write(_ array: NPYArray, to url: URL) throws {
        do { try encodeData(array).write(to: url, options: .atomic) } catch {
            throw NPYError.io(file: url.path, reason: "cannot write: \(error.localizedDescription)")
        }
    }
}

// MARK: - Python literal parser (the subset numpy writes in .npy headers)

enum PyValue: Equatable {
    case string(String)
    case bool(Bool)
    case int(Int)
    case tuple([PyValue])
    case dict([String: PyValue])
    case none
}

struct PyLiteralParser {
    struct Failure: Error { let message: String; init(_ m: String) { message = m } }
    let chars: [Character]
    var i = 0
    init(_ s: String) { chars = Array(s) }

    mutating func skipSpace() { while i < chars.count, chars[i].isWhitespace { i += 1 } }

    mutating func expect(_ c: Character) throws {
        skipSpace()
        guard i < chars.count, chars[i] == c else { throw Failure("expected '\(c)' at character \(i)") }
        i += 1
    }

    mutating func parseValue() throws -> PyValue {
        skipSpace()
        guard i < chars.count else { throw Failure("unexpected end of header") }
        let c = chars[i]
        if c == "{" {
            i += 1
            var d: [String: PyValue] = [:]
            while true {
                skipSpace()
                if i < chars.count, chars[i] == "}" { i += 1; break }
                guard case let .string(k) = try parseValue() else { throw Failure("dict keys must be strings") }
                try expect(":")
                d[k] = try parseValue()
                skipSpace()
                if i < chars.count, chars[i] == "," { i += 1; continue }
                try expect("}")
                break
            }
            return .dict(d)
        }
        if c == "(" || c == "[" {
            let close: Character = c == "(" ? ")" : "]"
            i += 1
            var items: [PyValue] = []
            while true {
                skipSpace()
                if i < chars.count, chars[i] == close { i += 1; break }
                items.append(try parseValue())
                skipSpace()
                if i < chars.count, chars[i] == "," { i += 1; continue }
                try expect(close)
                break
            }
            return .tuple(items)
        }
        if c == "'" || c == "\"" {
            i += 1
            var s = ""
            while i < chars.count, chars[i] != c { s.append(chars[i]); i += 1 }
            guard i < chars.count else { throw Failure("unterminated string") }
            i += 1
            return .string(s)
        }
        if c.isNumber || c == "-" {
            var s = String(c)
            i += 1
            while i < chars.count, chars[i].isNumber { s.append(chars[i]); i += 1 }
            // numpy may write long ints as e.g. 3L in very old files
            if i < chars.count, chars[i] == "L" { i += 1 }
            guard let v = Int(s) else { throw Failure("bad integer '\(s)'") }
            return .int(v)
        }
        for (word, value) in [("True", PyValue.bool(true)), ("False", .bool(false)), ("None", .none)] {
            let w = Array(word)
            if i + w.count <= chars.count, Array(chars[i..<(i + w.count)]) == w {
                i += w.count
                return value
            }
        }
        throw Failure("unexpected character '\(c)' at \(i)")
    }
}
