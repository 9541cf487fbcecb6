// Tests of the float reference executor (MQGraph.FloatExecutor): every ONNX fixture against the
// outputs onnxruntime computed for it (scripts/make_fixtures.py), plus hand-built graphs against
// float64 references written here.
import Foundation
import Testing
import MQGraph
import MQNumPy
@testable import MQONNX

/// max |a - b| / (atol + rtol * |b|) over all elements; <= 1 means within tolerance.
func toleranceRatio(_ a: [Float], _ b: [Float], atol: Double = 2e-5, rtol: Double = 1e-4) -> Double {
    var worst = 0.0
    for (x, y) in zip(a, b) {
        worst = max(worst, abs(Double(x) - Double(y)) / (atol + rtol * abs(Double(y))))
    }
    return worst
}

@Suite struct ExecutorTests {
    @Test(arguments: numericFixtures)
    func matchesOnnxRuntime(name: String) throws {
        let g = try importFixture(name)
        let x = try NumPy.read(contentsOf: onnxFixture(name + "_input.npy"))
        let ref = try NumPy.read(contentsOf: onnxFixture(name + "_output.npy"))
        let batch = x.count / g.inputs[0].elementCount
        #expect(batch >= 3)
        let exec = try FloatExecutor(graph: g)
        let y = try exec.run([x.floats()], batch: batch)[0]
        #expect(y.count == ref.count, "\(name): \(y.count) vs \(ref.count) values")
        let r = toleranceRatio(y, ref.floats())
        #expect(r <= 1, "\(name): worst error is \(r)x the tolerance")
        // Batch runs equal per-sample runs.
        let per = g.inputs[0].elementCount, outPer = g.outputs[0].elementCount
        let xs = x.floats()
        for b in [0, batch - 1] {
            let yb = try exec.run(sample: [Array(xs[(b * per)..<((b + 1) * per)])])[0]
            #expect(yb == Array(y[(b * outPer)..<((b + 1) * outPer)]), "\(name) sample \(b)")
        }
    }

    @Test func twoOutputsMatchOnnxRuntime() throws {
        let g = try importFixture("two_outputs")
        let x = try NumPy.read(contentsOf: onnxFixture("two_outputs_input.npy"))
        let ys = try FloatExecutor(graph: g).run([x.floats()], batch: 4)
        for (i, suffix) in ["", "_1"].enumerated() {
            let ref = try NumPy.read(contentsOf: onnxFixture("two_outputs_output\(suffix).npy")).floats()
            #expect(ys[i].count == ref.count && toleranceRatio(ys[i], ref) <= 1, "output \(i)")
        }
    }

    @Test func observerSeesInputAndEveryNodeOutputOnce() throws {
        let g = try importFixture("dfl_head")
        let x = try NumPy.read(contentsOf: onnxFixture("dfl_head_input.npy"))
        var seen: [(String, Int, Int)] = []
        var softmaxSums: [Double] = []
        _ = try FloatExecutor(graph: g).run([x.floats()], batch: 3) { t in
            seen.append((t.name, t.batch, t.values.count))
            if t.node?.op.kind == "softmax" {
                // softmax over axis 2 of [1, 4, 16, 10]: sums over the 16 bins are 1
                for b in 0..<3 {
                    for i in 0..<4 {
                        for a in 0..<10 {
                            var s = 0.0
                            for k in 0..<16 { s += Double(t.values[b * 640 + (i * 16 + k) * 10 + a]) }
                            softmaxSums.append(s)
                        }
                    }
                }
            }
        }
        #expect(seen.map(\.0) == ["input"] + g.nodes.map(\.output))
        for (name, batch, count) in seen {
            #expect(batch == 3 && count == 3 * g.shapes[name]!.reduce(1, *), "\(name)")
        }
        #expect(softmaxSums.count == 120 && softmaxSums.allSatisfy { abs($0 - 1) < 1e-5 })
    }

    /// Hand-built NHWC conv with stride 2 and asymmetric padding vs a float64 loop written here.
    @Test func conv1x1AgainstFloat64Reference() throws {
        let (n, h, w, k, oc) = (2, 5, 4, 3, 4)
        let wt = (0..<(oc * k)).map { Float(($0 * 7) % 11) / 5 - 1 }
        let bias: [Float] = [0.5, -0.25, 0, 1]
        let c = Conv1x1(weight: ConstantTensor(shape: [oc, k], data: wt), bias: ConstantTensor(shape: [oc], data: bias),
                        strideH: 2, strideW: 2, padTop: 1, padLeft: 0, padBottom: 0, padRight: 1)
        let g = try Graph(name: "t", inputs: [TensorInfo(name: "x", shape: [1, h, w, k])],
                          outputs: [TensorInfo(name: "y", shape: [1, 3, 3, oc])],
                          nodes: [Node(name: "c", op: .conv1x1(c), inputs: ["x"], output: "y")])
        let x = (0..<(n * h * w * k)).map { Float(($0 * 13) % 17) / 4 - 2 }
        let y = try FloatExecutor(graph: g).run([x], batch: n)[0]
        var ref: [Double] = []
        for b in 0..<n {
            for oy in 0..<3 {
                for ox in 0..<3 {
                    for o in 0..<oc {
                        let iy = oy * 2 - 1, ix = ox * 2
                        var s = Double(bias[o])
                        if iy >= 0 && iy < h && ix >= 0 && ix < w {
                            for i in 0..<k { s += Double(x[((b * h + iy) * w + ix) * k + i]) * Double(wt[o * k + i]) }
                        }
                        ref.append(s)
                    }
                }
            }
        }
        #expect(toleranceRatio(y, ref.map { Float($0) }) <= 1)
    }

    @Test func transposeAndSoftmaxAgainstDirectIndexing() throws {
        let shape = [1, 2, 3, 4]
        let perm = [0, 3, 1, 2]
        let g = try Graph(name: "t", inputs: [TensorInfo(name: "x", shape: shape)],
                          outputs: [TensorInfo(name: "s", shape: [1, 4, 2, 3])],
                          nodes: [Node(name: "t", op: .transpose(perm: perm), inputs: ["x"], output: "t"),
                                  Node(name: "s", op: .softmax(axis: 1), inputs: ["t"], output: "s")])
        let x = (0..<24).map { Float($0 % 7) * 0.5 - 1 }
        var seenT: [Float] = []
        let s = try FloatExecutor(graph: g).run([x], batch: 1) { t in
            if t.name == "t" { seenT = Array(t.values) }
        }[0]
        // t[0, d, a, b] = x[0, a, b, d]
        for d in 0..<4 { for a in 0..<2 { for b in 0..<3 {
            #expect(seenT[(d * 2 + a) * 3 + b] == x[(a * 3 + b) * 4 + d])
        } } }
        // softmax over d
        for a in 0..<2 { for b in 0..<3 {
            let e = (0..<4).map { exp(Double(seenT[($0 * 2 + a) * 3 + b])) }
            let sum = e.reduce(0, +)
            for d in 0..<4 { #expect(abs(Double(s[(d * 2 + a) * 3 + b]) - e[d] / sum) < 1e-6) }
        } }
    }

    @Test func activationsAreStableAtExtremes() throws {
        for op in [Op.sigmoid, .silu, .tanh, .gelu, .hardSwish, .hardSigmoid(alpha: 0.2, beta: 0.5)] {
            for x in [-1e30, -800.0, -50, 0, 50, 800, 1e30] {
                let v = op.activation(x)!
                #expect(v.isFinite, "\(op.kind)(\(x)) = \(v)")
            }
        }
        #expect(Op.sigmoid.activation(-800)! == 0 && Op.sigmoid.activation(800)! == 1)
        #expect(abs(Op.gelu.activation(1)! - 0.8413447460685429) < 1e-12)  // Phi(1) = 0.841344746...
        #expect(Op.hardSwish.activation(1)! == 1.0 * (1.0 / 6.0 + 0.5))
    }

    @Test func rejectsBadInputs() throws {
        let g = try importFixture("dynamic_batch_mlp")
        let exec = try FloatExecutor(graph: g)
        #expect(throws: GraphError.self) { try exec.run([[Float](repeating: 0, count: 15)], batch: 1) }
        #expect(throws: GraphError.self) { try exec.run([[]], batch: 0) }
        #expect(throws: GraphError.self) { try exec.run([[Float](repeating: .nan, count: 16)], batch: 1) }
        #expect(throws: GraphError.self) { try exec.run([], batch: 1) }
    }

    @Test func graphValidationCatchesMalformedGraphs() {
        let fc = Op.fullyConnected(FullyConnected(weight: ConstantTensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6]), bias: nil))
        // unknown tensor
        #expect(throws: GraphError.self) {
            try Graph(name: "t", inputs: [TensorInfo(name: "x", shape: [1, 3])], outputs: [TensorInfo(name: "y", shape: [1, 2])],
                      nodes: [Node(name: "n", op: fc, inputs: ["z"], output: "y")])
        }
        // shape mismatch
        #expect(throws: GraphError.self) {
            try Graph(name: "t", inputs: [TensorInfo(name: "x", shape: [1, 4])], outputs: [TensorInfo(name: "y", shape: [1, 2])],
                      nodes: [Node(name: "n", op: fc, inputs: ["x"], output: "y")])
        }
        // wrong declared output shape
        #expect(throws: GraphError.self) {
            try Graph(name: "t", inputs: [TensorInfo(name: "x", shape: [1, 3])], outputs: [TensorInfo(name: "y", shape: [1, 3])],
                      nodes: [Node(name: "n", op: fc, inputs: ["x"], output: "y")])
        }
        // constant with the wrong number of values
        let bad = Op.fullyConnected(FullyConnected(weight: ConstantTensor(shape: [2, 3], data: [1, 2]), bias: nil))
        #expect(throws: GraphError.self) {
            try Graph(name: "t", inputs: [TensorInfo(name: "x", shape: [1, 3])], outputs: [TensorInfo(name: "y", shape: [1, 2])],
                      nodes: [Node(name: "n", op: bad, inputs: ["x"], output: "y")])
        }
    }
}

/// The bundled examples (examples/, written by scripts/make_example.py).
let examplesDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("examples")

@Suite struct ExampleModelTests {
    @Test func tinyconvImportsAndClassifiesTheTestSet() throws {
        let g = try ONNXImporter.importModel(at: examplesDir.appendingPathComponent("tinyconv.onnx"))
        #expect(kinds(g) == ["transpose", "conv1x1", "silu", "conv1x1", "silu", "conv1x1", "silu",
                             "reshape", "fullyConnected", "sigmoid"])
        #expect(g.inputs[0].shape == [1, 3, 8, 8] && g.outputs[0].shape == [1, 1])
        let x = try NumPy.read(contentsOf: examplesDir.appendingPathComponent("tinyconv_test.npy"))
        let labels = try NumPy.read(contentsOf: examplesDir.appendingPathComponent("tinyconv_test_labels.npy")).floats()
        #expect(x.shape == [labels.count, 3, 8, 8])
        let calib = try NumPy.read(contentsOf: examplesDir.appendingPathComponent("tinyconv_calib.npy"))
        #expect(calib.shape == [1000, 3, 8, 8])
        let clock = ContinuousClock()
        var y: [Float] = []
        let t = try clock.measure {
            y = try FloatExecutor(graph: g).run([x.floats()], batch: labels.count)[0]
        }
        // Ground-truth labels come from the data generator, not from any model.
        let correct = zip(y, labels).filter { ($0 > 0.5) == ($1 > 0.5) }.count
        let accuracy = Double(correct) / Double(labels.count)
        #expect(accuracy >= 0.95, "float accuracy \(accuracy)")
        print("tinyconv: float accuracy \(accuracy) on \(labels.count) test samples, executor \(t)")
    }

    @Test func autoencoderImportsAndSeparatesAnomalies() throws {
        let g = try ONNXImporter.importModel(at: examplesDir.appendingPathComponent("autoencoder.onnx"))
        let fcs = g.nodes.compactMap { n -> [Int]? in
            if case .fullyConnected(let fc) = n.op { return fc.weight.shape } else { return nil }
        }
        #expect(fcs == [[128, 640], [128, 128], [128, 128], [128, 128], [8, 128], [128, 8],
                        [128, 128], [128, 128], [128, 128], [640, 128]])
        #expect(g.nodes.filter { $0.op == .relu }.count == 9)
        let x = try NumPy.read(contentsOf: examplesDir.appendingPathComponent("autoencoder_test.npy"))
        let labels = try NumPy.read(contentsOf: examplesDir.appendingPathComponent("autoencoder_test_labels.npy")).floats()
        let xs = x.floats()
        let y = try FloatExecutor(graph: g).run([xs], batch: labels.count)[0]
        // Reconstruction error (float64) as the anomaly score; AUC over (anomalous, normal) pairs.
        let err = (0..<labels.count).map { i in
            (0..<640).reduce(0.0) { s, j in let d = Double(y[i * 640 + j] - xs[i * 640 + j]); return s + d * d } / 640
        }
        let pos = zip(err, labels).filter { $0.1 > 0.5 }.map(\.0), neg = zip(err, labels).filter { $0.1 < 0.5 }.map(\.0)
        let auc = Double(pos.reduce(0) { a, p in a + neg.filter { p > $0 }.count }) / Double(pos.count * neg.count)
        #expect(auc > 0.9, "AUC \(auc)")
    }
}
