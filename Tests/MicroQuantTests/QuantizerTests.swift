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
