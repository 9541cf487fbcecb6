// Importer cases no converter fixture has, on models built directly as TFLiteModel values: SQUEEZE
// (the converter writes RESHAPE), and errors the fixtures do not reach.
import Testing
@testable import MQTFLite
import MQQuantization
import MicroQuantC
@testable import MQTFLiteImport

/// A tiny model: tensors given, operators over them (opcode list built from the ops used).
func synthetic(_ tensors: [TFLiteTensor], ops: [(TFLiteOpCode, [Int], [Int], TFLiteOptions)], inputs: [Int], outputs: [Int],
               buffers: [[UInt8]] = [[]]) -> TFLiteModel {
    var codes: [TFLiteOpCode] = []
    for o in ops where !codes.contains(o.0) { codes.append(o.0) }
    let operators = ops.map { o in
        TFLiteOperator(opcodeIndex: codes.firstIndex(of: o.0) ?? 0, inputs: o.1, outputs: o.2, options: o.3)
    }
    return TFLiteModel(version: 3, description: "", operatorCodes: codes.map {
        TFLiteOperatorCode(deprecatedBuiltinCode: Int8(clamping: $0.raw), builtinCode: $0.raw, customCode: nil, version: 1)
    }, subgraphs: [TFLiteSubGraph(name: "g", tensors: tensors, inputs: inputs, outputs: outputs, operators: operators)],
       buffers: buffers)
}

func act(_ name: String, _ shape: [Int32], scale: Float = 0.05, zp: Int64 = 3) -> TFLiteTensor {
    TFLiteTensor(name: name, shape: shape, type: .int8, buffer: 0,
                 quantization: TFLiteQuantization(min: [], max: [], scale: [scale], zeroPoint: [zp], detailsType: 0, quantizedDimension: 0),
                 isVariable: false, isSparse: false)
}

func importError(_ m: TFLiteModel) -> TFLiteImportError? {
    do { _ = try TFLiteImporter.importModel(m, file: "s.tflite", name: "s"); return nil } catch { return error }
}

@Suite struct SyntheticImportTests {
    @Test func squeezeIsAView() throws {
        let m = synthetic([act("x", [1, 1, 1, 8]), act("y", [1, 8])],
                          ops: [(.squeeze, [0], [1], .squeeze(dims: [1, 2]))], inputs: [0], outputs: [1])
        let q = try TFLiteImporter.importModel(m, file: "s.tflite", name: "s")
        #expect(q.nodes.map(\.op.kind) == ["reshape"])
        #expect(q.tensors[q.outputs[0]].shape == [1, 8])
    }

    @Test func squeezeMustKeepQParams() {
        let m = synthetic([act("x", [1, 1, 8]), act("y", [1, 8], scale: 0.1)],
                          ops: [(.squeeze, [0], [1], .squeeze(dims: [1]))], inputs: [0], outputs: [1])
        guard case .invalid(_, 0, "SQUEEZE", let r)? = importError(m) else { Issue.record("\(String(describing: importError(m)))"); return }
        #expect(r.contains("quantization differ"))
    }

    @Test func everyUnsupportedOpIsListed() {
        let m = synthetic([act("x", [1, 8]), act("y", [1, 8]), act("z", [1, 8])],
                          ops: [(TFLiteOpCode(41), [0, 0], [1], .none), (.add, [1, 1], [2], .add(activation: .none)),
                                (TFLiteOpCode(150), [2], [2], .none)], inputs: [0], outputs: [2])
        #expect(importError(m) == .unsupportedOps(file: "s.tflite", ops: ["0 SUB", "2 GELU"]))
    }

    /// Per-channel and scalar broadcasts import (the fixtures check the numbers); a per-pixel operand
    /// ([1, H, W, 1]) or mutual broadcasting is an error naming the shapes.
    @Test func unsupportedBroadcastIsRejected() throws {
        let ok = synthetic([act("a", [1, 4, 4, 8]), act("b", [1, 1, 1, 8]), act("y", [1, 4, 4, 8])],
                           ops: [(.add, [1, 0], [2], .add(activation: .relu))], inputs: [0, 1], outputs: [2])
        let q = try TFLiteImporter.importModel(ok, file: "s.tflite", name: "s")
        guard case .add(let p) = q.nodes[0].op else { Issue.record("not an add"); return }
        #expect(p.broadcast == MQ_BCAST_CHANNEL && p.channels == 8)
        #expect(q.tensors[q.nodes[0].inputs[0]].name == "a")   // the full-size operand first
        for (sb, name) in [([Int32(1), 4, 4, 1], "ADD"), ([1, 4, 1, 8], "MUL")] {
            let m = synthetic([act("a", [1, 4, 4, 8]), act("b", sb), act("y", [1, 4, 4, 8])],
                              ops: [(name == "ADD" ? .add : .mul, [0, 1], [2], name == "ADD" ? .add(activation: .none) : .mul(activation: .none))],
                              inputs: [0, 1], outputs: [2])
            guard case .invalid(_, 0, name, let r)? = importError(m) else { Issue.record("no error for \(sb)"); continue }
            #expect(r.contains("broadcast [1, 4, 4, 8] and \(sb.map { Int($0) }) -> [1, 4, 4, 8] is not supported"), "\(r)")
        }
    }

    @Test func twoConstantOperandsAreRejected() {
        var c1 = act("c1", [8]), c2 = act("c2", [8])
        c1.buffer = 1; c2.buffer = 2
        let m = synthetic([act("x", [1, 8]), c1, c2, act("y", [1, 8])],
                          ops: [(.add, [1, 2], [3], .add(activation: .none))], inputs: [0], outputs: [3],
                          buffers: [[], [UInt8](repeating: 1, count: 8), [UInt8](repeating: 2, count: 8)])
        guard case .invalid(_, 0, "ADD", let r)? = importError(m) else { Issue.record("\(String(describing: importError(m)))"); return }
        #expect(r.contains("both inputs are constants"))
    }

    /// LOGISTIC / TANH: TFLite's kernels write fixed output qparams; any other is an error, never a table
    /// silently computed for qparams the reference does not use.
    @Test func activationOutputQParamsAreChecked() throws {
        for (code, good, zp) in [(TFLiteOpCode.logistic, Float(1.0 / 256.0), Int64(-128)), (.tanh, Float(1.0 / 128.0), Int64(0))] {
            let ok = synthetic([act("x", [1, 8], scale: 0.05, zp: 3), act("y", [1, 8], scale: good, zp: zp)],
                               ops: [(code, [0], [1], .none)], inputs: [0], outputs: [1])
            #expect(try TFLiteImporter.importModel(ok, file: "s.tflite", name: "s").nodes.count == 1)
            let bad = synthetic([act("x", [1, 8], scale: 0.05, zp: 3), act("y", [1, 8], scale: 0.01, zp: zp)],
                                ops: [(code, [0], [1], .none)], inputs: [0], outputs: [1])
            guard case .invalid(_, 0, code.name, let r)? = importError(bad) else { Issue.record("no error for \(code.name)"); continue }
            #expect(r.contains("writes output qparams"), "\(r)")
        }
    }

    @Test func activationWithoutQuantization() {
        var y = act("y", [1, 8])
        y.quantization = nil
        let m = synthetic([act("x", [1, 8]), y], ops: [(.reshape, [0], [1], .reshape(newShape: [1, 8]))], inputs: [0], outputs: [1])
        guard case let .missingQuantization(_, op, name, t, tn, r)? = importError(m) else { Issue.record("no error"); return }
        #expect(op == 0 && name == "RESHAPE" && t == 1 && tn == "y" && r.contains("no per-tensor quantization"))
    }

    @Test func asymmetricWeightsAreRejected() {
        var w = act("w", [4, 8], scale: 0.01, zp: 5)
        w.buffer = 1
        let m = synthetic([act("x", [1, 8]), w, act("y", [1, 4])],
                          ops: [(.fullyConnected, [0, 1, -1], [2], .none)], inputs: [0], outputs: [2],
                          buffers: [[], [UInt8](repeating: 1, count: 32)])
        guard case .invalid(_, 0, "FULLY_CONNECTED", let r)? = importError(m) else { Issue.record("\(String(describing: importError(m)))"); return }
        #expect(r.contains("nonzero zero point"))
    }

    @Test func constantSizeMismatch() {
        var w = act("w", [4, 8], scale: 0.01, zp: 0)
        w.buffer = 1
        let m = synthetic([act("x", [1, 8]), w, act("y", [1, 4])],
                          ops: [(.fullyConnected, [0, 1, -1], [2], .none)], inputs: [0], outputs: [2],
                          buffers: [[], [UInt8](repeating: 1, count: 31)])
        guard case .invalid(_, 0, _, let r)? = importError(m) else { Issue.record("no error"); return }
        #expect(r.contains("holds 31 bytes"))
    }

    @Test func dequantizeInsideTheGraph() {
        let f = TFLiteTensor(name: "f", shape: [1, 8], type: .float32, buffer: 0, quantization: nil, isVariable: false, isSparse: false)
        let m = synthetic([act("x", [1, 8]), f, act("y", [1, 8])],
                          ops: [(.dequantize, [0], [1], .none), (.quantize, [1], [2], .none)], inputs: [0], outputs: [2])
        guard case .invalid(_, 0, "DEQUANTIZE", _)? = importError(m) else { Issue.record("\(String(describing: importError(m)))"); return }
    }

    @Test func hugeShapesDoNotTrap() {
        let m = synthetic([act("x", [1 << 30, 1 << 30, 1 << 30, 8]), act("y", [1, 8])],
                          ops: [(.reshape, [0], [1], .none)], inputs: [0], outputs: [1])
        guard case .invalid(_, _, _, let r)? = importError(m) else { Issue.record("no error"); return }
        #expect(r.contains("too large") || r.contains("shape"))
    }
}
