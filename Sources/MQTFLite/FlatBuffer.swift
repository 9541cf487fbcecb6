// A bounds-checked reader of the FlatBuffers binary format (the subset TFLite files use), written from
// the format's description: a little-endian buffer whose first 4 bytes are the uoffset of the root
// table (bytes 4..<8 optionally a file identifier); a table starts with an soffset (int32) to its
// vtable (vtable = table - soffset); a vtable is [u16 vtable bytes, u16 table inline bytes, u16 field
// offsets...] where field i's entry is at vtable + 4 + 2i and 0 (or no entry) means "absent, use the
// default"; a reference field (table, vector, string) holds a uoffset (uint32) relative to its own
// position; a vector is [u32 count, elements...]; a string is a vector of bytes followed by a NUL; a
// union is two fields, the type (u8) at id n and the table reference at id n + 1.
//
// Nothing here trusts the file: every read is range-checked and every failure is a FlatBufferError
// naming the table/field path being decoded and the byte offset involved.

/// A structural error of a FlatBuffer: what was being decoded (a path such as
/// `Model.subgraphs[0].tensors[3].quantization.scale`), the byte offset, and what is wrong.
public struct FlatBufferError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The table/field path being decoded.
    public var path: String
    /// The byte offset where the problem was found.
    public var offset: Int
    /// What is wrong.
    public var reason: String

    public var description: String { "\(path): \(reason) (at byte \(offset))" }
}

/// Caps the total number of decoded elements, so a file whose offsets all point at the same large
/// vector (a DAG of shared offsets) cannot make decoding take time quadratic in its size.
final class DecodeBudget: @unchecked Sendable {
    private(set) var remaining: Int
    init(limit: Int) { remaining = limit }
    func spend(_ n: Int, path: @autoclosure () -> String, offset: Int) throws {
        guard n <= remaining else {
            throw FlatBufferError(path: path(), offset: offset,
                                  reason: "the file decodes to far more data than it holds (offsets shared between tables?)")
        }
        remaining -= n
    }
}

/// The raw bytes plus checked little-endian loads.
struct FlatBuffer: Sendable {
    let bytes: [UInt8]
    let budget: DecodeBudget

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        budget = DecodeBudget(limit: 64 * bytes.count + (1 << 20))
    }

    var count: Int { bytes.count }

    func need(_ at: Int, _ size: Int, _ path: @autoclosure () -> String) throws {
        guard at >= 0, size >= 0, at <= bytes.count, size <= bytes.count - at else {
            throw FlatBufferError(path: path(), offset: at,
                                  reason: "\(size) byte(s) needed past the end of the \(bytes.count)-byte file")
        }
    }

    /// Little-endian unsigned load of `size` (1...8) bytes, range-checked.
    func load(_ at: Int, _ size: Int, _ path: @autoclosure () -> String) throws -> UInt64 {
        try need(at, size, path())
        var v: UInt64 = 0
        for i in stride(from: size - 1, through: 0, by: -1) { v = (v << 8) | UInt64(bytes[at + i]) }
        return v
    }

    func u8(_ at: Int, _ path: @autoclosure () -> String) throws -> UInt8 { UInt8(truncatingIfNeeded: try load(at, 1, path())) }
    func u16(_ at: Int, _ path: @autoclosure () -> String) throws -> UInt16 { UInt16(truncatingIfNeeded: try load(at, 2, path())) }
    func u32(_ at: Int, _ path: @autoclosure () -> String) throws -> UInt32 { UInt32(truncatingIfNeeded: try load(at, 4, path())) }
    func i32(_ at: Int, _ path: @autoclosure () -> String) throws -> Int32 { Int32(bitPattern: try u32(at, path())) }

    /// Follows the uoffset stored at `at` (target = at + uoffset), checking the target lies in the file.
    func deref(_ at: Int, _ path: @autoclosure () -> String) throws -> Int {
        let off = Int(try u32(at, path()))
        let target = at + off
        guard target < bytes.count else {
            throw FlatBufferError(path: path(), offset: at,
                                  reason: "offset \(off) points to byte \(target), past the end of the \(bytes.count)-byte file")
        }
        return target
    }

    /// The table whose start is at `pos`, with its vtable checked.
    func table(at pos: Int, path: String) throws -> FBTable {
        let soff = Int(try i32(pos, path))
        let vt = pos - soff
        guard vt >= 0, vt <= bytes.count - 4 else {
            throw FlatBufferError(path: path, offset: pos, reason: "vtable offset \(soff) points to byte \(vt), outside the file")
        }
        let vtSize = Int(try u16(vt, path))
        let inline = Int(try u16(vt + 2, path))
        guard vtSize >= 4, vtSize % 2 == 0, vt + vtSize <= bytes.count else {
            throw FlatBufferError(path: path, offset: vt, reason: "vtable of \(vtSize) bytes is malformed or runs past the end of the file")
        }
        guard inline >= 4, pos + inline <= bytes.count else {
            throw FlatBufferError(path: path, offset: pos, reason: "table of \(inline) inline bytes is malformed or runs past the end of the file")
        }
        return FBTable(buffer: self, pos: pos, vtable: vt, vtableSize: vtSize, inlineSize: inline, path: path)
    }

    /// The root table (the uoffset at byte 0).
    func root(path: String) throws -> FBTable {
        try table(at: try deref(0, path + " (root offset)"), path: path)
    }
}

/// A vector: `count` elements of `elementSize` bytes starting at `start`.
struct FBVector: Sendable {
    let buffer: FlatBuffer
    let start: Int
    let count: Int
    let elementSize: Int
    let path: String

    func elementPath(_ i: Int) -> String { "\(path)[\(i)]" }

    /// The i-th element of a vector of tables.
    func table(_ i: Int) throws -> FBTable {
        let p = elementPath(i)
        return try buffer.table(at: try buffer.deref(start + 4 * i, p), path: p)
    }
    func string(_ i: Int) throws -> String {
        let p = elementPath(i)
        return try FBTable.readString(buffer, at: try buffer.deref(start + 4 * i, p), path: p)
    }
    func int32s() throws -> [Int32] { try (0..<count).map { try buffer.i32(start + 4 * $0, elementPath($0)) } }
    func uint32s() throws -> [UInt32] { try (0..<count).map { try buffer.u32(start + 4 * $0, elementPath($0)) } }
    func int64s() throws -> [Int64] { try (0..<count).map { Int64(bitPattern: try buffer.load(start + 8 * $0, 8, elementPath($0))) } }
    func floats() throws -> [Float] { try (0..<count).map { Float(bitPattern: try buffer.u32(start + 4 * $0, elementPath($0))) } }
    func bytes() -> [UInt8] { Array(buffer.bytes[start..<(start + count)]) }
}

/// A table with its checked vtable.
struct FBTable: Sendable {
    let buffer: FlatBuffer
    let pos: Int
    let vtable: Int
    let vtableSize: Int
    let inlineSize: Int
    let path: String

    func fieldPath(_ name: String) -> String { "\(path).\(name)" }

    /// Absolute position of field `id` of `size` bytes, or nil when absent; the field must lie inside
    /// the table's inline bytes.
    func field(_ id: Int, _ name: String, size: Int) throws -> Int? {
        let entry = 4 + 2 * id
        guard entry + 2 <= vtableSize else { return nil }
        let rel = Int(try buffer.u16(vtable + entry, fieldPath(name)))
        if rel == 0 { return nil }
        guard rel >= 4, rel + size <= inlineSize else {
            throw FlatBufferError(path: fieldPath(name), offset: vtable + entry,
                                  reason: "field at table offset \(rel) (\(size) bytes) lies outside the table's \(inlineSize) inline bytes")
        }
        return pos + rel
    }

    func u8(_ id: Int, _ name: String, default d: UInt8 = 0) throws -> UInt8 {
        guard let p = try field(id, name, size: 1) else { return d }
        return try buffer.u8(p, fieldPath(name))
    }
    func i8(_ id: Int, _ name: String, default d: Int8 = 0) throws -> Int8 { Int8(bitPattern: try u8(id, name, default: UInt8(bitPattern: d))) }
    func bool(_ id: Int, _ name: String, default d: Bool = false) throws -> Bool { try u8(id, name, default: d ? 1 : 0) != 0 }
    func i32(_ id: Int, _ name: String, default d: Int32 = 0) throws -> Int32 {
        guard let p = try field(id, name, size: 4) else { return d }
        return try buffer.i32(p, fieldPath(name))
    }
    func u32(_ id: Int, _ name: String, default d: UInt32 = 0) throws -> UInt32 {
        guard let p = try field(id, name, size: 4) else { return d }
        return try buffer.u32(p, fieldPath(name))
    }
    func u64(_ id: Int, _ name: String, default d: UInt64 = 0) throws -> UInt64 {
        guard let p = try field(id, name, size: 8) else { return d }
        return try buffer.load(p, 8, fieldPath(name))
    }
    func f32(_ id: Int, _ name: String, default d: Float = 0) throws -> Float {
        guard let p = try field(id, name, size: 4) else { return d }
        return Float(bitPattern: try buffer.u32(p, fieldPath(name)))
    }

    /// A sub-table, or nil when absent.
    func table(_ id: Int, _ name: String) throws -> FBTable? {
        guard let p = try field(id, name, size: 4) else { return nil }
        return try buffer.table(at: try buffer.deref(p, fieldPath(name)), path: fieldPath(name))
    }

    /// A vector of `elementSize`-byte elements (4 for offsets to tables/strings), or nil when absent.
    func vector(_ id: Int, _ name: String, elementSize: Int) throws -> FBVector? {
        guard let p = try field(id, name, size: 4) else { return nil }
        let fp = fieldPath(name)
        let v = try buffer.deref(p, fp)
        let n = Int(try buffer.u32(v, fp))
        guard n <= (buffer.count - v - 4) / elementSize else {
            throw FlatBufferError(path: fp, offset: v,
                                  reason: "vector of \(n) element(s) of \(elementSize) bytes runs past the end of the \(buffer.count)-byte file")
        }
        try buffer.budget.spend(n, path: fp, offset: v)
        return FBVector(buffer: buffer, start: v + 4, count: n, elementSize: elementSize, path: fp)
    }

    /// A string, or nil when absent (must be valid UTF-8).
    func string(_ id: Int, _ name: String) throws -> String? {
        guard let p = try field(id, name, size: 4) else { return nil }
        return try Self.readString(buffer, at: try buffer.deref(p, fieldPath(name)), path: fieldPath(name))
    }

    static func readString(_ b: FlatBuffer, at v: Int, path: String) throws -> String {
        let n = Int(try b.u32(v, path))
        guard n <= b.count - v - 4 else {
            throw FlatBufferError(path: path, offset: v, reason: "string of \(n) bytes runs past the end of the \(b.count)-byte file")
        }
        try b.budget.spend(n, path: path, offset: v)
        let raw = b.bytes[(v + 4)..<(v + 4 + n)]
        guard let s = String(validating: raw, as: UTF8.self) else {
            throw FlatBufferError(path: path, offset: v, reason: "string is not valid UTF-8")
        }
        return s
    }
}
