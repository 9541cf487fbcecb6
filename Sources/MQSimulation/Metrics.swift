// MQSimulation: comparing quantized outputs with a float reference.

import Foundation

/// Error statistics of one output against its float reference.
public struct ErrorStats: Sendable, Equatable {
    /// Signal-to-quantization-noise ratio in dB: 10 log10(sum ref^2 / sum (ref - test)^2);
    /// +inf when the outputs are equal.
    public let sqnrDB: Double
    public let maxAbsError: Double
    public let meanAbsError: Double
    /// Fraction of samples whose argmax agrees (classifiers), nil when each sample has one value.
    public let top1Agreement: Double?

    /// Compares `test` with `reference` (both `samples` x `perSample` values, sample-major).
    public init(reference: [Float], test: [Float], samples: Int) {
        precondition(reference.count == test.count && samples > 0 && reference.count % samples == 0)
        var signal = 0.0, noise = 0.0, maxErr = 0.0, sumErr = 0.0
        for (r, t) in zip(reference, test) {
            let e = Double(r) - Double(t)
            signal += Double(r) * Double(r)
            noise += e * e
            maxErr = max(maxErr, abs(e))
            sumErr += abs(e)
        }
        sqnrDB = noise == 0 ? .infinity : 10 * log10(signal / noise)
        maxAbsError = maxErr
        meanAbsError = reference.isEmpty ? 0 : sumErr / Double(reference.count)
        let per = reference.count / samples
        if per > 1 {
            var agree = 0
            for s in 0..<samples {
                let r = reference[(s * per)..<((s + 1) * per)], t = test[(s * per)..<((s + 1) * per)]
                if r.indices.max(by: { r[$0] < r[$1] }) == t.indices.max(by: { t[$0] < t[$1] }) { agree += 1 }
            }
            top1Agreement = Double(agree) / Double(samples)
        } else {
            top1Agreement = nil
        }
    }
}
