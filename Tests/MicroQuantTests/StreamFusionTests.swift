// Pixel-streamed chains (MQPacking.StreamFusion, packed STREAM_FC / STREAM_FC_S16): the streamed model is packed,
// loaded and run through the C runtime and must give the unstreamed model's output bytes, for the bundled tinyconv
// (as imported and with stride hoisting) in int8, int16 and every mixed precision subset; its arena is the
// documented one; models without such a chain (bandlevels) are left as they are.

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
@testable import MQSimulation

private func outputsBytes(_ m: QuantizedModel, _ xs: [[[Float]]]) throws -> [[UInt8]] {
    let plan = MemoryPlanner.plan(m)
    let runner = try PackedModel(bytes: try Packer.pack(m, plan: plan, metadata: PackMetadata(sourceName: "t", sourceSHA256: [],
                                                                                             calibrationMethod: "t")))
    return try xs.map { x in
        let q = m.tensors[m.inputs[0]].qparams
        return try runner.run([x[0].map { UInt8(truncatingIfNeeded: q.quantize($0)) }]).flatMap { $0 }
    }
}

@Suite struct StreamFusionTests {
    @Test(arguments: [false, true])
    func tinyconvStreamedEqualsUnstreamed(hoist: Bool) throws {
        let ex = packageRoot.appendingPathComponent("examples")
        var graph = try ONNXImporter.importModel(at: ex.appendingPathComponent("tinyconv.onnx"))
        if hoist { graph = try graph.hoistingStrides().graph }
        let x = try NumPy.read(contentsOf: ex.appendingPathComponent("tinyconv_calib.npy"))
        let data = try CalibrationData.single(graph: graph, values: Array(x.floats().prefix(48 * 192)), shape: [48] + Array(x.shape.dropFirst()))
        let plan = try QuantizationPlan(graph: graph)
        let m8 = try Quantizer.quantize(graph: graph, plan: plan, observers: try Calibrator.run(graph: graph, plan: plan, data: data, kind: .minmax),
                                        dtype: .uint8, observer: .minmax)
        let xs = (0..<48).map { data.slice($0, 1, graph: graph) }
        let cands = m8.nodes.indices.filter { Precision.promotable(m8, node: $0, graph: graph) }
        #expect(cands.count == 4)
        var compared = 0
        for mask in 0..<(1 << cands.count) {
            let set = Set(cands.indices.filter { mask & (1 << $0) != 0 }.map { cands[$0] })
            let m = try Precision.apply(m8, graph: graph, promote: set)
            guard let f = StreamFusion.fused(m) else { Issue.record("subset \(mask): no chain streamed"); continue }
            // one head, its members right after it, every member flagged and nothing else
            let heads = f.nodes.indices.filter { f.nodes[$0].stream != nil }
            #expect(heads.count == 1)
            if let h = heads.first, let st = f.nodes[h].stream {
                #expect(st.outH == 4 && st.outW == 4 && st.strideH == 2 && st.strideW == 2 && st.nchw)
                #expect(f.nodes.indices.filter { f.nodes[$0].streamMember } == Array((h + 1)...(h + st.members)))
            }
            #expect(try outputsBytes(f, xs) == outputsBytes(m, xs), "subset \(mask): streamed output bytes differ")
            compared += xs.count
            let a = MemoryPlanner.plan(f).arenaSize
            if mask == 0 { #expect(a == 272, "int8 streamed arena \(a)") }
            if mask == (1 << cands.count) - 1 { #expect(a == 320, "int16 streamed arena \(a)") }
            #expect(StreamFusion.best(m).nodes.contains { $0.stream != nil }, "subset \(mask): streaming should lower the arena")
        }
        #expect(compared == 16 * 48)
    }

    /// The fit report's estimate of a streamed chain: each member's kernel terms once per grid pixel, the interpreter's
    /// share (per_op: the streamed op prepares every member once per call) once per layer.
    @Test func streamedEstimateChargesTheInterpreterOncePerLayer() throws {
        let ex = packageRoot.appendingPathComponent("examples")
        let graph = try ONNXImporter.importModel(at: ex.appendingPathComponent("tinyconv.onnx")).hoistingStrides().graph
        let x = try NumPy.read(contentsOf: ex.appendingPathComponent("tinyconv_calib.npy"))
        let m8 = try minmaxQuantized(graph, x, samples: 16, dtype: .uint8)
        let f = try #require(StreamFusion.fused(m8))
        let model = try MQSimulation.PackedModel(bytes: try Packer.pack(f, plan: MemoryPlanner.plan(f), metadata: PackMetadata(sourceName: "t", sourceSHA256: [],
                                                                                                               calibrationMethod: "t")))
        let catalog = BoardCatalog(directory: packageRoot.appendingPathComponent("boards"))
        let board = try catalog.board(named: "mps2-an386")
        let sizes = try catalog.runtimeSizes(), costs = try catalog.costModel()
        let base = try JSONSerialization.jsonObject(with: JSONEncoder().encode(try #require(costs.cores["cortex-m4"]))) as! [String: Any]
        func report(_ change: [String: Any]) throws -> FitReport {
            let table: [String: Any] = ["note": costs.note, "cores": ["cortex-m4": base.merging(change) { $1 }]]
            return try FitReport(model: model, board: board, sizes: sizes,
                                 costs: try JSONDecoder().decode(CostModel.self, from: JSONSerialization.data(withJSONObject: table)))
        }
        let c = try #require(costs.cores["cortex-m4"])
        let r0 = try report([:]), r1 = try report(["per_op": c.per_op + 1, "fc_per_output": c.fc_per_output + 1])
        let members = r0.layers.filter { $0.layer.repeats > 1 }
        #expect(members.count == 3, "the three 1x1 convs run per pixel")
        for (a, b) in zip(r0.layers, r1.layers) where a.layer.repeats > 1 {
            // +1 per layer (per_op) + 1 per output element per pixel (fc_per_output: the member runs as one FC row)
            #expect(abs((b.instructions - a.instructions) - (1 + Double(a.layer.outputElements * a.layer.repeats))) < 1e-6,
                    "layer \(a.layer.index): \(b.instructions - a.instructions)")
        }
        // The streamed op prepares each member once per call and runs a prepared GEMM row per pixel: the whole
        // layer's per-call set-up (fc_per_call) is not charged per pixel; the row's measured fixed cost
        // (stream_per_pixel_member) is, and the head's per-pixel gather / accumulate (stream_per_pixel) once per
        // grid pixel.
        let pc = try #require(c.fc_per_call), spm = try #require(c.stream_per_pixel_member), spp = try #require(c.stream_per_pixel)
        let r2 = try report(["fc_per_call": pc + 1000]), r3 = try report(["stream_per_pixel_member": spm + 1]),
            r4 = try report(["stream_per_pixel": spp + 1])
        let head = try #require(r0.layers.first { $0.layer.kind == .streamFC })
        #expect(head.layer.streamGridPixels == 16, "tinyconv's grid is 4 x 4")
        for (i, a) in r0.layers.enumerated() {
            let d2 = r2.layers[i].instructions - a.instructions, d3 = r3.layers[i].instructions - a.instructions
            let d4 = r4.layers[i].instructions - a.instructions
            if a.layer.repeats > 1 {
                #expect(abs(d2) < 1e-6, "member \(a.layer.index): fc_per_call + 1000 changed it by \(d2) (charged per pixel?)")
                #expect(abs(d3 - Double(a.layer.repeats)) < 1e-6, "member \(a.layer.index): stream_per_pixel_member + 1 gave \(d3)")
            }
            #expect(abs(d4 - Double(a.layer.streamGridPixels)) < 1e-6, "layer \(a.layer.index): stream_per_pixel + 1 gave \(d4)")
        }
        // the committed M4 figures against the exact count of the bundled example (README, simulate --qemu)
        let est = r0.layers.reduce(0) { $0 + $1.instructions }
        #expect(est > 0.9 * 63_762 && est < 1.1 * 63_762, "streamed tinyconv on M4: estimate \(est) vs measured 63,762")
    }

    /// Nothing to stream: bandlevels (fully connected layers only) and a chain whose intermediate is a model output.
    @Test func leftAloneWithoutAChain() throws {
        let ex = packageRoot.appendingPathComponent("examples")
        let g = try ONNXImporter.importModel(at: ex.appendingPathComponent("bandlevels.onnx"))
        let c = try NumPy.read(contentsOf: ex.appendingPathComponent("bandlevels_calib.npy"))
        let m = try minmaxQuantized(g, c, samples: 16, dtype: .int8)
        #expect(StreamFusion.fused(m) == nil)

        let tg = try ONNXImporter.importModel(at: ex.appendingPathComponent("tinyconv.onnx"))
        let x = try NumPy.read(contentsOf: ex.appendingPathComponent("tinyconv_calib.npy"))
        var tm = try minmaxQuantized(tg, x, samples: 8, dtype: .uint8)
        #expect(StreamFusion.fused(tm) != nil)
        // the flattened tensor's source a model output too (as in the report's debug model): no chain
        if let flat = tm.nodes.first(where: { if case .reshape = $0.op { return true } else { return false } }) {
            tm.outputs.append(flat.inputs[0])
            #expect(StreamFusion.fused(tm) == nil)
        } else {
            Issue.record("tinyconv has no flatten")
        }
    }
}
