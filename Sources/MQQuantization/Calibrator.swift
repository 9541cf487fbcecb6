// The calibration pass: run the float graph over the data set and feed one observer per tensor.

import MQCalibration
import MQGraph

/// Calibration data for a graph: for each graph input, all samples stacked (sample after sample).
public struct CalibrationData: Sendable {
    /// One array per graph input, `count * elementCount` floats each.
    public var inputs: [[Float]]
    /// Number of samples.
    public var count: Int

    /// `inputs[i]` holds `count * graph.inputs[i].elementCount` floats.
    public init(inputs: [[Float]], count: Int) {
        self.inputs = inputs
        self.count = count
    }

    /// Builds the data for a single-input graph from an array of shape [N, sample shape...].
    /// The sample shape must equal the graph input's shape, with or without its leading batch dimension of 1.
    /// Throws `shapeMismatch` (expected vs got) or `emptyDataSet`.
    public static func single(graph: Graph, values: [Float], shape: [Int]) throws -> CalibrationData {
        guard graph.inputs.count == 1 else {
            let names = graph.inputs.map { "'\($0.name)' \(shapeString($0.shape))" }.joined(separator: ", ")
            throw QuantizationError.unsupportedInputs("the model has \(graph.inputs.count) inputs (\(names)); only models with one input are supported for now (multi-input calibration is not implemented yet)")
        }
        let info = graph.inputs[0]
        let sample = info.shape.first == 1 ? Array(info.shape.dropFirst()) : info.shape
        guard shape.count >= 1 else { throw QuantizationError.shapeMismatch(input: info.name, expected: sample, got: shape) }
        let got = Array(shape.dropFirst())
        guard got == sample || got == info.shape else {
            throw QuantizationError.shapeMismatch(input: info.name, expected: sample, got: shape)
        }
        guard shape[0] > 0 else { throw QuantizationError.emptyDataSet("the data has 0 samples (shape \(shapeString(shape)))") }
        return CalibrationData(inputs: [values], count: shape[0])
    }

    /// Samples [start, start + n) of every input.
    public func slice(_ start: Int, _ n: Int, graph: Graph) -> [[Float]] {
        zip(inputs, graph.inputs).map { data, info in
            let e = info.elementCount
            return Array(data[(start * e)..<((start + n) * e)])
        }
    }
}

/// Runs the calibration pass.
public enum Calibrator {
    /// Feeds the observers of `plan.observed` with every batch of `data` (`batchSize` samples per
    /// observer call). `progress(done, total)` is called after each batch.
    /// Throws `nonFinite` (naming the tensor and the sample index) on NaN/Inf in the data or in any
    /// observed intermediate tensor, and `emptyDataSet` when there are no samples.
    /// With `extremes`, every observed tensor's largest |value| per sample is recorded as well
    /// (`SampleExtremes.outlierDominated` then finds ranges dominated by a few samples).
    public static func run(graph: Graph, plan: QuantizationPlan, data: CalibrationData, kind: ObserverKind,
                           options: ObserverOptions = ObserverOptions(), batchSize: Int = 32,
                           extremes: SampleExtremes? = nil,
                           progress: ((Int, Int) -> Void)? = nil) throws -> [String: Observer] {
        guard data.count > 0 else { throw QuantizationError.emptyDataSet("no samples") }
        // Validate the inputs first so the message names the sample, not a batch.
        for (arr, info) in zip(data.inputs, graph.inputs) {
            let e = info.elementCount
            guard arr.count == data.count * e else {
                throw QuantizationError.shapeMismatch(input: info.name, expected: info.shape, got: [arr.count / max(e, 1)] + info.shape)
            }
            if let bad = arr.firstIndex(where: { !$0.isFinite }) {
                throw QuantizationError.nonFinite(tensor: info.name, sample: bad / e, value: arr[bad])
            }
        }
        let executor = try FloatExecutor(graph: graph)
        var observers: [String: Observer] = [:]
        for t in plan.observed { observers[t] = Observer(kind: kind, options: options) }
        var start = 0
        while start < data.count {
            let n = min(batchSize, data.count - start)
            var failure: QuantizationError? = nil
            let batchStart = start
            _ = try executor.run(data.slice(start, n, graph: graph), batch: n) { tv in
                guard failure == nil, let o = observers[tv.name] else { return }
                do {
                    try o.observe(tv.values)
                    extremes?.record(tensor: tv.name, values: tv.values, perSample: max(tv.shape.reduce(1, *), 1), firstSample: batchStart)
                } catch CalibrationError.nonFinite(let index, let value) {
                    let per = max(tv.shape.reduce(1, *), 1)
                    failure = .nonFinite(tensor: tv.name, sample: batchStart + index / per, value: value)
                } catch {
                    failure = .internalError("observer for '\(tv.name)': \(error)")
                }
            }
            if let failure { throw failure }
            start += n
            progress?(start, data.count)
        }
        return observers
    }
}

/// The mean input of one layer over the calibration data, per input feature / channel (length k).
public struct LayerInputMean: Sendable, Equatable {
    /// Mean of the float input.
    public var float: [Double]
    /// Mean of the input after quantize + dequantize with the input's qparams (what the int8 layer reads),
    /// or nil when no qparams were given (then `float` stands for it).
    public var quantized: [Double]?

    /// A mean with its float and (optional) fake-quantized parts.
    public init(float: [Double], quantized: [Double]? = nil) {
        self.float = float
        self.quantized = quantized
    }
}

extension Calibrator {
    /// The mean input of every fully connected / 1x1 conv layer of `plan` over the calibration data, as
    /// the layer reads it: per input feature / channel j (length k), float64.
    /// * fully connected: the mean of x[r, j] over every row r of every sample;
    /// * conv1x1 (NHWC): the mean over every output position (oy, ox) of every image of the input it
    ///   reads, x[oy * strideH - padTop, ox * strideW - padLeft, j], with 0 for positions in the zero
    ///   padding (the device reads the zero point there, i.e. 0.0).
    /// With `inputQParams` (tensor name -> qparams, e.g. from `Quantizer.assignQParams`), the mean of the
    /// fake-quantized input `(clamp(round_half_even(x / s) + z, qmin, qmax) - z) * s` is computed as well.
    /// Keyed by the layer's node name. Used for bias correction (`WeightOptions.biasCorrection`).
    /// Throws `emptyDataSet` without samples, `internalError` when a layer input has no qparams,
    /// and the float executor's errors.
    public static func layerInputMeans(graph: Graph, plan: QuantizationPlan, data: CalibrationData,
                                       inputQParams: [String: QParams]? = nil,
                                       batchSize: Int = 32) throws -> [String: LayerInputMean] {
        guard data.count > 0 else { throw QuantizationError.emptyDataSet("no samples") }
        var byInput: [String: [Node]] = [:]   // input tensor -> layers reading it
        for p in plan.ops {
            if case .gemm(let layer, _, _) = p.kind {
                byInput[layer.inputs[0], default: []].append(layer)
                if let qp = inputQParams, qp[layer.inputs[0]] == nil {
                    throw QuantizationError.internalError("bias correction: no qparams for '\(layer.inputs[0])', the input of '\(layer.name)'")
                }
            }
        }
        var sums: [String: [Double]] = [:]
        var qsums: [String: [Double]] = [:]
        var counts: [String: Int] = [:]
        let executor = try FloatExecutor(graph: graph)
        var start = 0
        while start < data.count {
            let n = min(batchSize, data.count - start)
            _ = try executor.run(data.slice(start, n, graph: graph), batch: n) { tv in
                guard let readers = byInput[tv.name] else { return }
                let q = inputQParams?[tv.name]
                for layer in readers {
                    let k: Int
                    switch layer.op {
                    case .fullyConnected(let fc): k = fc.inFeatures
                    case .conv1x1(let c): k = c.inChannels
                    default: continue
                    }
                    var s = sums[layer.name] ?? [Double](repeating: 0, count: k)
                    var qs = qsums[layer.name] ?? [Double](repeating: 0, count: k)
                    var cnt = counts[layer.name] ?? 0
                    func add(_ base: Int) {
                        for j in 0..<k {
                            let v = tv.values[base + j]
                            s[j] += Double(v)
                            if let q { qs[j] += Double(q.quantize(v) - q.zeroPoint) * Double(q.scale) }
                        }
                    }
                    switch layer.op {
                    case .conv1x1(let c):
                        let shape = tv.shape   // [1, H, W, k] per sample
                        let h = shape[shape.count - 3], w = shape[shape.count - 2]
                        let images = tv.values.count / (h * w * k)
                        guard let (oh, ow) = c.outputSize(h: h, w: w) else { continue }
                        for img in 0..<images {
                            for oy in 0..<oh {
                                let iy = oy * c.strideH - c.padTop
                                guard iy >= 0 && iy < h else { continue }
                                for ox in 0..<ow {
                                    let ix = ox * c.strideW - c.padLeft
                                    guard ix >= 0 && ix < w else { continue }
                                    add(((img * h + iy) * w + ix) * k)
                                }
                            }
                        }
                        cnt += images * oh * ow
                    default:
                        let rows = tv.values.count / k
                        for r in 0..<rows { add(r * k) }
                        cnt += rows
                    }
                    sums[layer.name] = s
                    qsums[layer.name] = qs
                    counts[layer.name] = cnt
                }
            }
            start += n
        }
        var out: [String: LayerInputMean] = [:]
        for (name, s) in sums {
            let cnt = Double(max(counts[name] ?? 1, 1))
            out[name] = LayerInputMean(float: s.map { $0 / cnt }, quantized: inputQParams == nil ? nil : qsums[name]!.map { $0 / cnt })
        }
        return out
    }
}

/// The largest |value| of each sample, per observed tensor (filled by `Calibrator.run(extremes:)`).
public final class SampleExtremes {
    /// Tensor name -> peak |x| of sample 0, 1, ... (in sample order).
    public private(set) var peaks: [String: [Float]] = [:]
    /// Tensors in the order they were first seen (graph order).
    public private(set) var order: [String] = []

    public init() {}

    /// Records a batch of `values.count / perSample` samples starting at sample `firstSample`.
    public func record(tensor: String, values: UnsafeBufferPointer<Float>, perSample: Int, firstSample: Int) {
        if peaks[tensor] == nil { peaks[tensor] = []; order.append(tensor) }
        let n = values.count / max(perSample, 1)
        var p = peaks[tensor]!
        if p.count < firstSample + n { p += [Float](repeating: 0, count: firstSample + n - p.count) }
        for s in 0..<n {
            var m: Float = 0
            for i in (s * perSample)..<((s + 1) * perSample) { m = Swift.max(m, abs(values[i])) }
            p[firstSample + s] = m
        }
        peaks[tensor] = p
    }

    /// A tensor whose range is set by a few samples.
    public struct Finding: Sendable, Equatable, CustomStringConvertible {
        public var tensor: String
        /// Largest |x| over all samples (what every observer's range has to follow).
        public var peak: Float
        /// The `quantile` of the samples' peaks: what most samples reach.
        public var typical: Float
        /// Samples whose peak exceeds `factor * typical` (sample indices, ascending).
        public var samples: [Int]
        public var sampleCount: Int

        public var description: String {
            let shown = samples.prefix(10).map(String.init).joined(separator: ", ") + (samples.count > 10 ? ", ... (\(samples.count) in all)" : "")
            return "the range of tensor '\(tensor)' is dominated by \(samples.count) of \(sampleCount) calibration sample(s): "
                + "sample(s) \(shown) reach |x| = \(peak) while 90% of the samples stay within \(typical); "
                + "every observer's range has to cover them, so all other samples lose their resolution "
                + "(corrupted samples? remove them, and measure on clean data with --test)"
        }
    }

    /// Tensors (in graph order) whose largest |x| exceeds `factor` times the 90th percentile of the
    /// per-sample peaks: a range dominated by a few outlier samples. Needs at least 2 samples; a tensor
    /// whose 90th percentile is 0 is skipped (mostly-zero tensors are not outliers).
    public func outlierDominated(factor: Float = 100, quantile: Double = 0.9) -> [Finding] {
        var out: [Finding] = []
        for t in order {
            guard let p = peaks[t], p.count >= 2 else { continue }
            let sorted = p.sorted()
            let typical = sorted[Int(quantile * Double(sorted.count - 1))]
            guard typical > 0, let peak = sorted.last, peak > factor * typical else { continue }
            let bad = p.indices.filter { p[$0] > factor * typical }
            out.append(Finding(tensor: t, peak: peak, typical: typical, samples: bad, sampleCount: p.count))
        }
        return out
    }
}
