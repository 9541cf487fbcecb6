// The calibration report: a printed table, JSON, and a self-contained HTML page with inline SVG
// histograms (no JavaScript).

import Foundation
import MQCalibration
import MQGraph
import MQPacking
import MQQuantization

/// Everything the report shows; Codable for the JSON file.
public struct CalibrationReport: Codable, Sendable {
    /// One tensor (arena tensors, then fused pre-activations).
    public struct TensorEntry: Codable, Sendable {
        public var name: String
        public var shape: [Int]
        public var dtype: String
        public var scale: Float
        public var zeroPoint: Int32
        /// "observed:<method>", "fixed:<why>" or "inherited:<tensor>".
        public var qparamsFrom: String
        /// Observer's clip range, when observed.
        public var clipMin: Float?
        public var clipMax: Float?
        /// Exact observed extremes, when observed.
        public var seenMin: Float?
        public var seenMax: Float?
        /// Representable range of the qparams.
        public var representableMin: Float
        public var representableMax: Float
        /// True for a fused layer's pre-activation (LUT input) that is not stored in the arena.
        public var fusedPreActivation: Bool
        /// SQNR (dB) of this tensor against float on the evaluation data (nil if not evaluated).
        public var sqnrDB: Double?
        /// Histogram for the plot: lower edge, bin width, counts (downsampled to <= 128 bins).
        public var histLower: Double?
        public var histBinWidth: Double?
        public var histCounts: [Double]?
    }
    /// One quantized op (with the float nodes it fuses) and the SQNR of its output.
    public struct LayerEntry: Codable, Sendable {
        public var name: String
        public var op: String
        public var fused: [String]
        public var output: String
        public var sqnrDB: Double?
        /// Imported models (no float reference): input and output shapes, output qparams, multiply-accumulates
        /// per inference and constant bytes of the layer. nil in a calibration report.
        public var inputShapes: [[Int]]? = nil
        public var outputShape: [Int]? = nil
        public var outputScale: Float? = nil
        public var outputZeroPoint: Int32? = nil
        public var macs: Int? = nil
        public var constantBytes: Int? = nil
    }
    public var model: String
    public var source: String
    public var sourceSHA256: String
    public var observer: String
    public var activations: String
    public var calibrationSamples: Int
    public var evaluationSamples: Int
    public var evaluationData: String
    public var tensors: [TensorEntry]
    public var layers: [LayerEntry]
    public var outputs: [String]
    public var outputSQNRDB: [Double]
    public var top1Agreement: Double?
    /// The task of output 0 (`OutputTask`: binary, classification, regression) deciding its accuracy figure.
    public var outputTask: String?
    /// Binary heads: agreement of the 0.5 threshold on output 0.
    public var thresholdAgreement: Double?
    /// Per output: max and mean |float - dequantized|.
    public var outputMaxAbsError: [Double]?
    public var outputMeanAbsError: [Double]?
    /// True when the evaluation data is held-out `--test` data, false when it is the calibration data.
    public var evaluatedOnTestData: Bool?
    public var flashBytes: Int
    public var constantBytes: Int
    public var arenaBytes: Int
    public var arenaLowerBound: Int
    /// Set for an imported, already quantized model (e.g. "tflite"): no calibration and no float reference,
    /// so no SQNR; `accuracyNote` says so.
    public var importedFrom: String? = nil
    public var accuracyNote: String? = nil
    /// Out-of-place bounds (MemoryPlan.plainLowerBound, .largestPairBound) and the ops planned in place.
    public var arenaPlainLowerBound: Int?
    public var arenaLargestPair: Int?
    public var inPlaceOps: Int?
    /// `--precision`: each layer's precision, why, its gain, and the SQNR-vs-arena curve (nil for plain int8 runs).
    public var precision: PrecisionSummary?

    /// Assembles the report.
    public static func build(graph: Graph, model: QuantizedModel, observers: [String: Observer], plan: MemoryPlan,
                             packedBytes: Int, evaluation: Evaluation?, source: String, sha256 hash: [UInt8],
                             calibrationSamples: Int, evaluationData: String, evaluatedOnTestData: Bool? = nil) -> CalibrationReport {
        func entry(_ t: QTensor, preAct: Bool) -> TensorEntry {
            var e = TensorEntry(name: t.name, shape: t.shape, dtype: t.isInt16 ? "int16" : t.qparams.dtype.rawValue, scale: t.qparams.scale,
                                zeroPoint: t.isInt16 ? 0 : t.qparams.zeroPoint, qparamsFrom: "", clipMin: nil, clipMax: nil,
                                seenMin: nil, seenMax: nil, representableMin: t.isInt16 ? -32768 * t.qparams.scale : t.qparams.representableRange.min,
                                representableMax: t.isInt16 ? 32767 * t.qparams.scale : t.qparams.representableRange.max, fusedPreActivation: preAct,
                                sqnrDB: evaluation?.tensorSQNR[t.name], histLower: nil, histBinWidth: nil, histCounts: nil)
            switch t.origin {
            case let .observed(kind, clip):
                e.qparamsFrom = "observed:\(kind.rawValue)"
                e.clipMin = clip.min
                e.clipMax = clip.max
            case .fixed(let why): e.qparamsFrom = "fixed:\(why)"
            case .inherited(let from): e.qparamsFrom = "inherited:\(from)"
            case .imported(let format): e.qparamsFrom = "imported:\(format)"
            }
            if let o = observers[t.name], o.batches > 0 {
                e.seenMin = o.seenMin
                e.seenMax = o.seenMax
                let h = o.histogram
                let factor = max(1, (h.binCount + 127) / 128)
                var counts = [Double](repeating: 0, count: (h.binCount + factor - 1) / factor)
                for i in 0..<h.binCount { counts[i / factor] += h.counts[i] }
                e.histLower = h.lower
                e.histBinWidth = h.binWidth * Double(factor)
                e.histCounts = counts
            }
            return e
        }
        var tensors = model.tensors.map { entry($0, preAct: false) }
        tensors += model.preActivations.map { entry($0, preAct: true) }
        let layers = model.nodes.map { n in
            LayerEntry(name: n.name, op: n.op.kind, fused: n.fused, output: model.tensors[n.output].name,
                       sqnrDB: evaluation?.tensorSQNR[model.tensors[n.output].name])
        }
        return CalibrationReport(
            model: model.name, source: source, sourceSHA256: hexString(hash), observer: model.observer.rawValue,
            activations: model.activationDType.rawValue, calibrationSamples: calibrationSamples,
            evaluationSamples: evaluation?.samples ?? 0, evaluationData: evaluationData,
            tensors: tensors, layers: layers, outputs: model.outputs.map { model.tensors[$0].name },
            outputSQNRDB: evaluation?.outputSQNR ?? [], top1Agreement: evaluation?.top1Agreement,
            outputTask: evaluation?.task.rawValue, thresholdAgreement: evaluation?.thresholdAgreement,
            outputMaxAbsError: evaluation?.maxAbsError, outputMeanAbsError: evaluation?.meanAbsError,
            evaluatedOnTestData: evaluatedOnTestData,
            flashBytes: packedBytes, constantBytes: model.constantBytes, arenaBytes: plan.arenaSize,
            arenaLowerBound: plan.lowerBound, arenaPlainLowerBound: plan.plainLowerBound,
            arenaLargestPair: plan.largestPairBound, inPlaceOps: plan.inPlaceNodes.count)
    }

    /// JSON (pretty, sorted keys; infinities written as +-1e308 since JSON has no infinity).
    public func json() throws -> Data {
        var copy = self
        func fin(_ d: Double?) -> Double? { d.map { $0.isFinite ? $0 : ($0 > 0 ? 1e308 : -1e308) } }
        copy.outputSQNRDB = outputSQNRDB.map { fin($0)! }
        for i in copy.tensors.indices { copy.tensors[i].sqnrDB = fin(copy.tensors[i].sqnrDB) }
        for i in copy.layers.indices { copy.layers[i].sqnrDB = fin(copy.layers[i].sqnrDB) }
        if var p = copy.precision {
            for i in p.curve.indices { p.curve[i].sqnrDB = fin(p.curve[i].sqnrDB) ?? 0 }
            for i in p.curve.indices { p.curve[i].heldOutSQNRDB = fin(p.curve[i].heldOutSQNRDB) }
            for i in p.layers.indices { p.layers[i].gainDB = fin(p.layers[i].gainDB) }
            copy.precision = p
        }
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try enc.encode(copy)
    }

    /// The printed table.
    public func table() -> String {
        if importedFrom != nil { return importedTable() }
        func f(_ x: Double?) -> String {
            guard let x else { return "-" }
            if x.isInfinite { return x > 0 ? "inf" : "-inf" }
            return String(format: "%.1f", x)
        }
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
        func lpad(_ s: String, _ w: Int) -> String { s.count >= w ? s : String(repeating: " ", count: w - s.count) + s }
        var lines: [String] = []
        lines.append("MicroQuant calibration report: \(model) (\(source))")
        lines.append("observer \(observer), activations \(activations), \(calibrationSamples) calibration samples, SQNR on \(evaluationSamples) samples of \(evaluationData)")
        lines.append("")
        let nw = max(12, min(40, tensors.map(\.name.count).max() ?? 12))
        lines.append(pad("tensor", nw) + "  " + pad("shape", 16) + pad("dtype", 7) + lpad("scale", 12) + lpad("zp", 6) + "  " + pad("qparams", 26) + lpad("clip min", 10) + lpad("clip max", 10) + lpad("SQNR dB", 9))
        for t in tensors {
            let name = t.fusedPreActivation ? t.name + " (fused)" : t.name
            lines.append(pad(String(name.prefix(nw)), nw) + "  " + pad(shapeString(t.shape), 16) + pad(t.dtype, 7)
                         + lpad(String(format: "%.6g", t.scale), 12) + lpad("\(t.zeroPoint)", 6) + "  " + pad(String(t.qparamsFrom.prefix(25)), 26)
                         + lpad(t.clipMin.map { String(format: "%.4g", $0) } ?? "-", 10)
                         + lpad(t.clipMax.map { String(format: "%.4g", $0) } ?? "-", 10) + lpad(f(t.sqnrDB), 9))
        }
        lines.append("")
        lines.append(pad("layer", nw) + "  " + pad("op", 22) + pad("output", 24) + lpad("SQNR dB", 9) + "  fused")
        for l in layers {
            lines.append(pad(String(l.name.prefix(nw)), nw) + "  " + pad(l.op, 22) + pad(String(l.output.prefix(23)), 24) + lpad(f(l.sqnrDB), 9) + "  " + l.fused.joined(separator: "+"))
        }
        lines.append("")
        // The headline: on --test data when given (the honest number), else flagged as measured on the
        // calibration data itself.
        let whereMeasured: String
        switch evaluatedOnTestData {
        case true?: whereMeasured = " on \(evaluationSamples) --test samples (\(evaluationData))"
        case false?: whereMeasured = " on \(evaluationSamples) calibration samples (optimistic: give --test held-out data)"
        case nil: whereMeasured = ""
        }
        for (i, (o, s)) in zip(outputs, outputSQNRDB).enumerated() {
            var line = "model output \(o): SQNR \(f(s)) dB" + whereMeasured
            if let mx = outputMaxAbsError, let mn = outputMeanAbsError, i < mx.count, i < mn.count, outputTask == OutputTask.regression.rawValue || i > 0 {
                line += String(format: "; max |error| %.4g, mean |error| %.4g", mx[i], mn[i])
            }
            lines.append(line)
        }
        if let t = top1Agreement { lines.append(String(format: "argmax agreement with float (output 0): %.2f%%", t * 100)) }
        if let t = thresholdAgreement { lines.append(String(format: ">0.5 agreement with float (output 0, one value per sample): %.2f%%", t * 100)) }
        lines.append("flash: \(flashBytes) bytes packed model (\(constantBytes) bytes of constants)")
        var arena = "arena: \(arenaBytes) bytes (lower bound \(arenaLowerBound) bytes"
        if let p = arenaPlainLowerBound, let q = arenaLargestPair {
            arena += "; \(inPlaceOps ?? 0) ops in place; out of place: plain lower bound \(p), largest input+output pair \(q)"
        }
        lines.append(arena + ")")
        if let precision { lines.append(""); lines.append(precision.table()) }
        return lines.joined(separator: "\n")
    }
}
