// `calibrate --precision int8|int16|auto --ram-budget BYTES`: which layers run on int16 activations.
//
// Every candidate is measured, not estimated: the model is rewritten (Precision.apply), planned (MemoryPlanner: the
// real arena, conversions and their buffers included), packed and run through the C runtime on the calibration
// samples; its score is the SQNR of all model outputs against the float executor.
//
// auto: (1) each promotable layer's output activation in int16 (the layer and the 16x8-capable consumers of that
// output on int16, everything else int8) gives its gain (dB over all-int8) and its extra arena bytes (the report's
// per-layer columns). (2) With at most `exhaustiveLimit` (6) promotable layers every subset of them is rewritten,
// planned and scored; the choice is the best SQNR among the subsets that fit the budget, the curve the Pareto front
// of all subsets (inside and beyond the budget). (3) With more, greedy: layers are tried in order of gain per extra
// byte (a layer that costs no arena first), then those that gained nothing alone (cheapest first), each kept when the
// model with it still fits the budget and its SQNR rises; then one-layer flips (add one left 8-bit, or drop one
// promoted: the best flip that fits and gains > 0.01 dB, repeated until none does), then all-int16 when it fits and
// scores higher; the curve lists all-int8, every kept step and all-int16. Held-out data (`--test`), when given, is
// scored for the curve points only: the search never sees it.

import Foundation
import MQCalibration
import MQGraph
import MQPacking
import MQQuantization

/// The precision part of the report.
public struct PrecisionSummary: Codable, Sendable {
    public struct Layer: Codable, Sendable {
        public var name: String
        public var op: String
        public var precision: String
        public var reason: String
        public var gainDB: Double?
        public var extraArenaBytes: Int?
    }
    /// One point of the SQNR-vs-arena curve.
    public struct Point: Codable, Sendable {
        public var label: String
        public var arenaBytes: Int
        public var sqnrDB: Double
        /// The same model's SQNR on held-out data (`--test`), when given: the search never sees it.
        public var heldOutSQNRDB: Double?
        /// The point of the model chosen.
        public var chosen: Bool?
    }
    public var mode: String
    /// auto: the arena budget in bytes (default 1.25 x the all-int8 arena).
    public var ramBudget: Int?
    public var layers: [Layer]
    public var curve: [Point]
    /// Samples of the calibration data the candidates were scored on.
    public var scoredSamples: Int
    /// auto: "exhaustive" (every subset of the promotable layers planned and scored) or "greedy".
    public var search: String?
    /// Samples of the held-out data the curve points were also scored on (0: none given).
    public var heldOutSamples: Int?
}

/// The result of the precision choice.
public struct PrecisionChoice {
    public var model: QuantizedModel
    public var summary: PrecisionSummary
}

public enum PrecisionSearch {
    /// Scores models on fixed samples: output SQNR (all outputs together) of the packed model against float.
    final class Scorer {
        let graph: Graph
        let samples: [[[Float]]]
        let floats: [[[Float]]]
        /// Score (and measure the arena of) the model as it is shipped: its pixel-wise chains streamed where that
        /// lowers the arena (StreamFusion.best), as calibrate packs it.
        let stream: Bool
        init(graph: Graph, data: CalibrationData, maxSamples: Int, stream: Bool = true) throws {
            self.graph = graph
            self.stream = stream
            let n = min(maxSamples, data.count)
            guard n > 0 else { throw QuantizationError.emptyDataSet("no samples to score the precision choice on") }
            let exec = try FloatExecutor(graph: graph)
            var s: [[[Float]]] = [], f: [[[Float]]] = []
            for i in 0..<n {
                let x = data.slice(i, 1, graph: graph)
                s.append(x)
                f.append(try exec.run(x, batch: 1) { _ in })
            }
            samples = s
            floats = f
        }

        func score(_ m0: QuantizedModel) throws -> (sqnr: Double, arena: Int) {
            let m = stream ? StreamFusion.best(m0) : m0
            let plan = MemoryPlanner.plan(m)
            let bytes = try Packer.pack(m, plan: plan, metadata: PackMetadata(sourceName: "precision", sourceSHA256: [],
                                                                            calibrationMethod: "precision"))
            let runner = try PackedModel(bytes: bytes)
            var acc = SQNRAccumulator()
            for (k, x) in samples.enumerated() {
                let codes = m.inputs.enumerated().map { (j, t) -> [UInt8] in
                    let q = m.tensors[t].qparams
                    return x[j].map { UInt8(truncatingIfNeeded: q.quantize($0)) }
                }
                let outs = try runner.run(codes)
                for (j, c) in outs.enumerated() where j < floats[k].count {
                    acc.add(float: floats[k][j], quantized: dequantize(c, m.tensors[m.outputs[j]]))
                }
            }
            return (acc.db, plan.arenaSize)
        }
    }

    /// Chooses the precision of every layer of the 8-bit model `base` (see the file comment).
    public static func choose(mode: PrecisionMode, base: QuantizedModel, graph: Graph, data: CalibrationData,
                              ramBudget: Int?, maxSamples: Int, heldOut: CalibrationData? = nil,
                              exhaustiveLimit: Int = 6, stream: Bool = true,
                              log: (String) -> Void = { _ in }) throws -> PrecisionChoice {
        let scorer = try Scorer(graph: graph, data: data, maxSamples: maxSamples, stream: stream)
        let heldOutScorer = try heldOut.map { try Scorer(graph: graph, data: $0, maxSamples: maxSamples, stream: stream) }
        func held(_ m: QuantizedModel) throws -> Double? { try heldOutScorer?.score(m).sqnr }
        // layers with a 16x8 form whose constants can be prepared (e.g. an output shift within TFLite's int64
        // requantization range); a layer's constants depend only on its own tensors' scales
        var infeasible: [Int: String] = [:]
        let promotable = base.nodes.indices.filter { i in
            guard Precision.promotable(base, node: i, graph: graph) else { return false }
            do { _ = try Precision.apply(base, graph: graph, promote: [i]); return true } catch {
                infeasible[i] = "16x8 form not possible: \(error)"
                return false
            }
        }
        func layerList(_ int16: Set<Int>, _ reason: (Int) -> String, gains: [Int: (Double, Int)] = [:]) -> [PrecisionSummary.Layer] {
            base.nodes.enumerated().compactMap { (i, n) in
                if case .reshape = n.op { return nil }
                return PrecisionSummary.Layer(name: n.name, op: n.op.kind, precision: int16.contains(i) ? "int16" : "int8",
                                              reason: reason(i), gainDB: gains[i]?.0, extraArenaBytes: gains[i]?.1)
            }
        }
        let s8 = try scorer.score(base)
        var curve = [PrecisionSummary.Point(label: "all int8", arenaBytes: s8.arena, sqnrDB: s8.sqnr, heldOutSQNRDB: try held(base))]
        let allSet = Set(promotable)
        let all16 = try Precision.apply(base, graph: graph, promote: allSet)
        let s16 = try scorer.score(all16)
        let noKernel = "no 16x8 kernel for this op"
        switch mode {
        case .int8:
            curve[0].chosen = true
            curve.append(.init(label: "all int16", arenaBytes: s16.arena, sqnrDB: s16.sqnr, heldOutSQNRDB: try held(all16)))
            return PrecisionChoice(model: base, summary: PrecisionSummary(
                mode: mode.rawValue, ramBudget: nil,
                layers: layerList([], { allSet.contains($0) ? "--precision int8" : (infeasible[$0] ?? noKernel) }),
                curve: curve, scoredSamples: scorer.samples.count,
                heldOutSamples: heldOutScorer?.samples.count))
        case .int16:
            curve.append(.init(label: "all int16", arenaBytes: s16.arena, sqnrDB: s16.sqnr, heldOutSQNRDB: try held(all16), chosen: true))
            return PrecisionChoice(model: all16, summary: PrecisionSummary(
                mode: mode.rawValue, ramBudget: nil,
                layers: layerList(allSet, { allSet.contains($0) ? "--precision int16" : (infeasible[$0] ?? noKernel) }),
                curve: curve, scoredSamples: scorer.samples.count,
                heldOutSamples: heldOutScorer?.samples.count))
        case .auto:
            break
        }
        let budget = ramBudget ?? Int((Double(s8.arena) * 1.25).rounded(.down))
        // A candidate makes one layer's output activation int16: the layer and every 16x8-capable consumer of its
        // output (through views) run on int16, so the tensor is never rounded to 8 bits between them.
        func consumers(_ t: Int, _ depth: Int = 0) -> [Int] {
            guard depth < 64 else { return [] }
            var r: [Int] = []
            for (j, n) in base.nodes.enumerated() where n.inputs.contains(t) {
                if case .reshape = n.op { r += consumers(n.output, depth + 1) } else { r.append(j) }
            }
            return r
        }
        var group: [Int: Set<Int>] = [:]
        var readsFrom: [Int: Int] = [:]
        for i in promotable {
            let cs = consumers(base.nodes[i].output).filter { allSet.contains($0) }
            group[i] = Set([i] + cs)
            for c in cs where readsFrom[c] == nil { readsFrom[c] = i }
        }
        var single: [Int: (Double, Int)] = [:]
        var failed: [Int: String] = [:]
        for i in promotable {
            do {
                let s = try scorer.score(try Precision.apply(base, graph: graph, promote: group[i] ?? [i]))
                single[i] = (s.sqnr - s8.sqnr, s.arena - s8.arena)
                log(String(format: "precision: output of '%@' in int16: %+.2f dB, %+d arena bytes", base.nodes[i].name, s.sqnr - s8.sqnr, s.arena - s8.arena))
            } catch {
                failed[i] = "16x8 form not possible: \(error)"
            }
        }
        // gain per extra byte, a free promotion (no extra bytes) counted as 16 bytes; then, as a second pass, the
        // layers that gained nothing alone (in combination with the promoted ones they may), cheapest first
        let gaining = single.filter { $0.value.0 > 0.01 }.sorted { a, b in
            let ra = a.value.0 / Double(max(a.value.1, 16)), rb = b.value.0 / Double(max(b.value.1, 16))
            return ra != rb ? ra > rb : a.key < b.key
        }.map(\.key)
        let rest = single.filter { $0.value.0 <= 0.01 }.sorted { a, b in
            a.value.1 != b.value.1 ? a.value.1 < b.value.1 : a.key < b.key
        }.map(\.key)
        let order = gaining + rest
        if promotable.count <= exhaustiveLimit {
            return try exhaustive(base: base, graph: graph, scorer: scorer, promotable: promotable, budget: budget,
                                  s8: s8, s16: s16, single: single, infeasible: infeasible.merging(failed) { a, _ in a },
                                  heldOut: heldOutScorer, layerList: layerList, log: log)
        }
        var chosen = Set<Int>()
        var cur = s8
        var why: [Int: String] = [:]
        var model = base
        var step = 0
        for i in order {
            let trial = chosen.union(group[i] ?? [i])
            if trial == chosen {
                why[i] = "int16 already (its output's consumers were promoted)"
                continue
            }
            let m: QuantizedModel, s: (sqnr: Double, arena: Int)
            do {
                m = try Precision.apply(base, graph: graph, promote: trial)
                s = try scorer.score(m)
            } catch {
                why[i] = "16x8 form not possible with the layers already promoted: \(error)"
                continue
            }
            if s.arena > budget {
                why[i] = "over the RAM budget (arena \(s.arena) B > \(budget) B)"
                continue
            }
            if s.sqnr <= cur.sqnr + 0.01 {
                let alone = single[i].map { String(format: "; alone %+.2f dB", $0.0) } ?? ""
                why[i] = String(format: "no gain on top of the layers already promoted (%+.2f dB%@)", s.sqnr - cur.sqnr, alone)
                continue
            }
            step += 1
            why[i] = String(format: "auto: step %d, %+.2f dB for %+d arena bytes", step, s.sqnr - cur.sqnr, s.arena - cur.arena)
            chosen = trial
            cur = s
            model = m
            curve.append(.init(label: "+ \(base.nodes[i].name)", arenaBytes: s.arena, sqnrDB: s.sqnr, heldOutSQNRDB: try held(m)))
        }
        // refinement: flip one layer at a time (add one left int8, or drop one promoted), the best flip that fits the
        // budget and gains more than 0.01 dB is kept, until no flip does (the greedy order can strand a layer)
        var tried: Set<Set<Int>> = [chosen]
        for _ in 0..<promotable.count {
            var bestFlip: (i: Int, set: Set<Int>, m: QuantizedModel, s: (sqnr: Double, arena: Int))? = nil
            for i in promotable {
                let trial = chosen.symmetricDifference([i])
                guard tried.insert(trial).inserted,
                      let m = try? Precision.apply(base, graph: graph, promote: trial),
                      let s = try? scorer.score(m), s.arena <= budget, s.sqnr > (bestFlip?.s.sqnr ?? cur.sqnr + 0.01) else { continue }
                bestFlip = (i, trial, m, s)
            }
            guard let f = bestFlip else { break }
            step += 1
            let added = f.set.contains(f.i)
            why[f.i] = String(format: "auto: step %d (refinement), %@, %+.2f dB for %+d arena bytes", step, added ? "int16" : "back to int8",
                              f.s.sqnr - cur.sqnr, f.s.arena - cur.arena)
            chosen = f.set
            cur = f.s
            model = f.m
            curve.append(.init(label: (added ? "+ " : "- ") + base.nodes[f.i].name, arenaBytes: f.s.arena, sqnrDB: f.s.sqnr,
                               heldOutSQNRDB: try held(f.m)))
        }
        // all int16 when it fits and scores higher (the greedy path can miss it when every step towards it loses: a
        // layer that helps only once its neighbours are int16 too, e.g. the streamed tinyconv)
        var allChosen = false
        if chosen != allSet, s16.arena <= budget, s16.sqnr > cur.sqnr + 0.01 {
            step += 1
            for i in allSet where !chosen.contains(i) {
                why[i] = String(format: "auto: step %d, all int16 fits the budget (%d B) and scores %+.2f dB more", step,
                                s16.arena, s16.sqnr - cur.sqnr)
            }
            chosen = allSet
            cur = s16
            model = all16
            allChosen = true
        }
        if !allChosen { curve[curve.count - 1].chosen = true }
        curve.append(.init(label: "all int16", arenaBytes: s16.arena, sqnrDB: s16.sqnr, heldOutSQNRDB: try held(all16),
                           chosen: allChosen ? true : nil))
        let layers = layerList(chosen, { i in
            if chosen.contains(i), why[i] == nil || !(why[i] ?? "").hasPrefix("auto"), let src = readsFrom[i], chosen.contains(src) {
                return "auto: reads the int16 output of '\(base.nodes[src].name)'"
            }
            if let w = why[i] { return w }
            if let f = failed[i] ?? infeasible[i] { return f }
            if let g = single[i], g.0 <= 0.01 { return String(format: "no gain from an int16 output (%+.2f dB)", g.0) }
            return allSet.contains(i) ? "not promoted" : noKernel
        }, gains: single)
        return PrecisionChoice(model: model, summary: PrecisionSummary(mode: mode.rawValue, ramBudget: budget, layers: layers,
                                                                       curve: curve, scoredSamples: scorer.samples.count,
                                                                       search: "greedy + one-layer flips",
                                                                       heldOutSamples: heldOutScorer?.samples.count))
    }
}

extension PrecisionSearch {
    /// auto with few promotable layers: every subset of them is rewritten, planned (the real arena, conversions and
    /// in-place execution included) and scored. The choice is the best SQNR among the subsets whose arena fits the
    /// budget (within 0.01 dB: the smaller arena, then fewer int16 layers); the curve is the Pareto front of all
    /// subsets (SQNR vs arena), inside the budget and beyond it.
    static func exhaustive(base: QuantizedModel, graph: Graph, scorer: Scorer, promotable: [Int], budget: Int,
                           s8: (sqnr: Double, arena: Int), s16: (sqnr: Double, arena: Int), single: [Int: (Double, Int)],
                           infeasible: [Int: String], heldOut: Scorer?,
                           layerList: (Set<Int>, (Int) -> String, [Int: (Double, Int)]) -> [PrecisionSummary.Layer],
                           log: (String) -> Void) throws -> PrecisionChoice {
        let n = promotable.count
        let full = (1 << n) - 1
        func set(_ mask: Int) -> Set<Int> { Set((0..<n).filter { mask & (1 << $0) != 0 }.map { promotable[$0] }) }
        func names(_ mask: Int) -> String {
            promotable.indices.filter { mask & (1 << $0) != 0 }.map { base.nodes[promotable[$0]].name }.joined(separator: ", ")
        }
        var scored: [Int: (sqnr: Double, arena: Int)] = [0: s8, full: s16]
        var failedSets = 0
        for mask in 1..<full {
            do {
                scored[mask] = try scorer.score(try Precision.apply(base, graph: graph, promote: set(mask)))
            } catch {
                failedSets += 1  // a combination whose constants cannot be prepared: not a candidate
            }
        }
        for mask in scored.keys.sorted() where mask != 0 {
            if let s = scored[mask] {
                log(String(format: "precision: int16 {%@}: %.2f dB, arena %d B%@", names(mask), s.sqnr, s.arena, s.arena > budget ? " (over the budget)" : ""))
            }
        }
        let fits = scored.filter { $0.value.arena <= budget }
        let top = fits.values.map(\.sqnr).max() ?? s8.sqnr
        let best = fits.filter { $0.value.sqnr >= top - 0.01 }.min { a, b in
            if a.value.arena != b.value.arena { return a.value.arena < b.value.arena }
            if a.key.nonzeroBitCount != b.key.nonzeroBitCount { return a.key.nonzeroBitCount < b.key.nonzeroBitCount }
            return a.key < b.key
        }?.key ?? 0
        let bestScore = scored[best] ?? s8
        let chosen = set(best)
        let model = best == 0 ? base : try Precision.apply(base, graph: graph, promote: chosen)
        // the Pareto front: every subset that beats all smaller-or-equal arenas by more than 0.01 dB
        var front: [Int] = []
        var runMax = -Double.infinity
        for (mask, s) in scored.sorted(by: { a, b in
            a.value.arena != b.value.arena ? a.value.arena < b.value.arena
                : (a.value.sqnr != b.value.sqnr ? a.value.sqnr > b.value.sqnr : a.key < b.key) }) {
            if mask == 0 || s.sqnr > runMax + 0.01 || mask == best {
                if mask != 0 && mask != full { front.append(mask) }
                runMax = max(runMax, s.sqnr)
            }
        }
        var curve = [PrecisionSummary.Point(label: "all int8", arenaBytes: s8.arena, sqnrDB: s8.sqnr,
                                            heldOutSQNRDB: try heldOut?.score(base).sqnr, chosen: best == 0 ? true : nil)]
        for mask in front {
            guard let s = scored[mask] else { continue }
            let m = mask == best ? model : try Precision.apply(base, graph: graph, promote: set(mask))
            curve.append(.init(label: "int16 {\(names(mask))}", arenaBytes: s.arena, sqnrDB: s.sqnr,
                               heldOutSQNRDB: try heldOut?.score(m).sqnr, chosen: mask == best ? true : nil))
        }
        curve.append(.init(label: "all int16", arenaBytes: s16.arena, sqnrDB: s16.sqnr,
                           heldOutSQNRDB: try heldOut.map { try $0.score(try Precision.apply(base, graph: graph, promote: set(full))).sqnr },
                           chosen: best == full ? true : nil))
        let bit = Dictionary(uniqueKeysWithValues: promotable.enumerated().map { ($1, 1 << $0) })
        let layers = layerList(chosen, { i in
            guard let b = bit[i] else { return infeasible[i] ?? "no 16x8 kernel for this op" }
            if chosen.contains(i) {
                let without = scored[best & ~b].map { String(format: "; without it %+.2f dB", $0.sqnr - bestScore.sqnr) } ?? ""
                return String(format: "auto: in the best set within the budget (%.2f dB, %d B)%@", bestScore.sqnr, bestScore.arena, without)
            }
            let with = scored.filter { $0.key & b != 0 }
            let minArena = with.values.map(\.arena).min() ?? 0
            if minArena > budget {
                return "over the RAM budget: every set with it in int16 needs >= \(minArena) B > \(budget) B"
            }
            let bestWith = with.filter { $0.value.arena <= budget }.values.map(\.sqnr).max() ?? -Double.infinity
            return String(format: "not in the best set: the best set within the budget with it scores %.2f dB (%+.2f dB)",
                          bestWith, bestWith - bestScore.sqnr)
        }, single)
        log("precision: \(scored.count) of \(full + 1) subsets scored\(failedSets > 0 ? " (\(failedSets) cannot be prepared)" : ""), \(fits.count) within \(budget) B")
        return PrecisionChoice(model: model, summary: PrecisionSummary(
            mode: "auto", ramBudget: budget, layers: layers, curve: curve, scoredSamples: scorer.samples.count,
            search: "exhaustive", heldOutSamples: heldOut?.samples.count))
    }
}

extension PrecisionSummary {
    /// The printed form: one line per layer, then the curve.
    public func table() -> String {
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s + " " : s + String(repeating: " ", count: w - s.count) }
        var lines = ["precision (\(mode)\(ramBudget.map { ", RAM budget \($0) B" } ?? "")\(search.map { ", \($0) search" } ?? ""), scored on \(scoredSamples) calibration samples):"]
        let w = max(12, min(32, layers.map(\.name.count).max() ?? 12))
        lines.append("  " + pad("layer", w) + pad("op", 18) + pad("precision", 10) + pad("gain", 11) + pad("extra B", 8) + "why  (gain, extra B: this layer's output in int16, all else int8)")
        for l in layers {
            lines.append("  " + pad(l.name, w) + pad(l.op, 18) + pad(l.precision, 10)
                         + pad(l.gainDB.map { String(format: "%+.2f dB", $0) } ?? "-", 11)
                         + pad(l.extraArenaBytes.map { String($0) } ?? "-", 8) + l.reason)
        }
        let held = heldOutSamples ?? 0
        lines.append("  SQNR vs arena (all model outputs against float; calibration samples"
                     + (held > 0 ? ", then \(held) held-out --test samples):" : "):"))
        let lw = max(w + 2, min(72, (curve.map(\.label.count).max() ?? 0) + 1))
        for p in curve {
            lines.append("    " + pad(p.label, lw) + String(format: "%7d B  %7.2f dB", p.arenaBytes, p.sqnrDB)
                         + (p.heldOutSQNRDB.map { String(format: "  %7.2f dB", $0) } ?? "") + (p.chosen == true ? "  <- chosen" : ""))
        }
        return lines.joined(separator: "\n")
    }
}
