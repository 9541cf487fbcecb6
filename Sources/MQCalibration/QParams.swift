// Affine quantization parameters from an observed float range (PyTorch semantics).

import Foundation

/// 8-bit activation code type. Raw values match `mq_dtype` (MQ_DTYPE_INT8 = 1, MQ_DTYPE_UINT8 = 2).
public enum ActivationDType: String, Sendable, CaseIterable, Codable {
    case uint8
    case int8

    /// Smallest code (0 or -128).
    public var qmin: Int32 { self == .uint8 ? 0 : -128 }
    /// Largest code (255 or 127).
    public var qmax: Int32 { self == .uint8 ? 255 : 127 }
}

/// Errors raised by observers and qparams computations.
public enum CalibrationError: Error, CustomStringConvertible, Equatable {
    /// A NaN or infinite value was observed; `index` is the flat index inside the observed batch.
    case nonFinite(index: Int, value: Float)
    /// A range is unusable (min > max or not finite).
    case invalidRange(min: Float, max: Float)
    /// An observer was asked for its range before it saw any value.
    case noData

    public var description: String {
        switch self {
        case let .nonFinite(index, value): return "non-finite value \(value) at element \(index)"
        case let .invalidRange(lo, hi): return "invalid range [\(lo), \(hi)]"
        case .noData: return "the observer saw no data"
        }
    }
}

/// Per-tensor affine quantization parameters: real = (q - zeroPoint) * scale.
public struct QParams: Sendable, Equatable, Codable {
    /// Scale, a float32 exactly as stored in the packed model; > 0.
    public var scale: Float
    /// Zero point, an integer code exactly representable in `dtype` (so 0.0 is exact).
    public var zeroPoint: Int32
    /// Code type.
    public var dtype: ActivationDType

    /// Qparams as given (no checks; use `affine` to derive them from a range).
    public init(scale: Float, zeroPoint: Int32, dtype: ActivationDType) {
        self.scale = scale
        self.zeroPoint = zeroPoint
        self.dtype = dtype
    }

    /// The scale used for a degenerate range (every observed value is 0): 1/256.
    /// Any positive scale represents 0 exactly; 1/256 with the lowest code as zero point
    /// makes the tensor's representable range [0, 255/256] (uint8) so tiny positive values
    /// seen later on the device still quantize sensibly instead of saturating at once.
    public static let degenerateScale: Float = 1.0 / 256.0

    /// PyTorch `_calculate_qparams` for a per-tensor affine scheme:
    /// the range is first widened to include 0 (`min' = min(min, 0)`, `max' = max(max, 0)`),
    /// `scale = (max' - min') / (qmax - qmin)` (computed in float64, stored as float32),
    /// `zeroPoint = clamp(qmin - round(min' / scale), qmin, qmax)` (round half to even, as torch.round),
    /// so zero is exactly representable ("nudged" zero point).
    /// A range of width 0 (constant zero) uses `degenerateScale` and zero point `qmin`.
    public static func affine(min lo: Float, max hi: Float, dtype: ActivationDType) throws -> QParams {
        guard lo.isFinite, hi.isFinite, lo <= hi else { throw CalibrationError.invalidRange(min: lo, max: hi) }
        let minNeg = Double(Swift.min(lo, 0)), maxPos = Double(Swift.max(hi, 0))
        let qmin = Double(dtype.qmin), qmax = Double(dtype.qmax)
        let width = maxPos - minNeg
        // A range so narrow its scale underflows float32 is treated as degenerate too.
        if width == 0 || Float(width / (qmax - qmin)) < Float.leastNormalMagnitude {
            return QParams(scale: degenerateScale, zeroPoint: dtype.qmin, dtype: dtype)
        }
        let scale = Float(width / (qmax - qmin))
        let zp = qmin - (minNeg / Double(scale)).rounded(.toNearestOrEven)
        guard zp.isFinite else { throw CalibrationError.invalidRange(min: lo, max: hi) }
        let zpc = Swift.min(Swift.max(zp, qmin), qmax)
        return QParams(scale: scale, zeroPoint: Int32(zpc), dtype: dtype)
    }

    /// Smallest and largest real value representable with these qparams.
    public var representableRange: (min: Float, max: Float) {
        (Float(dtype.qmin - zeroPoint) * scale, Float(dtype.qmax - zeroPoint) * scale)
    }

    /// Quantizes one value: clamp(round_half_even(x / scale) + zeroPoint) (the rule of mq_quantize_f32).
    public func quantize(_ x: Float) -> Int32 {
        let q = (Double(x) / Double(scale)).rounded(.toNearestOrEven) + Double(zeroPoint)
        guard !q.isNaN else { return zeroPoint }   // NaN (never in validated data) maps to 0.0, never traps
        return Int32(Swift.min(Swift.max(q, Double(dtype.qmin)), Double(dtype.qmax)))
    }

    /// Dequantizes one code: (q - zeroPoint) * scale.
    public func dequantize(_ q: Int32) -> Float { Float(q - zeroPoint) * scale }
}
