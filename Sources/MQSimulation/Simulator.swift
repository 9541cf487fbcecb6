// MQSimulation: the host simulator API. Float samples in, quantized with each model input's qparams
// (mq_quantize_f32: round half to even, saturate), run through the device's kernels (mq_model_run_batch:
// the samples folded into the kernels' rows, bit-identical to mq_model_run per sample),
// outputs as codes and dequantized floats (mq_dequantize_f32).
//
//   let sim = try Simulator(contentsOf: URL(fileURLWithPath: "out/example.mqm"))
//   let result = try sim.run(floats: [x], sampleCount: n)     // x: n samples of input 0, flattened
//   let y = try result.floats(output: 0)                       // n * outputs[0].elementCount floats
//
// Usable from users' own XCTest / Swift Testing suites: add the MicroQuant library product.

import Foundation
import MicroQuantC

/// Outputs of a simulation run over several samples.
public struct SimulationResult: Sendable, Equatable {
    public let sampleCount: Int
    public let outputs: [TensorDescription]
    /// For each model output: the codes of every sample, concatenated (sample-major).
    public let codes: [[UInt8]]

    /// Codes of one sample and output.
    public func codes(sample: Int, output: Int) -> ArraySlice<UInt8> {
        let n = outputs[output].byteCount
        return codes[output][(sample * n)..<((sample + 1) * n)]
    }

    /// Dequantized values ((q - zero_point) * scale) of every sample for one output.
    public func floats(output: Int) throws -> [Float] {
        try dequantize(codes[output], as: outputs[output], what: "output \(output)")
    }
}

/// Dequantizes codes of a tensor (any number of samples) with mq_dequantize_f32.
public func dequantize(_ codes: [UInt8], as t: TensorDescription, what: String) throws -> [Float] {
    let n = codes.count / t.dtype.size
    var st = MQ_OK
    // No zero fill: mq_dequantize_f32 writes all n values (or fails, and the array is dropped).
    let out = [Float](unsafeUninitializedCapacity: max(n, 1)) { dst, initialized in
        st = codes.withUnsafeBytes { src in
            mq_dequantize_f32(src.baseAddress, n, t.scale, t.zeroPoint, t.dtype.cType, dst.baseAddress)
        }
        if st != MQ_OK { dst.initialize(repeating: 0) }
        initialized = n
    }
    guard st == MQ_OK else {
        throw SimulationError.conversion(what: "dequantize \(what)", status: Int(st.rawValue), reason: statusText(Int(st.rawValue)))
    }
    return out
}

/// Quantizes floats for a tensor with mq_quantize_f32 (round half to even, saturate). NaN is an error.
public func quantize(_ values: [Float], as t: TensorDescription, what: String) throws -> [UInt8] {
    guard t.dtype != .int32 else {
        throw SimulationError.inputMismatch(input: what, reason: "int32 model inputs cannot be quantized from floats")
    }
    var st = MQ_OK
    // No zero fill: mq_quantize_f32 writes all values.count codes (or fails, and the array is dropped).
    let out = [UInt8](unsafeUninitializedCapacity: max(values.count, 1)) { dst, initialized in
        st = values.withUnsafeBufferPointer { src in
            mq_quantize_f32(src.baseAddress, values.count, t.scale, t.zeroPoint, t.dtype.cType, dst.baseAddress)
        }
        if st != MQ_OK { dst.initialize(repeating: 0) }
        initialized = values.count
    }
    guard st == MQ_OK else {
        throw SimulationError.conversion(what: "quantize \(what)", status: Int(st.rawValue),
                                         reason: statusText(Int(st.rawValue)) + (st == MQ_ERR_QPARAMS ? " (NaN in the data, or bad scale)" : ""))
    }
    return out
}

/// Quantizes `count` floats at `src` into `dst` (count x t.dtype.size bytes) with mq_quantize_f32_finite: the
/// codes of `quantize(_:as:what:)`, without arrays, in one pass that also finds the first NaN or infinity.
/// Returns nil, or the index of the first value that is not finite (then `dst` holds no meaningful codes).
public func quantizeFinite(_ src: UnsafePointer<Float>, count: Int, into dst: UnsafeMutableRawPointer, as t: TensorDescription,
                           what: String) throws -> Int? {
    guard t.dtype != .int32 else {
        throw SimulationError.inputMismatch(input: what, reason: "int32 model inputs cannot be quantized from floats")
    }
    var bad = 0
    let st = mq_quantize_f32_finite(src, count, t.scale, t.zeroPoint, t.dtype.cType, dst, &bad)
    if st == MQ_ERR_QPARAMS && bad < count { return bad }
    guard st == MQ_OK else {
        throw SimulationError.conversion(what: "quantize \(what)", status: Int(st.rawValue),
                                         reason: statusText(Int(st.rawValue)) + (st == MQ_ERR_QPARAMS ? " (bad scale)" : ""))
    }
    return nil
}

/// Dequantizes `count` codes at `src` into `dst` with mq_dequantize_f32: the floats of `dequantize(_:as:what:)`.
public func dequantize(_ src: UnsafeRawPointer, count: Int, into dst: UnsafeMutablePointer<Float>, as t: TensorDescription, what: String) throws {
    let st = mq_dequantize_f32(src, count, t.scale, t.zeroPoint, t.dtype.cType, dst)
    guard st == MQ_OK else {
        throw SimulationError.conversion(what: "dequantize \(what)", status: Int(st.rawValue), reason: statusText(Int(st.rawValue)))
    }
}

/// Host simulator of a packed model.
public struct Simulator: Sendable {
    /// How `run` drives the C runtime: both give the same bytes (csrc/tests/test_model_batch.c).
    public enum HostPath: String, Sendable {
        /// mq_model_run_batch: the samples folded into the kernels' rows / batch, in chunks (the default).
        case batched
        /// mq_model_run once per sample, exactly the firmware's call.
        case perSample = "per-sample"
    }

    public let model: PackedModel
    /// The host path `run` uses (default: batched).
    public var hostPath: HostPath = .batched
    /// Samples per batched pass (0: automatic, about 1 MiB of intermediate tensors).
    public var chunk: Int = 0

    public init(model: PackedModel) { self.model = model }
    public init(contentsOf url: URL) throws { model = try PackedModel(contentsOf: url) }
    public init(bytes: [UInt8]) throws { model = try PackedModel(bytes: bytes) }

    /// Per-sample shape of input `index`: the model input's shape without a leading batch dimension of 1.
    public func sampleShape(input index: Int) -> [Int] {
        let s = model.inputs[index].shape
        return (s.count > 1 && s[0] == 1) ? Array(s.dropFirst()) : s
    }

    /// Number of samples in an array of shape `shape` meant for input `index` (the first axis counts
    /// samples): accepts [N] + sampleShape, or [N, 1, ...] for a batch-1 model. Throws naming both shapes.
    public func sampleCount(shape: [Int], input index: Int) throws -> Int {
        let t = model.inputs[index]
        let per = sampleShape(input: index)
        if shape.count == per.count + 1, Array(shape.dropFirst()) == per, shape[0] >= 1 { return shape[0] }
        if shape.count == t.shape.count + 1, Array(shape.dropFirst()) == t.shape, shape[0] >= 1 { return shape[0] }
        let name = t.name.isEmpty ? "\(index)" : t.name
        throw SimulationError.inputMismatch(
            input: name,
            reason: "wrong shape \(shape): expected [N, \(per.map(String.init).joined(separator: ", "))] (N samples of the model input \(t.shape))")
    }

    /// Runs `sampleCount` samples given as codes: `codes[i]` holds input i's codes for every sample, concatenated.
    public func run(codes: [[UInt8]], sampleCount: Int) throws -> SimulationResult {
        guard codes.count == model.inputs.count else {
            throw SimulationError.inputCount(expected: model.inputs.count, got: codes.count)
        }
        for (i, (c, t)) in zip(codes, model.inputs).enumerated() where c.count != sampleCount * t.byteCount {
            throw SimulationError.inputMismatch(input: t.name.isEmpty ? "\(i)" : t.name,
                                                reason: "expected \(sampleCount) x \(t.byteCount) bytes of codes, got \(c.count)")
        }
        let outs: [[UInt8]]
        switch hostPath {
        case .batched:
            outs = try model.runBatched(codes: codes, sampleCount: sampleCount, chunk: chunk)
        case .perSample:
            // One tight loop over the samples (arena and buffers allocated once, no per-sample arrays).
            outs = try model.run(codes: codes, sampleCount: sampleCount)
        }
        return SimulationResult(sampleCount: sampleCount, outputs: model.outputs, codes: outs)
    }

    /// Quantizes float samples (`floats[i]`: input i of every sample, flattened) with each input's
    /// qparams and runs them.
    public func run(floats: [[Float]], sampleCount: Int) throws -> SimulationResult {
        guard floats.count == model.inputs.count else {
            throw SimulationError.inputCount(expected: model.inputs.count, got: floats.count)
        }
        let codes = try zip(floats, model.inputs).enumerated().map { i, pair -> [UInt8] in
            let (x, t) = pair
            guard x.count == sampleCount * t.elementCount else {
                throw SimulationError.inputMismatch(input: t.name.isEmpty ? "\(i)" : t.name,
                                                    reason: "expected \(sampleCount) x \(t.elementCount) values, got \(x.count)")
            }
            return try quantize(x, as: t, what: "input \(t.name.isEmpty ? "\(i)" : t.name)")
        }
        return try run(codes: codes, sampleCount: sampleCount)
    }

    /// The input codes of every sample, concatenated in the firmware's order (sample by sample, each
    /// sample's inputs in model order): the MQ_INPUT file of boards/CMakeLists.txt.
    public static func interleave(codes: [[UInt8]], inputs: [TensorDescription], sampleCount: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(inputs.reduce(0) { $0 + $1.byteCount } * sampleCount)
        for s in 0..<sampleCount {
            for (c, t) in zip(codes, inputs) { out.append(contentsOf: c[(s * t.byteCount)..<((s + 1) * t.byteCount)]) }
        }
        return out
    }
}
