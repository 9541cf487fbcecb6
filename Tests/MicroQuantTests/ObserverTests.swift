// Observers and qparams against ranges computed by hand (the arithmetic is in the comments).
import Foundation
import Testing
@testable import MQCalibration

@Suite struct ObserverTests {
    @Test func minMaxOverBatches() throws {
        let o = Observer(kind: .minmax)
        try o.observe([1, -2, 3])
        try o.observe([5, 0])
        let r = try o.range()
        #expect(r.min == -2 && r.max == 5)
    }

    @Test func movingAverageFirstBatchInitThenEMA() throws {
        let o = Observer(kind: .movingAverage)
        try o.observe([-1, 0.5, 1])   // init: (-1, 1)
        try o.observe([-3, 5])        // min = -1 + 0.01*(-3+1) = -1.02, max = 1 + 0.01*(5-1) = 1.04
        let r = try o.range()
        #expect(abs(r.min - (-1.02)) < 1e-6 && abs(r.max - 1.04) < 1e-6)
    }

    @Test func percentileTwoSided() throws {
        // values 0...100 (101 values), 100 bins of width 1 (value v in bin floor(v), 100 in bin 99).
        // p = 90: cut = 5% per side. Low: first bin with cdf >= 0.05 (cumulative >= 5.05) is bin 5
        // (cum 6) -> its lower edge 5. High: first bin with cdf >= 0.95 (cum >= 95.95) is bin 95
        // (cum 96) -> its lower edge 95 (ONNX Runtime's rule).
        var opt = ObserverOptions()
        opt.bins = 100
        opt.percentile = 90
        let o = Observer(kind: .percentile, options: opt)
        try o.observe((0...100).map(Float.init))
        let r = try o.range()
        #expect(r.min == 5 && r.max == 95)
    }

    @Test func entropyThresholdByHand() {
        // hist [100,50,0,0,0,0,0,1], 2 quantized bins:
        //  i=2: P=[100,51], Q=[100,50] -> KL ~ 4.6e-5
        //  i=3..7: P has mass in its last bin where Q (empty source bin) is 0 -> +inf
        //  i=8: Q=[75,75,0,0,0,0,0,1] vs P -> KL ~ 0.056
        // minimum at i = 2.
        #expect(entropyThresholdBin([100, 50, 0, 0, 0, 0, 0, 1], quantizedBins: 2) == 2)
        // hist [10,10,10,10,1,1,1,1], 4 quantized bins: i=8 merges pairs of equal bins -> Q == P, KL 0;
        // i=4: P=[10,10,10,14] vs uniform Q -> KL ~ 0.0118 > 0. The full range wins.
        #expect(entropyThresholdBin([10, 10, 10, 10, 1, 1, 1, 1], quantizedBins: 4) == 8)
    }

    @Test func entropyObserverClipsSparseOutlier() throws {
        var opt = ObserverOptions()
        opt.bins = 256
        opt.entropyQuantizedBins = 16
        let o = Observer(kind: .entropy, options: opt)
        // a Gaussian bulk (sigma 5, Box-Muller on a regular grid) and two far outliers at +-100
        var x: [Float] = []
        for i in 0..<100 { for j in 0..<100 {
            let u1 = (Double(i) + 0.5) / 100, u2 = (Double(j) + 0.5) / 100
            x.append(Float(5 * (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)))
        } }
        x += [100, -100]
        try o.observe(x)
        let r = try o.range()
        #expect(r.max < 50 && r.min > -50 && r.max > 5, "got \(r)")
    }

    @Test func histogramL2ErrorMatchesNumericalIntegration() {
        // Independent reference: integrate the squared distance of each point of every source bin
        // (uniform density hist[s] over [s, s+1)) to the centre of its destination bin, midpoint rule.
        let hist: [Double] = [3, 0, 5, 1, 7, 2, 0, 4, 6, 1]
        for (start, end, dst) in [(0, 9, 4), (2, 7, 3), (1, 8, 5)] {
            let dstWidth = Double(end - start + 1) / Double(dst)
            var ref = 0.0
            let steps = 20000
            for s in 0..<hist.count {
                for k in 0..<steps {
                    let x = Double(s) + (Double(k) + 0.5) / Double(steps) - Double(start)
                    let b = min(max((x / dstWidth).rounded(.down), 0), Double(dst - 1))
                    let c = (b + 0.5) * dstWidth
                    ref += hist[s] * (x - c) * (x - c) / Double(steps)
                }
            }
            let got = l2QuantizationError(hist, start: start, end: end, dstBins: dst)
            #expect(abs(got - ref) < 1e-3 * max(ref, 1), "start \(start) end \(end): \(got) vs \(ref)")
        }
    }

    @Test func histogramL2SearchClipsSparseTail() {
        // 1e6 values in each of bins 0..99, one value in bin 2047. Keeping the full range costs the
        // bulk (2048/256)^2/12 per value (~5e8 in bin units); clipping near bin 100 costs the bulk
        // (100/256)^2/12 per value (~1.3e6) plus the outlier ~1950^2 (~3.8e6): the search must clip.
        var hist = [Double](repeating: 0, count: 2048)
        for i in 0..<100 { hist[i] = 1e6 }
        hist[2047] = 1
        let (s, e) = histogramL2Search(hist)
        #expect(s == 0)
        #expect(e >= 90 && e < 200, "end bin \(e)")
        // a uniform histogram is kept (almost) whole: at most a few edge bins are dropped
        let (s2, e2) = histogramL2Search([Double](repeating: 5, count: 2048))
        #expect(s2 == 0 && e2 >= 2040)
    }

    @Test func histogramObserverOnUniformKeepsRange() throws {
        let o = Observer(kind: .histogram)
        try o.observe((0...10000).map { Float($0) / 10000 })
        let r = try o.range()
        #expect(r.min == 0 && r.max >= 0.99 && r.max <= 1)
    }

    @Test func mseKeepsUniformRangeAndIsOptimalOnItsGrid() throws {
        let o = Observer(kind: .mse)
        try o.observe((0..<10000).map { Float($0) / 9999 })
        let r = try o.range()
        #expect(r.min == 0 && r.max >= 0.95 && r.max <= 1)
        let o2 = Observer(kind: .mse)
        var x: [Float] = []
        for i in 0..<20000 { let u = (Float(i) + 0.5) / 20000; x.append(-log(u) * 0.1) }  // exponential, mean 0.1
        x += [3, 3.5, 4]   // a sparse far tail
        try o2.observe(x)
        let r2 = try o2.range()
        #expect(r2.max < 4 && r2.min == 0, "got \(r2)")
        let best = o2.mseSampleCost(lo: 0, hi: Double(r2.max))
        for hi in stride(from: 0.5, through: 4.0, by: 0.25) { #expect(best <= o2.mseSampleCost(lo: 0, hi: hi) * (1 + 1e-12)) }
        // the cost is the exact error of uint8 quantization with range [0, 0.5]: scale 0.5/255, zp 0,
        // computed here directly on all values (20003 < the sample cap, so the sample is the data)
        var ref = 0.0
        let s = Double(Float(0.5 / 255.0))
        for v in x {
            let q = min(max((Double(v) / s).rounded(.toNearestOrEven), 0), 255)
            ref += (q * s - Double(v)) * (q * s - Double(v))
        }
        #expect(abs(o2.mseSampleCost(lo: 0, hi: 0.5) - ref) <= 1e-9 * ref)
    }

    @Test func nonFiniteIsAnErrorWithIndex() {
        let o = Observer(kind: .minmax)
        #expect(throws: CalibrationError.nonFinite(index: 2, value: .infinity)) { try o.observe([0, 1, .infinity]) }
        #expect(throws: CalibrationError.self) { try o.observe([.nan]) }
        #expect(throws: CalibrationError.noData) { _ = try o.range() }
    }

    @Test func histogramGrowsByExactMerge() throws {
        var h = RunningHistogram(binCount: 4)
        let a: [Float] = [0, 1, 2, 3, 4]      // width 1, lower 0: bins [1,1,1,2] (4 clamps into bin 3)
        a.withUnsafeBufferPointer { h.add($0, lo: 0, hi: 4) }
        #expect(h.counts == [1, 1, 1, 2] && h.binWidth == 1)
        let b: [Float] = [-1, 7.5]             // m = 1 bin below, k = 3: new width 3 from -1: [-1,2),[2,5),[5,8),[8,11)
        b.withUnsafeBufferPointer { h.add($0, lo: -1, hi: 7.5) }
        // old bins [0,1),[1,2) -> new bin 0; [2,3),[3,4) -> new bin 1; -1 -> bin 0; 7.5 -> bin 2
        #expect(h.lower == -1 && h.binWidth == 3)
        #expect(h.counts == [3, 3, 1, 0])
    }
}

@Suite struct QParamsTests {
    @Test func affineByHand() throws {
        // [-1, 3] uint8: scale = 4/255, zp = 0 - round(-1 / (4/255)) = round(63.75) = 64
        let q = try QParams.affine(min: -1, max: 3, dtype: .uint8)
        #expect(q.scale == Float(4.0 / 255.0) && q.zeroPoint == 64)
        // int8: zp = -128 + 64 = -64
        #expect(try QParams.affine(min: -1, max: 3, dtype: .int8).zeroPoint == -64)
        // positive range is widened to include 0: [0.5, 2] -> [0, 2], zp = qmin
        let p = try QParams.affine(min: 0.5, max: 2, dtype: .uint8)
        #expect(p.scale == Float(2.0 / 255.0) && p.zeroPoint == 0)
        // negative-only range -> zp = qmax
        #expect(try QParams.affine(min: -2, max: -1, dtype: .uint8).zeroPoint == 255)
        #expect(try QParams.affine(min: -2, max: -1, dtype: .int8).zeroPoint == 127)
        // zero is exactly representable
        for (lo, hi) in [(-0.37, 1.91), (-5.0, 0.01), (-1e-3, 7.7)] as [(Float, Float)] {
            for dt in ActivationDType.allCases {
                let qq = try QParams.affine(min: lo, max: hi, dtype: dt)
                #expect(qq.dequantize(qq.quantize(0)) == 0)
                #expect(qq.zeroPoint >= dt.qmin && qq.zeroPoint <= dt.qmax)
            }
        }
    }

    @Test func degenerateAndInvalid() throws {
        let z = try QParams.affine(min: 0, max: 0, dtype: .uint8)
        #expect(z.scale == 1.0 / 256 && z.zeroPoint == 0)
        #expect(try QParams.affine(min: 0, max: 0, dtype: .int8).zeroPoint == -128)
        #expect(throws: CalibrationError.self) { _ = try QParams.affine(min: .nan, max: 1, dtype: .uint8) }
        #expect(throws: CalibrationError.self) { _ = try QParams.affine(min: 2, max: 1, dtype: .uint8) }
    }
}
