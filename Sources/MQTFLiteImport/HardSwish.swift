// TFLite's int8 HARD_SWISH as a 256-entry table: the integer algorithm of TFLite's reference kernel
// (the one TensorFlow Lite Micro and ai-edge-litert run), evaluated for every input code, so the table is
// exact by construction. Facts of that algorithm (written from its description, not copied):
//   prepare: hires_input_scale = input_scale / 128 (float32); reluish_scale = 3 / 32768;
//            output_multiplier = hires_input_scale / output_scale, reluish_multiplier = hires_input_scale /
//            reluish_scale (float32 quotients), each QuantizeMultiplier'd then rounded to a Q15 int16
//            multiplier ((m + 2^15) >> 16, saturated to 32767 near the top).
//   per value (int16 arithmetic): v = (x - zp_in) * 128;
//            pre = SRDHM16(v, out_mult16);
//            r = v, shifted left (saturating) by reluish_exp - 1 when reluish_exp > 0; r = SRDHM16(r, relu_mult16);
//            then r = sat(r << 1) when reluish_exp > 0, or r = RDBPOT16(r, -reluish_exp) when < 0;
//            r = (r + 32768) >> 1  (in [0, 32767]: relu6(x + 3) / 6 in Q15);
//            y = DoublingHighMul16(r, pre) (truncating); y = RDBPOT16(y, -out_exp) + zp_out, clamp to int8.

import MicroQuantC

enum TFLiteHardSwish {
    static func q15(_ real: Double) -> (Int16, Int32)? {
        var m: Int32 = 0, e: Int32 = 0
        guard mq_quantize_multiplier(real, &m, &e) == MQ_OK else { return nil }
        let m16: Int16 = Int64(m) >= Int64(Int32.max) - (1 << 15) ? Int16.max : Int16((Int64(m) + (1 << 15)) >> 16)
        return (m16, e)
    }

    static func sat16(_ v: Int64) -> Int16 { Int16(max(min(v, Int64(Int16.max)), Int64(Int16.min))) }

    /// gemmlowp SaturatingRoundingDoublingHighMul on int16.
    static func srdhm16(_ a: Int16, _ b: Int16) -> Int16 {
        if a == Int16.min && b == Int16.min { return Int16.max }
        let ab = Int32(a) * Int32(b)
        let nudge: Int32 = ab >= 0 ? (1 << 14) : (1 - (1 << 14))
        return Int16(truncatingIfNeeded: (ab + nudge) / (1 << 15))
    }

    /// Doubling high multiply without rounding (division truncates toward zero).
    static func dhm16(_ a: Int16, _ b: Int16) -> Int16 {
        if a == Int16.min && b == Int16.min { return Int16.max }
        return Int16(truncatingIfNeeded: (Int32(a) * Int32(b)) / (1 << 15))
    }

    /// RoundingDivideByPOT on int16 (ties away from zero).
    static func rdbpot16(_ x: Int16, _ e: Int32) -> Int16 {
        guard e > 0 else { return x }
        let e = min(e, 15)
        let mask = Int32((1 << e) - 1)
        let rem = Int32(x) & mask
        let threshold = (mask >> 1) + (x < 0 ? 1 : 0)
        return Int16(truncatingIfNeeded: (Int32(x) >> e) + (rem > threshold ? 1 : 0))
    }

    /// The table for int8 input qparams (sIn, zIn) and output qparams (sOut, zOut); nil when the
    /// multipliers are out of TFLite's accepted range (output exponent > 0).
    static func table(inScale sIn: Float, inZeroPoint zIn: Int32, outScale sOut: Float, outZeroPoint zOut: Int32) -> [UInt8]? {
        let hires = (1.0 as Float / 128.0) * sIn
        let reluishScale: Float = 3.0 / 32768.0
        guard let (outM, outE) = q15(Double(hires / sOut)), outE <= 0,
              let (reluM, reluE) = q15(Double(hires / reluishScale)) else { return nil }
        var t = [UInt8](repeating: 0, count: 256)
        for c in 0..<256 {
            let x = Int32(Int8(truncatingIfNeeded: c))
            let v = Int16(truncatingIfNeeded: (x - zIn) * 128)
            let pre = srdhm16(v, outM)
            var r = v
            if reluE > 0 { r = sat16(Int64(r) << Int64(min(reluE - 1, 31))) }
            r = srdhm16(r, reluM)
            if reluE > 0 { r = sat16(Int64(r) << 1) }
            if reluE < 0 { r = rdbpot16(r, -reluE) }
            r = Int16((Int32(r) + (1 << 15)) >> 1)
            var y = Int32(rdbpot16(dhm16(r, pre), -outE)) + zOut
            y = min(max(y, -128), 127)
            t[c] = UInt8(truncatingIfNeeded: Int8(y))
        }
        return t
    }
}
