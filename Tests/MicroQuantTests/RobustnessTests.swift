// Issue 13: models and data nobody on the project wrote. Dead / tiny channels, non-finite parameters,
// huge calibration values. References: onnxruntime's float outputs committed with the fixtures
// (scripts/make_robustness_fixtures.py) and float64 arithmetic written here.
import Foundation
import Testing
import MicroQuantC
@testable import MQCalibration
@testable import MQGraph
@testable import MQNumPy
@testable import MQONNX
@testable import MQPacking
@testable import MQQuantization
@testable import MQReport

/// Calibrates the fixture NAME on its own inputs and runs every sample through the C runtime.
/// Returns the quantized model, the dequantized outputs (sample-major) and onnxruntime's outputs.
func calibrateFixture(_ name: String, observer: ObserverKind = .percentile, dtype: ActivationDType = .uint8,
                      weights: WeightOptions = WeightOptions()) throws -> (QuantizedModel, [Float], [Float]) {
    let graph = try ONNXImporter.importModel(at: onnxFixtures.appendingPathComponent("\(name).onnx"))
    let x = try NumPy.read(contentsOf: onnxFixtures.appendingPathComponent("\(name)_input.npy"))
    let y = try NumPy.read(contentsOf: onnxFixtures.appendingPathComponent("\(name)_output.npy"))
    let data = try CalibrationData.single(graph: graph, values: x.floats(), shape: x.shape)
    let plan = try QuantizationPlan(graph: graph)
    let obs = try Calibrator.run(graph: graph, plan: plan, data: data, kind: observer)
    var means: [String: LayerInputMean]? = nil
    if weights.biasCorrection {
        let qp = try Quantizer.assignQParams(graph: graph, plan: plan, observers: obs, dtype: dtype)
        means = try Calibrator.layerInputMeans(graph: graph, plan: plan, data: data, inputQParams: qp.mapValues { $0.0 })
    }
    let qm = try Quantizer.quantize(graph: graph, plan: plan, observers: obs, dtype: dtype, observer: observer,
                                    weights: weights, layerInputMeans: means)
    let bytes = try Packer.pack(qm, plan: MemoryPlanner.plan(qm), metadata: PackMetadata(sourceName: name, sourceSHA256: [], calibrationMethod: observer.rawValue))
    let model = try PackedModel(bytes: bytes)
    let inQ = qm.tensors[qm.inputs[0]].qparams, outQ = qm.tensors[qm.outputs[0]].qparams
    let e = graph.inputs[0].elementCount
    var got: [Float] = []
    for s in 0..<data.count {
        let codes = data.inputs[0][(s * e)..<((s + 1) * e)].map { UInt8(truncatingIfNeeded: inQ.quantize($0)) }
        got += dequantize(try model.run([codes])[0], outQ)
    }
    return (qm, got, y.floats())
}

@Suite struct DeadChannelTests {
    /// dead_units: rows 1..7 are all zero, ~1e-25 or float32 denormals (1e-40) with biases from 0 to 40.
    /// Every one calibrates (any observer, both dtypes, both weight methods, with bias correction) and
    /// each dead channel's output is its bias to within half an output step.
    @Test func deadUnitsQuantizeAndOutputTheirBias() throws {
        let biases: [Float] = [0.1, 5.0, -0.238, 1e-3, 0, -3.0, 40.0, 0]
        for dtype in ActivationDType.allCases {
            for obs in [ObserverKind.minmax, .percentile, .histogram] {
                for w in [WeightOptions(), WeightOptions(method: .mse), WeightOptions(method: .minmax, biasCorrection: true)] {
                    let (qm, got, ref) = try calibrateFixture("dead_units", observer: obs, dtype: dtype, weights: w)
                    let outQ = qm.tensors[qm.outputs[0]].qparams
                    guard case .fullyConnected(let g) = qm.nodes[0].op else { Issue.record("expected a fully connected op"); return }
                    for c in 1..<8 {
                        // the channel's codes are all 0 and its int32 bias is within the floor's 2^30; channel 4
                        // (~1e-25, bias 0) keeps its own tiny scale: its multiplier underflows to 0 (output 0)
                        if c == 4 {
                            #expect(g.multipliers[c] == 0, "channel 4: multiplier \(g.multipliers[c])")
                        } else {
                            #expect(g.weights[(c * 8)..<((c + 1) * 8)].allSatisfy { $0 == 0 }, "channel \(c) codes")
                        }
                        #expect(abs(Double(g.bias[c])) <= Quantizer.biasCodeLimit + 1, "channel \(c) bias code \(g.bias[c])")
                        #expect(g.weightScales[c] >= Float.leastNormalMagnitude)
                    }
                    let n = got.count / 8
                    for s in 0..<n {
                        for c in 1..<8 {
                            // float64 reference: the output is the bias (the weights contribute < 1e-23)
                            let want = Double(biases[c])
                            #expect(abs(Double(ref[s * 8 + c]) - want) < 1e-6, "onnxruntime reference")
                            let err = abs(Double(got[s * 8 + c]) - want)
                            #expect(err <= Double(outQ.scale) / 2 + 1e-6, "\(dtype) \(obs) \(w.method) bc=\(w.biasCorrection): sample \(s) channel \(c): \(got[s * 8 + c]) vs bias \(want)")
                        }
                    }
                }
            }
        }
    }

    /// The scikit-learn-like MLP with a dead hidden unit (weights ~1e-25, bias -0.238) used to fail with
    /// "bias[7] does not fit int32"; now it calibrates and its probabilities match onnxruntime's.
    @Test func sklearnMLPWithDeadUnitCalibrates() throws {
        for dtype in ActivationDType.allCases {
            let (_, got, ref) = try calibrateFixture("sklearn_mlp", dtype: dtype)
            var acc = SQNRAccumulator()
            acc.add(float: ref, quantized: got)
            #expect(acc.db > 25, "\(dtype): SQNR \(acc.db) dB")
            var agree = 0
            for s in 0..<(ref.count / 3) where argmax(Array(ref[(s * 3)..<(s * 3 + 3)])) == argmax(Array(got[(s * 3)..<(s * 3 + 3)])) { agree += 1 }
            #expect(agree * 100 >= 95 * (ref.count / 3), "argmax agreement \(agree)/\(ref.count / 3)")
        }
    }

    /// The floors of quantizeWeightsPerChannel, against float64 arithmetic written here.
    @Test func weightScaleFloors() {
        let denormal = Float(bitPattern: 0x0001_1000)   // ~1.5e-40
        #expect(!denormal.isNormal && denormal > 0)
        let w: [Float] = [0, 0, 0, 0,  1e-25, -2e-25, 0, 1e-25,  denormal, -denormal, denormal, 0,  0.5, -1, 0.25, 0]
        let bias: [Float] = [5, -0.238, 1e-3, 0.1]
        let inScale: Float = 0.02
        let floors = Quantizer.biasScaleFloor(bias, inputScale: inScale)
        for c in 0..<4 {
            let want = abs(Double(bias[c])) / (Double(inScale) * 1_073_741_824)
            #expect(Double(floors[c]) >= want && Double(floors[c]) <= want * (1 + 1e-6))
        }
        let (codes, scales) = quantizeWeightsPerChannel(w, n: 4, k: 4, minScales: floors)
        #expect(scales[0] == 1)                                   // all-zero row: scale 1 (above its floor)
        #expect(Double(scales[1]) >= 0.238 / (0.02 * 1_073_741_824))
        #expect(scales[2] >= Float.leastNormalMagnitude)
        #expect(scales[3] == 1 / Float(127))                      // an ordinary row is untouched
        #expect(codes[0..<12].allSatisfy { $0 == 0 })
        #expect(Array(codes[12..<16]) == [64, -127, 32, 0])       // round_half_even(63.5) = 64
        for c in 0..<3 {
            let bq = (Double(bias[c]) / (Double(inScale) * Double(scales[c]))).rounded(.toNearestOrEven)
            #expect(abs(bq) <= 1_073_741_824, "channel \(c): bias code \(bq)")
        }
    }
}

@Suite struct NonFiniteParameterTests {
    /// NaN / inf in weights, biases, BatchNorm parameters: an error naming the initializer and the index.
    @Test(arguments: [("err_nan_weight", "fc.weight", 5), ("err_inf_bias", "fc.bias", 2), ("err_nan_bn_var", "bn.running_var", 1)])
    func importerNamesInitializerAndIndex(_ name: String, _ tensor: String, _ index: Int) {
        do {
            _ = try ONNXImporter.importModel(at: onnxFixtures.appendingPathComponent("\(name).onnx"))
            Issue.record("\(name): a non-finite parameter must be rejected")
        } catch let e as ImportError {
            guard case let .nonFinite(_, t, _, _, i, _) = e else { Issue.record("\(name): got \(e)"); return }
            #expect(t == tensor && i == index)
            #expect(e.description.contains("'\(tensor)'") && e.description.contains("index \(index)"), "\(e)")
        } catch { Issue.record("unexpected \(error)") }
    }

    /// A graph built in code (not through the importer) with NaN weights: the quantizer throws, never traps.
    @Test func quantizerRejectsNaNWeights() throws {
        for (wv, bv) in [(Float.nan, Float(0)), (Float(0.5), Float.infinity)] {
            var w = [Float](repeating: 0.5, count: 12)
            w[7] = wv
            let fc = FullyConnected(weight: ConstantTensor(shape: [3, 4], data: w), bias: ConstantTensor(shape: [3], data: [0, bv, 0]))
            let graph = try Graph(name: "g", inputs: [TensorInfo(name: "x", shape: [1, 4])], outputs: [TensorInfo(name: "y", shape: [1, 3])],
                                  nodes: [Node(name: "fc", op: .fullyConnected(fc), inputs: ["x"], output: "t"),
                                          Node(name: "relu", op: .relu, inputs: ["t"], output: "y")])
            let plan = try QuantizationPlan(graph: graph)
            // observers fed directly (the float pass itself would already stop at the NaN outputs)
            var obs: [String: Observer] = [:]
            for t in plan.observed { obs[t] = Observer(kind: .minmax); try obs[t]!.observe([0, 1]) }
            do {
                _ = try Quantizer.quantize(graph: graph, plan: plan, observers: obs, dtype: .uint8, observer: .minmax)
                Issue.record("non-finite parameters must be rejected")
            } catch let e as QuantizationError {
                #expect(e.description.contains("'fc'") && (e.description.contains("flat index 7") || e.description.contains("bias[1]")), "\(e)")
            }
        }
    }
}

@Suite struct HugeValueTests {
    /// Values of 1e37 and beyond (up to float32's max) after a narrow first batch: no observer traps,
    /// every range is finite and covers what was seen (minmax) or lies inside it.
    @Test func observersSurviveHugeFiniteValues() throws {
        let batches: [[Float]] = [
            [0.001, 0.002, 0.0015, 0.001],
            [1e37, -2e37, 0.5],
            [Float.greatestFiniteMagnitude, -Float.greatestFiniteMagnitude, 0],
            [1e-30, 3, 4],
        ]
        for kind in ObserverKind.allCases {
            let o = Observer(kind: kind)
            for b in batches { try o.observe(b) }
            let r = try o.range()
            #expect(r.min.isFinite && r.max.isFinite && r.min <= r.max, "\(kind): \(r)")
            #expect(r.min >= -Float.greatestFiniteMagnitude && r.max <= Float.greatestFiniteMagnitude)
            if kind == .minmax { #expect(r.min == -Float.greatestFiniteMagnitude && r.max == Float.greatestFiniteMagnitude) }
            let q = try QParams.affine(min: r.min, max: r.max, dtype: .uint8)
            #expect(q.scale.isFinite && q.scale > 0)
            #expect(o.histogram.total == 13)
            #expect(o.histogram.counts.reduce(0, +) == 13)
        }
        // a constant first batch (tiny width) then a huge one, and the reverse
        for order in [[[Float](repeating: 2, count: 4), [3e38]], [[-3e38, 3e38], [Float](repeating: 1e-38, count: 3)]] {
            var h = RunningHistogram()
            for b in order { b.withUnsafeBufferPointer { h.add($0, lo: b.min()!, hi: b.max()!) } }
            #expect(h.counts.reduce(0, +) == Double(order.joined().count))
            #expect(h.binWidth.isFinite && h.binWidth > 0 && h.lower.isFinite)
            #expect(h.lower <= Double(h.seenMin) && h.upper >= Double(h.seenMax))
        }
    }

    /// The exact merge still holds for ordinary growth (old bins land whole in new bins).
    @Test func ordinaryGrowthStillExact() {
        var h = RunningHistogram(binCount: 16)
        let a: [Float] = (0..<16).map { Float($0) / 16 }
        a.withUnsafeBufferPointer { h.add($0, lo: 0, hi: 15 / 16) }
        let b: [Float] = [-1, 2]
        b.withUnsafeBufferPointer { h.add($0, lo: -1, hi: 2) }
        #expect(h.counts.reduce(0, +) == 18)
        let ratio = h.binWidth / (15.0 / 16.0 / 16.0)
        #expect(ratio == ratio.rounded())   // width an integer multiple of the old one
    }
}
