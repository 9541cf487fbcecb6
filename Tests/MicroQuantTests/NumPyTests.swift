// Tests of MQNumPy against files written by numpy itself (scripts/make_npy_fixtures.py).
import Foundation
import Testing
@testable import MQNumPy

private let npyDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/npy")

private func fixture(_ name: String) -> URL { npyDir.appendingPathComponent(name) }

@Suite struct NumPyTests {
    /// Expected values of f32_2x3x4.npy, restated independently: arange(24) * 0.5 - 3.
    let f32Expected: [Float] = (0..<24).map { Float($0) * 0.5 - 3.0 }

    @Test func readsFloat32Versions1To3() throws {
        for name in ["f32_2x3x4.npy", "f32_v2.npy", "f32_v3.npy"] {
            let a = try NumPy.read(contentsOf: fixture(name))
            #expect(a.dtype == .float32, "\(name)")
            #expect(a.shape == [2, 3, 4], "\(name)")
            #expect(a.floats() == f32Expected, "\(name)")
        }
    }

    @Test func readsOtherDTypes() throws {
        let f64 = try NumPy.read(contentsOf: fixture("f64_3.npy"))
        #expect(f64.dtype == .float64 && f64.shape == [3])
        #expect(f64.floats() == [1.5, -2.25, Float(1e-3)])
        let u8 = try NumPy.read(contentsOf: fixture("u8_2x2.npy"))
        #expect(u8.dtype == .uint8 && u8.shape == [2, 2] && u8.bytes == [0, 1, 254, 255])
        let i8 = try NumPy.read(contentsOf: fixture("i8_4.npy"))
        #expect(i8.int64s() == [-128, -1, 0, 127])
        let i32 = try NumPy.read(contentsOf: fixture("i32_3.npy"))
        #expect(i32.int64s() == [-2147483648, 0, 2147483647])
        let s = try NumPy.read(contentsOf: fixture("scalar.npy"))
        #expect(s.shape == [] && s.floats() == [7])
    }

    @Test func writerMatchesNumpyBytes() throws {
        // numpy's own file for the same array is the reference for the writer.
        let a = try NPYArray(float32: f32Expected, shape: [2, 3, 4])
        let numpyBytes = try [UInt8](Data(contentsOf: fixture("f32_2x3x4.npy")))
        #expect(NumPy.encode(a) == numpyBytes)
        let u8 = try NPYArray(uint8: [0, 1, 254, 255], shape: [2, 2])
        #expect(NumPy.encode(u8) == (try [UInt8](Data(contentsOf: fixture("u8_2x2.npy")))))
        let i32 = try NPYArray(int32: [Int32.min, 0, Int32.max], shape: [3])
        #expect(NumPy.encode(i32) == (try [UInt8](Data(contentsOf: fixture("i32_3.npy")))))
    }

    @Test func roundTripThroughFile() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mq-npy-\(getpid()).npy")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let a = try NPYArray(int8: [-3, 0, 5, 127, -128, 1], shape: [3, 2])
        try NumPy.write(a, to: tmp)
        #expect(try NumPy.read(contentsOf: tmp) == a)
    }

    @Test func directoryConcatenatesAlongAxis0() throws {
        let a = try NumPy.load(path: fixture("parts").path)
        #expect(a.shape == [3, 3])
        #expect(a.floats() == (0..<9).map(Float.init))
    }

    @Test func errorsNameTheFile() throws {
        func err(_ name: String) -> NPYError? {
            do { _ = try NumPy.load(path: fixture(name).path); return nil } catch let e as NPYError { return e } catch { return nil }
        }
        let path = { (n: String) in fixture(n).path }
        #expect(err("fortran.npy") == .fortranOrder(file: path("fortran.npy")))
        #expect(err("big_endian.npy") == .unsupportedDType(file: path("big_endian.npy"), descr: ">f4"))
        #expect(err("complex.npy") == .unsupportedDType(file: path("complex.npy"), descr: "<c8"))
        #expect(err("truncated.npy") == .truncated(file: path("truncated.npy"), expectedBytes: 224, gotBytes: 219))
        if case .mismatch(let f, let reason)? = err("parts_bad") {
            #expect(f.hasSuffix("b.npy") && reason.contains("[2, 4]"))
        } else { Issue.record("parts_bad must fail with a shape mismatch") }
        #expect(err("missing.npy") != nil)
        // wrong magic: a non-npy file (this source file)
        do { _ = try NumPy.decode(Array("hello world".utf8), name: "x.npy"); Issue.record("expected failure") }
        catch let e as NPYError {
            #expect(e == .badMagic(file: "x.npy"))
            #expect(e.description.contains("x.npy"))
        }
        // truncated inside the fixed prefix
        do { _ = try NumPy.decode([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1], name: "y.npy"); Issue.record("expected failure") }
        catch let e as NPYError { #expect(e == .truncated(file: "y.npy", expectedBytes: 10, gotBytes: 7)) }
        // unknown version
        do { _ = try NumPy.decode([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 9, 0, 0, 0], name: "z.npy"); Issue.record("expected failure") }
        catch let e as NPYError { #expect(e == .unsupportedVersion(file: "z.npy", major: 9, minor: 0)) }
    }

    /// The streaming reader / writer (NPYStream.swift) against numpy's own files: the writer's bytes appended in
    /// uneven pieces equal numpy's file; the reader gives every fixture's header and element bytes, and the
    /// errors of `NumPy.read` for the bad fixtures.
    @Test func streamingReaderAndWriterMatchNumpy() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("mq-npy-stream-\(getpid()).npy")
        defer { try? FileManager.default.removeItem(at: tmp) }
        let numpyBytes = try [UInt8](Data(contentsOf: fixture("f32_2x3x4.npy")))
        let w = try NPYFileWriter(path: tmp.path, dtype: .float32, shape: [2, 3, 4])
        let values = f32Expected
        try values.withUnsafeBytes { b in
            try w.append(UnsafeRawBufferPointer(rebasing: b[0..<4]))
            try w.append(UnsafeRawBufferPointer(rebasing: b[4..<60]))
            try w.append(UnsafeRawBufferPointer(rebasing: b[60..<96]))
        }
        try w.finish()
        #expect(try [UInt8](Data(contentsOf: tmp)) == numpyBytes)
        // too few bytes: finish says so
        let short = try NPYFileWriter(path: tmp.path, dtype: .uint8, shape: [3])
        try [UInt8(1)].withUnsafeBytes { try short.append($0) }
        #expect(throws: NPYError.self) { try short.finish() }

        for name in ["f32_2x3x4.npy", "f32_v2.npy", "f32_v3.npy", "f64_3.npy", "u8_2x2.npy", "i8_4.npy", "i32_3.npy", "scalar.npy"] {
            let whole = try NumPy.read(contentsOf: fixture(name))
            let r = try NPYFileReader(path: fixture(name).path)
            #expect(r.header.dtype == whole.dtype && r.header.shape == whole.shape && r.header.byteCount == whole.bytes.count, "\(name)")
            var got = [UInt8](repeating: 0, count: whole.bytes.count)
            let half = got.count / 2
            try got.withUnsafeMutableBytes { b in
                if let p = b.baseAddress {
                    try r.read(into: p, offset: 0, count: half)
                    try r.read(into: p + half, offset: half, count: b.count - half)
                }
            }
            #expect(got == whole.bytes, "\(name)")
            #expect(throws: NPYError.self) { try got.withUnsafeMutableBytes { try r.read(into: $0.baseAddress!, offset: 1, count: $0.count) } }
        }
        func err(_ name: String) -> NPYError? {
            do { _ = try NPYFileReader(path: fixture(name).path); return nil } catch let e as NPYError { return e } catch { return nil }
        }
        for name in ["fortran.npy", "big_endian.npy", "complex.npy", "truncated.npy", "missing.npy"] {
            var want: NPYError?
            do { _ = try NumPy.load(path: fixture(name).path) } catch let e as NPYError { want = e }
            #expect(want != nil && err(name) == want, "\(name): \(String(describing: err(name))) vs \(String(describing: want))")
        }
    }
}
