// Quantizer: fusion plan, per-channel weights, bias, multipliers and LUTs against independent
// float64 / int64 computations written here.
import Foundation
import Testing
import MicroQuantC
@testable import MQCalibration
@testable import MQGraph
@testable import MQQuantization

/// A deterministic pseudo-random generator for test data.
struct TestRNG {
    var s: UInt64
    init(_ seed: UInt64) { s = seed }
    mutating func next() -> Float {
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int64(bitPattern: s >> 11) % 20001 - 10000) / 10000
    }
    mutating func array(_ n: Int, scale: Float = 1) -> [Float] { (0..<n).map { _ in next() * scale } }
}

/// x [1, 8] -> fc1 (16) -> relu -> fc2 (4) -> sigmoid
func makeMLP(seed: UInt64 = 1) throws -> Graph {
    var r = TestRNG(seed)
    let w1 = ConstantTensor(shape: [16, 8], data: r.array(128, scale: 0.5))
    let b1 = ConstantTensor(shape: [16], data: r.array(16, scale: 0.1))
    let w2 = ConstantTensor(shape: [4, 16], data: r.array(64, scale: 0.5))
    let b2 = ConstantTensor(shape: [4], data: r.array(4, scale: 0.1))
    return try Graph(name: "mlp", inputs: [TensorInfo(name: "x", shape: [1, 8])], outputs: [TensorInfo(name: "y", shape: [1, 4])], nodes: [
        Node(name: "fc1", op: .fullyConnected(FullyConnected(weight: w1, bias: b1)), inputs: ["x"], output: "h"),
        Node(name: "relu1", op: .relu, inputs: ["h"], output: "hr"),
        Node(name: "fc2", op: .fullyConnected(FullyConnected(weight: w2, bias: b2)), inputs: ["hr"], output: "z"),
        Node(name: "sig", op: .sigmoid, inputs: ["z"], output: "y"),
    ])
}

/// x [1, 4, 4, 8] NHWC -> conv (stride 2, pad 1) 8->12 + silu -> conv 12->12 -> add(residual) -> relu -> tanh (standalone)
/// -> reshape [1, 36, 12]... -> transpose -> softmax
func makeConvNet(seed: UInt64 = 2) throws -> Graph {
    var r = TestRNG(seed)
    let c1 = Conv1x1(weight: ConstantTensor(shape: [12, 8], data: r.array(96, scale: 0.4)),
                     bias: ConstantTensor(shape: [12], data: r.array(12, scale: 0.1)), strideH: 2, strideW: 2,
                     padTop: 1, padLeft: 1, padBottom: 1, padRight: 1)
    let c2 = Conv1x1(weight: ConstantTensor(shape: [12, 12], data: r.array(144, scale: 0.3)), bias: nil)
    return try Graph(name: "convnet", inputs: [TensorInfo(name: "x", shape: [1, 4, 4, 8])],
                     outputs: [TensorInfo(name: "p", shape: [1, 12, 9])], nodes: [
        Node(name: "conv1", op: .conv1x1(c1), inputs: ["x"], output: "a"),
        Node(name: "silu1", op: .silu, inputs: ["a"], output: "as"),
        Node(name: "conv2", op: .conv1x1(c2), inputs: ["as"], output: "b"),
        Node(name: "add", op: .add, inputs: ["as", "b"], output: "s"),
        Node(name: "relu", op: .relu, inputs: ["s"], output: "sr"),
        Node(name: "tanh", op: .tanh, inputs: ["sr"], output: "t"),
        Node(name: "reshape", op: .reshape(shape: [1, 9, 12]), inputs: ["t"], output: "v"),
        Node(name: "transpose", op: .transpose(perm: [0, 2, 1]), inputs: ["v"], output: "vt"),
        Node(name: "softmax", op: .softmax(axis: 2), inputs: ["vt"], output: "p"),
    ])
}

func calibrate(_ g: Graph, samples: Int = 64, kind: ObserverKind = .minmax, dtype: ActivationDType = .uint8, seed: UInt64 = 9) throws
    -> (QuantizationPlan, [String: Observer], QuantizedModel, CalibrationData) {
    var r = TestRNG(seed)
    let e = g.inputs[0].elementCount
    let data = CalibrationData(inputs: [r.array(samples * e)], count: samples)
    let plan = try QuantizationPlan(graph: g)
    let obs = try Calibrator.run(graph: g, plan: plan, data: data, kind: kind, batchSize: 16)
    let qm = try Quantizer.quantize(graph: g, plan: plan, observers: obs, dtype: dtype, observer: kind)
    return (plan, obs, qm, data)
}

@Suite struct QuantizerTests {
    @Test func perChannelWeightsAgainstFloat64() {
        var r = TestRNG(5)
        let n = 5, k = 7
        var w = r.array(n * k)
        for j in 0..<k { w[2 * k + j] = 0 }          // an all-zero channel
        w[3 * k + 1] = -2.5                            // a channel dominated by a negative value
        let (codes, scales) = quantizeWeightsPerChannel(w, n: n, k: k)
        #expect(scales.count == n)
        for c in 0..<n {
            var amax = 0.0
            for j in 0..<k { amax = max(amax, Double(abs(w[c * k + j]))) }
            let s = amax > 0 ? amax / 127 : 1
            #expect(abs(Double(scales[c]) - s) <= 1e-7 * s, "channel \(c)")
            for j in 0..<k {
                let q = max(-127, min(127, (Double(w[c * k + j]) / Double(scales[c])).rounded(.toNearestOrEven)))
                #expect(Int(codes[c * k + j]) == Int(q))
                // reconstruction error at most half a step
                #expect(abs(Double(codes[c * k + j]) * Double(scales[c]) - Double(w[c * k + j])) <= 0.5 * Double(scales[c]) + 1e-9)
            }
        }
        #expect(codes[3 * k + 1] == -127)
        #expect(codes[(2 * k)..<(3 * k)].allSatisfy { $0 == 0 } && scales[2] == 1)
    }

    /// The MSE weight search against a brute-force float64 search over the same clip ratios written here.
    @Test func weightMSESearchAgainstBruteForce() {
        var r = TestRNG(11)
        let n = 6, k = 40
        var w = r.array(n * k, scale: 0.2)
        w[0 * k + 3] = 1.5                      // large outliers (clipping them costs more than it saves)
        w[1 * k + 7] = -1.1
        for j in 0..<k { w[4 * k + j] = 0 }      // all-zero channel
        for j in 0..<k { w[5 * k + j] = j % 2 == 0 ? 0.5 : -0.5 }   // exact at r = 1: every code is +-127
        let (codes, scales) = quantizeWeightsPerChannel(w, n: n, k: k, options: WeightOptions(method: .mse))
        let (_, mmScales) = quantizeWeightsPerChannel(w, n: n, k: k, options: WeightOptions(method: .minmax))
        func cost(_ c: Int, _ s: Double) -> Double {
            var e = 0.0
            for j in 0..<k {
                let x = Double(w[c * k + j])
                let q = max(-127, min(127, (x / s).rounded(.toNearestOrEven)))
                e += (x - q * s) * (x - q * s)
            }
            return e
        }
        for c in 0..<n {
            let amax = (0..<k).map { Double(abs(w[c * k + $0])) }.max()!
            if amax == 0 { #expect(scales[c] == 1 && codes[(c * k)..<((c + 1) * k)].allSatisfy { $0 == 0 }); continue }
            // brute force: ratios 1.00, 0.99, ..., 0.80, scale rounded to float32 as stored
            let grid = (0...20).map { Double(Float(amax * Double(100 - $0) / 100 / 127)) }
            let best = grid.map { cost(c, $0) }.min()!
            let got = cost(c, Double(scales[c]))
            #expect(abs(got - best) <= 1e-12 + 1e-9 * best, "channel \(c): cost \(got) vs brute-force minimum \(best)")
            #expect(grid.contains { abs($0 - Double(scales[c])) <= 1e-7 * $0 }, "channel \(c): scale \(scales[c]) not on the grid")
            #expect(got <= cost(c, Double(mmScales[c])), "channel \(c): mse must not be worse than minmax")
            for j in 0..<k {
                let q = max(-127, min(127, (Double(w[c * k + j]) / Double(scales[c])).rounded(.toNearestOrEven)))
                #expect(Int(codes[c * k + j]) == Int(q))
            }
        }
        // A channel built so that clipping pays: 999 values +-4.5/127 (each a half step at r = 1, so
        // rounding half to even leaves an error of 0.5/127 each: cost 999 * (0.5/127)^2 = 0.015485...)
        // and one value 1.0. At r = 0.9 the 999 values are exact (5 steps of 0.9/127) and only 1.0 is
        // clipped to 0.9: cost 0.01 < 0.015485, so the search must clip.
        var h = [Float](repeating: 0, count: 1000)
        for j in 0..<999 { h[j] = (j % 2 == 0 ? 1 : -1) * Float(4.5 / 127) }
        h[999] = 1
        let atOne = weightQuantizationError(h[...], scale: Float(1.0) / 127)
        #expect(abs(atOne - 999 * pow(0.5 / 127, 2)) <= 1e-6 * atOne)
        let atNine = weightQuantizationError(h[...], scale: Float(0.9 / 127))
        #expect(abs(atNine - 0.01) <= 1e-6)
        let (hc, hs) = quantizeWeightsPerChannel(h, n: 1, k: 1000, options: WeightOptions(method: .mse))
        #expect(hs[0] < Float(1.0) / 127 && hs[0] >= Float(0.8 / 127))
        #expect(weightQuantizationError(h[...], scale: hs[0]) <= atNine)
        #expect(hc[999] == 127)   // the clipped value saturates
        // channel 5: every |w| = 0.5 is exact at r = 1 (cost 0): ties keep the widest range
        #expect(scales[5] == Float(0.5) / 127 && scales[5] == mmScales[5])
        #expect(WeightOptions().clipRatios.count == 21 && WeightOptions().clipRatios.first == 1
                && abs(WeightOptions().clipRatios.last! - 0.8) < 1e-12)
    }

    /// Layer input means (float and fake-quantized) of an FC layer and of a strided, padded conv, and
    /// the corrected int32 bias, against float64 computations written here.
    @Test func biasCorrectionAgainstFloat64() throws {
        // fully connected (makeMLP: fc1 reads the graph input x [.., 8])
        let g = try makeMLP()
        let (plan, obs, _, data) = try calibrate(g, samples: 40)
        let qp = try Quantizer.assignQParams(graph: g, plan: plan, observers: obs, dtype: .uint8).mapValues { $0.0 }
        let means = try Calibrator.layerInputMeans(graph: g, plan: plan, data: data, inputQParams: qp, batchSize: 7)
        let xq = qp["x"]!
        var m = [Double](repeating: 0, count: 8), mq = [Double](repeating: 0, count: 8)
        for s in 0..<40 {
            for j in 0..<8 {
                let v = Double(data.inputs[0][s * 8 + j])
                m[j] += v / 40
                let code = max(0, min(255, (v / Double(xq.scale)).rounded(.toNearestOrEven) + Double(xq.zeroPoint)))
                mq[j] += (code - Double(xq.zeroPoint)) * Double(xq.scale) / 40
            }
        }
        let fc1Mean = try #require(means["fc1"])
        for j in 0..<8 {
            #expect(abs(fc1Mean.float[j] - m[j]) <= 1e-9)
            #expect(abs(fc1Mean.quantized![j] - mq[j]) <= 1e-9)
        }
        #expect(means["fc2"] != nil)
        // corrected bias: round((b - sum_j (s_w q mq_j - w m_j)) / (s_in s_w))
        let qm = try Quantizer.quantize(graph: g, plan: plan, observers: obs, dtype: .uint8, observer: .minmax,
                                        weights: WeightOptions(method: .minmax, biasCorrection: true), layerInputMeans: means)
        guard case .fullyConnected(let fc1) = qm.nodes[0].op, case .fullyConnected(let f) = g.nodes[0].op else {
            Issue.record("expected a fully connected op"); return
        }
        var changed = 0
        for c in 0..<16 {
            let sw = Double(fc1.weightScales[c])
            var e = 0.0
            for j in 0..<8 { e += sw * Double(fc1.weights[c * 8 + j]) * mq[j] - Double(f.weight.data[c * 8 + j]) * m[j] }
            let want = ((Double(f.bias!.data[c]) - e) / (Double(xq.scale) * sw)).rounded(.toNearestOrEven)
            #expect(Int64(fc1.bias[c]) == Int64(want), "channel \(c)")
            if Int64(want) != Int64((Double(f.bias!.data[c]) / (Double(xq.scale) * sw)).rounded(.toNearestOrEven)) { changed += 1 }
        }
        #expect(changed > 0, "the correction must move some bias")
        // missing means are an error naming the layer
        #expect(throws: QuantizationError.internalError("bias correction: no calibration input mean for layer 'fc1'")) {
            _ = try Quantizer.quantize(graph: g, plan: plan, observers: obs, dtype: .uint8, observer: .minmax,
                                       weights: WeightOptions(method: .minmax, biasCorrection: true), layerInputMeans: [:])
        }

        // conv1x1 with stride 2 and padding 1 (makeConvNet: conv1 reads x [1, 4, 4, 8] NHWC -> 3 x 3 outputs)
        let cg = try makeConvNet()
        let (cplan, _, _, cdata) = try calibrate(cg, samples: 5)
        let cm = try Calibrator.layerInputMeans(graph: cg, plan: cplan, data: cdata)
        var want = [Double](repeating: 0, count: 8)
        for s in 0..<5 {
            for oy in 0..<3 {
                for ox in 0..<3 {
                    let iy = oy * 2 - 1, ix = ox * 2 - 1
                    guard iy >= 0 && iy < 4 && ix >= 0 && ix < 4 else { continue }   // padding reads 0
                    for j in 0..<8 { want[j] += Double(cdata.inputs[0][s * 128 + (iy * 4 + ix) * 8 + j]) / 45 }
                }
            }
        }
        let conv1 = try #require(cm["conv1"])
        #expect(conv1.quantized == nil)
        for j in 0..<8 { #expect(abs(conv1.float[j] - want[j]) <= 1e-9, "channel \(j)") }
    }

    @Test func fusionPlanOfConvNet() throws {
        let g = try makeConvNet()
        let plan = try QuantizationPlan(graph: g)
        let kinds = plan.ops.map { p -> String in
            switch p.kind {
            case let .gemm(l, c, a): return "gemm(\(l.name),\(c?.name ?? "-"),\(a?.name ?? "-"))"
            case .lut(let n): return "lut(\(n.name))"
            case let .add(n, c): return "add(\(n.name),\(c?.name ?? "-"))"
            case .view(let n): return "view(\(n.name))"
            case .transpose(let n, _): return "transpose(\(n.name))"
            case .softmax(let n, _): return "softmax(\(n.name))"
            case .pool(let n), .pad(let n), .concat(let n), .mean(let n, _), .mul(let n, _): return "\(n.op.kind)(\(n.name))"
            }
        }
        // silu1's output feeds both conv2 and the add: silu is still fused into conv1 (only its
        // INPUT must have one consumer); relu after add is fused as a clamp; tanh is standalone.
        #expect(kinds == ["gemm(conv1,-,silu1)", "gemm(conv2,-,-)", "add(add,relu)", "lut(tanh)", "view(reshape)", "transpose(transpose)", "softmax(softmax)"])
        #expect(plan.observed.contains("a"))      // pre-activation of the fused SiLU
        #expect(plan.fixed == ["p"])
        #expect(plan.qparamsSource("vt") == "t")
    }

    @Test func preparedGemmMatchesIndependentMath() throws {
        let g = try makeMLP()
        let (_, _, qm, _) = try calibrate(g)
        guard case .fullyConnected(let fc1) = qm.nodes[0].op, case .fullyConnected(let fc2) = qm.nodes[1].op else {
            Issue.record("expected two fully connected ops"); return
        }
        let x = qm.tensors[qm.inputs[0]].qparams
        let hr = qm.tensors[qm.tensorIndex("hr")!].qparams
        guard case .fullyConnected(let f) = g.nodes[0].op else { return }
        for c in 0..<16 {
            // bias: round(b / (s_in * s_w)), float64
            let bs = Double(x.scale) * Double(fc1.weightScales[c])
            #expect(Int64(fc1.bias[c]) == Int64((Double(f.bias!.data[c]) / bs).rounded(.toNearestOrEven)))
            // folded bias: bias - (zp - 128) * sum_k w   (uint8 input), int64
            let sumw = (0..<8).reduce(Int64(0)) { $0 + Int64(fc1.weights[c * 8 + $1]) }
            #expect(Int64(fc1.foldedBias[c]) == Int64(fc1.bias[c]) - Int64(x.zeroPoint - 128) * sumw)
            // multiplier * 2^(shift - 31) == s_in * s_w / s_out within 2^-30 relative
            let real = bs / Double(hr.scale)
            let got = Double(fc1.multipliers[c]) * pow(2, Double(fc1.shifts[c]) - 31)
            #expect(abs(got - real) <= real * pow(2, -30))
        }
        // fused ReLU: clamp from the output zero point
        #expect(fc1.actMin == hr.zeroPoint && fc1.actMax == 255)
        // fused sigmoid: LUT from the pre-activation qparams to (1/256, 0), checked with float64
        let pre = qm.preActivations.first { $0.name == "z" }!.qparams
        #expect(fc2.outZeroPoint == pre.zeroPoint && fc2.outScale == pre.scale)
        let lut = try #require(fc2.lut)
        let y = qm.tensors[qm.outputs[0]].qparams
        #expect(y.scale == 1.0 / 256 && y.zeroPoint == 0)
        for i in 0..<256 {
            let v = Double(i - Int(pre.zeroPoint)) * Double(pre.scale)
            let s = 1 / (1 + exp(-v))
            let q = min(255, max(0, (s * 256).rounded(.toNearestOrEven)))
            #expect(Int(lut[i]) == Int(q), "code \(i)")
        }
    }

    @Test func int8ActivationsAndFixedQParams() throws {
        let g = try makeConvNet()
        let (_, _, qm, _) = try calibrate(g, dtype: .int8)
        for t in qm.tensors { #expect(t.qparams.dtype == .int8) }
        let p = qm.tensors[qm.outputs[0]].qparams
        #expect(p.scale == 1.0 / 256 && p.zeroPoint == -128)
        // views inherit the source tensor's qparams
        #expect(qm.tensors[qm.tensorIndex("vt")!].qparams == qm.tensors[qm.tensorIndex("t")!].qparams)
        // the fused relu after add clamps at the output zero point
        guard case .add(let a) = qm.nodes[2].op else { Issue.record("node 2 should be add"); return }
        #expect(a.act_min == qm.tensors[qm.tensorIndex("sr")!].qparams.zeroPoint)
    }

    @Test func fusedClipBoundsInCodeDomain() {
        let q = QParams(scale: 0.05, zeroPoint: 10, dtype: .uint8)
        // clip(0, 6): lo = 10 + 0 = 10; hi = 10 + round(6 / 0.05) = 130
        let (lo, hi) = Quantizer.clampRange(.clip(min: 0, max: 6), q)
        #expect(lo == 10 && hi == 130)
        let (lo2, hi2) = Quantizer.clampRange(.clip(min: -100, max: 100), q)
        #expect(lo2 == 0 && hi2 == 255)
        #expect(Quantizer.clampRange(nil, QParams(scale: 1, zeroPoint: 0, dtype: .int8)) == (-128, 127))
    }

    @Test func errorsNameSampleTensorAndShape() throws {
        let g = try makeMLP()
        let plan = try QuantizationPlan(graph: g)
        var vals = [Float](repeating: 0.5, count: 5 * 8)
        vals[3 * 8 + 2] = .nan
        do {
            _ = try Calibrator.run(graph: g, plan: plan, data: CalibrationData(inputs: [vals], count: 5), kind: .minmax)
            Issue.record("NaN input must be rejected")
        } catch let QuantizationError.nonFinite(tensor, sample, value) {
            #expect(tensor == "x" && sample == 3 && value.isNaN)
        }
        #expect(throws: QuantizationError.emptyDataSet("the data has 0 samples (shape [0, 8])")) {
            _ = try CalibrationData.single(graph: g, values: [], shape: [0, 8])
        }
        #expect(throws: QuantizationError.shapeMismatch(input: "x", expected: [8], got: [10, 9])) {
            _ = try CalibrationData.single(graph: g, values: [Float](repeating: 0, count: 90), shape: [10, 9])
        }
        // both [N, 8] and [N, 1, 8] are accepted
        #expect(try CalibrationData.single(graph: g, values: [Float](repeating: 0, count: 16), shape: [2, 8]).count == 2)
        #expect(try CalibrationData.single(graph: g, values: [Float](repeating: 0, count: 16), shape: [2, 1, 8]).count == 2)
        // an overflow to inf inside the graph names the tensor and the sample
        let w = ConstantTensor(shape: [1, 1], data: [3e38])
        let g2 = try Graph(name: "big", inputs: [TensorInfo(name: "x", shape: [1, 1])], outputs: [TensorInfo(name: "y", shape: [1, 1])],
                           nodes: [Node(name: "fc", op: .fullyConnected(FullyConnected(weight: w, bias: nil)), inputs: ["x"], output: "y")])
        let p2 = try QuantizationPlan(graph: g2)
        #expect(throws: QuantizationError.nonFinite(tensor: "y", sample: 1, value: .infinity)) {
            _ = try Calibrator.run(graph: g2, plan: p2, data: CalibrationData(inputs: [[0.5, 2]], count: 2), kind: .minmax)
        }
    }

    @Test func constantZeroTensorUsesDocumentedFallback() throws {
        // relu of a negative-only signal is constant zero
        let w = ConstantTensor(shape: [2, 2], data: [-1, 0, 0, -1])
        let g = try Graph(name: "z", inputs: [TensorInfo(name: "x", shape: [1, 2])], outputs: [TensorInfo(name: "y", shape: [1, 2])], nodes: [
            Node(name: "fc", op: .fullyConnected(FullyConnected(weight: w, bias: nil)), inputs: ["x"], output: "h"),
            Node(name: "relu", op: .relu, inputs: ["h"], output: "y"),
        ])
        let plan = try QuantizationPlan(graph: g)
        let obs = try Calibrator.run(graph: g, plan: plan, data: CalibrationData(inputs: [[1, 2, 0.5, 0.25]], count: 2), kind: .minmax)
        let qm = try Quantizer.quantize(graph: g, plan: plan, observers: obs, dtype: .uint8, observer: .minmax)
        let y = qm.tensors[qm.outputs[0]].qparams
        #expect(y.scale == QParams.degenerateScale && y.zeroPoint == 0)
    }
}
