// LOGISTIC / TANH tables, exhaustively (the table is the whole function, so all 256 codes at a qparams pair is
// exhaustive for it): the `*_exhaustive_*` fixtures of scripts/make_tflite_fixtures.py (the op on the int8 model
// input, converter-chosen input qparams, ai-edge-litert outputs) and the 2 x 200 exact-qparams models of
// scripts/make_tflite_lut_sweep.py (ai-edge-litert and TensorFlow Lite Micro outputs).
import Foundation
import Testing
import MQNumPy
import MQQuantization
import MicroQuantC
@testable import MQTFLite
@testable import MQTFLiteImport

@Suite struct ActivationTableTests {
    static let names = (0..<8).flatMap { ["logistic_exhaustive_\($0)", "tanh_exhaustive_\($0)"] }

    @Test(arguments: names)
    func tableEqualsLiteRT(_ name: String) throws {
        let q = try TFLiteImporter.importModel(bytes: try fixtureBytes("tflite/\(name).tflite"), file: name, rounding: .single)
        guard q.nodes.count == 1, case .lut(let table, _) = q.nodes[0].op else { Issue.record("\(name): not one LUT"); return }
        let x = try NumPy.decode(try fixtureBytes("tflite/\(name)_input.npy"), name: name)
        let y = try NumPy.decode(try fixtureBytes("tflite/\(name)_output.npy"), name: name)
        try #require(x.bytes.count == 256 && y.bytes.count == 256)
        #expect(Set(x.bytes).count == 256)   // every input code once
        var same = 0
        for k in 0..<256 where table[Int(x.bytes[k])] == y.bytes[k] { same += 1 }
        #expect(same == 256, "\(name): \(same) / 256 table entries equal ai-edge-litert's")
        // TensorFlow Lite Micro's fixed-point table (mode tflite-micro), for the record
        let qi = q.tensors[q.inputs[0]].qparams, qo = q.tensors[q.outputs[0]].qparams
        let it = try TFLiteLogisticTanh.table(name.hasPrefix("logistic") ? .logistic : .tanh, inScale: qi.scale, inZeroPoint: qi.zeroPoint,
                                             outScale: qo.scale, outZeroPoint: qo.zeroPoint)
        var isame = 0
        for k in 0..<256 where it[Int(x.bytes[k])] == y.bytes[k] { isame += 1 }
        print("TABLE \(name) input (\(qi.scale), \(qi.zeroPoint)): mode tflite \(same)/256, TFLite Micro's algorithm \(isame)/256 equal to ai-edge-litert")
    }

    /// 200 input qparams per op (lut_sweep.npz, scripts/make_tflite_lut_sweep.py: one-op models at exact qparams,
    /// scales 2^-12 .. 2^4 and edge values, all 256 codes through ai-edge-litert BUILTIN_REF and through
    /// TensorFlow Lite Micro): imported in mode tflite, every table equals ai-edge-litert's; in mode tflite-micro,
    /// TensorFlow Lite Micro's. The two interpreters themselves differ on some tables (counted).
    @Test(arguments: ["logistic", "tanh"])
    func sweepEqualsBothInterpreters(_ op: String) throws {
        let z = try npz("tflite/lut_sweep.npz")
        let scales = try #require(z["\(op)_scales"]).floats()
        let zps = try #require(z["\(op)_zero_points"]).int64s()
        let lite = try #require(z["\(op)_outputs"]).bytes, micro = try #require(z["\(op)_tflm_outputs"]).bytes
        try #require(scales.count == 200 && zps.count == 200 && lite.count == 200 * 256 && micro.count == 200 * 256)
        let code: TFLiteOpCode = op == "logistic" ? .logistic : .tanh
        let (os, oz): (Float, Int64) = op == "logistic" ? (1.0 / 256.0, -128) : (1.0 / 128.0, 0)
        var liteOK = 0, microOK = 0, liteEntries = 0, microEntries = 0, interpretersDiffer = 0, rejected: [Float] = []
        for k in 0..<scales.count {
            let m = synthetic([act("x", [1, 256], scale: scales[k], zp: zps[k]), act("y", [1, 256], scale: os, zp: oz)],
                              ops: [(code, [0], [1], .none)], inputs: [0], outputs: [1])
            let refL = Array(lite[(k * 256)..<((k + 1) * 256)]), refM = Array(micro[(k * 256)..<((k + 1) * 256)])  // column j = code j - 128
            if refL != refM { interpretersDiffer += 1 }
            func table(_ r: RequantizeRounding) -> [UInt8]? {
                guard let q = try? TFLiteImporter.importModel(m, file: "s.tflite", name: "s", rounding: r),
                      case .lut(let t, _) = q.nodes[0].op else { return nil }
                return t
            }
            guard let tl = table(.single), let tm = table(.double) else { rejected.append(scales[k]); continue }
            let el = (0..<256).filter { tl[($0 + 128) & 255] == refL[$0] }.count
            let em = (0..<256).filter { tm[($0 + 128) & 255] == refM[$0] }.count
            liteEntries += el; microEntries += em
            if el == 256 { liteOK += 1 }
            if em == 256 { microOK += 1 }
        }
        #expect(rejected.isEmpty, "\(op): rejected input scales \(rejected)")
        #expect(liteOK == 200, "\(op) mode tflite vs ai-edge-litert: \(liteOK)/200 tables, \(liteEntries)/51200 entries")
        #expect(microOK == 200, "\(op) mode tflite-micro vs TFLite Micro: \(microOK)/200 tables, \(microEntries)/51200 entries")
        #expect(interpretersDiffer > 0)   // the sweep does tell the two apart
        print("SWEEP \(op): mode tflite vs ai-edge-litert \(liteOK)/200 tables (\(liteEntries)/51200 entries); mode tflite-micro vs TFLite Micro \(microOK)/200 tables (\(microEntries)/51200 entries); the interpreters differ on \(interpretersDiffer) tables")
    }

    /// The fixed-point functions against float64 over the whole Q4.27 input range sampled densely: within
    /// a few units of 2^-31 (a self-check of the primitives; the fixtures above are the reference).
    @Test func fixedPointCloseToFloat() {
        var worstL = 0.0, worstT = 0.0
        var v: Int64 = -(1 << 31) + 1
        while v < (1 << 31) {
            let a = Int32(v), x = Double(v) / Double(1 << 27)
            worstL = max(worstL, abs(Double(TFLiteLogisticTanh.logistic(a)) / 2147483648.0 - 1 / (1 + Foundation.exp(-x))))
            worstT = max(worstT, abs(Double(TFLiteLogisticTanh.tanh(a)) / 2147483648.0 - Foundation.tanh(x)))
            v += 999_983
        }
        #expect(worstL < 1e-6 && worstT < 1e-6, "logistic \(worstL), tanh \(worstT)")
    }
}
