// Pre-quantized ONNX (QDQ, onnxruntime quantize_static) import: qparams from the graph, run through the C
// runtime, compared code by code with onnxruntime running the same QDQ model (scripts/make_qdq_fixtures.py).
import Foundation
import Testing
import MQCalibration
import MQGraph
import MQNumPy
import MQPacking
import MQQuantization
import MQReport
@testable import MQONNX

let qdqFixtureDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/onnx_qdq")
func qdqFixture(_ name: String) -> URL { qdqFixtureDir.appendingPathComponent(name) }

let qdqFixtures = ["conv3x3_pad1", "depthwise_bn_relu6", "global_avgpool_head", "concat_channels", "mul_activations",
                   "squeeze_excitation", "resnet_block"].flatMap { [($0, "u8"), ($0, "s8")] }.map { "\($0.0)_\($0.1)" }

@Suite struct QDQImportTests {
    @Test(arguments: qdqFixtures)
    func codesMatchOnnxRuntime(name: String) throws {
        let base = String(name.dropLast(3))
        let g = try ONNXImporter.importModel(at: qdqFixture(name + ".onnx"))
        #expect(!g.quantization.isEmpty)
        let dtype = try #require(try Quantizer.qdqActivationDType(g))
        #expect(dtype == (name.hasSuffix("s8") ? .int8 : .uint8))
        let plan = try QuantizationPlan(graph: g)
        let qm = try Quantizer.quantize(graph: g, plan: plan, observers: [:], dtype: dtype, observer: .minmax)
        // every quantized tensor's qparams come from the graph (or are inherited / fixed), none observed
        #expect(qm.tensors.allSatisfy { if case .observed = $0.origin { return false } else { return true } })
        let model = try PackedModel(bytes: try Packer.pack(qm, plan: MemoryPlanner.plan(qm), metadata: PackMetadata(sourceName: name, sourceSHA256: [], calibrationMethod: "qdq")))
        let x = try NumPy.read(contentsOf: qdqFixture(base + "_input.npy")).floats()
        let ort = try NumPy.read(contentsOf: qdqFixture(name + "_ort.npy")).floats()
        let inQ = qm.tensors[qm.inputs[0]].qparams, outQ = qm.tensors[qm.outputs[0]].qparams
        let e = g.inputs[0].elementCount
        var same = 0, total = 0, worst: Int32 = 0
        for s in 0..<(x.count / e) {
            let codes = x[(s * e)..<((s + 1) * e)].map { UInt8(truncatingIfNeeded: inQ.quantize($0)) }
            let out = try model.run([codes])[0]
            let n = out.count
            for i in 0..<n {
                let ours = outQ.dtype == .int8 ? Int32(Int8(bitPattern: out[i])) : Int32(out[i])
                let theirs = Int32((Double(ort[s * n + i]) / Double(outQ.scale)).rounded()) + outQ.zeroPoint
                if ours == theirs { same += 1 }
                worst = max(worst, abs(ours - theirs))
                total += 1
            }
        }
        #expect(total == ort.count)
        // ORT requantizes in float (and twice where it has a QDQ pair we fuse away), we once in fixed point:
        // never more than one code apart; identical codes measured 70-99.9 % per model (scripts/compare_qdq_ort.py,
        // docs/IMPORT.md; the 99.9 % goal is not met on mean, concat and the ResNet head)
        #expect(Double(same) / Double(total) >= 0.65, "\(name): \(same)/\(total) identical")
        #expect(worst <= 1, "\(name): largest difference \(worst) codes")
    }

    @Test func floatIslandsAreListedByName() throws {
        let g = try ONNXImporter.importModel(at: qdqFixture("err_qdq_float_island_u8.onnx"))
        do {
            let plan = try QuantizationPlan(graph: g)
            _ = try Quantizer.quantize(graph: g, plan: plan, observers: [:], dtype: .uint8, observer: .minmax)
            Issue.record("a float Sigmoid between QDQ layers must be rejected")
        } catch let e as QuantizationError {
            #expect("\(e)".contains("cannot run in integers") && "\(e)".contains("/se/Sigmoid"), "\(e)")
        }
        // ORT leaves ReduceMean in float in the tf2onnx fixture and writes softmax outputs at scale 1/255: both named
        for (name, node) in [("tf2onnx_nhwc_s8", "mean"), ("mobilenet_block_u8", "/Softmax")] {
            let g2 = try ONNXImporter.importModel(at: qdqFixture(name + ".onnx"))
            do {
                _ = try Quantizer.quantize(graph: g2, plan: try QuantizationPlan(graph: g2), observers: [:], dtype: try Quantizer.qdqActivationDType(g2)!, observer: .minmax)
                Issue.record("\(name) must be rejected")
            } catch let e as QuantizationError {
                #expect("\(e)".contains(node), "\(e)")
            }
        }
    }
}
