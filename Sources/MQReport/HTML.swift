// Self-contained HTML rendering of the report: inline CSS and SVG, no JavaScript.

import Foundation
import MQGraph

extension CalibrationReport {
    static func esc(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func fmt(_ x: Double?) -> String {
        guard let x else { return "–" }
        if x.isInfinite { return x > 0 ? "∞" : "−∞" }
        return String(format: "%.1f", x)
    }

    /// An SVG histogram (log-scaled counts) with the observed extremes, the clip range chosen by the
    /// observer (shaded) and the representable range of the qparams (dashed).
    static func histogramSVG(_ t: TensorEntry) -> String {
        guard let counts = t.histCounts, let lower = t.histLower, let w = t.histBinWidth, !counts.isEmpty else { return "" }
        let width = 520.0, height = 150.0, left = 8.0, right = 8.0, top = 8.0, bottom = 22.0
        // The running histogram's range can extend past the data (it grows by whole multiples of its
        // bin width): plot only [min, max] over the seen values, the clip and the representable range.
        let lo = min(Double(t.seenMin ?? Float(lower)), Double(t.representableMin), Double(t.clipMin ?? t.representableMin))
        let hi = max(Double(t.seenMax ?? Float(lower + w * Double(counts.count))), Double(t.representableMax), Double(t.clipMax ?? t.representableMax))
        let span = max(hi - lo, 1e-30)
        func x(_ v: Double) -> Double { left + (v - lo) / span * (width - left - right) }
        let maxLog = log10(1 + (counts.max() ?? 1))
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\">"
        s += "<rect x=\"0\" y=\"0\" width=\"\(Int(width))\" height=\"\(Int(height))\" fill=\"#fafafa\" stroke=\"#ddd\"/>"
        if let cmin = t.clipMin, let cmax = t.clipMax {
            let a = x(Double(cmin)), b = x(Double(cmax))
            s += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#d8ecff\"/>", a, top, max(b - a, 1), height - top - bottom)
        }
        let plotH = height - top - bottom
        for (i, c) in counts.enumerated() where c > 0 && lower + w * Double(i) <= hi && lower + w * Double(i + 1) >= lo {
            let x0 = max(x(lower + w * Double(i)), left), x1 = min(x(lower + w * Double(i + 1)), width - right)
            let h = maxLog > 0 ? log10(1 + c) / maxLog * plotH : 0
            s += String(format: "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#4a6fa5\"/>", x0, top + plotH - h, max(x1 - x0 - 0.3, 0.6), h)
        }
        let rmin = x(Double(t.representableMin)), rmax = x(Double(t.representableMax))
        for v in [rmin, rmax] {
            s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c0392b\" stroke-dasharray=\"4,3\" stroke-width=\"1.5\"/>", v, top, v, top + plotH)
        }
        if let cmin = t.clipMin, let cmax = t.clipMax {
            for v in [x(Double(cmin)), x(Double(cmax))] {
                s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#1f6feb\" stroke-width=\"1.5\"/>", v, top, v, top + plotH)
            }
        }
        let z = x(0)
        s += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555\" stroke-width=\"0.8\"/>", z, top + plotH, z, top + plotH + 4)
        if z - left > 40 && width - right - z > 40 {
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"middle\" fill=\"#555\">0</text>", z, height - 6)
        }
        s += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" fill=\"#555\">%@</text>", left, height - 6, String(format: "%.4g", lo))
        s += String(format: "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\" fill=\"#555\">%@</text>", width - right, height - 6, String(format: "%.4g", hi))
        s += "</svg>"
        return s
    }

    /// The HTML page.
    public func html() -> String {
        if importedFrom != nil { return importedHTML() }
        let e = Self.esc
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>MicroQuant report: \(e(model))</title>
        <style>
        body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;max-width:1150px}
        h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd;padding-bottom:4px}
        table{border-collapse:collapse;font-size:13px} td,th{padding:3px 9px;border-bottom:1px solid #eee;text-align:left}
        th{background:#f3f5f8} td.n{text-align:right;font-variant-numeric:tabular-nums}
        .kpi{display:inline-block;margin:6px 18px 6px 0;padding:8px 12px;background:#f3f5f8;border-radius:6px}
        .kpi b{display:block;font-size:18px} .muted{color:#777;font-size:12px}
        .hist{display:inline-block;margin:8px 14px 12px 0;vertical-align:top} .hist div{font-size:12px;margin-bottom:2px}
        .legend span{display:inline-block;margin-right:14px;font-size:12px}
        </style></head><body>
        <h1>MicroQuant calibration report: \(e(model))</h1>
        <div class="muted">source \(e(source)) · sha256 \(e(sourceSHA256)) · observer <b>\(e(observer))</b> · activations \(e(activations)) · \(calibrationSamples) calibration samples · SQNR on \(evaluationSamples) samples of \(e(evaluationData))</div>

        """
        for (o, s) in zip(outputs, outputSQNRDB) { h += "<div class=\"kpi\">output \(e(o)) SQNR<b>\(Self.fmt(s)) dB</b></div>" }
        if let t = top1Agreement { h += "<div class=\"kpi\">argmax agreement with float<b>\(String(format: "%.2f", t * 100))%</b></div>" }
        if let t = thresholdAgreement { h += "<div class=\"kpi\">&gt;0.5 agreement with float<b>\(String(format: "%.2f", t * 100))%</b></div>" }
        if outputTask == OutputTask.regression.rawValue, let mx = outputMaxAbsError?.first, let mn = outputMeanAbsError?.first {
            h += "<div class=\"kpi\">output 0 max |error|<b>\(String(format: "%.4g", mx))</b></div>"
            h += "<div class=\"kpi\">output 0 mean |error|<b>\(String(format: "%.4g", mn))</b></div>"
        }
        if evaluatedOnTestData == false { h += "<div class=\"kpi\">measured on<b>calibration data (optimistic)</b></div>" }
        h += "<div class=\"kpi\">flash (packed model)<b>\(flashBytes) B</b></div>"
        h += "<div class=\"kpi\">arena<b>\(arenaBytes) B</b><span class=\"muted\">lower bound \(arenaLowerBound) B\(arenaPlainLowerBound.map { "; out of place \($0) B" } ?? "")</span></div>\n"
        h += "<h2>Layers</h2><table><tr><th>layer</th><th>op</th><th>fused float nodes</th><th>output</th><th>SQNR dB</th></tr>\n"
        for l in layers {
            h += "<tr><td>\(e(l.name))</td><td>\(e(l.op))</td><td>\(e(l.fused.joined(separator: " + ")))</td><td>\(e(l.output))</td><td class=\"n\">\(Self.fmt(l.sqnrDB))</td></tr>\n"
        }
        h += "</table>\n<h2>Tensors</h2><table><tr><th>tensor</th><th>shape</th><th>dtype</th><th>scale</th><th>zero point</th><th>qparams from</th><th>clip range</th><th>seen range</th><th>SQNR dB</th></tr>\n"
        for t in tensors {
            let clip = t.clipMin.map { String(format: "[%.4g, %.4g]", $0, t.clipMax!) } ?? "–"
            let seen = t.seenMin.map { String(format: "[%.4g, %.4g]", $0, t.seenMax!) } ?? "–"
            h += "<tr><td>\(e(t.name))\(t.fusedPreActivation ? " <span class=\"muted\">(fused)</span>" : "")</td><td>\(e(shapeDesc(t.shape)))</td><td>\(t.dtype)</td><td class=\"n\">\(String(format: "%.6g", t.scale))</td><td class=\"n\">\(t.zeroPoint)</td><td>\(e(t.qparamsFrom))</td><td>\(clip)</td><td>\(seen)</td><td class=\"n\">\(Self.fmt(t.sqnrDB))</td></tr>\n"
        }
        h += "</table>\n<h2>Activation histograms</h2>\n<div class=\"legend\"><span style=\"color:#4a6fa5\">■ values (log count)</span><span style=\"color:#1f6feb\">│ observer clip range (shaded)</span><span style=\"color:#c0392b\">┆ representable range of the qparams</span></div>\n"
        for t in tensors where t.histCounts != nil {
            h += "<div class=\"hist\"><div><b>\(e(t.name))</b> · \(e(t.qparamsFrom)) · scale \(String(format: "%.4g", t.scale)), zp \(t.zeroPoint)</div>\(Self.histogramSVG(t))</div>\n"
        }
        if let p = precision {
            h += "<h2>Precision per layer (\(e(p.mode))\(p.ramBudget.map { ", RAM budget \($0) B" } ?? "")\(p.search.map { ", \(e($0)) search" } ?? ""))</h2><table><tr><th>layer</th><th>op</th><th>precision</th><th>gain alone (dB)</th><th>extra arena B</th><th>why</th></tr>\n"
            for l in p.layers {
                h += "<tr><td>\(e(l.name))</td><td>\(e(l.op))</td><td>\(l.precision)</td><td class=\"n\">\(Self.fmt(l.gainDB))</td><td class=\"n\">\(l.extraArenaBytes.map(String.init) ?? "–")</td><td>\(e(l.reason))</td></tr>\n"
            }
            h += "</table>\n<h2>SQNR vs arena bytes</h2><table><tr><th>step</th><th>arena B</th><th>output SQNR dB (calibration)</th><th>output SQNR dB (held-out --test)</th><th></th></tr>\n"
            for c in p.curve {
                h += "<tr><td>\(e(c.label))</td><td class=\"n\">\(c.arenaBytes)</td><td class=\"n\">\(Self.fmt(c.sqnrDB))</td><td class=\"n\">\(Self.fmt(c.heldOutSQNRDB))</td><td>\(c.chosen == true ? "chosen" : "")</td></tr>\n"
            }
            h += "</table>\n"
        }
        h += "<p class=\"muted\">Generated by \(e(microquantProducerName)). No scripts; histograms are inline SVG.</p></body></html>\n"
        return h
    }

    func shapeDesc(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }
}

let microquantProducerName = "microquant 0.1.0"
