// Stride hoisting (Graph.hoistingStrides, issue 12): the rewritten float graph against the outputs onnxruntime
// computed on the original ONNX model (scripts/make_stride_fixtures.py), which nodes move (pos_*) and which
// must not (neg_*), the bundled tinyconv, the MLPerf Tiny float models (nothing to rewrite), and QDQ models
// (the rewrite keeps the model's qparams: packed outputs byte-identical to the unrewritten model's, and
// within one code of onnxruntime running the QDQ model).
import Foundation
import Testing
import MQCalibration
import MQGraph
import MQNumPy
import MQPacking
@testable import MQQuantization
@testable import MQONNX

let strideFixtureDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/onnx_stride")
func strideFixture(_ name: String) -> URL { strideFixtureDir.appendingPathComponent(name) }

/// Strides of the 1x1 convolutions of a graph, by node name.
func pointwiseStrides(_ g: Graph) -> [String: [Int]] {
    var r: [String: [Int]] = [:]
    for n in g.nodes {
        switch n.op {
        case .conv1x1(let c): r[n.name] = [c.strideH, c.strideW]
        case .conv(let c) where c.window.kernelH == 1 && c.window.kernelW == 1: r[n.name] = [c.window.strideH, c.window.strideW]
        default: break
        }
    }
    return r
}

/// fixture -> (strided node, expected sources) of every rewrite, in order.
let strideHoistExpected: [String: [(String, [String])]] = [
    "pos_silu_chain": [("/n4/Conv", ["/n1/Conv"])],
    "pos_two_chains": [("/n7/Conv", ["/n3/Conv"]), ("/n3/Conv", ["/n1/Conv"])],
    "pos_dag": [("/n12/Conv", ["/n1/Conv", "/n2/Conv", "/n9/Conv"])],
    "pos_gate": [("/n7/Conv", ["/n4/Conv"])],
    "pos_depthwise_source": [("/n3/Conv", ["/n1/Conv"])],
]

/// fixture -> the strided node left as it is and a word of the reason (nil: not even a candidate, e.g. 3x3).
let strideHoistRefused: [String: (String, String)?] = [
    "neg_second_consumer": ("/n3/Conv", "also read by"),
    "neg_chain_output": ("/n3/Conv", "also read by"),
    "neg_padded": ("/n3/Conv", "padding"),
    "neg_padded_source": ("/n3/Conv", "zero padding"),
    "neg_conv3x3_strided": nil,
    "neg_conv3x3_source": ("/n3/Conv", "3x3 convolution"),
    "neg_graph_input": ("/n2/Conv", "(transpose) in the chain is not a pixel-wise op"),
    "neg_stride4": ("/n3/Conv", "stride 4x4"),
    "neg_pool_in_chain": ("/n4/Conv", "maxPool"),
]

@Suite struct StrideHoistTests {
    /// Float outputs of the rewritten graph vs onnxruntime on the original model (every output), and
    /// bit-identical to the unrewritten graph run by the same executor (the rewrite is exact).
    func checkAgainstOnnxRuntime(_ name: String, _ g: Graph, _ h: Graph) throws {
        let x = try NumPy.read(contentsOf: strideFixture(name + "_input.npy")).floats()
        let batch = x.count / g.inputs[0].elementCount
        #expect(batch == 4)
        let y = try FloatExecutor(graph: h).run([x], batch: batch)
        let y0 = try FloatExecutor(graph: g).run([x], batch: batch)
        #expect(y.count == g.outputs.count)
        for k in g.outputs.indices {
            let ref = try NumPy.read(contentsOf: strideFixture(name + (k == 0 ? "_output.npy" : "_output_\(k).npy"))).floats()
            #expect(y[k].count == ref.count, "\(name) output \(k): \(y[k].count) vs \(ref.count) values")
            #expect(toleranceRatio(y[k], ref, atol: 1e-4, rtol: 1e-4) <= 1, "\(name) output \(k) vs onnxruntime")
            #expect(y[k] == y0[k], "\(name) output \(k): not bit-identical to the graph as imported")
        }
    }

    @Test(arguments: strideHoistExpected.keys.sorted())
    func stridesMoveAndOutputsMatchOnnxRuntime(_ name: String) throws {
        let g = try ONNXImporter.importModel(at: strideFixture(name + ".onnx"))
        let r = try g.hoistingStrides()
        let want = try #require(strideHoistExpected[name])
        #expect(r.rewrites.map(\.node) == want.map(\.0), "\(name): \(r.rewrites.map(\.description))")
        #expect(r.rewrites.map(\.sources) == want.map(\.1), "\(name): \(r.rewrites.map(\.description))")
        // the strided node now runs stride 1; the first source of the last rewrite holds the stride
        let before = pointwiseStrides(g), after = pointwiseStrides(r.graph)
        for (node, sources) in want {
            #expect(after[node] == [1, 1] || want.contains { $0.1.contains(node) }, "\(name): \(node) \(after[node] ?? [])")
            for s in sources where !want.contains(where: { $0.0 == s }) {
                #expect(after[s] == before[s].map { $0.map { $0 * 2 } }, "\(name): source \(s) \(before[s] ?? []) -> \(after[s] ?? [])")
            }
        }
        // every shrunk tensor is a quarter (or less) of its pixels; graph output shapes and names unchanged
        for rw in r.rewrites {
            #expect(!rw.tensors.isEmpty)
            for t in rw.tensors { #expect(t.after[1] * 2 <= t.before[1] + 1 && t.after[2] * 2 <= t.before[2] + 1 && t.after[3] == t.before[3], "\(name): \(t)") }
        }
        #expect(r.graph.outputs == g.outputs && r.graph.nodes.map(\.name) == g.nodes.map(\.name))
        #expect(r.macsAfter < r.macsBefore && r.macsBefore == g.macs)
        #expect(r.skipped.isEmpty, "\(name): \(r.skipped)")
        try checkAgainstOnnxRuntime(name, g, r.graph)
    }

    @Test(arguments: strideHoistRefused.keys.sorted())
    func notRewritten(_ name: String) throws {
        let g = try ONNXImporter.importModel(at: strideFixture(name + ".onnx"))
        let r = try g.hoistingStrides()
        #expect(r.rewrites.isEmpty, "\(name): \(r.rewrites.map(\.description))")
        #expect(r.graph == g && r.macsAfter == r.macsBefore)
        if let (node, why) = strideHoistRefused[name] ?? nil {
            #expect(r.skipped.contains { $0.node == node && $0.reason.contains(why) }, "\(name): \(r.skipped)")
            #expect(r.skipped.count == (name == "neg_stride4" ? 2 : 1), "\(name): \(r.skipped)")
        } else {
            #expect(r.skipped.isEmpty, "\(name): \(r.skipped)")
        }
        try checkAgainstOnnxRuntime(name, g, r.graph)
    }

    /// The bundled example: the stride-2 conv's subsampling moves to the first conv; on the calibration data
    /// the outputs are bit-identical, MACs 19,712 -> 17,408 and the int8 arena halves (1536 -> 768 B).
    @Test func tinyconv() throws {
        let root = strideFixtureDir.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let g = try ONNXImporter.importModel(at: root.appendingPathComponent("examples/tinyconv.onnx"))
        let r = try g.hoistingStrides()
        #expect(r.rewrites.map(\.node) == ["/features.2/Conv"] && r.rewrites.first?.sources == ["/features.0/Conv"])
        #expect(pointwiseStrides(r.graph) == ["/features.0/Conv": [2, 2], "/features.2/Conv": [1, 1], "/features.4/Conv": [1, 1]])
        // MACs written out by hand: 8x8x16x3 + 4x4x32x16 + 4x4x16x32 + 256 before; the first conv on 4x4 after
        #expect(r.macsBefore == 64 * 16 * 3 + 16 * 32 * 16 + 16 * 16 * 32 + 256 && r.macsAfter == 16 * 16 * 3 + 16 * 32 * 16 + 16 * 16 * 32 + 256)
        let x = try NumPy.read(contentsOf: root.appendingPathComponent("examples/tinyconv_calib.npy"))
        let n = min(x.shape[0], 64), e = g.inputs[0].elementCount
        let xs = Array(x.floats()[0..<(n * e)])
        #expect(try FloatExecutor(graph: r.graph).run([xs], batch: n) == FloatExecutor(graph: g).run([xs], batch: n))
        func arena(_ graph: Graph) throws -> Int {
            let data = CalibrationData(inputs: [xs], count: n)
            let plan = try QuantizationPlan(graph: graph)
            let obs = try Calibrator.run(graph: graph, plan: plan, data: data, kind: .minmax)
            return MemoryPlanner.plan(try Quantizer.quantize(graph: graph, plan: plan, observers: obs, dtype: .uint8, observer: .minmax)).arenaSize
        }
        // arena: before, the 8x8x16 SiLU output + the 4x4x32 output of the strided conv; after, 4x4x16 + 4x4x32
        #expect(try arena(g) == 8 * 8 * 16 + 4 * 4 * 32)
        #expect(try arena(r.graph) == 4 * 4 * 16 + 4 * 4 * 32)
    }

    /// The documented --precision structure of the hoisted tinyconv (docs/CALIBRATION.md): every subset of the
    /// 16x8-capable layers planned; within 1.25 x the int8 arena only the first conv and the head can be int16
    /// (4 subsets, the largest 896 B), every other subset needs all-int16's arena, 2 x the int8 arena.
    @Test func tinyconvPrecisionArenas() throws {
        let root = strideFixtureDir.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let g = try ONNXImporter.importModel(at: root.appendingPathComponent("examples/tinyconv.onnx")).hoistingStrides().graph
        let x = try NumPy.read(contentsOf: root.appendingPathComponent("examples/tinyconv_calib.npy"))
        let data = try CalibrationData.single(graph: g, values: Array(x.floats().prefix(32 * 192)), shape: [32] + Array(x.shape.dropFirst()))
        let plan = try QuantizationPlan(graph: g)
        let m8 = try Quantizer.quantize(graph: g, plan: plan, observers: try Calibrator.run(graph: g, plan: plan, data: data, kind: .minmax),
                                        dtype: .uint8, observer: .minmax)
        let cands = m8.nodes.indices.filter { Precision.promotable(m8, node: $0, graph: g) }
        #expect(cands.map { m8.nodes[$0].name } == ["/features.0/Conv", "/features.2/Conv", "/features.4/Conv", "/head/Gemm"])
        let a8 = MemoryPlanner.plan(m8).arenaSize
        #expect(a8 == 768)
        var fits: [[String]: Int] = [:], over: [Int] = []
        for mask in 0..<(1 << cands.count) {
            let set = Set(cands.indices.filter { mask & (1 << $0) != 0 }.map { cands[$0] })
            let a = MemoryPlanner.plan(try Precision.apply(m8, graph: g, promote: set)).arenaSize
            if a * 4 <= a8 * 5 { fits[set.sorted().map { m8.nodes[$0].name }] = a } else { over.append(a) }
        }
        #expect(fits == [[]: 768, ["/head/Gemm"]: 768, ["/features.0/Conv"]: 896, ["/features.0/Conv", "/head/Gemm"]: 896], "\(fits)")
        #expect(over.count == 12 && over.allSatisfy { $0 == 2 * a8 }, "\(over)")
    }

    /// KWS and AD have no strided 1x1 convolution: nothing changes.
    @Test(arguments: ["kws_ref_model_float", "ad01_float"])
    func mlperfTinyUnchanged(_ model: String) throws {
        guard let dir = mlperfTinyDir() else {
            Issue.record("shared/models/mlperf-tiny not found above \(#filePath)")
            return
        }
        let g = try ONNXImporter.importModel(at: dir.appendingPathComponent(model + ".onnx"))
        let r = try g.hoistingStrides()
        #expect(r.rewrites.isEmpty && r.skipped.isEmpty && r.graph == g)
    }

    /// QDQ models: the rewrite keeps names, so every qparams of the model still applies; the packed model's
    /// output codes are byte-identical to the unrewritten model's and within one code of onnxruntime's.
    @Test(arguments: ["pos_silu_chain", "pos_two_chains"], ["u8", "s8"])
    func qdqOutputsUnchanged(_ name: String, _ tag: String) throws {
        let g = try ONNXImporter.importModel(at: strideFixture("\(name)_qdq_\(tag).onnx"))
        #expect(!g.quantization.isEmpty)
        let r = try g.hoistingStrides()
        #expect(r.rewrites.map(\.node) == strideHoistExpected[name]?.map(\.0))
        #expect(r.graph.quantization == g.quantization && r.graph.weightScales == g.weightScales)
        let dtype = try #require(try Quantizer.qdqActivationDType(g))
        func packed(_ graph: Graph) throws -> (PackedModel, QuantizedModel) {
            let qm = try Quantizer.quantize(graph: graph, plan: try QuantizationPlan(graph: graph), observers: [:], dtype: dtype, observer: .minmax)
            let bytes = try Packer.pack(qm, plan: MemoryPlanner.plan(qm), metadata: PackMetadata(sourceName: name, sourceSHA256: [], calibrationMethod: "qdq"))
            return (try PackedModel(bytes: bytes), qm)
        }
        let (m0, q0) = try packed(g), (m1, q1) = try packed(r.graph)
        #expect(MemoryPlanner.plan(q1).arenaSize < MemoryPlanner.plan(q0).arenaSize)
        let x = try NumPy.read(contentsOf: strideFixture(name + "_input.npy")).floats()
        let ref = try NumPy.read(contentsOf: strideFixture("\(name)_qdq_\(tag)_ort.npy")).floats()
        let inQ = q1.tensors[q1.inputs[0]].qparams, outQ = q1.tensors[q1.outputs[0]].qparams
        #expect(inQ == q0.tensors[q0.inputs[0]].qparams && outQ == q0.tensors[q0.outputs[0]].qparams)
        let e = g.inputs[0].elementCount, samples = x.count / e
        var worst: Int32 = 0
        for s in 0..<samples {
            let codes = x[(s * e)..<((s + 1) * e)].map { UInt8(truncatingIfNeeded: inQ.quantize($0)) }
            let a = try m0.run([codes])[0], b = try m1.run([codes])[0]
            #expect(a == b, "\(name)_\(tag) sample \(s): rewritten model's codes differ")
            let n = b.count
            for i in 0..<n {
                let ours = outQ.dtype == .int8 ? Int32(Int8(bitPattern: b[i])) : Int32(b[i])
                let theirs = Int32((Double(ref[s * n + i]) / Double(outQ.scale)).rounded()) + outQ.zeroPoint
                worst = max(worst, abs(ours - theirs))
            }
        }
        #expect(worst <= 1, "\(name)_\(tag): worst difference to onnxruntime \(worst) codes")
    }
}
