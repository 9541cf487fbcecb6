// `.npz` archives (numpy.savez): a ZIP file of `.npy` members, read through the ZIP central directory.
// Only stored (uncompressed, method 0) members are supported, which is what numpy.savez writes;
// numpy.savez_compressed (deflate) is rejected with a message saying so. Every offset and size is
// checked against the file; a corrupt archive is an NPYError naming the file and the member.

import Foundation

extension NumPy {
    /// The arrays of an `.npz` archive by name (the member name without ".npy"), in archive order.
    public static func decodeArchive(_ data: [UInt8], name: String) throws -> [(name: String, array: NPYArray)] {
        func u16(_ p: Int) throws -> Int {
            guard p >= 0, p + 2 <= data.count else { throw NPYError.badHeader(file: name, reason: "ZIP structure runs past the end of the file") }
            return Int(data[p]) | Int(data[p + 1]) << 8
        }
        func u32(_ p: Int) throws -> Int {
            guard p >= 0, p + 4 <= data.count else { throw NPYError.badHeader(file: name, reason: "ZIP structure runs past the end of the file") }
            return Int(data[p]) | Int(data[p + 1]) << 8 | Int(data[p + 2]) << 16 | Int(data[p + 3]) << 24
        }
        // End of central directory: signature 0x06054b50, within the last 22 + 65535 bytes.
        var eocd = -1
        var p = data.count - 22
        while p >= max(0, data.count - 22 - 65535) {
            if data[p] == 0x50, data[p + 1] == 0x4B, data[p + 2] == 0x05, data[p + 3] == 0x06 { eocd = p; break }
            p -= 1
        }
        guard eocd >= 0 else { throw NPYError.badHeader(file: name, reason: "not a ZIP/.npz archive (no end-of-central-directory record)") }
        let entries = try u16(eocd + 10)
        let cdSize = try u32(eocd + 12), cdOffset = try u32(eocd + 16)
        guard cdOffset != 0xFFFF_FFFF, cdOffset + cdSize <= eocd else {
            throw NPYError.badHeader(file: name, reason: "central directory lies outside the archive (ZIP64 archives are not supported)")
        }
        var out: [(String, NPYArray)] = []
        var q = cdOffset
        for _ in 0..<entries {
            guard try u32(q) == 0x0201_4B50 else { throw NPYError.badHeader(file: name, reason: "corrupt central directory at byte \(q)") }
            let method = try u16(q + 10)
            let csize = try u32(q + 20), usize = try u32(q + 24)
            let nlen = try u16(q + 28), elen = try u16(q + 30), clen = try u16(q + 32)
            let local = try u32(q + 42)
            guard q + 46 + nlen <= data.count else { throw NPYError.badHeader(file: name, reason: "member name runs past the end of the file") }
            let member = String(decoding: data[(q + 46)..<(q + 46 + nlen)], as: UTF8.self)
            let where_ = "\(name)[\(member)]"
            guard method == 0 else {
                throw NPYError.badHeader(file: where_, reason: "member is compressed (method \(method)); only numpy.savez (stored) archives are supported, not savez_compressed")
            }
            guard csize == usize, csize != 0xFFFF_FFFF else { throw NPYError.badHeader(file: where_, reason: "inconsistent member sizes") }
            guard try u32(local) == 0x0403_4B50 else { throw NPYError.badHeader(file: where_, reason: "corrupt local header at byte \(local)") }
            let start = local + 30 + (try u16(local + 26)) + (try u16(local + 28))
            guard start >= 0, start <= data.count, csize <= data.count - start else {
                throw NPYError.truncated(file: where_, expectedBytes: start + csize, gotBytes: data.count)
            }
            let arr = try decode(Array(data[start..<(start + csize)]), name: where_)
            out.append((member.hasSuffix(".npy") ? String(member.dropLast(4)) : member, arr))
            q += 46 + nlen + elen + clen
        }
        return out
    }

    /// Reads an `.npz` file.
    public static func readArchive(contentsOf url: URL) throws -> [(name: String, array: NPYArray)] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw NPYError.io(file: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        return try decodeArchive([UInt8](data), name: url.path)
    }
}
