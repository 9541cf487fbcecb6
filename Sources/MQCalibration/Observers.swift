// Range observers for activation calibration (docs/CALIBRATION.md states each rule).

import Foundation

/// The calibration methods (`calibrate --observer`).
public enum ObserverKind: String, Sendable, CaseIterable, Codable {
    case minmax
    case movingAverage = "moving-average"
    case histogram
    case percentile
    case entropy
    case mse
}

/// Tunables of the observers (defaults follow PyTorch / TensorRT).
public struct ObserverOptions: Sendable, Equatable {
    /// MovingAverageMinMax averaging constant (PyTorch default 0.01).
    public var averagingConstant: Float = 0.01
    /// Percentile kept (two-sided: (100 - p) / 2 percent is clipped on each side).
    public var percentile: Double = 99.99
    /// Bins of the running histogram (histogram, percentile, entropy, mse).
    public var bins: Int = 2048
    /// Entropy: quantized bins of the KL search for a two-signed tensor (TensorRT: 128);
    /// a one-signed tensor uses twice as many (pytorch-quantization's `unsigned` case).
    public var entropyQuantizedBins: Int = 128
    /// Entropy: stride of the threshold search.
    public var entropyStride: Int = 1
    /// Candidates per axis in the MSE search.
    public var mseSteps: Int = 200
    /// MSE: values kept (uniform reservoir sample, deterministic) to evaluate candidates exactly.
    public var mseSampleCap: Int = 32768

    /// The defaults above.
    public init() {}
}

/// Watches the values of one tensor over the calibration set and proposes a clip range.
///
/// `observe` is called once per batch (MovingAverage's update rule is per call). Every observer
/// also keeps the exact min/max and a running histogram, used by the report's plots.
public class Observer {
    /// The method.
    public let kind: ObserverKind
    /// Options in force.
    public let options: ObserverOptions
    /// Histogram of every value observed (for the report and the histogram-based methods).
    public private(set) var histogram: RunningHistogram
    /// Histogram of |x| (entropy only).
    public private(set) var absHistogram: RunningHistogram?
    /// Exact extremes over all batches.
    public var seenMin: Float { histogram.seenMin }
    public var seenMax: Float { histogram.seenMax }
    /// Moving-average state.
    private var avgMin: Float = 0, avgMax: Float = 0
    /// Number of `observe` calls with data.
    public private(set) var batches = 0
    /// MSE: reservoir sample of the observed values and its state.
    private var reservoir: [Float] = []
    private var reservoirSeen = 0
    private var rng: UInt64 = 0x9E3779B97F4A7C15

    /// An observer of method `kind` that has seen nothing yet.
    public init(kind: ObserverKind, options: ObserverOptions = ObserverOptions()) {
        self.kind = kind
        self.options = options
        histogram = RunningHistogram(binCount: options.bins)
        if kind == .entropy { absHistogram = RunningHistogram(binCount: options.bins, anchoredAtZero: true) }
    }

    /// Observes one batch. Throws `CalibrationError.nonFinite` (with the element index in `x`)
    /// on NaN or ±Inf; nothing is recorded from a batch that throws.
    public func observe(_ x: UnsafeBufferPointer<Float>) throws {
        guard !x.isEmpty else { return }
        var lo = Float.infinity, hi = -Float.infinity
        for (i, v) in x.enumerated() {
            guard v.isFinite else { throw CalibrationError.nonFinite(index: i, value: v) }
            if v < lo { lo = v }
            if v > hi { hi = v }
        }
        histogram.add(x, lo: lo, hi: hi)
        if kind == .mse {
            let cap = options.mseSampleCap
            for v in x {
                if reservoir.count < cap {
                    reservoir.append(v)
                } else {
                    rng = rng &* 6364136223846793005 &+ 1442695040888963407
                    let j = Int((rng >> 33) % UInt64(reservoirSeen + 1))
                    if j < cap { reservoir[j] = v }
                }
                reservoirSeen += 1
            }
        }
        if absHistogram != nil {
            let a = x.map { abs($0) }
            let amin = lo <= 0 && hi >= 0 ? 0 : Swift.min(abs(lo), abs(hi))
            a.withUnsafeBufferPointer { absHistogram!.add($0, lo: amin, hi: Swift.max(abs(lo), abs(hi))) }
        }
        if batches == 0 {
            avgMin = lo
            avgMax = hi
        } else {
            let c = options.averagingConstant
            avgMin = avgMin + c * (lo - avgMin)
            avgMax = avgMax + c * (hi - avgMax)
        }
        batches += 1
    }

    /// Convenience for arrays.
    public func observe(_ x: [Float]) throws {
        try x.withUnsafeBufferPointer { try observe($0) }
    }

    /// The clip range chosen by the method (not yet widened to include 0; `QParams.affine` does that).
    public func range() throws -> (min: Float, max: Float) {
        guard batches > 0 else { throw CalibrationError.noData }
        let h = histogram
        switch kind {
        case .minmax:
            return (h.seenMin, h.seenMax)
        case .movingAverage:
            return (avgMin, avgMax)
        case .histogram:
            if h.seenMin == h.seenMax { return (h.seenMin, h.seenMax) }
            let (s, e) = histogramL2Search(h.counts, dstBins: 256)
            return (clampToSeen(h.edge(s)), clampToSeen(h.edge(e + 1)))
        case .percentile:
            return percentileRange()
        case .entropy:
            return entropyRange()
        case .mse:
            return mseRange()
        }
    }

    private func clampToSeen(_ v: Double) -> Float {
        Swift.min(Swift.max(Float(v), histogram.seenMin), histogram.seenMax)
    }

    /// Two-sided percentile on the histogram, with ONNX Runtime's threshold rule (`compute_percentile`,
    /// non-symmetric): cut = (100 - p) / 200; with the normalized cumulative histogram cdf, the lower
    /// bound is the lower edge of the first bin with cdf >= cut and the upper bound the lower edge of
    /// the first bin with cdf >= 1 - cut. Clamped to the seen extremes.
    private func percentileRange() -> (min: Float, max: Float) {
        let h = histogram
        if h.seenMin == h.seenMax { return (h.seenMin, h.seenMax) }
        let cut = (100 - options.percentile) / 200
        var acc = 0.0
        var lowBin = 0
        for i in 0..<h.binCount {
            acc += h.counts[i]
            if acc / h.total >= cut { lowBin = i; break }
        }
        acc = 0
        var highBin = h.binCount - 1
        for i in 0..<h.binCount {
            acc += h.counts[i]
            if acc / h.total >= 1 - cut { highBin = i; break }
        }
        return (clampToSeen(h.edge(lowBin)), clampToSeen(h.edge(highBin)))
    }

    /// TensorRT entropy threshold T on |x|; range = [max(seenMin, -T), min(seenMax, T)].
    private func entropyRange() -> (min: Float, max: Float) {
        let h = histogram
        guard let a = absHistogram, a.binWidth > 0, h.seenMin != h.seenMax else { return (h.seenMin, h.seenMax) }
        let oneSigned = h.seenMin >= 0 || h.seenMax <= 0
        let n = oneSigned ? 2 * options.entropyQuantizedBins : options.entropyQuantizedBins
        let i = entropyThresholdBin(a.counts, quantizedBins: Swift.min(n, a.binCount), stride: options.entropyStride)
        let t = Float(a.edge(i))
        return (Swift.max(h.seenMin, -t), Swift.min(h.seenMax, t))
    }

    /// Exact squared error of quantizing the sampled values with the qparams of [lo, hi]
    /// (QParams.affine for uint8: nudged zero point, round half to even, clamping to the codes).
    func mseSampleCost(lo: Double, hi: Double) -> Double {
        guard let q = try? QParams.affine(min: Float(lo), max: Float(hi), dtype: .uint8) else { return .infinity }
        let s = Double(q.scale), z = Double(q.zeroPoint)
        var cost = 0.0
        reservoir.withUnsafeBufferPointer { p in
            for v in p {
                let x = Double(v)
                let c = Swift.min(Swift.max((x / s).rounded(.toNearestOrEven) + z, 0), 255)
                let d = (c - z) * s - x
                cost += d * d
            }
        }
        return cost
    }

    /// MSE search: first a joint shrink factor a in {k/steps} applied to [min', max'] (widened to
    /// include 0), then the upper bound alone, then the lower bound alone, each over the same grid;
    /// the candidate with the least cost wins (first one on ties, i.e. the widest). The cost is the
    /// exact quantization error on a uniform sample of the values (`mseSampleCap`): rounding with
    /// the nudged zero point, so exact zeros (ReLU) cost nothing, plus clipping.
    private func mseRange() -> (min: Float, max: Float) {
        let h = histogram
        if h.seenMin == h.seenMax { return (h.seenMin, h.seenMax) }
        let cost: (Double, Double) -> Double = { self.mseSampleCost(lo: $0, hi: $1) }
        let lo0 = Swift.min(Double(h.seenMin), 0), hi0 = Swift.max(Double(h.seenMax), 0)
        let steps = options.mseSteps
        var best = (lo0, hi0)
        var bestCost = cost(lo0, hi0)
        for k in stride(from: steps - 1, through: 1, by: -1) {
            let a = Double(k) / Double(steps)
            let c = cost(lo0 * a, hi0 * a)
            if c < bestCost { bestCost = c; best = (lo0 * a, hi0 * a) }
        }
        let (jl, jh) = best
        if jh > 0 {
            for k in 1...(2 * steps) {
                let hi = jh * Double(k) / Double(steps)
                if hi > hi0 { break }
                let c = cost(best.0, hi)
                if c < bestCost { bestCost = c; best.1 = hi }
            }
        }
        if jl < 0 {
            for k in 1...(2 * steps) {
                let lo = jl * Double(k) / Double(steps)
                if lo < lo0 { break }
                let c = cost(lo, best.1)
                if c < bestCost { bestCost = c; best.0 = lo }
            }
        }
        return (Float(best.0), Float(best.1))
    }
}
