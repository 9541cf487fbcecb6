// Convolutional op set (issue 10): every fixture of scripts/make_conv_fixtures.py imported and run by the
// float executor against the outputs onnxruntime computed for it; layout checks (transposes cancel);
// error cases; the MLPerf Tiny float models against onnxruntime outputs stored by the same script.
import Foundation
import Testing
import MQGraph
import MQNumPy
@testable import MQONNX

/// Directory of the conv-op-set fixtures (Tests/MicroQuantTests/Fixtures/onnx_conv).
let convFixtureDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/onnx_conv")

func convFixture(_ name: String) -> URL { convFixtureDir.appendingPathComponent(name) }

func importConvFixture(_ name: String) throws -> Graph {
    try ONNXImporter.importModel(at: convFixture(name + ".onnx"))
}

/// The MLPerf Tiny model folder (shared/models/mlperf-tiny in an ancestor of this file's directory), or nil.
func mlperfTinyDir() -> URL? {
    var dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    for _ in 0..<8 {
        let cand = dir.appendingPathComponent("shared/models/mlperf-tiny")
        if FileManager.default.fileExists(atPath: cand.appendingPathComponent("kws_ref_model_float.onnx").path) { return cand }
        dir = dir.deletingLastPathComponent()
    }
    return nil
}

/// Single-input, single-output fixtures with onnxruntime reference outputs.
let convNumericFixtures = [
    "conv3x3_pad1", "conv5x3_stride_dilation", "conv_same_upper", "conv_same_lower", "conv_valid_nobias",
    "conv1x1_dilation_ignored", "depthwise3x3", "depthwise_mult2_stride2", "depthwise_bn_relu6",
    "avgpool3x3_s2_pad", "avgpool_count_include_pad", "avgpool_same_upper", "maxpool3x3_s2_pad", "maxpool2x2",
    "global_avgpool_head", "global_maxpool", "reducemean_hw_keepdims0", "reducemean_hw_opset18",
    "pad_constant_conv", "concat_channels", "squeeze_unsqueeze", "mul_activations", "squeeze_excitation",
    "affine_not_folded", "hardswish_pattern", "resnet_block", "mobilenet_block", "tf2onnx_nhwc",
]

@Suite struct ConvImportTests {
    @Test(arguments: convNumericFixtures)
    func floatExecutorMatchesOnnxRuntime(name: String) throws {
        let g = try importConvFixture(name)
        let x = try NumPy.read(contentsOf: convFixture(name + "_input.npy"))
        let ref = try NumPy.read(contentsOf: convFixture(name + "_output.npy"))
        let batch = x.count / g.inputs[0].elementCount
        #expect(batch == 4)
        let exec = try FloatExecutor(graph: g)
        let y = try exec.run([x.floats()], batch: batch)[0]
        #expect(y.count == ref.count, "\(name): \(y.count) vs \(ref.count) values")
        let r = toleranceRatio(y, ref.floats(), atol: 1e-4, rtol: 1e-4)
        #expect(r <= 1, "\(name): worst error is \(r)x the tolerance")
        // Batch runs equal per-sample runs.
        let per = g.inputs[0].elementCount, outPer = g.outputs[0].elementCount
        let xs = x.floats()
        for b in [0, batch - 1] {
            let yb = try exec.run(sample: [Array(xs[(b * per)..<((b + 1) * per)])])[0]
            #expect(yb == Array(y[(b * outPer)..<((b + 1) * outPer)]), "\(name) sample \(b)")
        }
    }

    @Test func convOpsAreNHWCWithoutTransposesInside() throws {
        // torch style: one layout transpose of the NCHW graph input, none between the layers.
        for name in ["resnet_block", "mobilenet_block", "squeeze_excitation", "concat_channels", "pad_constant_conv"] {
            let g = try importConvFixture(name)
            let t = g.nodes.filter { $0.op.kind == "transpose" }
            #expect(t.count <= 2 && t.allSatisfy { $0.inputs[0] == "input" || g.outputs.map(\.name).contains($0.output) },
                    "\(name): \(g.summary)")
        }
        // tf2onnx style (NHWC input, Transpose pairs around every conv): no transpose at all.
        let g = try importConvFixture("tf2onnx_nhwc")
        #expect(!kinds(g).contains("transpose"), "\(g.summary)")
        #expect(kinds(g) == ["reshape", "conv", "relu", "depthwiseConv", "relu", "conv1x1", "relu", "mean", "reshape", "fullyConnected"]
                || !kinds(g).contains("transpose"), "\(kinds(g))")
    }

    @Test func batchNormFoldsIntoConvAndDepthwise() throws {
        let g = try importConvFixture("resnet_block")
        #expect(!kinds(g).contains("affine"), "\(kinds(g))")
        let m = try importConvFixture("mobilenet_block")
        #expect(kinds(m).filter { $0 == "depthwiseConv" }.count == 2 && !kinds(m).contains("affine"), "\(kinds(m))")
        #expect(kinds(m).filter { $0 == "add" }.count == 1 && kinds(m).filter { $0 == "clip" }.count == 5)
    }

    @Test func windowsAndPaddingAreResolved() throws {
        func conv(_ name: String) throws -> Conv2D {
            let g = try importConvFixture(name)
            guard let c = g.nodes.compactMap({ if case .conv(let c) = $0.op { return c } else { return nil } }).first else {
                throw ImportError.invalidModel("no conv in \(name)")
            }
            return c
        }
        // in 9 x 8, kernel 4 x 3, stride 2: out 5 x 4, total pads 3 (H) and 1 (W)
        let up = try conv("conv_same_upper").window, low = try conv("conv_same_lower").window
        #expect([up.padTop, up.padBottom, up.padLeft, up.padRight] as [Int] == [1, 2, 0, 1])
        #expect([low.padTop, low.padBottom, low.padLeft, low.padRight] as [Int] == [2, 1, 1, 0])
        let d = try conv("conv5x3_stride_dilation")
        #expect(d.window == Window2D(kernelH: 5, kernelW: 3, strideH: 2, strideW: 1, dilationH: 1, dilationW: 2,
                                     padTop: 2, padLeft: 1, padBottom: 1, padRight: 0))
        let dw = try conv("depthwise_mult2_stride2")
        #expect(dw.group == 3 && dw.depthMultiplier == 2 && dw.weight.shape == [6, 3, 3, 1])
    }

    @Test func twoInputsTwoOutputs() throws {
        let g = try importConvFixture("two_inputs_two_outputs")
        #expect(g.inputs.map(\.name) == ["image", "mask"] && g.outputs.map(\.name) == ["features", "pooled"])
        let xs = try ["", "_1"].map { try NumPy.read(contentsOf: convFixture("two_inputs_two_outputs_input\($0).npy")).floats() }
        let ys = try FloatExecutor(graph: g).run(xs, batch: 4)
        for (i, suffix) in ["", "_1"].enumerated() {
            let ref = try NumPy.read(contentsOf: convFixture("two_inputs_two_outputs_output\(suffix).npy")).floats()
            #expect(ys[i].count == ref.count && toleranceRatio(ys[i], ref, atol: 1e-4) <= 1, "output \(i)")
        }
    }

    @Test func unsupportedConvSetUsesAreNamed() {
        let (e1, m1) = importErrorMessage { try importConvFixture("err_grouped_conv") }
        #expect({ if case .unsupported("Conv", "/conv/Conv", _)? = e1 { return true } else { return false } }(), "\(m1)")
        #expect(m1.contains("grouped convolution (group 2"))
        let (e2, m2) = importErrorMessage { try importConvFixture("err_pad_reflect") }
        #expect({ if case .unsupported("Pad", "/Pad", _)? = e2 { return true } else { return false } }(), "\(m2)")
        #expect(m2.contains("reflect"))
        let (e3, m3) = importErrorMessage { try importConvFixture("err_pool_ceil_mode") }
        #expect({ if case .unsupported("MaxPool", "/MaxPool", _)? = e3 { return true } else { return false } }(), "\(m3)")
        #expect(m3.contains("ceil_mode"))
    }

    /// Hand-built depthwise conv with multiplier 2, stride 2, dilation 2 vs a float64 loop written here.
    @Test func depthwiseAgainstFloat64Reference() throws {
        let (h, w, c, m) = (7, 6, 2, 2)
        let win = Window2D(kernelH: 3, kernelW: 2, strideH: 2, strideW: 1, dilationH: 2, dilationW: 2, padTop: 2, padLeft: 1, padBottom: 1, padRight: 0)
        var rng = SystemRandomNumberGenerator()
        let wt = (0..<(c * m * 3 * 2)).map { _ in Float.random(in: -1...1, using: &rng) }
        let bias = (0..<(c * m)).map { _ in Float.random(in: -1...1, using: &rng) }
        let x = (0..<(h * w * c)).map { _ in Float.random(in: -2...2, using: &rng) }
        let conv = Conv2D(weight: ConstantTensor(shape: [c * m, 3, 2, 1], data: wt), bias: ConstantTensor(shape: [c * m], data: bias), window: win, group: c)
        let g = try Graph(name: "dw", inputs: [TensorInfo(name: "x", shape: [1, h, w, c])], outputs: [TensorInfo(name: "y", shape: [1, 3, 5, 4])],
                          nodes: [Node(name: "dw", op: .conv(conv), inputs: ["x"], output: "y")])
        let y = try FloatExecutor(graph: g).run(sample: [x])[0]
        var ref: [Float] = []
        for oy in 0..<3 {
            for ox in 0..<5 {
                for o in 0..<(c * m) {
                    var s = Double(bias[o])
                    for ky in 0..<3 {
                        for kx in 0..<2 {
                            let iy = oy * 2 - 2 + ky * 2, ix = ox - 1 + kx * 2
                            if iy >= 0 && iy < h && ix >= 0 && ix < w { s += Double(x[(iy * w + ix) * c + o / m]) * Double(wt[(o * 3 + ky) * 2 + kx]) }
                        }
                    }
                    ref.append(Float(s))
                }
            }
        }
        #expect(toleranceRatio(y, ref, atol: 1e-5, rtol: 1e-5) <= 1)
    }

    /// The MLPerf Tiny float models (tf2onnx) import and match onnxruntime (outputs stored by
    /// scripts/make_conv_fixtures.py for random inputs in the models' input ranges).
    @Test(arguments: ["kws_ref_model_float", "ad01_float"])
    func mlperfTinyFloatModels(model: String) throws {
        guard let dir = mlperfTinyDir() else {
            Issue.record("shared/models/mlperf-tiny not found above \(#filePath)")
            return
        }
        let g = try ONNXImporter.importModel(at: dir.appendingPathComponent(model + ".onnx"))
        #expect(!kinds(g).contains("transpose"), "\(g.summary)")
        let x = try NumPy.read(contentsOf: convFixture(model + "_input.npy"))
        let ref = try NumPy.read(contentsOf: convFixture(model + "_output.npy"))
        let batch = x.count / g.inputs[0].elementCount
        let y = try FloatExecutor(graph: g).run([x.floats()], batch: batch)[0]
        #expect(y.count == ref.count && toleranceRatio(y, ref.floats(), atol: 1e-4, rtol: 1e-3) <= 1)
    }
}
