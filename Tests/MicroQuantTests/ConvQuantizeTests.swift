// The convolutional op set end to end: import, calibrate, quantize, pack, run through the C runtime
// (the device code) and compare the dequantized outputs with onnxruntime's float outputs.
import Foundation
import Testing
import MQCalibration
import MQGraph
import MQNumPy
import MQPacking
import MQQuantization
import MQReport
@testable import MQONNX

/// SQNR (dB) of the packed int8 model against onnxruntime's outputs of a conv fixture (calibrated on its own
/// inputs), the quantized model, and the argmax agreement of output 0 rows (last axis).
func convEndToEnd(_ graph: Graph, input: NPYArray, reference: [Float], observer: ObserverKind = .minmax,
                  dtype: ActivationDType = .int8) throws -> (db: Double, model: QuantizedModel, top1: Double) {
    let data = try CalibrationData.single(graph: graph, values: input.floats(), shape: input.shape)
    let plan = try QuantizationPlan(graph: graph)
    let obs = try Calibrator.run(graph: graph, plan: plan, data: data, kind: observer)
    let qm = try Quantizer.quantize(graph: graph, plan: plan, observers: obs, dtype: dtype, observer: observer)
    let bytes = try Packer.pack(qm, plan: MemoryPlanner.plan(qm), metadata: PackMetadata(sourceName: graph.name, sourceSHA256: [], calibrationMethod: "test"))
    let model = try PackedModel(bytes: bytes)
    let inQ = qm.tensors[qm.inputs[0]].qparams, outQ = qm.tensors[qm.outputs[0]].qparams
    let e = graph.inputs[0].elementCount
    var got: [Float] = []
    for s in 0..<data.count {
        let codes = data.inputs[0][(s * e)..<((s + 1) * e)].map { UInt8(truncatingIfNeeded: inQ.quantize($0)) }
        got += dequantize(try model.run([codes])[0], outQ)
    }
    #expect(got.count == reference.count)
    var acc = SQNRAccumulator()
    acc.add(float: reference, quantized: got)
    let c = graph.outputs[0].shape.last ?? 1
    var agree = 0, rows = 0
    for r in stride(from: 0, to: min(got.count, reference.count), by: c) {
        let a = got[r..<(r + c)], b = reference[r..<(r + c)]
        if a.indices.max(by: { a[$0] < a[$1] }) == b.indices.max(by: { b[$0] < b[$1] }) { agree += 1 }
        rows += 1
    }
    return (acc.db, qm, Double(agree) / Double(max(rows, 1)))
}

func convFixtureEndToEnd(_ name: String, observer: ObserverKind = .minmax, dtype: ActivationDType = .int8) throws -> (db: Double, model: QuantizedModel, top1: Double) {
    let g = try importConvFixture(name)
    return try convEndToEnd(g, input: try NumPy.read(contentsOf: convFixture(name + "_input.npy")),
                            reference: try NumPy.read(contentsOf: convFixture(name + "_output.npy")).floats(), observer: observer, dtype: dtype)
}

/// Fixtures the device can run (count_include_pad with padding and non-zero pad values cannot).
let convQuantizableFixtures = convNumericFixtures.filter { !["avgpool_count_include_pad", "pad_constant_conv"].contains($0) }

@Suite struct ConvQuantizeTests {
    @Test(arguments: convQuantizableFixtures)
    func quantizedRunsCloseToOnnxRuntime(name: String) throws {
        for dtype in [ActivationDType.int8, .uint8] {
            let r = try convFixtureEndToEnd(name, dtype: dtype)
            // 8-bit activations and weights: >= 25 dB on every fixture (calibrate defaults gave 37.7-46.6 dB on
            // resnet_block, mobilenet_block, tf2onnx_nhwc, concat_channels, squeeze_excitation, affine_not_folded).
            #expect(r.db > 25, "\(name) \(dtype): SQNR \(r.db) dB")
        }
    }

    @Test func opKindsAndSharedQParams() throws {
        let m = try convFixtureEndToEnd("mobilenet_block").model
        let kinds = m.nodes.map(\.op.kind)
        #expect(kinds.filter { $0 == "depthwise_conv" }.count == 2 && kinds.contains("conv") && kinds.contains("mean") && kinds.contains("add"),
                "\(kinds)")
        // ReLU6 fused into the convs: no standalone LUT
        #expect(!kinds.contains { $0.hasPrefix("lut") }, "\(kinds)")
        let r = try convFixtureEndToEnd("resnet_block").model
        for n in r.nodes {
            if case .maxPool = n.op { #expect(r.tensors[n.inputs[0]].qparams == r.tensors[n.output].qparams) }
        }
        let c = try convFixtureEndToEnd("concat_channels").model
        for n in c.nodes {
            if case .concat = n.op { for i in n.inputs { #expect(c.tensors[i].qparams == c.tensors[n.output].qparams) } }
        }
        let s = try convFixtureEndToEnd("squeeze_excitation").model
        #expect(s.nodes.contains { if case .mul(let q) = $0.op { return q.broadcast == .channel(8) } else { return false } })
        let a = try convFixtureEndToEnd("affine_not_folded").model
        #expect(a.nodes.filter { if case .depthwiseConv = $0.op { return true } else { return false } }.count >= 2)
    }

    @Test func unsupportedQuantizationsAreNamed() throws {
        for (name, words) in [("avgpool_count_include_pad", "count_include_pad"), ("pad_constant_conv", "pad value")] {
            let g = try importConvFixture(name)
            do {
                _ = try QuantizationPlan(graph: g)
                Issue.record("\(name) must not quantize")
            } catch let e as QuantizationError {
                #expect("\(e)".contains(words), "\(e)")
            }
        }
    }

    /// The MLPerf Tiny KWS DS-CNN float model calibrates and runs through the C runtime; its argmax agrees
    /// with onnxruntime's on the stored inputs.
    @Test func kwsFloatModelEndToEnd() throws {
        guard let dir = mlperfTinyDir() else { Issue.record("shared/models/mlperf-tiny not found"); return }
        let g = try ONNXImporter.importModel(at: dir.appendingPathComponent("kws_ref_model_float.onnx"))
        let r = try convEndToEnd(g, input: try NumPy.read(contentsOf: convFixture("kws_ref_model_float_input.npy")),
                                 reference: try NumPy.read(contentsOf: convFixture("kws_ref_model_float_output.npy")).floats())
        #expect(r.top1 == 1, "top-1 agreement \(r.top1)")
        #expect(r.db > 15, "softmax output SQNR \(r.db) dB")
        let kinds = r.model.nodes.map(\.op.kind)
        #expect(kinds == ["conv", "depthwise_conv", "conv_1x1", "depthwise_conv", "conv_1x1", "depthwise_conv", "conv_1x1",
                          "depthwise_conv", "conv_1x1", "average_pool", "reshape", "fully_connected", "softmax"], "\(kinds)")
    }
}
