// A running histogram whose range grows with the data, merging bins exactly.

import Foundation

/// Histogram of observed values with `binCount` equal-width bins over `[lower, lower + binCount * binWidth)`.
///
/// The first batch fixes the range to its [min, max]. When a later batch falls outside, the
/// range is widened the way PyTorch's HistogramObserver does it (`_adjust_min_max`): the new
/// bin width is an integer multiple `k` of the old one and the new lower edge lies an integer
/// number of old bins below the old one, so every old bin falls entirely inside one new bin and
/// the merge is exact (no interpolation). Counts are Doubles (exact for < 2^53 values).
public struct RunningHistogram: Sendable, Equatable {
    /// Number of bins.
    public let binCount: Int
    /// Lower edge of bin 0.
    public private(set) var lower: Double = 0
    /// Width of every bin (0 until a batch with distinct values, or with a non-zero value, is seen).
    public private(set) var binWidth: Double = 0
    /// Counts per bin.
    public private(set) var counts: [Double]
    /// Exact smallest / largest value seen.
    public private(set) var seenMin: Float = .infinity
    public private(set) var seenMax: Float = -.infinity
    /// Total number of values.
    public private(set) var total: Double = 0

    /// If true, bin 0 starts at 0 (for histograms of |x|, whose values are all >= 0).
    public let anchoredAtZero: Bool

    /// An empty histogram of `binCount` (>= 2) bins; the range is set by the first batch.
    public init(binCount: Int = 2048, anchoredAtZero: Bool = false) {
        precondition(binCount >= 2)
        self.binCount = binCount
        self.anchoredAtZero = anchoredAtZero
        counts = [Double](repeating: 0, count: binCount)
    }

    /// Upper edge of the last bin.
    public var upper: Double { lower + Double(binCount) * binWidth }

    /// Lower edge of bin `i` (i in 0...binCount).
    public func edge(_ i: Int) -> Double { lower + Double(i) * binWidth }

    /// Adds a batch whose exact min and max are `lo` and `hi` (the caller computed them; all finite).
    public mutating func add(_ x: UnsafeBufferPointer<Float>, lo: Float, hi: Float) {
        guard !x.isEmpty else { return }
        seenMin = Swift.min(seenMin, lo)
        seenMax = Swift.max(seenMax, hi)
        if total == 0 {
            lower = anchoredAtZero ? 0 : Double(lo)
            var w = (Double(hi) - lower) / Double(binCount)
            if w == 0 {
                // A constant batch: give it a tiny range around the value so later batches can grow it.
                w = Swift.max(abs(Double(hi)) * 1e-7, 1e-30) / Double(binCount)
            }
            binWidth = w
        } else if Double(lo) < lower || Double(hi) >= upper {
            grow(to: Swift.min(Double(lo), lower), Swift.max(Double(hi), upper))
        }
        let inv = 1.0 / binWidth
        let last = binCount - 1
        let base = lower
        let lastD = Double(last)
        counts.withUnsafeMutableBufferPointer { c in
            for v in x {
                // Clamp in Double before converting: (v - base) * inv can exceed Int's range (huge values
                // against a narrow first batch) or be NaN (0 * inf); neither may trap.
                let d = (Double(v) - base) * inv
                let i = d >= lastD ? last : (d > 0 ? Int(d) : 0)
                c[i] += 1
            }
        }
        total += Double(x.count)
    }

    private mutating func grow(to newLo: Double, _ newHi: Double) {
        // m old bins below the old lower edge, width multiplied by k, such that the new range covers newHi.
        // Computed in Double first: with values orders of magnitude beyond the first batch (1e37 against a
        // range of 1e-3), m and k exceed any integer; then every old bin falls into one or two new bins
        // anyway and the histogram is rebuilt over [newLo, newHi] (old bins go to the new bin holding
        // their centre).
        let mD = ((lower - newLo) / binWidth).rounded(.up)
        let startD = lower - mD * binWidth
        let kD = ((newHi - startD) / (Double(binCount) * binWidth)).rounded(.up)
        let limit = Double(1 << 40)
        guard mD.isFinite, kD.isFinite, mD >= 0, mD <= limit, kD <= limit else {
            rebuild(to: newLo, newHi)
            return
        }
        let m = Int(mD)
        let start = startD
        // need start + binCount * k * w > newHi  (strictly: values equal to the top go in the last bin anyway)
        var k = Swift.max(Int(kD), 1)
        while start + Double(binCount) * Double(k) * binWidth < newHi { k += 1 }
        // make sure old bins stay inside: (m + binCount - 1) / k < binCount
        while (m + binCount - 1) / k >= binCount { k += 1 }
        var merged = [Double](repeating: 0, count: binCount)
        for i in 0..<binCount where counts[i] != 0 { merged[(m + i) / k] += counts[i] }
        counts = merged
        lower = start
        binWidth *= Double(k)
    }

    /// Re-bins onto binCount equal bins over [newLo, newHi] (an approximate merge: each old bin's count
    /// goes to the new bin holding its centre). Used only when the exact merge's factors are astronomical.
    private mutating func rebuild(to newLo: Double, _ newHi: Double) {
        var w = (newHi - newLo) / Double(binCount)
        if !(w > 0) || !w.isFinite { w = Swift.max(abs(newHi) * 1e-7, 1e-30) / Double(binCount) }
        var merged = [Double](repeating: 0, count: binCount)
        let lastD = Double(binCount - 1)
        for i in 0..<binCount where counts[i] != 0 {
            let centre = lower + (Double(i) + 0.5) * binWidth
            let d = (centre - newLo) / w
            let j = d >= lastD ? binCount - 1 : (d > 0 ? Int(d) : 0)
            merged[j] += counts[i]
        }
        counts = merged
        lower = newLo
        binWidth = w
    }
}

/// TensorRT / pytorch-quantization entropy calibration on a histogram of |x| (bin 0 starts at 0).
/// For every candidate threshold bin i in [quantizedBins, binCount] (step `stride`), the reference
/// distribution P is hist[0..<i] with the outlier mass hist[i...] added to its last bin; the
/// candidate Q merges hist[0..<i] into `quantizedBins` groups (group j = bins floor(j*i/n)..<floor((j+1)*i/n))
/// and spreads each group's mass evenly over its non-empty bins. KL(P || Q) = sum p log(p/q) is
/// +inf if some p > 0 has q = 0. The threshold is the upper edge of bin i - 1 of the LAST i with
/// the minimal divergence (pytorch-quantization `_compute_amax_entropy`).
/// Returns the bin count i (threshold = i * binWidth).
public func entropyThresholdBin(_ hist: [Double], quantizedBins n: Int, stride step: Int = 1) -> Int {
    let nb = hist.count
    guard nb > n else { return nb }
    var bestI = nb
    var bestKL = Double.infinity
    var p = [Double](repeating: 0, count: nb)
    var q = [Double](repeating: 0, count: nb)
    var suffix = [Double](repeating: 0, count: nb + 1)
    for i in stride(from: nb - 1, through: 0, by: -1) { suffix[i] = suffix[i + 1] + hist[i] }
    var i = n
    while i <= nb {
        // P
        for b in 0..<i { p[b] = hist[b] }
        p[i - 1] += suffix[i]
        // Q
        for j in 0..<n {
            let s = (j * i) / n
            let e = j == n - 1 ? i : ((j + 1) * i) / n
            var mass = 0.0
            var nonzero = 0
            for b in s..<e where hist[b] != 0 { mass += hist[b]; nonzero += 1 }
            let share = nonzero > 0 ? mass / Double(nonzero) : 0
            for b in s..<e { q[b] = hist[b] != 0 ? share : 0 }
        }
        var sp = 0.0, sq = 0.0
        for b in 0..<i { sp += p[b]; sq += q[b] }
        var kl = 0.0
        if sp > 0 && sq > 0 {
            for b in 0..<i where p[b] > 0 {
                let pp = p[b] / sp, qq = q[b] / sq
                if qq == 0 { kl = .infinity; break }
                kl += pp * log(pp / qq)
            }
        } else {
            kl = .infinity
        }
        if kl <= bestKL { bestKL = kl; bestI = i }  // "<=" keeps the last argmin
        i += step
    }
    return bestI
}

/// PyTorch HistogramObserver `_non_linear_param_search`: shrink [start_bin, end_bin] from the
/// side with less mass (granularity 1e-5 of the total per step) while the L2 quantization error
/// `_compute_quantization_error` (uniform density per source bin, `dstBins` destination bins)
/// decreases. Returns (startBin, endBin) inclusive.
public func histogramL2Search(_ hist: [Double], dstBins: Int = 256) -> (start: Int, end: Int) {
    let bins = hist.count
    let total = hist.reduce(0, +)
    var cSum = [Double](repeating: 0, count: bins)
    var acc = 0.0
    for i in 0..<bins { acc += hist[i]; cSum[i] = acc }
    let stepsize = 1e-5
    var alpha = 0.0, beta = 1.0
    var startBin = 0, endBin = bins - 1
    var normMin = Double.infinity
    while alpha < beta {
        let nextAlpha = alpha + stepsize
        let nextBeta = beta - stepsize
        var l = startBin, r = endBin
        while l < endBin && cSum[l] < nextAlpha * total { l += 1 }
        while r > startBin && cSum[r] > nextBeta * total { r -= 1 }
        var nextStart = startBin, nextEnd = endBin
        if (l - startBin) > (endBin - r) {
            nextStart = l
            alpha = nextAlpha
        } else {
            nextEnd = r
            beta = nextBeta
        }
        if nextStart == startBin && nextEnd == endBin { continue }
        let norm = l2QuantizationError(hist, start: nextStart, end: nextEnd, dstBins: dstBins)
        if norm > normMin { break }
        normMin = norm
        startBin = nextStart
        endBin = nextEnd
    }
    return (startBin, endBin)
}

/// PyTorch `_compute_quantization_error` in units of source bin width 1 (the argmin does not
/// depend on the unit): the L2 error of mapping each source bin's uniform density onto the
/// `dstBins` destination bins spanning source bins start...end.
func l2QuantizationError(_ hist: [Double], start: Int, end: Int, dstBins: Int) -> Double {
    let bins = hist.count
    let binWidth = 1.0
    let dstWidth = binWidth * Double(end - start + 1) / Double(dstBins)
    if dstWidth == 0 { return 0 }
    func norm(_ b: Double, _ e: Double, _ density: Double) -> Double { density * (e * e * e - b * b * b) / 3 }
    var total = 0.0
    let maxDst = Double(dstBins - 1)
    for s in 0..<bins where hist[s] != 0 {
        let density = hist[s] / binWidth
        let srcBegin = Double(s - start) * binWidth
        let srcEnd = srcBegin + binWidth
        let dstOfBegin = Swift.min(Swift.max((srcBegin / dstWidth).rounded(.down), 0), maxDst)
        let dstOfBeginCenter = (dstOfBegin + 0.5) * dstWidth
        let dstOfEnd = Swift.min(Swift.max((srcEnd / dstWidth).rounded(.down), 0), maxDst)
        var n = norm(srcBegin - dstOfBeginCenter, dstWidth / 2, density)
        n += (dstOfEnd - dstOfBegin - 1) * norm(-dstWidth / 2, dstWidth / 2, density)
        let dstOfEndCenter = dstOfEnd * dstWidth + dstWidth / 2
        n += norm(-dstWidth / 2, srcEnd - dstOfEndCenter, density)
        total += n
    }
    return total
}
