// TFLite's int8 LOGISTIC and TANH as 256-entry tables, from the integer algorithm TensorFlow Lite Micro runs
// (its reference_integer_ops kernels; TensorFlow Lite's own interpreter tabulates the float function instead,
// which differs at some qparams: the importer uses this table in rounding mode tflite-micro and mq_lut_build's
// in mode tflite). The table is evaluated for every input code, so it is exact by construction. Written from the algorithm's description (gemmlowp-style
// fixed point), not copied:
//   prepare: input_real_multiplier = double(s_in) * 2^27 (4 integer bits in Q4.27);
//            (q, left_shift) = frexp(input_real_multiplier); multiplier = round_half_away(q * 2^31);
//            radius = floor(15 * 2^27 / 2^left_shift)
//   per code x: d = x - zp_in; d <= -radius -> -128; d >= radius -> 127;
//            else v = MultiplyByQuantizedMultiplier(d, multiplier, left_shift) (a Q4.27 value),
//            LOGISTIC: r = logistic(v) in Q0.31, y = RoundingDivideByPOT(r, 23) - 128;
//            TANH:     r = tanh(v) in Q0.31,     y = RoundingDivideByPOT(r, 24);   clamped to int8.
//   The output qparams are fixed by the kernels: LOGISTIC (1/256, -128), TANH (1/128, 0).
// Fixed-point pieces (raw int32 values with a number of integer bits):
//   exp(a) for a <= 0: exp of a mod 1/4 - 1/4 on [-1/4, 0) by a 4th-order polynomial around -1/8, then one
//   multiply by exp(-2^k) for each bit k of the remainder (k = -2 .. 4), exp(0) = 1;
//   1 / (1 + x) and (1 - x) / (1 + x) for x in [0, 1]: three Newton-Raphson steps from 48/17 - 32/17 * d,
//   d = (1 + x) / 2;  logistic(a) = 1 / (1 + exp(-|a|)) (1 - that for a < 0, 1/2 at 0);
//   tanh(a) = sign(a) * (1 - exp(-2|a|)) / (1 + exp(-2|a|)) (0 at 0).

import Foundation
import MicroQuantC

enum TFLiteLogisticTanh {
    // MARK: gemmlowp-style int32 fixed-point primitives

    /// Saturating rounding doubling high multiply: round(a * b / 2^31), ties away from zero; (min, min) -> max.
    static func srdhm(_ a: Int32, _ b: Int32) -> Int32 {
        if a == Int32.min && b == Int32.min { return Int32.max }
        let ab = Int64(a) * Int64(b)
        let nudge: Int64 = ab >= 0 ? (1 << 30) : 1 - (1 << 30)
        return Int32(truncatingIfNeeded: (ab + nudge) / (1 << 31))
    }

    /// Rounding divide by 2^e (e in 0...31), ties away from zero.
    static func rdbpot(_ x: Int32, _ e: Int) -> Int32 {
        guard e > 0 else { return x }
        let mask = Int32(truncatingIfNeeded: (Int64(1) << Int64(e)) - 1)
        let rem = x & mask
        let threshold = (mask >> 1) + (x < 0 ? 1 : 0)
        return (x >> Int32(e)) &+ (rem > threshold ? 1 : 0)
    }

    /// x * 2^e, saturating for e > 0, rounding (rdbpot) for e < 0.
    static func mulPOT(_ x: Int32, _ e: Int) -> Int32 {
        if e == 0 { return x }
        if e < 0 { return rdbpot(x, -e) }
        let threshold = Int32((Int64(1) << Int64(31 - e)) - 1)
        if x > threshold { return Int32.max }
        if x < -threshold { return Int32.min }
        return x << Int32(e)
    }

    /// (a + b) / 2 rounded half away from zero, in 64 bits.
    static func roundingHalfSum(_ a: Int32, _ b: Int32) -> Int32 {
        let s = Int64(a) + Int64(b)
        return Int32(truncatingIfNeeded: (s + (s >= 0 ? 1 : -1)) / 2)
    }

    /// exp(a) for a in [-1/4, 0), a and the result in Q0.31.
    static func expOnInterval(_ a: Int32) -> Int32 {
        let constantTerm: Int32 = 1895147668      // exp(-1/8) in Q0.31
        let oneThird: Int32 = 715827883           // 1/3 in Q0.31
        let x = a &+ (1 << 28)                    // a + 1/8
        let x2 = srdhm(x, x), x3 = srdhm(x2, x), x4 = srdhm(x2, x2)
        let x4over4 = mulPOT(x4, -2)
        let poly = mulPOT(srdhm(x4over4 &+ x3, oneThird) &+ x2, -1)   // x^4/24 + x^3/6 + x^2/2
        return constantTerm &+ srdhm(constantTerm, x &+ poly)
    }

    /// exp(a) for a <= 0 with `intBits` integer bits; the result in Q0.31.
    static func expOnNegativeValues(_ a: Int32, intBits k: Int) -> Int32 {
        let frac = 31 - k
        let oneQuarter = Int32(1) << Int32(frac - 2)
        let mask = oneQuarter - 1
        let aModQuarterMinusQuarter = (a & mask) &- oneQuarter
        var result = expOnInterval(mulPOT(aModQuarterMinusQuarter, k))   // rescaled to Q0.31
        let remainder = aModQuarterMinusQuarter &- a
        // exp(-2^e) in Q0.31 for e = -2 ... 4
        let barrel: [(Int, Int32)] = [(-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
                                      (2, 39332535), (3, 720401), (4, 242)]
        for (e, m) in barrel where k > e {
            let bit = frac + e
            if remainder & (Int32(1) << Int32(bit)) != 0 { result = srdhm(result, m) }
        }
        if k > 5 {
            let clamp = -(Int32(1) << Int32(frac + 5))
            if a < clamp { result = 0 }
        }
        return a == 0 ? Int32.max : result
    }

    /// 2 / (1 + a) in Q2.29 for a in [0, 1] (Q0.31): three Newton-Raphson steps.
    static func twoOverOnePlus(_ a: Int32) -> Int32 {
        let halfDenominator = roundingHalfSum(a, Int32.max)             // (1 + a) / 2, Q0.31
        var x: Int32 = 1515870810 &+ srdhm(halfDenominator, -1010580540) // 48/17 - 32/17 * d, Q2.29
        for _ in 0..<3 {
            let hdx = srdhm(halfDenominator, x)                          // Q2.29
            let oneMinus = (Int32(1) << 29) &- hdx
            x = x &+ mulPOT(srdhm(x, oneMinus), 2)                       // Q4.27 -> Q2.29
        }
        return x
    }

    /// logistic(a), a in Q4.27, result in Q0.31.
    static func logistic(_ a: Int32) -> Int32 {
        if a == 0 { return 1 << 30 }
        let negAbs = a > 0 ? 0 &- a : a
        let pos = mulPOT(twoOverOnePlus(expOnNegativeValues(negAbs, intBits: 4)), 1)   // (2/(1+e)) / 2, Q0.31
        return a > 0 ? pos : Int32.max &- pos
    }

    /// tanh(a), a in Q4.27, result in Q0.31.
    static func tanh(_ a: Int32) -> Int32 {
        if a == 0 { return 0 }
        let negAbs = a > 0 ? 0 &- a : a
        let e = expOnNegativeValues(negAbs, intBits: 5)   // the same raw value read as Q5.26: exp(-2|a|)
        let t = mulPOT(twoOverOnePlus(e) &- (1 << 29), 2) // (1 - e) / (1 + e), Q2.29 -> Q0.31
        return a < 0 ? 0 &- t : t
    }

    // MARK: the tables

    enum Function { case logistic, tanh }

    /// Why a table cannot be built exactly.
    enum Failure: Error { case outputQParams(String), inputScale(String) }

    /// The 256-entry table (index = input code as uint8) of TFLite's int8 LOGISTIC / TANH for the input
    /// qparams; throws when the output qparams are not the kernels' fixed ones or the input scale is outside
    /// what the fixed-point algorithm takes.
    static func table(_ f: Function, inScale: Float, inZeroPoint: Int32, outScale: Float, outZeroPoint: Int32) throws(Failure) -> [UInt8] {
        switch f {
        case .logistic:
            guard outScale == 1.0 / 256.0, outZeroPoint == -128 else {
                throw .outputQParams("int8 LOGISTIC writes output qparams (1/256, -128); the file has (\(outScale), \(outZeroPoint))")
            }
        case .tanh:
            guard outScale == 1.0 / 128.0, outZeroPoint == 0 else {
                throw .outputQParams("int8 TANH writes output qparams (1/128, 0); the file has (\(outScale), \(outZeroPoint))")
            }
        }
        let real = Double(inScale) * Double(1 << 27)
        guard real.isFinite, real > 0 else { throw .inputScale("input scale \(inScale) is not positive and finite") }
        let fr = frexp(real)
        let shift = fr.1
        let mult = (fr.0 * 2147483648.0).rounded(.toNearestOrAwayFromZero)
        let radius = Int64((15.0 * Double(1 << 27) / pow(2.0, Double(shift))).rounded(.down))
        // the multiplier must be a Q31 value below 2^31 and the shift one mq_requantize takes (unused when the
        // radius is 0: input scales >= 8 saturate every code, the zero point's code to the lowest output)
        guard mult < 2147483648.0, radius == 0 || (shift <= 30 && shift >= -31) else {
            throw .inputScale("input scale \(inScale) is outside the range of TFLite's fixed-point \(f == .logistic ? "LOGISTIC" : "TANH") (multiplier \(mult), shift \(shift))")
        }
        let m = Int32(min(mult, 2147483647.0))
        var t = [UInt8](repeating: 0, count: 256)
        for c in 0..<256 {
            let d = Int64(Int8(truncatingIfNeeded: c)) - Int64(inZeroPoint)
            let y: Int32
            if d <= -radius { y = -128 }
            else if d >= radius { y = 127 }
            else {
                let v = mq_requantize(Int32(d), m, Int32(shift))
                switch f {
                case .logistic: y = min(max(rdbpot(logistic(v), 23) - 128, -128), 127)
                case .tanh: y = min(max(rdbpot(tanh(v), 24), -128), 127)
                }
            }
            t[c] = UInt8(truncatingIfNeeded: Int8(y))
        }
        return t
    }
}
