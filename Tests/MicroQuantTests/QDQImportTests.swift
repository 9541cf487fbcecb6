// Pre-quantized ONNX (QDQ, onnxruntime quantize_static) import: qparams and weight scales from the graph, run
// through the C runtime, compared code by code with onnxruntime running the same QDQ model (the independent
// reference; scripts/make_qdq_fixtures.py wrote the models and onnxruntime's outputs).
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
let qdqBenchData = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("bench/data")

/// Fixture -> least share of output codes identical to onnxruntime's (measured by scripts/compare_qdq_ort.py,
/// docs/IMPORT.md, minus a margin). Every difference must stay within one code.
let qdqFixtureFloors: [String: Double] = [
    "conv3x3_pad1": 1.0, "depthwise_bn_relu6": 1.0, "global_avgpool_head": 1.0, "concat_channels": 1.0,
    "mul_activations": 1.0, "squeeze_excitation": 1.0, "resnet_block": 1.0, "mobilenet_block": 1.0,
    "tf2onnx_nhwc": 1.0, "input_transpose": 1.0, "input_views": 1.0,
]
let qdqFixtures = qdqFixtureFloors.keys.sorted().flatMap { [($0, "u8"), ($0, "s8")] }.map { "\($0.0)_\($0.1)" }

struct QDQRun {
    var qm: QuantizedModel
    var same = 0, total = 0, worst: Int32 = 0
    var top1Same = 0, samples = 0
}

/// Imports `model`, quantizes it with the graph's qparams, packs it, runs the first `limit` samples of `input`
/// through the C runtime and compares the output codes with onnxruntime's (`ort`, float values of the QDQ output).
func runQDQ(_ model: String, input: URL, ort: String, limit: Int = .max, ortFloat32: Bool = false) throws -> QDQRun {
    let g = try ONNXImporter.importModel(at: qdqFixture(model + ".onnx"))
    #expect(!g.quantization.isEmpty)
    let dtype = try #require(try Quantizer.qdqActivationDType(g))
    #expect(dtype == (model.hasSuffix("s8") ? .int8 : .uint8))
    let plan = try QuantizationPlan(graph: g)
    var qm = try Quantizer.quantize(graph: g, plan: plan, observers: [:], dtype: dtype, observer: .minmax)
    if ortFloat32 {
        // calibrate --rounding onnxruntime
        qm.ortFloat32 = true
        _ = qm.ortGlobalPoolsAsMean()
    }
    // every quantized tensor's qparams come from the graph (or are inherited / fixed), none observed
    #expect(qm.tensors.allSatisfy { if case .observed = $0.origin { return false } else { return true } })
    let model = try PackedModel(bytes: try Packer.pack(qm, plan: MemoryPlanner.plan(qm), metadata: PackMetadata(sourceName: model, sourceSHA256: [], calibrationMethod: "qdq")))
    let x = try NumPy.read(contentsOf: input).floats()
    let ref = try NumPy.read(contentsOf: qdqFixture(ort + ".npy")).floats()
    let inQ = qm.tensors[qm.inputs[0]].qparams, outQ = qm.tensors[qm.outputs[0]].qparams
    let e = g.inputs[0].elementCount
    var r = QDQRun(qm: qm)
    for s in 0..<min(x.count / e, limit) {
        let codes = x[(s * e)..<((s + 1) * e)].map { UInt8(truncatingIfNeeded: inQ.quantize($0)) }
        let out = try model.run([codes])[0]
        let n = out.count
        var best = (0, Int32.min), bestRef = (0, Int32.min)
        for i in 0..<n {
            let ours = outQ.dtype == .int8 ? Int32(Int8(bitPattern: out[i])) : Int32(out[i])
            let theirs = Int32((Double(ref[s * n + i]) / Double(outQ.scale)).rounded()) + outQ.zeroPoint
            if ours == theirs { r.same += 1 }
            r.worst = max(r.worst, abs(ours - theirs))
            r.total += 1
            if ours > best.1 { best = (i, ours) }
            if theirs > bestRef.1 { bestRef = (i, theirs) }
        }
        if best.0 == bestRef.0 { r.top1Same += 1 }
        r.samples += 1
    }
    return r
}

@Suite struct QDQImportTests {
    @Test(arguments: qdqFixtures)
    func codesMatchOnnxRuntime(name: String) throws {
        let base = String(name.dropLast(3))
        let r = try runQDQ(name, input: qdqFixture(base + "_input.npy"), ort: name + "_ort")
        #expect(r.total == (try NumPy.read(contentsOf: qdqFixture(name + "_ort.npy")).floats().count))
        // ORT requantizes in float, we in fixed point, rounding once where ORT rounds once (fully connected
        // layers, convolutions, mean, mul, softmax) and twice where it rounds twice (Q -> DQ -> Q): never more
        // than one code apart, and identical on these fixtures (docs/IMPORT.md)
        let floor = qdqFixtureFloors[base] ?? 1
        #expect(Double(r.same) / Double(r.total) >= floor, "\(name): \(r.same)/\(r.total) identical")
        #expect(r.worst <= 1, "\(name): largest difference \(r.worst) codes")
    }

    /// Concat inputs with qparams of their own (ORT's QDQ keeps a QuantizeLinear per input): requantized to the
    /// concat's qparams by a table computed as onnxruntime's DequantizeLinear -> QuantizeLinear; identical codes.
    @Test func concatRequantizesInputsWithOtherQParams() throws {
        for tag in ["u8", "s8"] {
            let r = try runQDQ("concat_channels_" + tag, input: qdqFixture("concat_channels_input.npy"), ort: "concat_channels_\(tag)_ort")
            let concat = try #require(r.qm.nodes.first { if case .concat = $0.op { return true } else { return false } })
            let outQ = r.qm.tensors[concat.output].qparams
            #expect(concat.inputs.allSatisfy { r.qm.tensors[$0].qparams == outQ })
            let requantized = r.qm.nodes.filter { n in
                if case .lut(_, let name) = n.op, name == "requantize", concat.inputs.contains(n.output) { return true }
                return false
            }
            #expect(requantized.count >= 1, "the input at other qparams is requantized before the concat")
            #expect(r.same == r.total, "concat_channels_\(tag): \(r.same)/\(r.total) identical")
        }
    }

    /// ORT writes the softmax output at 1/255 (uint8) or 1/256 - 128 (int8): the one-rounding softmax
    /// (SOFTMAX_TABLE) writes the graph's qparams itself, with onnxruntime's QLinearSoftmax reciprocal
    /// floor(1 / s_out) (254 for 1/255), and no requantize follows it; TFLite's softmax is not used.
    @Test func softmaxTakesTheGraphsOutputQParams() throws {
        for tag in ["u8", "s8"] {
            let r = try runQDQ("mobilenet_block_" + tag, input: qdqFixture("mobilenet_block_input.npy"), ort: "mobilenet_block_\(tag)_ort")
            let out = r.qm.tensors[r.qm.outputs[0]].qparams
            if tag == "u8" { #expect(abs(Double(out.scale) - 1.0 / 255) < 1e-9 && out.zeroPoint == 0) }
            #expect(!r.qm.nodes.contains { if case .softmax = $0.op { return true } else { return false } })
            let sm = try #require(r.qm.nodes.first { if case .softmaxTable = $0.op { return true } else { return false } })
            #expect(r.qm.tensors[sm.output].qparams == r.qm.tensors[r.qm.outputs[0]].qparams)
            if case let .softmaxTable(_, table, m, sh) = sm.op {
                #expect(table.count == 256 && table[0] == 1 << 30)
                #expect(Double(m) * pow(2, -Double(sh)) == (Double(1 / out.scale)).rounded(.down))
            }
            #expect(!r.qm.nodes.contains { n in
                if case .lut(_, "requantize") = n.op, n.inputs == [sm.output] { return true } else { return false }
            }, "no requantize after the softmax")
            #expect(r.same == r.total, "mobilenet_block_\(tag): \(r.same)/\(r.total) identical")
        }
    }

    /// tf2onnx quantizes the last conv's output, then (after the layout Transpose) quantizes it again at other
    /// qparams (the removed Relu): onnxruntime rounds twice there, so the import keeps both (conv output at the
    /// first qparams, then a requantize table), and the DQ -> ReduceMean -> Q mean after it is identical.
    @Test func requantizedConvOutputKeepsBothSteps() throws {
        for tag in ["u8", "s8"] {
            let r = try runQDQ("tf2onnx_nhwc_" + tag, input: qdqFixture("tf2onnx_nhwc_input.npy"), ort: "tf2onnx_nhwc_\(tag)_ort")
            let pw = try #require(r.qm.nodes.first { $0.name == "/pw/Conv" })
            let pwQ = r.qm.tensors[pw.output].qparams
            #expect(r.qm.nodes.contains { n in
                if case .lut(_, "requantize") = n.op, r.qm.tensors[n.inputs[0]].qparams == pwQ,
                   r.qm.tensors[n.output].qparams != pwQ { return true } else { return false }
            }, "a requantize maps the pointwise conv's qparams to the second ones")
            #expect(r.same == r.total, "tf2onnx_nhwc_\(tag): \(r.same)/\(r.total) identical")
        }
    }

    /// The MLPerf Tiny models quantized by onnxruntime (QDQ; uint8 per-channel, int8 per-tensor weights) import,
    /// run, and agree with onnxruntime on their test inputs to the measured degree (docs/IMPORT.md).
    /// Every layer is identical (convolutions round once; the softmax as onnxruntime's QLinearSoftmax).
    @Test(arguments: [("kws_qdq_u8", 1.0, 1.0), ("kws_qdq_s8", 1.0, 1.0)])
    func kwsMatchesOnnxRuntime(name: String, identical: Double, top1: Double) throws {
        let r = try runQDQ(name, input: qdqBenchData.appendingPathComponent("kws_mfcc_test.npy"), ort: name + "_ort", limit: 60)
        #expect(r.samples == 60)
        #expect(Double(r.same) / Double(r.total) >= identical, "\(name): \(r.same)/\(r.total) identical")
        #expect(Double(r.top1Same) / Double(r.samples) >= top1, "\(name): top-1 equal on \(r.top1Same)/\(r.samples)")
        #expect(r.worst <= 1, "\(name): largest difference \(r.worst) codes")
        #expect(r.qm.singleRoundingConv, "QDQ convolutions round once")
        // the 1x1 / depthwise convolutions run in place as in a double-rounding model (the in-place kernels have
        // the single-rounding output stage; runQDQ ran this plan against onnxruntime above): the rounding does not
        // change the plan, and in-place execution goes below the out-of-place bound
        let plan = MemoryPlanner.plan(r.qm)
        let convs = Set(r.qm.nodes.indices.filter { i in
            switch r.qm.nodes[i].op { case .conv1x1, .depthwiseConv: return true; default: return false }
        })
        #expect(convs.count == 8 && plan.inPlaceNodes.isSuperset(of: convs),
                "\(name): 1x1 / depthwise convolutions in place: \(plan.inPlaceNodes.intersection(convs).count) of \(convs.count)")
        var doubleRounding = r.qm
        doubleRounding.singleRoundingConv = false
        doubleRounding.rounding = .double
        let plan2 = MemoryPlanner.plan(doubleRounding)
        #expect(plan.arenaSize == plan2.arenaSize && plan.inPlaceNodes == plan2.inPlaceNodes
                && plan.tensorOffsets == plan2.tensorOffsets, "\(name): the plan does not depend on the rounding")
        #expect(plan.arenaSize < plan.plainLowerBound, "\(name): arena \(plan.arenaSize), out-of-place bound \(plan.plainLowerBound)")
    }

    /// AD is ten fully connected layers: with one rounding of acc * (onnxruntime's float32 scale) per layer the
    /// codes are identical to onnxruntime's on all test inputs.
    @Test(arguments: ["ad01_qdq_u8", "ad01_qdq_s8"])
    func adMatchesOnnxRuntime(name: String) throws {
        let r = try runQDQ(name, input: qdqBenchData.appendingPathComponent("ad01_test.npy"), ort: name + "_ort")
        #expect(r.samples == 8)
        #expect(r.qm.rounding == .single)
        #expect(r.same == r.total, "\(name): \(r.same)/\(r.total) identical, largest difference \(r.worst) codes")
    }

    /// onnxruntime's quantize_static leaves float data movement on the graph input before its first QuantizeLinear
    /// (a layout Transpose, Unsqueeze / Reshape) and after the last DequantizeLinear (Transpose, Reshape): the
    /// import quantizes the graph input with that QuantizeLinear's qparams (no relu for a zero point at qmin: the
    /// input quantization clamps) and moves the data on codes. The input Transpose swaps H and W (perm 0, 3, 2, 1 of
    /// a 4x4x4 input), so a dropped transpose or the usual NHWC -> NCHW one gives other codes: every output code
    /// must equal onnxruntime's, inputs with negative values included (clamped by the uint8 input at zero point 0).
    @Test(arguments: ["input_transpose_u8", "input_transpose_s8", "input_views_u8", "input_views_s8"])
    func floatDataMovementAroundTheQDQGraph(name: String) throws {
        let base = String(name.dropLast(3))
        let g = try ONNXImporter.importModel(at: qdqFixture(name + ".onnx"))
        let inQ = try #require(g.quantization[g.inputs[0].name], "the graph input takes its QuantizeLinear's qparams")
        #expect(inQ.node == "x_t_QuantizeLinear")
        if name.hasSuffix("u8") { #expect(inQ.zeroPoint == 0) }
        #expect(!g.nodes.contains { if case .relu = $0.op { return $0.inputs == [g.inputs[0].name] } else { return false } },
                "no relu on the graph input: its quantization clamps")
        let x = try NumPy.read(contentsOf: qdqFixture(base + "_input.npy")).floats()
        #expect(x.contains { $0 < 0 }, "the test inputs have negative values")
        let r = try runQDQ(name, input: qdqFixture(base + "_input.npy"), ort: name + "_ort")
        #expect(r.total == (try NumPy.read(contentsOf: qdqFixture(name + "_ort.npy")).floats().count))
        #expect(r.same == r.total, "\(name): \(r.same)/\(r.total) identical, largest difference \(r.worst) codes")
    }

    /// onnxruntime's QDQ export of the IC stand-in (bench/models/ic_resnet8_style_float.onnx, quantized as
    /// scripts/bench-host-batch.py does): NHWC uint8-pixel input, float Transpose to NCHW, then QuantizeLinear at
    /// scale 1, zero point 0. Imports with the input at those qparams and no layout op (the convs read NHWC);
    /// 298 of 320 output codes equal to onnxruntime's on the 32 calibration images (compare_qdq_ort.py: the rest are
    /// onnxruntime's float32 conv requantization ties, docs/IMPORT.md), top-1 class always equal.
    @Test func icStandInFromOnnxRuntime() throws {
        let g = try ONNXImporter.importModel(at: qdqFixture("ic_standin_qdq_u8.onnx"))
        let inQ = try #require(g.quantization[g.inputs[0].name])
        #expect(inQ.scale == 1 && inQ.zeroPoint == 0 && !inQ.signed)
        let r = try runQDQ("ic_standin_qdq_u8", input: qdqBenchData.appendingPathComponent("ic_calib.npy"), ort: "ic_standin_qdq_u8_ort")
        #expect(r.samples == 32 && r.total == 320)
        #expect(!r.qm.nodes.contains { if case .transpose = $0.op { return true } else { return false } }, "the NHWC -> NCHW transpose needs no op")
        #expect(Double(r.same) / Double(r.total) >= 0.9, "\(r.same)/\(r.total) identical")
        #expect(r.worst <= 2 && r.top1Same == r.samples, "largest difference \(r.worst), top-1 equal \(r.top1Same)/\(r.samples)")
    }

    /// `--rounding onnxruntime` (MQ_MODEL_FLAG_ORT_FLOAT32: onnxruntime's float32 output stage emulated with integers):
    /// every output code of the IC stand-in equal to onnxruntime's on the 32 calibration images, and of every QDQ
    /// fixture (compare_qdq_ort.py --rounding onnxruntime --strict checks the VWW stand-in and the MLPerf models too).
    @Test func onnxRuntimeRoundingIsExact() throws {
        let r = try runQDQ("ic_standin_qdq_u8", input: qdqBenchData.appendingPathComponent("ic_calib.npy"), ort: "ic_standin_qdq_u8_ort",
                           ortFloat32: true)
        #expect(r.samples == 32 && r.total == 320)
        #expect(r.same == r.total, "\(r.same)/\(r.total) identical, largest difference \(r.worst)")
        #expect(r.qm.nodes.contains { if case .mean = $0.op { return true } else { return false } }, "the whole-image pool runs as onnxruntime's global average pool")
        for name in qdqFixtures {
            let base = String(name.dropLast(3))
            let f = try runQDQ(name, input: qdqFixture(base + "_input.npy"), ort: name + "_ort", ortFloat32: true)
            #expect(f.same == f.total, "\(name): \(f.same)/\(f.total) identical, largest difference \(f.worst) codes")
        }
    }

    /// The packer refuses --rounding onnxruntime without the QDQ single rounding, and a multiplier that is not a float32 scale.
    @Test func onnxRuntimeRoundingChecksScales() throws {
        let g = try ONNXImporter.importModel(at: qdqFixture("conv3x3_pad1_u8.onnx"))
        let plan = try QuantizationPlan(graph: g)
        var qm = try Quantizer.quantize(graph: g, plan: plan, observers: [:], dtype: .uint8, observer: .minmax)
        qm.ortFloat32 = true
        #expect(qm.ortFloat32Violation() == nil)
        guard let i = qm.nodes.firstIndex(where: { if case .conv = $0.op { return true } else { return false } }),
              case .conv(var c) = qm.nodes[i].op else { Issue.record("no conv"); return }
        c.gemm.multipliers[0] |= 1   // 31 significant bits: not a float32 scale
        qm.nodes[i].op = .conv(c)
        let v = try #require(qm.ortFloat32Violation())
        #expect(v.contains(qm.nodes[i].name), "\(v)")
        #expect(throws: PackingError.self) {
            try Packer.pack(qm, plan: MemoryPlanner.plan(qm), metadata: PackMetadata(sourceName: "x", sourceSHA256: [], calibrationMethod: "qdq"))
        }
    }

    /// A float op other than data movement between the graph input and its first QuantizeLinear (here onnxruntime
    /// left a Mul by 1/255 in float) cannot run on codes: an import error naming the node and the reason.
    @Test func floatOpBeforeTheFirstQuantizeLinearIsRejected() throws {
        do {
            _ = try ONNXImporter.importModel(at: qdqFixture("err_qdq_float_input_mul_u8.onnx"))
            Issue.record("a float Mul on the graph input before its QuantizeLinear must be rejected")
        } catch let e as ImportError {
            guard case .unsupported(let op, let node, let reason) = e else { Issue.record("\(e)"); return }
            #expect(op == "Mul" && node == "scale_input", "\(e)")
            #expect(reason.contains("graph input 'input'") && reason.contains("before its QuantizeLinear") && reason.contains("Transpose"), "\(e)")
        }
    }

    /// After the last DequantizeLinear only data movement is exact (above); a float Sigmoid there has no codes to
    /// produce: rejected naming the node.
    @Test func floatOpAfterTheLastDequantizeLinearIsRejected() throws {
        let g = try ONNXImporter.importModel(at: qdqFixture("err_qdq_float_output_sigmoid_u8.onnx"))
        do {
            let plan = try QuantizationPlan(graph: g)
            _ = try Quantizer.quantize(graph: g, plan: plan, observers: [:], dtype: .uint8, observer: .minmax)
            Issue.record("a float Sigmoid after the last DequantizeLinear must be rejected")
        } catch let e as QuantizationError {
            #expect("\(e)".contains("cannot run in integers") && "\(e)".contains("out_sigmoid"), "\(e)")
        }
    }

    /// Through `calibrate`: both errors exit non-zero, name the node, and write nothing.
    @Test func calibrateRejectsFloatOpsAroundTheQDQGraph() throws {
        guard let cal = CLI.find("calibrate") else { return }
        let dir = try scratchDirectory("qdqfloat")
        defer { try? FileManager.default.removeItem(at: dir) }
        let x = dir.appendingPathComponent("x.npy")
        try Data(NumPy.encode(try NPYArray(float32: (0..<96).map { Float($0) }, shape: [2, 3, 4, 4]))).write(to: x)
        for (model, node) in [("err_qdq_float_input_mul_u8", "scale_input"), ("err_qdq_float_output_sigmoid_u8", "out_sigmoid")] {
            let out = dir.appendingPathComponent(model + ".mqm")
            let r = try cal.run([qdqFixture(model + ".onnx").path, "--data", x.path, "-o", out.path])
            #expect(r.status != 0 && r.status < 128, "\(model): exit \(r.status)")
            #expect(r.err.contains(node), "\(model): \(r.err)")
            #expect(!FileManager.default.fileExists(atPath: out.path), "\(model): nothing written")
        }
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
    }

    /// The requantize table is onnxruntime's float32 DequantizeLinear -> QuantizeLinear, checked against float64
    /// arithmetic written here (ties are not reachable with these scales).
    @Test func requantizeTableIsDequantizeThenQuantize() {
        let a = QParams(scale: 0.0108, zeroPoint: 3, dtype: .uint8), b = QParams(scale: 0.0363, zeroPoint: 137, dtype: .uint8)
        let t = Quantizer.qdqRequantizeTable(from: a, to: b)
        for i in 0..<256 {
            let v = (Double(i - 3) * 0.0108 / 0.0363).rounded() + 137
            #expect(Int(t[i]) == Int(min(max(v, 0), 255)), "code \(i)")
        }
        let c = QParams(scale: 0.05, zeroPoint: -10, dtype: .int8), d = QParams(scale: 0.0213, zeroPoint: 5, dtype: .int8)
        let u = Quantizer.qdqRequantizeTable(from: c, to: d)
        for i in -128...127 {
            let v = (Double(i + 10) * 0.05 / 0.0213).rounded(.toNearestOrEven) + 5
            #expect(Int(Int8(bitPattern: u[i & 255])) == Int(min(max(v, -128), 127)), "code \(i)")
        }
    }
}
