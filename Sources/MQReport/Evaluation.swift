// SQNR of the quantized model against float, computed by running the packed model through the C
// runtime (mq_model_load / mq_model_run): the same code and bytes the device runs.

import Foundation
import MQCalibration
import MQGraph
import MQPacking
import MQQuantization

/// Signal-to-quantization-noise ratio in dB: 10 log10(sum f^2 / sum (f - q)^2).
/// +inf when the error is 0; -inf when the signal is 0 but the error is not.
public func sqnr(signal: Double, noise: Double) -> Double {
    if noise == 0 { return .infinity }
    if signal == 0 { return -.infinity }
    return 10 * log10(signal / noise)
}

/// Accumulates signal and noise energy.
public struct SQNRAccumulator: Sendable {
    /// Sum of f^2 and of (f - q)^2.
    public var signal = 0.0
    public var noise = 0.0
    /// Empty sums.
    public init() {}
    /// Adds the pairs (f[i], q[i]).
    public mutating func add(float f: [Float], quantized q: [Float]) {
        for i in 0..<min(f.count, q.count) {
            let a = Double(f[i]), d = Double(f[i]) - Double(q[i])
            signal += a * a
            noise += d * d
        }
    }
    /// SQNR in dB of the sums so far.
    public var db: Double { sqnr(signal: signal, noise: noise) }
}

/// Per-tensor and per-output SQNR of a quantized model on a data set.
public struct Evaluation: Sendable {
    /// SQNR (dB) of every arena tensor of the quantized model, by tensor name.
    public var tensorSQNR: [String: Double]
    /// SQNR (dB) of each model output (graph order), from the packed model itself.
    public var outputSQNR: [Double]
    /// Samples evaluated.
    public var samples: Int
    /// For classifiers (`OutputTask.classification`: 2...100 values per sample): fraction of samples whose
    /// argmax of output 0 agrees between float and quantized; nil for other outputs.
    public var top1Agreement: Double?
    /// The task `OutputTask.of(valuesPerSample:)` assigns to output 0.
    public var task: OutputTask = .regression
    /// One value per sample (`OutputTask.binary`): fraction of samples on the same side of 0.5.
    public var thresholdAgreement: Double?
    /// Per output: max and mean |float - dequantized| over the evaluated samples.
    public var maxAbsError: [Double] = []
    public var meanAbsError: [Double] = []
    /// The dequantized outputs of the packed model, per output: samples one after another.
    public var outputs: [[Float]]

    /// Quantizes inputs with the input qparams, runs `packed` (and a debug model whose every tensor
    /// is an output, packed by the same writer and planned with no reuse) through the C runtime, and
    /// compares the dequantized codes with the float executor's tensors.
    public static func run(graph: Graph, model: QuantizedModel, packed: [UInt8], data: CalibrationData,
                           maxSamples: Int = 256) throws -> Evaluation {
        let n = min(maxSamples, data.count)
        guard n > 0 else { throw QuantizationError.emptyDataSet("no samples to evaluate") }
        let runner = try PackedModel(bytes: packed)
        let debugPlan = MemoryPlanner.plan(model, keepAllAlive: true)
        let all = Array(0..<model.tensors.count)
        let debugBytes = try Packer.pack(model, plan: debugPlan,
                                         metadata: PackMetadata(sourceName: "debug", sourceSHA256: [], calibrationMethod: "debug"),
                                         outputs: all)
        let debug = try PackedModel(bytes: debugBytes)
        let executor = try FloatExecutor(graph: graph)
        var acc = [SQNRAccumulator](repeating: SQNRAccumulator(), count: model.tensors.count)
        var outAcc = [SQNRAccumulator](repeating: SQNRAccumulator(), count: model.outputs.count)
        var floatsSeen = [Bool](repeating: false, count: model.tensors.count)
        var agree = 0, agreeThreshold = 0
        var maxErr = [Double](repeating: 0, count: model.outputs.count)
        var sumErr = [Double](repeating: 0, count: model.outputs.count)
        var valueCount = [Int](repeating: 0, count: model.outputs.count)
        var collected = [[Float]](repeating: [], count: model.outputs.count)
        let wanted = Dictionary(uniqueKeysWithValues: model.tensors.enumerated().map { ($1.name, $0) })
        for s in 0..<n {
            let sample = data.slice(s, 1, graph: graph)
            var floats: [Int: [Float]] = [:]
            let fout = try executor.run(sample, batch: 1) { tv in
                if let i = wanted[tv.name] { floats[i] = Array(tv.values) }
            }
            let codes = model.inputs.enumerated().map { (k, t) -> [UInt8] in
                let q = model.tensors[t].qparams
                return sample[k].map { UInt8(truncatingIfNeeded: q.quantize($0)) }
            }
            let dq = try debug.run(codes)
            for (i, c) in dq.enumerated() {
                guard let f = floats[i] else { continue }
                floatsSeen[i] = true
                acc[i].add(float: f, quantized: dequantize(c, model.tensors[i]))
            }
            let outs = try runner.run(codes)
            for (j, c) in outs.enumerated() {
                let q = dequantize(c, model.tensors[model.outputs[j]])
                outAcc[j].add(float: fout[j], quantized: q)
                collected[j] += q
                for (f, v) in zip(fout[j], q) {
                    let e = abs(Double(f) - Double(v))
                    maxErr[j] = max(maxErr[j], e)
                    sumErr[j] += e
                }
                valueCount[j] += min(fout[j].count, q.count)
                if j == 0, argmax(fout[0]) == argmax(q) { agree += 1 }
                if j == 0, let f = fout[0].first, let v = q.first, (f > 0.5) == (v > 0.5) { agreeThreshold += 1 }
            }
        }
        var per: [String: Double] = [:]
        // conversion copies (name@s16, name@q8) have no float counterpart
        for (i, t) in model.tensors.enumerated() where floatsSeen[i] { per[t.name] = acc[i].db }
        let task = OutputTask.of(valuesPerSample: model.tensors[model.outputs[0]].byteCount)
        var e = Evaluation(tensorSQNR: per, outputSQNR: outAcc.map(\.db), samples: n,
                           top1Agreement: task == .classification ? Double(agree) / Double(n) : nil,
                           outputs: collected)
        e.task = task
        e.thresholdAgreement = task == .binary ? Double(agreeThreshold) / Double(n) : nil
        e.maxAbsError = maxErr
        e.meanAbsError = zip(sumErr, valueCount).map { $1 > 0 ? $0 / Double($1) : 0 }
        return e
    }
}

/// Codes -> floats of a tensor of the quantized model: 8-bit codes, or int16 little-endian codes (zero point 0).
public func dequantize(_ codes: [UInt8], _ t: QTensor) -> [Float] {
    guard t.isInt16 else { return dequantize(codes, t.qparams) }
    let s = t.qparams.scale
    return stride(from: 0, to: codes.count - 1, by: 2).map { k in
        Float(Int16(bitPattern: UInt16(codes[k]) | UInt16(codes[k + 1]) << 8)) * s
    }
}

/// Codes -> floats with the tensor's qparams ((q - zp) * scale).
public func dequantize(_ codes: [UInt8], _ q: QParams) -> [Float] {
    codes.map { c in q.dequantize(q.dtype == .uint8 ? Int32(c) : Int32(Int8(bitPattern: c))) }
}

func argmax(_ x: [Float]) -> Int {
    var b = 0
    for i in x.indices where x[i] > x[b] { b = i }
    return b
}
