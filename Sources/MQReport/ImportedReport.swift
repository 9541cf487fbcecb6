// The report of an imported, already quantized model (`calibrate model.tflite --report DIR`): the same
// report.json / report.html / printed table as a calibrated model, with what an imported model has: per layer
// the op, input and output shapes, output qparams, multiply-accumulates and constant bytes; per tensor the
// qparams from the file. There is no float model, hence no SQNR: `accuracyNote` says so instead.

import Foundation
import MQCalibration
import MQPacking
import MQQuantization

extension CalibrationReport {
    /// The report of `model` imported from `format` (e.g. "tflite"), packed to `packedBytes` with arena `plan`.
    public static func buildImported(model: QuantizedModel, plan: MemoryPlan, packedBytes: Int, source: String, sha256 hash: [UInt8],
                                     format: String, detail: String) -> CalibrationReport {
        let tensors = model.tensors.map { t -> TensorEntry in
            let r = t.qparams.representableRange
            return TensorEntry(name: t.name, shape: t.shape, dtype: t.qparams.dtype.rawValue, scale: t.qparams.scale,
                               zeroPoint: t.qparams.zeroPoint, qparamsFrom: t.constant == nil ? "imported:\(format)" : "imported:\(format) (constant)",
                               clipMin: nil, clipMax: nil, seenMin: nil, seenMax: nil, representableMin: r.min, representableMax: r.max,
                               fusedPreActivation: false, sqnrDB: nil, histLower: nil, histBinWidth: nil, histCounts: nil)
        }
        let layers = model.nodes.enumerated().map { i, n -> LayerEntry in
            let o = model.tensors[n.output]
            var l = LayerEntry(name: n.name, op: n.op.kind, fused: n.fused, output: o.name, sqnrDB: nil)
            l.inputShapes = n.inputs.map { model.tensors.indices.contains($0) ? model.tensors[$0].shape : [] }
            l.outputShape = o.shape
            l.outputScale = o.qparams.scale
            l.outputZeroPoint = o.qparams.zeroPoint
            l.macs = model.macs(node: i)
            l.constantBytes = model.constantBytes(node: i)
            return l
        }
        var r = CalibrationReport(
            model: model.name, source: source, sourceSHA256: hash.map { String(format: "%02x", $0) }.joined(),
            observer: "none (imported)", activations: model.activationDType.rawValue, calibrationSamples: 0,
            evaluationSamples: 0, evaluationData: "-", tensors: tensors, layers: layers,
            outputs: model.outputs.map { model.tensors[$0].name }, outputSQNRDB: [], top1Agreement: nil,
            outputTask: nil, thresholdAgreement: nil, outputMaxAbsError: nil, outputMeanAbsError: nil, evaluatedOnTestData: nil,
            flashBytes: packedBytes, constantBytes: model.constantBytes, arenaBytes: plan.arenaSize, arenaLowerBound: plan.lowerBound,
            arenaPlainLowerBound: plan.plainLowerBound, arenaLargestPair: plan.largestPairBound,
            inPlaceOps: plan.inPlaceNodes.count)
        r.importedFrom = format
        r.accuracyNote = "imported \(detail): the quantization parameters are the file's (no calibration) and there is no float model, "
            + "so no SQNR or agreement with float is measured; compare the outputs with the reference interpreter instead "
            + "(`simulate`, docs/IMPORT.md)"
        return r
    }

    static func count(_ n: Int) -> String {
        let s = String(n)
        var out = ""
        for (i, ch) in s.reversed().enumerated() { if i > 0 && i % 3 == 0 && ch != "-" { out.append(",") }; out.append(ch) }
        return String(out.reversed())
    }

    /// The printed table of an imported model.
    func importedTable() -> String {
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s + " " : s + String(repeating: " ", count: w - s.count) }
        func lpad(_ s: String, _ w: Int) -> String { s.count >= w ? " " + s : String(repeating: " ", count: w - s.count) + s }
        func shp(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ",") + "]" }
        var lines = ["MicroQuant report: \(model) (\(source)), imported from \(importedFrom ?? "?"), activations \(activations)", ""]
        let nw = max(12, min(28, (layers.map(\.name.count).max() ?? 12) + 1))
        lines.append(pad("layer", nw) + pad("op", 16) + pad("inputs", 28) + pad("output", 16) + lpad("scale", 12) + lpad("zp", 6)
                     + lpad("MACs", 13) + lpad("const B", 10))
        for l in layers {
            lines.append(pad(String(l.name.prefix(nw)), nw) + pad(l.op, 16)
                         + pad((l.inputShapes ?? []).map(shp).joined(separator: " "), 28) + pad(shp(l.outputShape ?? []), 16)
                         + lpad(l.outputScale.map { String(format: "%.6g", $0) } ?? "-", 12) + lpad(l.outputZeroPoint.map { "\($0)" } ?? "-", 6)
                         + lpad(Self.count(l.macs ?? 0), 13) + lpad(Self.count(l.constantBytes ?? 0), 10))
        }
        let totalMACs = layers.reduce(0) { $0 + ($1.macs ?? 0) }
        lines.append(pad("total", nw) + String(repeating: " ", count: 16 + 28 + 16 + 12 + 6) + lpad(Self.count(totalMACs), 13) + lpad(Self.count(constantBytes), 10))
        lines.append("")
        for o in outputs { lines.append("model output \(o): no SQNR (no float reference)") }
        if let n = accuracyNote { lines.append(n) }
        lines.append("flash: \(flashBytes) bytes packed model (\(constantBytes) bytes of constants)")
        lines.append("arena: \(arenaBytes) bytes (lower bound \(arenaLowerBound) bytes)")
        return lines.joined(separator: "\n")
    }

    /// The HTML page of an imported model.
    func importedHTML() -> String {
        let e = Self.esc
        func shp(_ s: [Int]) -> String { e(shapeDesc(s)) }
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>MicroQuant report: \(e(model))</title>
        <style>
        body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1150px}
        h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
        table{border-collapse:collapse;font-size:13px} td,th{padding:3px 9px;border-bottom:1px solid #eee;text-align:left}
        th{background:#f3f5f8} td.n{text-align:right;font-variant-numeric:tabular-nums}
        .kpi{display:inline-block;margin:6px 18px 6px 0;padding:8px 12px;background:#f3f5f8;border-radius:6px}
        .kpi b{display:block;font-size:18px} .muted{color:#777;font-size:12px} .note{background:#fff8e1;padding:8px 12px;border-radius:6px}
        </style></head><body>
        <h1>MicroQuant report: \(e(model))</h1>
        <div class="muted">source \(e(source)) · sha256 \(e(sourceSHA256)) · imported from \(e(importedFrom ?? "?")) · activations \(e(activations))</div>
        <p class="note">\(e(accuracyNote ?? ""))</p>

        """
        h += "<div class=\"kpi\">MACs per inference<b>\(Self.count(layers.reduce(0) { $0 + ($1.macs ?? 0) }))</b></div>"
        h += "<div class=\"kpi\">flash (packed model)<b>\(flashBytes) B</b><span class=\"muted\">\(constantBytes) B of constants</span></div>"
        h += "<div class=\"kpi\">arena<b>\(arenaBytes) B</b><span class=\"muted\">lower bound \(arenaLowerBound) B</span></div>\n"
        h += "<h2>Layers</h2><table><tr><th>layer</th><th>op</th><th>inputs</th><th>output</th><th>shape</th><th>scale</th><th>zero point</th><th>MACs</th><th>constant bytes</th></tr>\n"
        for l in layers {
            h += "<tr><td>\(e(l.name))</td><td>\(e(l.op))</td><td>\((l.inputShapes ?? []).map(shp).joined(separator: " "))</td><td>\(e(l.output))</td>"
            h += "<td>\(shp(l.outputShape ?? []))</td><td class=\"n\">\(l.outputScale.map { String(format: "%.6g", $0) } ?? "–")</td>"
            h += "<td class=\"n\">\(l.outputZeroPoint.map { "\($0)" } ?? "–")</td><td class=\"n\">\(Self.count(l.macs ?? 0))</td><td class=\"n\">\(Self.count(l.constantBytes ?? 0))</td></tr>\n"
        }
        h += "</table>\n<h2>Tensors</h2><table><tr><th>tensor</th><th>shape</th><th>dtype</th><th>scale</th><th>zero point</th><th>qparams from</th><th>representable range</th></tr>\n"
        for t in tensors {
            h += "<tr><td>\(e(t.name))</td><td>\(shp(t.shape))</td><td>\(t.dtype)</td><td class=\"n\">\(String(format: "%.6g", t.scale))</td><td class=\"n\">\(t.zeroPoint)</td><td>\(e(t.qparamsFrom))</td><td>\(String(format: "[%.4g, %.4g]", t.representableMin, t.representableMax))</td></tr>\n"
        }
        h += "</table>\n<p class=\"muted\">Generated by \(e(microquantProducerName)). No scripts.</p></body></html>\n"
        return h
    }
}
