// calibrate --precision: int16 layers in the packed model (format 2.1) against an int64 reference written here, and
// the auto choice's goal on examples/bandlevels.onnx (a regression model with a wide-range layer).
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

/// TFLite's double-rounding requantization (SaturatingRoundingDoublingHighMul, RoundingDivideByPOT), in Int64 here.
private func refRequantize(_ acc: Int32, _ m: Int32, _ shift: Int32) -> Int32 {
    let left = max(shift, 0), right = max(-shift, 0)
    let x = Int64(acc) << Int64(left)
    let xw = Int32(truncatingIfNeeded: x)
    var hi: Int64
    if xw == Int32.min && m == Int32.min { hi = Int64(Int32.max) } else {
        let p = Int64(xw) * Int64(m) + (Int64(1) << 30)
        hi = p >= 0 ? p >> 31 : -((-p + (Int64(1) << 31) - 1) >> 31)  // floor division by 2^31
    }
    if right == 0 { return Int32(hi) }
    let mag = (abs(hi) + (Int64(1) << Int64(right - 1))) >> Int64(right)
    return Int32(hi < 0 ? -mag : mag)
}

/// TFLite's MultiplyByQuantizedMultiplier(int64, int32, int) with its 16-bit rounded multiplier.
private func refRequantize64(_ acc: Int64, _ m: Int32, _ shift: Int32) -> Int64 {
    let m16: Int64 = m < 0x7FFF_0000 ? (Int64(m) + 32768) >> 16 : 0x7FFF
    let total = Int64(15 - shift)
    let v = acc * m16 + (Int64(1) << (total - 1))
    return v >= 0 ? v >> total : -((-v + (Int64(1) << total) - 1) >> total)
}

private func clamp(_ v: Int64, _ lo: Int64, _ hi: Int64) -> Int64 { min(max(v, lo), hi) }

private func bandlevels() throws -> (Graph, CalibrationData, CalibrationData) {
    let ex = packageRoot.appendingPathComponent("examples")
    let graph = try ONNXImporter.importModel(at: ex.appendingPathComponent("bandlevels.onnx"))
    let c = try NumPy.read(contentsOf: ex.appendingPathComponent("bandlevels_calib.npy"))
    let t = try NumPy.read(contentsOf: ex.appendingPathComponent("bandlevels_test.npy"))
    return (graph, try CalibrationData.single(graph: graph, values: c.floats(), shape: c.shape),
            try CalibrationData.single(graph: graph, values: t.floats(), shape: t.shape))
}

private func quantize8(_ graph: Graph, _ data: CalibrationData) throws -> QuantizedModel {
    let plan = try QuantizationPlan(graph: graph)
    let obs = try Calibrator.run(graph: graph, plan: plan, data: data, kind: .minmax)
    return try Quantizer.quantize(graph: graph, plan: plan, observers: obs, dtype: .int8, observer: .minmax)
}

@Suite struct PrecisionTests {
    /// Every layer of bandlevels in int16: the packed model's output bytes equal an Int64 evaluation of the same
    /// constants written here (conversions with double rounding, 16x8 FC with the int64 output stage).
    @Test func int16ModelMatchesInt64Reference() throws {
        let (graph, calib, test) = try bandlevels()
        let m8 = try quantize8(graph, calib)
        let all = Set(m8.nodes.indices)
        let m16 = try Precision.apply(m8, graph: graph, promote: all)
        #expect(m16.nodes.contains { if case .fullyConnectedS16 = $0.op { return true } else { return false } })
        let bytes = try Packer.pack(m16, plan: MemoryPlanner.plan(m16), metadata: PackMetadata(sourceName: "t", sourceSHA256: [], calibrationMethod: "t"))
        #expect(bytes[6] == 1 && bytes[26] == 1, "int16 models are format 2.1, runtime 2.1")
        let runner = try PackedModel(bytes: bytes)
        let inQ = m16.tensors[m16.inputs[0]].qparams
        let e = graph.inputs[0].elementCount
        for s in 0..<16 {
            let x = Array(test.inputs[0][(s * e)..<((s + 1) * e)])
            let codes = x.map { UInt8(truncatingIfNeeded: inQ.quantize($0)) }
            // reference: every tensor's integer codes, op by op
            var v: [Int: [Int64]] = [m16.inputs[0]: codes.map { Int64(Int8(bitPattern: $0)) }]
            for n in m16.nodes {
                guard let x = v[n.inputs[0]] else { Issue.record("no value for \(n.name)"); return }
                let inT = m16.tensors[n.inputs[0]], outT = m16.tensors[n.output]
                switch n.op {
                case let .quantizeS16(mm, sh):
                    v[n.output] = x.map { clamp(Int64(refRequantize(Int32($0 - Int64(inT.qparams.zeroPoint)), mm, sh)), -32768, 32767) }
                case let .requantizeS16To8(mm, sh):
                    let q = outT.qparams
                    v[n.output] = x.map { clamp(Int64(refRequantize(Int32($0), mm, sh)) + Int64(q.zeroPoint), Int64(q.dtype.qmin), Int64(q.dtype.qmax)) }
                case .fullyConnectedS16(let g):
                    var y: [Int64] = []
                    for c in 0..<g.n {
                        var acc = g.bias[c]
                        for k in 0..<g.k { acc += x[k] * Int64(g.weights[c * g.k + k]) }
                        y.append(clamp(refRequantize64(acc, g.multipliers[c], g.shifts[c]), Int64(g.actMin), Int64(g.actMax)))
                    }
                    v[n.output] = y
                case .reshape:
                    v[n.output] = x
                default:
                    Issue.record("unexpected op \(n.op.kind) in bandlevels")
                    return
                }
            }
            let want = (v[m16.outputs[0]] ?? []).map { UInt8(truncatingIfNeeded: $0) }
            let got = try runner.run([codes])[0]
            #expect(got == want, "sample \(s): packed model \(got), Int64 reference \(want)")
        }
    }

    /// The goal of issue 12 on bandlevels: auto with the default budget (1.25 x the int8 arena) recovers at least
    /// half of the SQNR gap between all-int8 and all-int16, inside the budget and below all-int16's arena; both with
    /// the exhaustive search (4 candidates) and with the greedy one (forced by exhaustiveLimit 0), with held-out data.
    @Test(arguments: [6, 0]) func autoRecoversHalfTheGapWithinBudget(exhaustiveLimit: Int) throws {
        let (graph, calib, test) = try bandlevels()
        let m8 = try quantize8(graph, calib)
        let choice = try PrecisionSearch.choose(mode: .auto, base: m8, graph: graph, data: calib, ramBudget: nil, maxSamples: 64,
                                                heldOut: test, exhaustiveLimit: exhaustiveLimit)
        #expect(choice.summary.search == (exhaustiveLimit > 0 ? "exhaustive" : "greedy + one-layer flips"))
        #expect(choice.summary.heldOutSamples == 64 && choice.summary.curve.allSatisfy { $0.heldOutSQNRDB != nil })
        let curve = choice.summary.curve
        #expect(curve.count >= 3)
        guard let first = curve.first, let last = curve.last, curve.count >= 3 else { return }
        guard let auto = curve.first(where: { $0.chosen == true }) else { Issue.record("no chosen point: \(curve)"); return }
        #expect(first.label == "all int8" && last.label == "all int16")
        #expect(last.sqnrDB - first.sqnrDB > 10, "int16 should matter on this model: \(curve)")
        #expect(auto.sqnrDB - first.sqnrDB >= 0.5 * (last.sqnrDB - first.sqnrDB), "\(curve)")
        #expect(auto.arenaBytes <= choice.summary.ramBudget ?? 0)
        #expect(Double(auto.arenaBytes) <= 1.25 * Double(first.arenaBytes))
        #expect(auto.arenaBytes < last.arenaBytes)
        // the chosen model is the one the curve's last auto step measured
        let promoted = choice.summary.layers.filter { $0.precision == "int16" }.map(\.name)
        #expect(promoted.contains("energy"), "the wide-range layer must be promoted: \(choice.summary.layers)")
        #expect(MemoryPlanner.plan(choice.model).arenaSize == auto.arenaBytes)
    }

    /// The exhaustive auto search against a brute force written here: every subset of the 16x8-capable layers is
    /// rewritten, planned, packed and run through the C runtime, its output SQNR against the float executor summed
    /// here in Double; the search's model must fit the budget and score (by this test's own measure) within 0.01 dB
    /// of the best subset that fits. Models are measured as calibrate ships them (StreamFusion.best: pixel-wise chains
    /// streamed where that lowers the arena). On tinyconv with 1.25 x the (streamed) int8 arena the brute force also
    /// pins the documented result: every subset fits, and the choice recovers at least half of the int8 -> int16 gap.
    @Test func autoMatchesBruteForceOverAllSubsets() throws {
        let ex = packageRoot.appendingPathComponent("examples")
        for (name, budgetFactor) in [("tinyconv", 1.25), ("bandlevels", 1.25), ("bandlevels", 1.0)] {
            let graph = try ONNXImporter.importModel(at: ex.appendingPathComponent("\(name).onnx"))
            let x = try NumPy.read(contentsOf: ex.appendingPathComponent("\(name)_calib.npy"))
            let e = x.shape.dropFirst().reduce(1, *)
            let data = try CalibrationData.single(graph: graph, values: Array(x.floats().prefix(64 * e)), shape: [64] + Array(x.shape.dropFirst()))
            let m8 = try quantize8(graph, data)
            let n = 24
            let exec = try FloatExecutor(graph: graph)
            let xs = (0..<n).map { data.slice($0, 1, graph: graph) }
            let fs = try xs.map { try exec.run($0, batch: 1) { _ in } }
            func measure(_ m0: QuantizedModel) throws -> (sqnr: Double, arena: Int) {
                let m = StreamFusion.best(m0)
                let plan = MemoryPlanner.plan(m)
                let runner = try PackedModel(bytes: try Packer.pack(m, plan: plan, metadata: PackMetadata(sourceName: "t", sourceSHA256: [], calibrationMethod: "t")))
                var sig = 0.0, noise = 0.0
                for k in 0..<n {
                    let q = m.tensors[m.inputs[0]].qparams
                    let outs = try runner.run([xs[k][0].map { UInt8(truncatingIfNeeded: q.quantize($0)) }])
                    for (j, codes) in outs.enumerated() {
                        let oq = m.tensors[m.outputs[j]].qparams
                        #expect(!m.tensors[m.outputs[j]].isInt16, "model outputs stay 8-bit")
                        for (i, c) in codes.enumerated() {
                            let code = oq.dtype == .uint8 ? Double(c) : Double(Int8(bitPattern: c))
                            let v = (code - Double(oq.zeroPoint)) * Double(oq.scale), f = Double(fs[k][j][i])
                            sig += f * f
                            noise += (f - v) * (f - v)
                        }
                    }
                }
                return (10 * log10(sig / max(noise, 1e-30)), plan.arenaSize)
            }
            let cands = m8.nodes.indices.filter { Precision.promotable(m8, node: $0, graph: graph) }
            #expect(cands.count >= 3 && cands.count <= 6, "\(name): \(cands.count) candidates")
            let a8 = MemoryPlanner.plan(StreamFusion.best(m8)).arenaSize
            let budget = Int(Double(a8) * budgetFactor)
            var all: [(mask: Int, sqnr: Double, arena: Int)] = []
            for mask in 0..<(1 << cands.count) {
                let set = Set(cands.indices.filter { mask & (1 << $0) != 0 }.map { cands[$0] })
                guard let m = try? Precision.apply(m8, graph: graph, promote: set) else { continue }
                let r = try measure(m)
                all.append((mask, r.sqnr, r.arena))
            }
            let fits = all.filter { $0.arena <= budget }
            guard let best = fits.max(by: { $0.sqnr < $1.sqnr }), let s8 = all.first(where: { $0.mask == 0 }),
                  let s16 = all.first(where: { $0.mask == (1 << cands.count) - 1 }) else {
                Issue.record("\(name): no subset measured"); continue
            }
            let choice = try PrecisionSearch.choose(mode: .auto, base: m8, graph: graph, data: data, ramBudget: budget, maxSamples: n)
            #expect(choice.summary.search == "exhaustive")
            let got = try measure(choice.model)
            #expect(got.arena <= budget, "\(name) x\(budgetFactor): arena \(got.arena) > budget \(budget)")
            #expect(got.sqnr >= best.sqnr - 0.01, "\(name) x\(budgetFactor): chose \(got.sqnr) dB, the best subset within \(budget) B scores \(best.sqnr) dB")
            // the chosen point of the curve is this model; the curve's arenas and SQNRs rise together
            let chosen = choice.summary.curve.filter { $0.chosen == true }
            #expect(chosen.count == 1 && chosen.first?.arenaBytes == got.arena, "\(choice.summary.curve)")
            if let c = chosen.first { #expect(abs(c.sqnrDB - got.sqnr) < 1e-4, "\(c.sqnrDB) vs \(got.sqnr)") }
            // greedy + one-layer flips (what models with more than 6 candidates get) reaches the same optimum here
            let greedy = try PrecisionSearch.choose(mode: .auto, base: m8, graph: graph, data: data, ramBudget: budget, maxSamples: n,
                                                    exhaustiveLimit: 0)
            let g = try measure(greedy.model)
            #expect(g.arena <= budget && g.sqnr >= best.sqnr - 0.01, "\(name) x\(budgetFactor) greedy: \(g) vs best \(best)")
            // the curve: all int8, the Pareto front (arena and SQNR rising together), all int16 last
            let curve = choice.summary.curve
            let front = curve.dropLast()
            for (p, q) in zip(front, front.dropFirst()) {
                #expect(p.arenaBytes <= q.arenaBytes && p.sqnrDB < q.sqnrDB, "\(name): curve not a front: \(curve)")
            }
            #expect(curve.first?.label == "all int8" && curve.last?.label == "all int16")
            #expect(abs((curve.first?.sqnrDB ?? 0) - s8.sqnr) < 1e-4 && abs((curve.last?.sqnrDB ?? 0) - s16.sqnr) < 1e-4, "\(name): \(s8) \(s16) \(curve)")
            #expect(front.allSatisfy { $0.arenaBytes <= s16.arena })
            if name == "tinyconv" {
                // streamed pixel by pixel (docs/CALIBRATION.md): int8 272 B, every subset within 1.25 x of it (all int16
                // 320 B), and the choice recovers at least half of the gap (issue 12's goal)
                #expect(a8 == 272 && s16.arena == 320, "\(a8) \(s16)")
                #expect(all.allSatisfy { $0.arena <= budget }, "\(all.map { ($0.mask, $0.arena) })")
                #expect(got.sqnr - s8.sqnr >= 0.5 * (s16.sqnr - s8.sqnr), "\(s8.sqnr) -> \(got.sqnr) of \(s16.sqnr)")
            }
        }
    }

    /// --precision int16 on a model with ops that have no 16x8 kernel (transpose, softmax) keeps them 8-bit, with
    /// conversions around; the packed model loads and runs.
    @Test func mixedModelPacksAndRuns() throws {
        let graph = try ONNXImporter.importModel(at: packageRoot.appendingPathComponent("examples/tinyconv.onnx"))
        let x = try NumPy.read(contentsOf: packageRoot.appendingPathComponent("examples/tinyconv_calib.npy"))
        let data = try CalibrationData.single(graph: graph, values: Array(x.floats().prefix(64 * 192)), shape: [64] + Array(x.shape.dropFirst()))
        let m8 = try quantize8(graph, data)
        let choice = try PrecisionSearch.choose(mode: .int16, base: m8, graph: graph, data: data, ramBudget: nil, maxSamples: 16)
        let kinds = choice.model.nodes.map(\.op.kind)
        #expect(kinds.contains("conv_s16") && kinds.contains("quantize_s16") && kinds.contains("transpose"), "\(kinds)")
        guard let a = choice.summary.curve.first, let b = choice.summary.curve.last else { Issue.record("no curve"); return }
        #expect(b.sqnrDB > a.sqnrDB, "int16 should not be worse than int8 here: \(choice.summary.curve)")
    }

    /// A softmax along the last axis becomes TFLite's int16 softmax (SOFTMAX_S16) under --precision int16.
    @Test func softmaxLastAxisRunsInInt16() throws {
        let dir = packageRoot.appendingPathComponent("Tests/MicroQuantTests/Fixtures/onnx")
        let graph = try ONNXImporter.importModel(at: dir.appendingPathComponent("softmax_conv_channels.onnx"))
        let x = try NumPy.read(contentsOf: dir.appendingPathComponent("softmax_conv_channels_input.npy"))
        let data = try CalibrationData.single(graph: graph, values: x.floats(), shape: x.shape)
        let m8 = try quantize8(graph, data)
        let choice = try PrecisionSearch.choose(mode: .int16, base: m8, graph: graph, data: data, ramBudget: nil, maxSamples: 4)
        #expect(choice.model.nodes.contains { $0.op.kind == "softmax_s16" }, "\(choice.model.nodes.map(\.op.kind))")
        guard let a = choice.summary.curve.first, let b = choice.summary.curve.last else { Issue.record("no curve"); return }
        #expect(b.sqnrDB > a.sqnrDB + 1, "\(choice.summary.curve)")
    }
}
