// MQSimulation: a packed MicroQuant model loaded on the host through the C runtime.
//
// The host runs exactly the C code the firmware runs (MicroQuantC: mq_model_load / mq_model_run),
// on the same bytes, so host outputs are the device's outputs bit for bit.

import Foundation
import MicroQuantC
import MQNumPy

/// Element type of a model input or output (the packed format's mq_dtype).
public enum ElementType: String, Sendable, Equatable, CustomStringConvertible {
    case int8, uint8, int32, int16

    init?(_ d: mq_dtype) {
        switch d {
        case MQ_DTYPE_INT8: self = .int8
        case MQ_DTYPE_UINT8: self = .uint8
        case MQ_DTYPE_INT32: self = .int32
        case MQ_DTYPE_INT16: self = .int16
        default: return nil
        }
    }

    var cType: mq_dtype {
        switch self {
        case .int8: return MQ_DTYPE_INT8
        case .uint8: return MQ_DTYPE_UINT8
        case .int32: return MQ_DTYPE_INT32
        case .int16: return MQ_DTYPE_INT16
        }
    }

    /// Bytes per element.
    public var size: Int { self == .int32 ? 4 : (self == .int16 ? 2 : 1) }
    public var description: String { rawValue }
}

/// A model input or output: shape, element type and affine quantization (real = (q - zeroPoint) * scale).
public struct TensorDescription: Sendable, Equatable, CustomStringConvertible {
    /// Name from the model's metadata ("" when the producer gave none).
    public let name: String
    public let dtype: ElementType
    /// Dimensions, row-major (channels last for images).
    public let shape: [Int]
    public let scale: Float
    public let zeroPoint: Int32
    /// Bytes of one sample's codes.
    public let byteCount: Int
    /// Index in the model's tensor table.
    public let tensorID: Int

    public var elementCount: Int { shape.reduce(1, *) }

    public var description: String {
        let n = name.isEmpty ? "#\(tensorID)" : name
        return "\(n) \(dtype)[\(shape.map(String.init).joined(separator: "x"))] scale=\(scale) zp=\(zeroPoint)"
    }
}

/// Errors of the host simulator. Every message says what was wrong and where.
public enum SimulationError: Error, CustomStringConvertible, Equatable {
    /// mq_model_load rejected the blob.
    case loadFailed(source: String, status: Int, reason: String, offset: Int)
    /// The blob is a packed model of a format version (or needs a runtime) this runtime does not read.
    case formatVersion(source: String, found: String, minRuntime: String, supported: String)
    /// mq_model_run failed.
    case runFailed(sample: Int, status: Int, reason: String)
    /// The caller gave the wrong number of inputs.
    case inputCount(expected: Int, got: Int)
    /// An input's size, shape or type does not match the model's input.
    case inputMismatch(input: String, reason: String)
    /// A C helper (quantize/dequantize) failed.
    case conversion(what: String, status: Int, reason: String)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case let .loadFailed(source, status, reason, offset):
            return "\(source): not a valid MicroQuant model: \(reason) (status \(status), at byte \(offset))"
        case let .runFailed(sample, status, reason):
            return "sample \(sample): mq_model_run failed: \(reason) (status \(status))"
        case let .formatVersion(source, found, minRuntime, supported):
            return "\(source): packed model format version \(found) found (it needs runtime \(minRuntime) or newer), "
                + "this runtime supports \(supported): repack the model with this version's `calibrate`"
        case let .inputCount(expected, got):
            return "the model has \(expected) input(s) but \(got) were given"
        case let .inputMismatch(input, reason):
            return "input \(input): \(reason)"
        case let .conversion(what, status, reason):
            return "\(what): \(reason) (status \(status))"
        case let .io(path, reason):
            return "\(path): \(reason)"
        }
    }
}

/// Human-readable text of an mq_status code (mq_status_str).
public func statusText(_ code: Int) -> String {
    String(cString: mq_status_str(mq_status(rawValue: UInt32(truncatingIfNeeded: code))))
}

/// A packed model validated by the C loader and kept in a 16-byte-aligned buffer.
public final class PackedModel: @unchecked Sendable {
    /// The packed bytes, exactly as they are flashed.
    public let bytes: [UInt8]
    /// Where the bytes came from (file path or "<memory>"), for messages.
    public let source: String
    public let inputs: [TensorDescription]
    public let outputs: [TensorDescription]
    /// Bytes of arena mq_model_run needs (planned on the host at pack time).
    public let arenaSize: Int
    /// Largest sum of simultaneously live tensors (the planner's lower bound).
    public let arenaLowerBound: Int
    public let tensorCount: Int
    public let opCount: Int

    let storage: UnsafeMutableRawPointer
    var model: mq_model

    /// Loads and validates (CRC included) a packed model held in memory.
    public init(bytes: [UInt8], source: String = "<memory>") throws {
        self.bytes = bytes
        self.source = source
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { src in
            if let base = src.baseAddress { buffer.copyMemory(from: base, byteCount: bytes.count) }
        }
        storage = buffer
        var m = mq_model()
        let st = mq_model_load(buffer, bytes.count, MQ_LOAD_CHECK_CRC, &m)
        if st == MQ_ERR_FORMAT_VERSION && m.format_version_major != UInt16(MQ_RUNTIME_VERSION_MAJOR)
            || st == MQ_ERR_FORMAT_VERSION && (Int(m.min_runtime_major), Int(m.min_runtime_minor))
                > (Int(MQ_RUNTIME_VERSION_MAJOR), Int(MQ_RUNTIME_VERSION_MINOR)) {
            buffer.deallocate()
            throw SimulationError.formatVersion(source: source, found: "\(m.format_version_major).\(m.format_version_minor)",
                                                minRuntime: "\(m.min_runtime_major).\(m.min_runtime_minor)",
                                                supported: "\(MQ_RUNTIME_VERSION_MAJOR).x (up to \(MQ_RUNTIME_VERSION_MAJOR).\(MQ_RUNTIME_VERSION_MINOR))")
        }
        if st != MQ_OK {
            buffer.deallocate()
            throw SimulationError.loadFailed(source: source, status: Int(st.rawValue),
                                             reason: statusText(Int(st.rawValue)), offset: Int(m.error_offset))
        }
        model = m
        arenaSize = Int(m.arena_size)
        arenaLowerBound = Int(m.arena_lower_bound)
        tensorCount = Int(m.num_tensors)
        opCount = Int(m.num_ops)
        var ins: [TensorDescription] = []
        var outs: [TensorDescription] = []
        do {
            for i in 0..<Int(mq_model_num_inputs(&m)) {
                ins.append(try PackedModel.describe(&m, index: i, input: true, source: source))
            }
            for i in 0..<Int(mq_model_num_outputs(&m)) {
                outs.append(try PackedModel.describe(&m, index: i, input: false, source: source))
            }
        } catch {
            buffer.deallocate()
            throw error
        }
        inputs = ins
        outputs = outs
    }

    /// Loads a packed model file.
    public convenience init(contentsOf url: URL) throws {
        let data: [UInt8]
        do {
            data = try FileAccess.readFile(url.path, what: "packed model")
        } catch let e as FileError {
            throw SimulationError.io(path: url.path, reason: "cannot read the packed model: \(e.reason)")
        }
        try self.init(bytes: data, source: url.path)
    }

    deinit { storage.deallocate() }

    private static func describe(_ m: inout mq_model, index: Int, input: Bool, source: String) throws -> TensorDescription {
        var info = mq_tensor_info()
        let st = input ? mq_model_input_info(&m, Int32(index), &info) : mq_model_output_info(&m, Int32(index), &info)
        let what = "\(input ? "input" : "output") \(index)"
        guard st == MQ_OK else {
            throw SimulationError.loadFailed(source: source, status: Int(st.rawValue),
                                             reason: "\(what): \(statusText(Int(st.rawValue)))", offset: 0)
        }
        guard let dtype = ElementType(info.dtype) else {
            throw SimulationError.loadFailed(source: source, status: Int(MQ_ERR_DTYPE.rawValue),
                                             reason: "\(what): unknown dtype \(info.dtype.rawValue)", offset: 0)
        }
        let rank = Int(info.rank)
        let dims = withUnsafeBytes(of: info.dims) { Array($0.bindMemory(to: Int32.self)) }
        var name = ""
        if let p = info.name, info.name_len > 0 {
            let raw = UnsafeRawBufferPointer(start: UnsafeRawPointer(p), count: Int(info.name_len))
            name = String(decoding: raw, as: UTF8.self)
        }
        return TensorDescription(name: name, dtype: dtype, shape: dims.prefix(rank).map { Int($0) },
                                 scale: Float(bitPattern: info.scale_bits), zeroPoint: info.zero_point,
                                 byteCount: Int(info.size_bytes), tensorID: Int(info.tensor_id))
    }

    /// Runs one sample. `inputs[i]` holds input i's codes (byteCount bytes, the dtype's little-endian
    /// representation); returns each output's codes. Same C code path as the firmware.
    public func run(codes inputs: [[UInt8]], sample: Int = 0) throws -> [[UInt8]] {
        guard inputs.count == self.inputs.count else {
            throw SimulationError.inputCount(expected: self.inputs.count, got: inputs.count)
        }
        for (i, (given, want)) in zip(inputs, self.inputs).enumerated() where given.count != want.byteCount {
            throw SimulationError.inputMismatch(input: want.name.isEmpty ? "\(i)" : want.name,
                                                reason: "expected \(want.byteCount) bytes of codes, got \(given.count)")
        }
        let arena = UnsafeMutableRawPointer.allocate(byteCount: max(arenaSize, 16), alignment: 16)
        defer { arena.deallocate() }
        let inBufs = inputs.map { codes -> UnsafeMutableRawPointer in
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(codes.count, 1), alignment: 16)
            codes.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: codes.count) }
            return p
        }
        let outBufs = outputs.map { UnsafeMutableRawPointer.allocate(byteCount: max($0.byteCount, 1), alignment: 16) }
        defer {
            inBufs.forEach { $0.deallocate() }
            outBufs.forEach { $0.deallocate() }
        }
        var inPtrs: [UnsafeRawPointer?] = inBufs.map { UnsafeRawPointer($0) }
        var outPtrs: [UnsafeMutableRawPointer?] = outBufs
        let st = inPtrs.withUnsafeMutableBufferPointer { ip in
            outPtrs.withUnsafeMutableBufferPointer { op in
                mq_model_run(&model, arena, max(arenaSize, 16), ip.baseAddress, op.baseAddress)
            }
        }
        guard st == MQ_OK else {
            throw SimulationError.runFailed(sample: sample, status: Int(st.rawValue), reason: statusText(Int(st.rawValue)))
        }
        return zip(outBufs, outputs).map { buf, d in
            [UInt8](UnsafeRawBufferPointer(start: buf, count: d.byteCount))
        }
    }

    /// Runs `sampleCount` samples in one tight loop: `inputs[i]` holds input i's codes of every sample,
    /// concatenated (sampleCount x byteCount bytes); returns each output's codes of every sample,
    /// concatenated (sample-major). The arena and the 16-byte-aligned input/output buffers are allocated
    /// once, and each sample's codes are copied straight from and to the caller's arrays, so the per-sample
    /// cost is mq_model_run plus two memcpy per tensor. Same C code path and results as `run(codes:sample:)`
    /// called sample by sample.
    public func run(codes inputs: [[UInt8]], sampleCount: Int) throws -> [[UInt8]] {
        guard inputs.count == self.inputs.count else {
            throw SimulationError.inputCount(expected: self.inputs.count, got: inputs.count)
        }
        guard sampleCount >= 0 else {
            throw SimulationError.inputMismatch(input: "0", reason: "negative sample count \(sampleCount)")
        }
        for (i, (given, want)) in zip(inputs, self.inputs).enumerated() where given.count != sampleCount * want.byteCount {
            throw SimulationError.inputMismatch(input: want.name.isEmpty ? "\(i)" : want.name,
                                                reason: "expected \(sampleCount) x \(want.byteCount) bytes of codes, got \(given.count)")
        }
        var results = outputs.map { [UInt8](repeating: 0, count: sampleCount * $0.byteCount) }
        guard sampleCount > 0 else { return results }
        let arenaBytes = max(arenaSize, 16)
        let arena = UnsafeMutableRawPointer.allocate(byteCount: arenaBytes, alignment: 16)
        let inBufs = self.inputs.map { UnsafeMutableRawPointer.allocate(byteCount: max($0.byteCount, 1), alignment: 16) }
        let outBufs = outputs.map { UnsafeMutableRawPointer.allocate(byteCount: max($0.byteCount, 1), alignment: 16) }
        defer {
            arena.deallocate()
            inBufs.forEach { $0.deallocate() }
            outBufs.forEach { $0.deallocate() }
        }
        let inPtrs = UnsafeMutablePointer<UnsafeRawPointer?>.allocate(capacity: max(inBufs.count, 1))
        let outPtrs = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(outBufs.count, 1))
        defer {
            inPtrs.deallocate()
            outPtrs.deallocate()
        }
        for (i, b) in inBufs.enumerated() { inPtrs[i] = UnsafeRawPointer(b) }
        for (o, b) in outBufs.enumerated() { outPtrs[o] = b }
        let inSizes = self.inputs.map(\.byteCount)
        let outSizes = outputs.map(\.byteCount)
        for s in 0..<sampleCount {
            for i in 0..<inSizes.count where inSizes[i] > 0 {
                inputs[i].withUnsafeBytes { src in
                    inBufs[i].copyMemory(from: src.baseAddress! + s * inSizes[i], byteCount: inSizes[i])
                }
            }
            let st = mq_model_run(&model, arena, arenaBytes, inPtrs, outPtrs)
            guard st == MQ_OK else {
                throw SimulationError.runFailed(sample: s, status: Int(st.rawValue), reason: statusText(Int(st.rawValue)))
            }
            for o in 0..<outSizes.count where outSizes[o] > 0 {
                results[o].withUnsafeMutableBytes { dst in
                    (dst.baseAddress! + s * outSizes[o]).copyMemory(from: outBufs[o], byteCount: outSizes[o])
                }
            }
        }
        return results
    }

    /// Runs `sampleCount` samples through the batched host path (mq_model_run_batch): the same kernels and
    /// output stage as mq_model_run, with the samples folded into the kernels' rows / batch, in chunks of
    /// `chunk` samples (0: automatic). Same layout and bit-identical results as `run(codes:sampleCount:)`.
    public func runBatched(codes inputs: [[UInt8]], sampleCount: Int, chunk: Int = 0) throws -> [[UInt8]] {
        guard inputs.count == self.inputs.count else {
            throw SimulationError.inputCount(expected: self.inputs.count, got: inputs.count)
        }
        guard sampleCount >= 0, chunk >= 0 else {
            throw SimulationError.inputMismatch(input: "0", reason: "negative sample count \(sampleCount) or chunk \(chunk)")
        }
        for (i, (given, want)) in zip(inputs, self.inputs).enumerated() where given.count != sampleCount * want.byteCount {
            throw SimulationError.inputMismatch(input: want.name.isEmpty ? "\(i)" : want.name,
                                                reason: "expected \(sampleCount) x \(want.byteCount) bytes of codes, got \(given.count)")
        }
        guard sampleCount > 0 else { return outputs.map { _ in [] } }
        let outSizes = outputs.map { sampleCount * $0.byteCount }
        let outBufs = outSizes.map { UnsafeMutableRawPointer.allocate(byteCount: max($0, 1), alignment: 16) }
        let inPtrs = UnsafeMutablePointer<UnsafeRawPointer?>.allocate(capacity: max(inputs.count, 1))
        let outPtrs = UnsafeMutablePointer<UnsafeMutableRawPointer?>.allocate(capacity: max(outBufs.count, 1))
        defer {
            outBufs.forEach { $0.deallocate() }
            inPtrs.deallocate()
            outPtrs.deallocate()
        }
        for (o, b) in outBufs.enumerated() { outPtrs[o] = b }
        // Every input array's bytes at once: nested withUnsafeBytes (reads of a `let`, no exclusivity conflict);
        // a zero-byte input gets a valid dummy pointer (nothing is read).
        let dummy = UnsafeMutableRawPointer.allocate(byteCount: 16, alignment: 16)
        defer { dummy.deallocate() }
        func bind(_ i: Int) -> mq_status {
            if i == inputs.count { return mq_model_run_batch(&model, sampleCount, inPtrs, outPtrs, chunk) }
            return inputs[i].withUnsafeBytes { b in
                inPtrs[i] = b.baseAddress.map { UnsafeRawPointer($0) } ?? UnsafeRawPointer(dummy)
                return bind(i + 1)
            }
        }
        let st = bind(0)
        guard st == MQ_OK else {
            throw SimulationError.runFailed(sample: 0, status: Int(st.rawValue),
                                            reason: "batched run: " + statusText(Int(st.rawValue)))
        }
        return zip(outBufs, outSizes).map { [UInt8](UnsafeRawBufferPointer(start: $0, count: $1)) }
    }

    /// The batched host path on caller memory (no arrays): `inputs[i]` points at `sampleCount` samples of input i's
    /// codes (sampleCount x inputs[i].byteCount bytes), `outputs[o]` at room for sampleCount x outputs[o].byteCount
    /// bytes. mq_model_run_batch, bit-identical to mq_model_run per sample. The caller guarantees the sizes.
    public func runBatched(inputs: [UnsafeRawPointer], outputs: [UnsafeMutableRawPointer], sampleCount: Int, chunk: Int = 0) throws {
        guard inputs.count == self.inputs.count, outputs.count == self.outputs.count else {
            throw SimulationError.inputCount(expected: self.inputs.count, got: inputs.count)
        }
        guard sampleCount >= 0, chunk >= 0 else {
            throw SimulationError.inputMismatch(input: "0", reason: "negative sample count \(sampleCount) or chunk \(chunk)")
        }
        guard sampleCount > 0 else { return }
        let ins: [UnsafeRawPointer?] = inputs
        let outs: [UnsafeMutableRawPointer?] = outputs
        let st = mq_model_run_batch(&model, sampleCount, ins, outs, chunk)
        guard st == MQ_OK else {
            throw SimulationError.runFailed(sample: 0, status: Int(st.rawValue), reason: "batched run: " + statusText(Int(st.rawValue)))
        }
    }

    /// Metadata string of the packed model (producer, source name, calibration method ...).
    public func metadata(_ field: mq_meta_field) -> String {
        var len: UInt32 = 0
        guard let p = mq_model_metadata(&model, field, &len), len > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: UnsafeRawPointer(p), count: Int(len)), as: UTF8.self)
    }
}
