// `.npz` reader: a ZIP archive of `.npy` members, as numpy.savez writes it (stored, uncompressed;
// numpy writes ZIP64 extra fields). Read through the central directory; every offset and size is
// bounds-checked, so a corrupt or truncated archive is an error naming the file, never a crash.
// Compressed members (numpy.savez_compressed, method 8) are rejected with a message.

import Foundation

extension NumPy {
    /// Parses the bytes of an `.npz` archive into its arrays, keyed by member name without `.npy`
    /// (`np.savez(path, x=a, y=b)` gives "x" and "y"), in archive order.
    public static func decodeNPZ(_ data: [UInt8], name: String) throws -> [(name: String, array: NPYArray)] {
        func bad(_ why: String) -> NPYError { .badHeader(file: name, reason: "not a readable .npz archive: \(why)") }
        func u16(_ o: Int) throws -> Int {
            guard o >= 0, o + 2 <= data.count else { throw bad("truncated at byte \(o)") }
            return Int(data[o]) | Int(data[o + 1]) << 8
        }
        func u32(_ o: Int) throws -> Int { let lo = try u16(o), hi = try u16(o + 2); return lo | hi << 16 }
        func u64(_ o: Int) throws -> Int {
            let lo = try u32(o), hi = try u32(o + 4)
            guard hi < 1 << 30 else { throw bad("64-bit size at byte \(o) is too large") }
            return lo | hi << 32
        }
        // End of central directory: signature 0x06054b50 within the last 65557 bytes.
        guard data.count >= 22 else { throw bad("file has \(data.count) bytes, too short for a ZIP archive") }
        var eocd = -1
        var p = data.count - 22
        let lowest = max(0, data.count - 22 - 65535)
        while p >= lowest {
            if data[p] == 0x50, data[p + 1] == 0x4b, data[p + 2] == 0x05, data[p + 3] == 0x06 { eocd = p; break }
            p -= 1
        }
        guard eocd >= 0 else { throw bad("no end-of-central-directory record (not a ZIP file, or truncated)") }
        var entries = try u16(eocd + 10)
        var cdOffset = try u32(eocd + 16)
        if entries == 0xFFFF || cdOffset == 0xFFFF_FFFF {
            // ZIP64: locator right before the EOCD points at the ZIP64 EOCD record.
            let loc = eocd - 20
            guard loc >= 0, try u32(loc) == 0x0706_4b50 else { throw bad("ZIP64 locator missing") }
            let z = try u64(loc + 8)
            guard try u32(z) == 0x0606_4b50 else { throw bad("ZIP64 end record missing at byte \(z)") }
            entries = try u64(z + 32)
            cdOffset = try u64(z + 48)
        }
        guard entries <= 1 << 16 else { throw bad("\(entries) entries") }
        var out: [(String, NPYArray)] = []
        var c = cdOffset
        for i in 0..<entries {
            guard try u32(c) == 0x0201_4b50 else { throw bad("central directory entry \(i) at byte \(c) has a bad signature") }
            let method = try u16(c + 10)
            var csize = try u32(c + 20), usize = try u32(c + 24)
            let nlen = try u16(c + 28), xlen = try u16(c + 30), clen = try u16(c + 32)
            var local = try u32(c + 42)
            guard c + 46 + nlen + xlen + clen <= data.count else { throw bad("central directory entry \(i) is truncated") }
            let member = String(decoding: data[(c + 46)..<(c + 46 + nlen)], as: UTF8.self)
            // ZIP64 extra field (id 1): the 0xFFFFFFFF fields, in the order usize, csize, offset.
            var x = c + 46 + nlen
            let xend = x + xlen
            while x + 4 <= xend {
                let id = try u16(x), len = try u16(x + 2)
                guard x + 4 + len <= xend else { throw bad("extra field of '\(member)' overruns its entry") }
                if id == 1 {
                    var f = x + 4
                    if usize == 0xFFFF_FFFF { guard f + 8 <= x + 4 + len else { throw bad("short ZIP64 field") }; usize = try u64(f); f += 8 }
                    if csize == 0xFFFF_FFFF { guard f + 8 <= x + 4 + len else { throw bad("short ZIP64 field") }; csize = try u64(f); f += 8 }
                    if local == 0xFFFF_FFFF { guard f + 8 <= x + 4 + len else { throw bad("short ZIP64 field") }; local = try u64(f); f += 8 }
                }
                x += 4 + len
            }
            guard method == 0 else {
                throw NPYError.badHeader(file: name, reason: "member '\(member)' is compressed (method \(method)); save with np.savez (not np.savez_compressed)")
            }
            guard csize == usize else { throw bad("member '\(member)' stored with different sizes") }
            guard try u32(local) == 0x0403_4b50 else { throw bad("local header of '\(member)' at byte \(local) has a bad signature") }
            let ln = try u16(local + 26), lx = try u16(local + 28)
            let start = local + 30 + ln + lx
            guard start <= data.count, csize <= data.count - start else {
                throw NPYError.truncated(file: "\(name):\(member)", expectedBytes: start + csize, gotBytes: data.count)
            }
            let key = member.hasSuffix(".npy") ? String(member.dropLast(4)) : member
            out.append((key, try decode(Array(data[start..<(start + csize)]), name: "\(name):\(member)")))
            c += 46 + nlen + xlen + clen
        }
        return out.map { (name: $0.0, array: $0.1) }
    }

    /// Reads an `.npz` file (see `decodeNPZ`).
    public static func readNPZ(contentsOf url: URL) throws -> [(name: String, array: NPYArray)] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw NPYError.io(file: url.path, reason: "cannot read: \(error.localizedDescription)")
        }
        return try decodeNPZ([UInt8](data), name: url.path)
    }
}

extension NumPy {
    /// The arrays of an `.npz` archive by name (the member name without ".npy"), in archive order
    /// (the TFLite importer's spelling of `decodeNPZ`).
    public static func decodeArchive(_ data: [UInt8], name: String) throws -> [(name: String, array: NPYArray)] {
        try decodeNPZ(data, name: name)
    }

    /// Reads an `.npz` file (the TFLite importer's spelling of `readNPZ`).
    public static func readArchive(contentsOf url: URL) throws -> [(name: String, array: NPYArray)] {
        try readNPZ(contentsOf: url)
    }
}
