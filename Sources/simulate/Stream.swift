// `simulate --input X.npy [--output Y.npy]` on the batched host path without --qemu or --reference: the test set
// streams through the model a chunk of samples at a time. Per chunk: the .npy element bytes are read in pieces of
// at most 192 KiB into one reused buffer (pread), each piece checked finite and quantized in one pass
// (mq_quantize_f32_finite) into the chunk's codes buffer while it is still in the L2 cache, the chunk run
// (mq_model_run_batch on those buffers), its outputs dequantized (mq_dequantize_f32) piece by piece into one
// reused 192 KiB buffer and each piece appended to the output .npy (write). No whole-set arrays, no per-sample
// allocation; the floats never pass through a buffer larger than a piece. The output bytes are those of the
// whole-set path (`--per-sample` keeps that path; every op and the conversions work sample by sample, so the
// chunking cannot change a byte: Tests/MicroQuantTests/SimulateStreamTests.swift compares the files).

import Foundation
import MQNumPy
import MQSimulation

extension Simulate {
    /// Whether this run can stream: batched host path, every --input a .npy file (not a .bin, not a directory), no
    /// device run and no float reference (both need the whole set's codes / floats).
    var canStream: Bool {
        !perSample && !qemu && reference == nil
            && input.allSatisfy { !$0.hasSuffix(".bin") && !FileAccess.kind($0).isDirectory }
    }

    /// Samples per streamed chunk: --chunk, else 2 MiB / (bytes of one sample's floats and codes in and out),
    /// 16..4096 samples (the floats themselves move in pieces of at most 192 KiB).
    func streamChunk(bytesPerSample: Int) -> Int {
        if let c = chunk { return c }
        return min(4096, max(16, (2 << 20) / max(bytesPerSample, 1)))
    }

    func runStreamed(_ sim: Simulator) throws {
        let m = sim.model
        guard input.count == m.inputs.count else {
            throw Failure(message: "the model has \(m.inputs.count) input(s) but \(input.count) --input file(s) were given", code: 1)
        }
        // Open every input and check it as loadInputs does, in the same order and words.
        var readers: [NPYFileReader] = []
        var per: [Int] = []
        var count: Int?
        for (i, path) in input.enumerated() {
            let t = m.inputs[i]
            let r = try NPYFileReader(path: path)
            let shape = r.header.shape
            if let first = shape.first, first == 0 {
                throw Failure(message: "\(path): the array \(shape) holds 0 samples (its first axis counts the samples); give at least one", code: 1)
            }
            if shape.dropFirst().contains(0) {
                throw Failure(message: "\(path): the array \(shape) has a zero-sized dimension: its samples hold no values (model input \(i) expects [N, \(sim.sampleShape(input: i).map(String.init).joined(separator: ", "))])", code: 1)
            }
            let n: Int
            do {
                n = try sim.sampleCount(shape: shape, input: i)
            } catch let e as SimulationError {
                throw Failure(message: "\(path): \(e)", code: 1)
            }
            if let c = count, c != min(n, limit ?? n) {
                throw Failure(message: "\(path): \(n) samples, but the first --input has \(c)", code: 1)
            }
            count = min(n, limit ?? n)
            switch r.header.dtype {
            case .float32, .float64, .uint8 where t.dtype == .uint8, .int8 where t.dtype == .int8:
                break
            default:
                throw Failure(message: "\(path): the array is \(r.header.dtype.name) ('\(r.header.dtype.rawValue)'), which model input \(i) (\(t.dtype) codes) cannot take: give float32 or float64 values (they are quantized with scale \(t.scale), zero point \(t.zeroPoint)) or \(t.dtype) codes", code: 1)
            }
            readers.append(r)
            per.append(r.header.count / n)
        }
        let total = count ?? 0

        // Outputs: checked and their directories made before anything runs; written to hidden temporaries,
        // renamed over the given paths only when every sample ran.
        var writers: [NPYFileWriter] = []
        var finals: [URL] = []
        var shapes: [[Int]] = []
        defer { for w in writers { try? w.finish(); unlink(w.path) } }
        if let path = output {
            for (o, t) in m.outputs.enumerated() {
                let s = t.shape
                let shape = [total] + ((s.count > 1 && s[0] == 1) ? Array(s.dropFirst()) : s)
                let url = URL(fileURLWithPath: o == 0 ? path : suffixed(path, o))
                let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp")
                let dtype: NPYDType
                if raw {
                    switch t.dtype {
                    case .uint8: dtype = .uint8
                    case .int8: dtype = .int8
                    case .int32, .int16: dtype = .int32  // int16 codes widened to int32 (the reader has no int16)
                    }
                } else {
                    dtype = .float32
                }
                do {
                    try FileAccess.checkOutput(url.path, what: "--output")
                    try FileAccess.createDirectories(url.deletingLastPathComponent().path, what: "--output directory")
                    writers.append(try NPYFileWriter(path: tmp.path, dtype: dtype, shape: shape))
                } catch let e as FileError {
                    throw Failure(message: "\(e)", code: 1)
                } catch let e as NPYError {
                    throw Failure(message: "--output '\(url.path)': \(e)", code: 1)
                }
                finals.append(url)
                shapes.append(shape)
            }
        }

        // One set of buffers for every chunk.
        let perSampleBytes = zip(readers, per).reduce(0) { $0 + $1.1 * $1.0.header.dtype.itemSize * 2 }
            + m.inputs.reduce(0) { $0 + $1.byteCount } + m.outputs.reduce(0) { $0 + $1.byteCount + 4 * $1.elementCount }
        let step = min(streamChunk(bytesPerSample: perSampleBytes), max(total, 1))
        var buffers: [UnsafeMutableRawPointer] = []
        func buffer(_ bytes: Int) -> UnsafeMutableRawPointer {
            let b = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
            buffers.append(b)
            return b
        }
        defer { buffers.forEach { $0.deallocate() } }
        // Floats move in pieces of `piece` values (192 KiB of float32: the kernel's copy, the conversion and the
        // next piece stay in L2); codes buffers hold the whole chunk.
        let piece = 48 << 10
        let inPiece = zip(readers, per).map { r, p in r.header.dtype == .float32 || r.header.dtype == .float64 ? min(step * p, piece) : step * p }
        let fileBuf = zip(readers, inPiece).map { r, k in buffer(k * r.header.dtype.itemSize) }
        let floatBuf = zip(readers, inPiece).map { r, k in r.header.dtype == .float64 ? buffer(k * 4) : nil }
        let inCodes = m.inputs.map { buffer(step * $0.byteCount) }
        let outCodes = m.outputs.map { buffer(step * $0.byteCount) }
        let outPiece = m.outputs.map { min(step * $0.elementCount, piece) }
        let outBuf = output == nil ? [] : outPiece.map { buffer(4 * $0) }

        var hostSeconds = 0.0
        var start = 0
        while start < total {
            let n = min(step, total - start)
            for (i, r) in readers.enumerated() {
                let t = m.inputs[i], p = per[i], size = r.header.dtype.itemSize
                let what = "input \(i) (\(input[i]))"
                switch r.header.dtype {
                case .float32, .float64:
                    // piece by piece: values e ..< e + k of the chunk (quantizing is per value: same codes)
                    var e = 0
                    while e < n * p {
                        let k = min(inPiece[i], n * p - e)
                        try r.read(into: fileBuf[i], offset: (start * p + e) * size, count: k * size)
                        let values: UnsafeMutablePointer<Float>
                        if r.header.dtype == .float64, let fb = floatBuf[i] {
                            values = fb.bindMemory(to: Float.self, capacity: k)
                            let src = fileBuf[i].bindMemory(to: UInt64.self, capacity: k)
                            for j in 0..<k { values[j] = Float(Double(bitPattern: UInt64(littleEndian: src[j]))) }
                        } else {
                            values = fileBuf[i].bindMemory(to: Float.self, capacity: k)
                            #if !_endian(little)
                            for j in 0..<k { values[j] = Float(bitPattern: UInt32(littleEndian: values[j].bitPattern)) }
                            #endif
                        }
                        if let bad = try quantizeFinite(values, count: k, into: inCodes[i] + e * t.dtype.size, as: t, what: what) {
                            let flat = start * p + e + bad
                            throw Failure(message: "\(input[i]): value \(values[bad]) at flat index \(flat) (sample \(flat / t.elementCount)) is not finite", code: 1)
                        }
                        e += k
                    }
                default:
                    try r.read(into: inCodes[i], offset: start * p, count: n * p)
                }
            }
            let t0 = DispatchTime.now().uptimeNanoseconds
            try sim.model.runBatched(inputs: inCodes.map { UnsafeRawPointer($0) }, outputs: outCodes, sampleCount: n, chunk: chunk ?? 0)
            hostSeconds += Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            for (o, w) in writers.enumerated() {
                let t = m.outputs[o]
                let values = n * t.elementCount
                if !raw {
                    // piece by piece: dequantized into the L2-sized buffer and appended at once
                    let dst = outBuf[o].bindMemory(to: Float.self, capacity: outPiece[o])
                    var e = 0
                    while e < values {
                        let k = min(outPiece[o], values - e)
                        try dequantize(outCodes[o] + e * t.dtype.size, count: k, into: dst, as: t, what: "output \(o)")
                        #if !_endian(little)
                        for j in 0..<k { dst[j] = Float(bitPattern: dst[j].bitPattern.littleEndian) }
                        #endif
                        try w.append(UnsafeRawBufferPointer(start: outBuf[o], count: k * 4))
                        e += k
                    }
                } else if t.dtype == .int16 {
                    let dst = outBuf[o]
                    var e = 0
                    while e < values {
                        let k = min(outPiece[o], values - e)
                        let src = outCodes[o] + 2 * e
                        for j in 0..<k {
                            let v = Int32(Int16(bitPattern: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * j, as: UInt16.self))))
                            dst.storeBytes(of: v.littleEndian, toByteOffset: 4 * j, as: Int32.self)
                        }
                        try w.append(UnsafeRawBufferPointer(start: dst, count: k * 4))
                        e += k
                    }
                } else {
                    try w.append(UnsafeRawBufferPointer(start: outCodes[o], count: n * t.byteCount))
                }
            }
            start += n
        }
        print(String(format: "host: %d sample(s) in %.3f s", total, hostSeconds) + " (\(sim.hostPath.rawValue), streamed in chunks of \(step))")
        for (o, w) in writers.enumerated() {
            let t = m.outputs[o], url = finals[o]
            do {
                try w.finish()
            } catch let e as NPYError {
                throw Failure(message: "--output '\(url.path)': \(e)", code: 1)
            }
            guard rename(w.path, url.path) == 0 else {
                throw Failure(message: "--output '\(url.path)': cannot rename the temporary file to it: \(FileAccess.errnoText(errno))", code: 1)
            }
            print("wrote \(url.path): output \(o) \(raw ? "codes \(t.dtype)" : "float32") \(shapes[o])")
        }
        writers = []
    }
}
