// Tests of the ONNX importer (MQONNX) on the fixtures written by scripts/make_fixtures.py.
// Structural checks here; numerical checks against onnxruntime are in ExecutorTests.swift.
import Foundation
import Testing
import MQGraph
import MQNumPy
@testable import MQONNX

/// Directory of the ONNX fixtures (Tests/MicroQuantTests/Fixtures/onnx).
let onnxFixtureDir = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/onnx")

/// URL of an ONNX fixture file.
func onnxFixture(_ name: String) -> URL { onnxFixtureDir.appendingPathComponent(name) }

/// Imports fixture NAME.onnx.
func importFixture(_ name: String) throws -> Graph {
    try ONNXImporter.importModel(at: onnxFixture(name + ".onnx"))
}

/// Every numeric fixture (NAME.onnx + NAME_input.npy + NAME_output.npy from onnxruntime).
let numericFixtures = [
    "gemm_transb_raw", "gemm_notransb_alpha_beta_floatdata", "gemm_nobias", "gemm_scalar_bias",
    "matmul_add", "matmul_add_rank3", "conv1x1", "conv1x1_stride2_pad", "conv_bn_relu", "gemm_bn",
    "relu", "sigmoid", "tanh", "hardsigmoid_torch", "hardsigmoid_default", "hardswish", "gelu_op",
    "clip_relu6_inputs", "clip_min_only", "clip_attrs_opset6", "silu_pattern", "gelu_erf_pattern",
    "gelu_erf_pattern_alt", "add_residual", "flatten_cnn_head", "reshape_softmax_transpose",
    "softmax_conv_channels", "conv_transpose_sigmoid", "dfl_head", "dynamic_batch_mlp",
    "view_size0_flatten", "gemm_transa", "gemm_mul_sub_div_const", "conv_mul_add_const",
    "softmax_opset11",
]

/// Op kinds of a graph, in order.
func kinds(_ g: Graph) -> [String] { g.nodes.map(\.op.kind) }

/// Message of the ImportError thrown by `body`, or nil.
func importErrorMessage(_ body: () throws -> Graph) -> (ImportError?, String) {
    do {
        _ = try body()
        return (nil, "")
    } catch let e as ImportError {
        return (e, e.description)
    } catch {
        return (nil, "\(error)")
    }
}

@Suite struct ImportTests {
    @Test(arguments: numericFixtures)
    func everyFixtureImportsAndValidates(name: String) throws {
        let g = try importFixture(name)
        try g.validate()
        #expect(g.inputs.count == 1 && g.outputs.count == 1)
        #expect(g.inputs[0].name == "input")
        // The input npy holds B samples: [B, dims after the model's batch axis...], or
        // [B, full input shape...] for a model without a batch axis (gemm_transa).
        let x = try NumPy.read(contentsOf: onnxFixture(name + "_input.npy"))
        #expect(x.count % g.inputs[0].elementCount == 0)
        let perSample = Array(x.shape.dropFirst())
        #expect(perSample == Array(g.inputs[0].shape.dropFirst()) || perSample == g.inputs[0].shape, "\(name)")
    }

    @Test func gemmTransBIsLinearLayout() throws {
        let g = try importFixture("gemm_transb_raw")
        #expect(kinds(g) == ["fullyConnected"])
        #expect(g.inputs[0].shape == [1, 10])  // dynamic batch -> 1
        guard case .fullyConnected(let fc) = g.nodes[0].op else { Issue.record("not FC"); return }
        #expect(fc.weight.shape == [7, 10] && fc.bias?.shape == [7])
    }

    @Test func gemmAlphaBetaAreFolded() throws {
        // transB = 0: B is [K, N] and is stored transposed as [N, K]; the values of alpha * B^T and
        // beta * C are checked numerically against onnxruntime in ExecutorTests.
        let g = try importFixture("gemm_notransb_alpha_beta_floatdata")
        guard case .fullyConnected(let fc) = g.nodes[0].op else { Issue.record("not FC"); return }
        #expect(fc.weight.shape == [7, 10] && fc.bias != nil)
    }

    @Test func matmulAddBecomesOneLayerWithBias() throws {
        for name in ["matmul_add", "matmul_add_rank3"] {
            let g = try importFixture(name)
            #expect(kinds(g) == ["fullyConnected"], "\(name)")
            guard case .fullyConnected(let fc) = g.nodes[0].op else { continue }
            #expect(fc.weight.shape == [6, 12] && fc.bias?.shape == [6])
        }
        #expect(try importFixture("matmul_add_rank3").outputs[0].shape == [1, 5, 6])
    }

    @Test func convIsNHWCBetweenExplicitTransposes() throws {
        let g = try importFixture("conv1x1")
        #expect(kinds(g) == ["transpose", "conv1x1", "transpose"])
        #expect(g.inputs[0].shape == [1, 3, 6, 5] && g.outputs[0].shape == [1, 8, 6, 5])
        #expect(g.nodes[0].op == .transpose(perm: [0, 2, 3, 1]))
        #expect(g.shape(of: g.nodes[1].output) == [1, 6, 5, 8])
        #expect(g.nodes[2].op == .transpose(perm: [0, 3, 1, 2]))
    }

    @Test func convStridesAndPads() throws {
        let g = try importFixture("conv1x1_stride2_pad")
        guard case .conv1x1(let c) = g.nodes[1].op else { Issue.record("no conv"); return }
        #expect(c.strideH == 2 && c.strideW == 2)
        #expect([c.padTop, c.padLeft, c.padBottom, c.padRight] as [Int] == [1, 0, 0, 1] as [Int])
        #expect(c.bias == nil)
        #expect(g.outputs[0].shape == [1, 6, 4, 4])
    }

    @Test func batchNormIsFolded() throws {
        let g = try importFixture("conv_bn_relu")
        #expect(kinds(g) == ["transpose", "conv1x1", "relu", "transpose"])
        guard case .conv1x1(let c) = g.nodes[1].op else { Issue.record("no conv"); return }
        #expect(c.bias != nil)  // the conv had no bias; BN's shift became one
        let fc = try importFixture("gemm_bn")
        #expect(kinds(fc) == ["fullyConnected"])
    }

    @Test func activationsMapToOwnOps() throws {
        let expected: [String: Op] = [
            "relu": .relu, "sigmoid": .sigmoid, "tanh": .tanh, "hardswish": .hardSwish, "gelu_op": .gelu,
            "hardsigmoid_default": .hardSigmoid(alpha: 0.2, beta: 0.5),
            "hardsigmoid_torch": .hardSigmoid(alpha: Float(1.0 / 6.0), beta: 0.5),
            "clip_relu6_inputs": .clip(min: 0, max: 6),
            "clip_min_only": .clip(min: -0.5, max: .infinity),
            "clip_attrs_opset6": .clip(min: -1, max: 1.5),
        ]
        for (name, op) in expected {
            let g = try importFixture(name)
            #expect(g.nodes.map(\.op) == [op], "\(name): \(kinds(g))")
        }
    }

    @Test func siluAndGeluPatternsAreRecognised() throws {
        #expect(kinds(try importFixture("silu_pattern")) == ["transpose", "conv1x1", "silu", "transpose"])
        #expect(kinds(try importFixture("gelu_erf_pattern")) == ["fullyConnected", "gelu"])
        #expect(kinds(try importFixture("gelu_erf_pattern_alt")) == ["gelu"])
    }

    @Test func residualAddStaysNHWC() throws {
        let g = try importFixture("add_residual")
        // input -> NHWC once, shared by conv1 and the residual add; one transpose back at the end.
        #expect(kinds(g) == ["transpose", "conv1x1", "relu", "conv1x1", "add", "transpose"])
        let add = g.nodes[4]
        #expect(add.inputs.contains(g.nodes[0].output))
    }

    @Test func flattenKeepsNCHWOrder() throws {
        let g = try importFixture("flatten_cnn_head")
        // The NHWC -> NCHW transpose before Flatten is folded into the Gemm's weight columns.
        #expect(kinds(g) == ["transpose", "conv1x1", "relu", "reshape", "fullyConnected"])
        #expect(g.nodes[3].op == .reshape(shape: [1, 24]))
        #expect(g.shape(of: g.nodes[2].output) == [1, 3, 2, 4])
    }

    @Test func reshapeResolvesZeroAndMinusOne() throws {
        let g = try importFixture("reshape_softmax_transpose")
        #expect(kinds(g) == ["fullyConnected", "reshape", "softmax", "transpose"])
        #expect(g.nodes[1].op == .reshape(shape: [1, 3, 4]))
        #expect(g.nodes[2].op == .softmax(axis: 2))
        #expect(g.outputs[0].shape == [1, 4, 3])
    }

    @Test func softmaxOnNHWCTensorRemapsTheAxis() throws {
        let g = try importFixture("softmax_conv_channels")
        #expect(kinds(g) == ["transpose", "conv1x1", "softmax", "transpose"])
        #expect(g.nodes[2].op == .softmax(axis: 3))  // ONNX axis 1 (C) is NHWC axis 3
    }

    @Test func userTransposeComposesWithLayoutTranspose() throws {
        let g = try importFixture("conv_transpose_sigmoid")
        // conv output NHWC [1,2,5,4]; ONNX Transpose(0,3,2,1) of NCHW = NHWC perm [0,2,1,3]:
        // sigmoid runs on the conv output, one composed transpose at the end.
        #expect(kinds(g) == ["transpose", "conv1x1", "sigmoid", "transpose"])
        #expect(g.nodes[3].op == .transpose(perm: [0, 2, 1, 3]))
    }

    @Test func dflHeadImports() throws {
        let g = try importFixture("dfl_head")
        #expect(g.inputs[0].shape == [1, 64, 10] && g.outputs[0].shape == [1, 4, 10])
        #expect(kinds(g) == ["reshape", "softmax", "transpose", "conv1x1", "reshape"])
        #expect(g.nodes[1].op == .softmax(axis: 2))            // the 16 bins, on [1, 4, 16, A]
        #expect(g.nodes[2].op == .transpose(perm: [0, 1, 3, 2])) // [1, 4, A, 16] NHWC for the conv
        guard case .conv1x1(let c) = g.nodes[3].op else { Issue.record("no conv"); return }
        #expect(c.weight.shape == [1, 16] && c.weight.data == (0..<16).map(Float.init) && c.bias == nil)
    }

    @Test func dynamicBatchBecomesOne() throws {
        let g = try importFixture("dynamic_batch_mlp")
        #expect(g.inputs[0].shape == [1, 16] && g.outputs[0].shape == [1, 3])
        #expect(kinds(g) == ["fullyConnected", "relu", "fullyConnected"])
    }

    @Test func shapeComputationsOfViewSize0AreFolded() throws {
        // Shape -> Gather -> Unsqueeze -> Concat(-1) -> Reshape: a constant [1, -1] with batch 1.
        let g = try importFixture("view_size0_flatten")
        #expect(kinds(g) == ["transpose", "conv1x1", "reshape", "fullyConnected"])
        #expect(g.nodes[2].op == .reshape(shape: [1, 24]))
    }

    @Test func constantAffineOpsFoldIntoTheLayer() throws {
        #expect(kinds(try importFixture("gemm_mul_sub_div_const")) == ["fullyConnected"])
        #expect(kinds(try importFixture("conv_mul_add_const")) == ["transpose", "conv1x1", "transpose"])
    }

    @Test func gemmTransAInsertsATranspose() throws {
        let g = try importFixture("gemm_transa")
        #expect(g.inputs[0].shape == [10, 1] && g.outputs[0].shape == [1, 5])
        #expect(kinds(g) == ["reshape", "fullyConnected"])  // [10,1] -> [1,10] moves only a unit dim
    }

    @Test func twoOutputsKeepTheirNamesAndLayouts() throws {
        let g = try importFixture("two_outputs")
        #expect(g.outputs.map(\.name) == ["scores", "boxes"])
        #expect(g.outputs.map(\.shape) == [[1, 2, 4, 4], [1, 4, 4, 4]])
        // one input transpose shared by the trunk, two heads, one transpose back per output
        #expect(kinds(g).filter { $0 == "transpose" }.count == 3)
    }

    // MARK: errors

    @Test func unsupportedOpNamesOpNodeAndSupportedList() {
        let (e, msg) = importErrorMessage { try importFixture("err_unsupported_op") }
        guard case .unsupportedOp(let op, let node, let supported)? = e else {
            Issue.record("expected unsupportedOp, got \(msg)"); return
        }
        #expect(op == "LeakyRelu" && node == "/act/LeakyRelu")
        #expect(supported.contains("Gemm") && supported.contains("Softmax"))
        #expect(msg.contains("LeakyRelu") && msg.contains("/act/LeakyRelu") && msg.contains("Gemm"))
    }

    @Test func conv3x3ImportsAsAKxKConv() throws {
        // Formerly rejected (only 1x1 was supported); now a KxK conv in NHWC after the input layout transpose.
        let g = try importFixture("err_conv3x3")
        #expect(kinds(g) == ["transpose", "conv", "transpose"], "\(kinds(g))")
        guard case .conv(let c) = g.nodes[1].op else { Issue.record("no conv"); return }
        #expect(c.weight.shape == [4, 3, 3, 3] && c.group == 1)
        #expect(c.window == Window2D(kernelH: 3, kernelW: 3, padTop: 1, padLeft: 1, padBottom: 1, padRight: 1))
    }

    @Test func formerlyUnsupportedUsesNowImport() throws {
        // Relu(x) * x: Mul of two activations (same shape).
        let g1 = try importFixture("err_mul_activations")
        #expect(kinds(g1) == ["relu", "mul"], "\(kinds(g1))")
        let x: [Float] = [-2, -0.5, 0.25, 3]
        let y1 = try FloatExecutor(graph: g1).run(sample: [x])[0]
        #expect(y1 == x.map { max($0, 0) * $0 })
        // BatchNormalization on the graph input (nothing to fold into): a per-channel affine op.
        let g2 = try importFixture("err_bn_on_input")
        #expect(kinds(g2).contains("affine"), "\(kinds(g2))")
        let xs = (0..<12).map { Float($0) - 5.5 }
        let y2 = try FloatExecutor(graph: g2).run(sample: [xs])[0]
        let s = 1 / (1 + 1e-5).squareRoot()
        #expect(toleranceRatio(y2, xs.map { Float(Double($0) * s) }) <= 1)
    }

    @Test func oldSoftmaxOverSeveralAxesIsRejected() {
        let (e, m) = importErrorMessage { try importFixture("err_softmax_opset11_2axes") }
        #expect({ if case .unsupported("Softmax", "/Softmax", _)? = e { return true } else { return false } }(), "\(m)")
        #expect(m.contains("opset 11"))
    }

    @Test func externalDataIsRejected() {
        let (e, msg) = importErrorMessage { try importFixture("err_external_data") }
        guard case .externalData(let file, let tensor, let loc)? = e else {
            Issue.record("expected externalData, got \(msg)"); return
        }
        #expect(file.hasSuffix("err_external_data.onnx") && tensor == "fc.weight" && loc == "err_external_data.weights")
        #expect(msg.contains("external"))
    }

    @Test func truncatedFileIsCorruptWithFileName() {
        let (e, msg) = importErrorMessage { try importFixture("err_truncated") }
        guard case .corrupt(let file, _)? = e else { Issue.record("expected corrupt, got \(msg)"); return }
        #expect(file.hasSuffix("err_truncated.onnx"))
        #expect(msg.contains("err_truncated.onnx"))
    }

    @Test func everyTruncationOfAValidModelIsAnErrorNotACrash() throws {
        let data = try Data(contentsOf: onnxFixture("conv_bn_relu.onnx"))
        var accepted = 0
        for cut in stride(from: 0, to: data.count, by: max(1, data.count / 200)) {
            if (try? ONNXImporter.importModel(data: data.prefix(cut), file: "cut")) != nil { accepted += 1 }
        }
        #expect(accepted == 0)
    }

    /// Random byte/bit corruptions of valid models: each is rejected with an ImportError or imports
    /// into a valid graph that runs; never a crash (a trap would abort the test run).
    @Test func corruptedModelsNeverCrash() throws {
        var state: UInt64 = 0x9E3779B97F4A7C15
        func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) }
        var imported = 0, rejected = 0
        for name in ["conv_bn_relu", "gelu_erf_pattern", "dfl_head", "view_size0_flatten", "two_outputs"] {
            let data = try Data(contentsOf: onnxFixture(name + ".onnx"))
            for i in 0..<150 {
                var d = data
                for _ in 0...(i % 3) {
                    let pos = next() % d.count
                    if i % 4 == 0 { d[pos] = UInt8(next() & 255) } else { d[pos] ^= UInt8(1 << (next() % 8)) }
                }
                do {
                    let g = try ONNXImporter.importModel(data: d, file: name)
                    imported += 1
                    if g.inputs.reduce(0, { $0 + $1.elementCount }) < 100_000 {
                        _ = try? FloatExecutor(graph: g).run(g.inputs.map { [Float](repeating: 0.5, count: $0.elementCount) }, batch: 1)
                    }
                } catch is ImportError {
                    rejected += 1
                }
            }
        }
        #expect(imported + rejected == 750 && rejected > 0)
    }

    @Test func garbageAndMissingFiles() {
        let (e1, _) = importErrorMessage { try ONNXImporter.importModel(data: Data("not a model at all".utf8), file: "junk.onnx") }
        #expect({ if case .corrupt("junk.onnx", _)? = e1 { return true } else { return false } }())
        let (e2, m2) = importErrorMessage { try ONNXImporter.importModel(at: onnxFixture("does_not_exist.onnx")) }
        #expect({ if case .unreadable? = e2 { return true } else { return false } }())
        #expect(m2.contains("does_not_exist.onnx"))
    }
}
