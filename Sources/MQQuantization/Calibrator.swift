// The calibration pass: run the float graph over the data set and feed one observer per tensor.

import MQCalibration
import MQGraph

/// Calibration data for a graph: for each graph input, all samples stacked (sample after sample).
public struct CalibrationData: Sendable {
    /// One array per graph input, `count * elementCount` floats each.
    public var inputs: [[Float]]
    /// Number of samples.
    public var count: Int

    /// `inputs[i]` holds `count * graph.inputs[i].elementCount` floats.
    public init(inputs: [[Float]], count: Int) {
        self.inputs = inputs
        self.count = count
    }

    /// Builds the data for a single-input graph from an array of shape [N, sample shape...].
    /// The sample shape must equal the graph input's shape, with or without its leading batch dimension of 1.
    /// Throws `shapeMismatch` (expected vs got) or `emptyDataSet`.
    public static func single(graph: Graph, values: [Float], shape: [Int]) throws -> CalibrationData {
        guard graph.inputs.count == 1 else {
            throw QuantizationError.unsupported(node: graph.name, reason: "the model has \(graph.inputs.count) inputs; calibration data for a single input was given")
        }
        let info = graph.inputs[0]
        let sample = info.shape.first == 1 ? Array(info.shape.dropFirst()) : info.shape
        guard shape.count >= 1 else { throw QuantizationError.shapeMismatch(input: info.name, expected: sample, got: shape) }
        let got = Array(shape.dropFirst())
        guard got == sample || got == info.shape else {
            throw QuantizationError.shapeMismatch(input: info.name, expected: sample, got: shape)
        }
        guard shape[0] > 0 else { throw QuantizationError.emptyDataSet("the data has 0 samples (shape \(shapeString(shape)))") }
        return CalibrationData(inputs: [values], count: shape[0])
    }

    /// Samples [start, start + n) of every input.
    public func slice(_ start: Int, _ n: Int, graph: Graph) -> [[Float]] {
        zip(inputs, graph.inputs).map { data, info in
            let e = info.elementCount
            return Array(data[(start * e)..<((start + n) * e)])
        }
    }
}

/// Runs the calibration pass.
public enum Calibrator {
    /// Feeds the observers of `plan.observed` with every batch of `data` (`batchSize` samples per
    /// observer call). `progress(done, total)` is called after each batch.
    /// Throws `nonFinite` (naming the tensor and the sample index) on NaN/Inf in the data or in any
    /// observed intermediate tensor, and `emptyDataSet` when there are no samples.
    public static func run(graph: Graph, plan: QuantizationPlan, data: CalibrationData, kind: ObserverKind,
                           options: ObserverOptions = ObserverOptions(), batchSize: Int = 32,
                           progress: ((Int, Int) -> Void)? = nil) throws -> [String: Observer] {
        guard data.count > 0 else { throw QuantizationError.emptyDataSet("no samples") }
        // Validate the inputs first so the message names the sample, not a batch.
        for (arr, info) in zip(data.inputs, graph.inputs) {
            let e = info.elementCount
            guard arr.count == data.count * e else {
                throw QuantizationError.shapeMismatch(input: info.name, expected: info.shape, got: [arr.count / max(e, 1)] + info.shape)
            }
            if let bad = arr.firstIndex(where: { !$0.isFinite }) {
                throw QuantizationError.nonFinite(tensor: info.name, sample: bad / e, value: arr[bad])
            }
        }
        let executor = try FloatExecutor(graph: graph)
        var observers: [String: Observer] = [:]
        for t in plan.observed { observers[t] = Observer(kind: kind, options: options) }
        var start = 0
        while start < data.count {
            let n = min(batchSize, data.count - start)
            var failure: QuantizationError? = nil
            let batchStart = start
            _ = try executor.run(data.slice(start, n, graph: graph), batch: n) { tv in
                guard failure == nil, let o = observers[tv.name] else { return }
                do { try o.observe(tv.values) } catch CalibrationError.nonFinite(let index, let value) {
                    let per = max(tv.shape.reduce(1, *), 1)
                    failure = .nonFinite(tensor: tv.name, sample: batchStart + index / per, value: value)
                } catch {
                    failure = .internalError("observer for '\(tv.name)': \(error)")
                }
            }
            if let failure { throw failure }
            start += n
            progress?(start, data.count)
        }
        return observers
    }
}
