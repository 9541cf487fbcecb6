// The quantized graph: what the packer serializes (through mq_writer) and the report describes.

import MQCalibration
import MicroQuantC

/// How a tensor's qparams were chosen.
public enum QParamsOrigin: Sendable, Equatable {
    /// From an observer on the float tensor; `clip` is the observer's range (before widening to 0).
    case observed(ObserverKind, clip: ClipRange)
    /// Fixed by the op (sigmoid / softmax outputs: scale 1/256).
    case fixed(String)
    /// Shares the qparams of another tensor (views: reshape, identity, transpose).
    case inherited(from: String)
    /// Taken as they are from an already quantized model (e.g. "tflite": the .tflite file's quantization).
    case imported(String)
}

/// How requantization rounds (a property of the whole packed model).
public enum RequantizeRounding: String, Sendable, Equatable, CaseIterable, Codable {
    /// TensorFlow Lite Micro / CMSIS-NN: SaturatingRoundingDoublingHighMul then RoundingDivideByPOT
    /// (mq_requantize, docs/QUANTIZATION.md section 3). The default.
    case double = "tflite-micro"
    /// TensorFlow Lite's own (ai-edge-litert) FULLY_CONNECTED: one rounding of acc * M, ties toward
    /// +infinity (docs/QUANTIZATION.md). Every other op keeps double rounding.
    case single = "tflite"
    /// onnxruntime's own float32 requantization (MLAS MlasRequantizeOutput: round_half_even(float32(acc) * scale)),
    /// emulated with integers: pre-quantized ONNX (QDQ) imports only (`QuantizedModel.ortFloat32`, packed header flag
    /// MQ_MODEL_FLAG_ORT_FLOAT32, docs/QUANTIZATION.md section 3).
    case onnxruntime = "onnxruntime"
}

/// A closed float range.
public struct ClipRange: Sendable, Equatable, Codable {
    /// Lower and upper bound.
    public var min: Float
    public var max: Float
    /// The range [min, max].
    public init(min: Float, max: Float) { self.min = min; self.max = max }
}

/// An 8-bit activation tensor of the quantized graph (every one lives in the arena).
public struct QTensor: Sendable {
    /// Name (the float graph's tensor name).
    public var name: String
    /// Per-sample shape as in the float graph (rank 1..4 for the device).
    public var shape: [Int]
    /// Quantization parameters.
    public var qparams: QParams
    /// Where they came from.
    public var origin: QParamsOrigin
    /// The codes of a constant operand (an imported model's constant ADD / MUL / CONCATENATION input): packed
    /// as a CONST tensor in the CONSTANTS section, not in the arena. nil for activations.
    public var constant: [UInt8]? = nil
    /// int16 codes (MQ_DTYPE_INT16, symmetric: zero point 0, scale `qparams.scale`) instead of 8-bit ones
    /// (`calibrate --precision`, Precision.swift). `qparams.dtype` is then meaningless.
    public var isInt16 = false

    /// Elements.
    public var elementCount: Int { shape.reduce(1, *) }
    /// Bytes: elements, or 2 x elements for an int16 tensor.
    public var byteCount: Int { elementCount * (isInt16 ? 2 : 1) }

    /// A tensor as given.
    public init(name: String, shape: [Int], qparams: QParams, origin: QParamsOrigin) {
        self.name = name; self.shape = shape; self.qparams = qparams; self.origin = origin
    }
}

/// The prepared constants of a fully connected or pointwise-conv layer (everything mq_fc_params needs).
public struct QGemm: Sendable {
    /// Output features / channels.
    public var n: Int
    /// Input features / channels.
    public var k: Int
    /// Row-major (n, k) int8 weights, symmetric per output channel, codes in [-127, 127] (scales per `WeightOptions.method`).
    public var weights: [Int8]
    /// Per output channel weight scales (shape [n]).
    public var weightScales: [Float]
    /// N4K16-packed weights (mq_pack_weights_n4k16).
    public var packedWeights: [Int8]
    /// int32 bias before folding: round(bias / (in_scale * w_scale[c])) (0 where there is no bias), where
    /// bias is the float bias, minus the expected output error with `WeightOptions.biasCorrection`.
    public var bias: [Int32]
    /// Folded bias (mq_fold_bias): bias - zp' * sum_k W[c][k].
    public var foldedBias: [Int32]
    /// Per channel Q31 multipliers and shifts of in_scale * w_scale[c] / out_scale.
    public var multipliers: [Int32]
    public var shifts: [Int32]
    /// Requantized code type, zero point (the LUT's input qparams when `lut` is set) and clamp.
    public var outDType: ActivationDType
    public var outZeroPoint: Int32
    public var outScale: Float
    public var actMin: Int32
    public var actMax: Int32
    /// Fused activation epilogue.
    public var lut: [UInt8]?
    /// Name of the fused LUT activation, if any.
    public var lutName: String?
    /// Conv only: strides and zero padding.
    public var strideH = 1, strideW = 1
    /// Conv only: zero padding in pixels.
    public var padTop = 0, padLeft = 0, padBottom = 0, padRight = 0

    /// Prepared constants as given (strides 1, no padding).
    public init(n: Int, k: Int, weights: [Int8], weightScales: [Float], packedWeights: [Int8], bias: [Int32],
                foldedBias: [Int32], multipliers: [Int32], shifts: [Int32], outDType: ActivationDType,
                outZeroPoint: Int32, outScale: Float, actMin: Int32, actMax: Int32, lut: [UInt8]?, lutName: String?) {
        self.n = n; self.k = k; self.weights = weights; self.weightScales = weightScales; self.packedWeights = packedWeights
        self.bias = bias; self.foldedBias = foldedBias; self.multipliers = multipliers; self.shifts = shifts
        self.outDType = outDType; self.outZeroPoint = outZeroPoint; self.outScale = outScale
        self.actMin = actMin; self.actMax = actMax; self.lut = lut; self.lutName = lutName
    }
}

/// Window geometry of convolution, depthwise convolution and pooling (NHWC; pads per side).
public struct QWindow: Sendable, Equatable {
    public var kernelH: Int, kernelW: Int
    public var strideH: Int, strideW: Int
    public var dilationH: Int, dilationW: Int
    public var padTop: Int, padBottom: Int, padLeft: Int, padRight: Int
    /// A window as given.
    public init(kernelH: Int, kernelW: Int, strideH: Int, strideW: Int, dilationH: Int = 1, dilationW: Int = 1,
                padTop: Int = 0, padBottom: Int = 0, padLeft: Int = 0, padRight: Int = 0) {
        self.kernelH = kernelH; self.kernelW = kernelW; self.strideH = strideH; self.strideW = strideW
        self.dilationH = dilationH; self.dilationW = dilationW
        self.padTop = padTop; self.padBottom = padBottom; self.padLeft = padLeft; self.padRight = padRight
    }
    /// Output size along one axis: (in + pads - dilation * (kernel - 1) - 1) / stride + 1.
    public static func outputSize(_ input: Int, kernel: Int, stride: Int, dilation: Int, padBefore: Int, padAfter: Int) -> Int {
        (input + padBefore + padAfter - dilation * (kernel - 1) - 1) / stride + 1
    }
}

/// KxK convolution, group 1: `gemm` holds the (n = out channels, k = kernelH * kernelW * inC) rows of
/// OHWI weights with their prepared constants (bias folded with the input zero point over all k).
public struct QConv: Sendable {
    public var window: QWindow
    public var inC: Int
    public var gemm: QGemm
    /// As given.
    public init(window: QWindow, inC: Int, gemm: QGemm) { self.window = window; self.inC = inC; self.gemm = gemm }
}

/// Depthwise convolution: output channel o = c * depthMultiplier + m reads input channel c.
public struct QDepthwise: Sendable {
    public var window: QWindow
    public var inC: Int
    public var depthMultiplier: Int
    /// Weights [kernelH][kernelW][outC] (TFLite's [1, KH, KW, OC] layout), codes, zero point 0.
    public var weights: [Int8]
    /// Per output channel weight scales.
    public var weightScales: [Float]
    /// Unfolded int32 bias per output channel (0 where none).
    public var bias: [Int32]
    /// Per output channel Q31 multipliers and shifts.
    public var multipliers: [Int32]
    public var shifts: [Int32]
    public var outZeroPoint: Int32
    public var actMin: Int32, actMax: Int32
    public var lut: [UInt8]?
    /// As given.
    public init(window: QWindow, inC: Int, depthMultiplier: Int, weights: [Int8], weightScales: [Float], bias: [Int32],
                multipliers: [Int32], shifts: [Int32], outZeroPoint: Int32, actMin: Int32, actMax: Int32, lut: [UInt8]?) {
        self.window = window; self.inC = inC; self.depthMultiplier = depthMultiplier; self.weights = weights
        self.weightScales = weightScales; self.bias = bias; self.multipliers = multipliers; self.shifts = shifts
        self.outZeroPoint = outZeroPoint; self.actMin = actMin; self.actMax = actMax; self.lut = lut
    }
}

/// Average / max pooling: input and output share qparams; clamp to [actMin, actMax].
public struct QPool: Sendable {
    public var window: QWindow
    public var actMin: Int32, actMax: Int32
    /// As given.
    public init(window: QWindow, actMin: Int32, actMax: Int32) { self.window = window; self.actMin = actMin; self.actMax = actMax }
}

/// Mean over H and W of [b, h, w, c] with requantization (multiplier of in_scale / (out_scale * h * w)
/// as the kernel defines it).
public struct QMean: Sendable {
    public var multiplier: Int32, shift: Int32
    public var actMin: Int32, actMax: Int32
    /// As given.
    public init(multiplier: Int32, shift: Int32, actMin: Int32, actMax: Int32) {
        self.multiplier = multiplier; self.shift = shift; self.actMin = actMin; self.actMax = actMax
    }
}

/// Elementwise requantized multiply; `broadcast` describes the second input.
public struct QMul: Sendable {
    public enum Broadcast: Sendable, Equatable { case none, channel(Int), scalar }
    public var multiplier: Int32, shift: Int32
    public var actMin: Int32, actMax: Int32
    public var broadcast: Broadcast
    /// One rounding of the product (`mq_requantize_single`, onnxruntime's QLinearMul; QDQ models), else TFLite's
    /// two (`mq_requantize`).
    public var singleRounding: Bool
    /// As given.
    public init(multiplier: Int32, shift: Int32, actMin: Int32, actMax: Int32, broadcast: Broadcast, singleRounding: Bool = false) {
        self.multiplier = multiplier; self.shift = shift; self.actMin = actMin; self.actMax = actMax; self.broadcast = broadcast
        self.singleRounding = singleRounding
    }
}

/// The prepared constants of a 16x8 fully connected / convolution layer (mq_fc_s16_params): int16 activations,
/// the int8 weights of the 8-bit layer, an int64 bias at s_in16 * s_w[c], the int64 output stage's multipliers.
public struct QGemmS16: Sendable {
    public var n: Int, k: Int
    /// Row-major (n, k) int8 weight codes (OHWI rows for a convolution).
    public var weights: [Int8]
    public var weightScales: [Float]
    /// round(bias[c] / (s_in16 * s_w[c])).
    public var bias: [Int64]
    public var multipliers: [Int32], shifts: [Int32]
    public var actMin: Int32, actMax: Int32
    /// As given.
    public init(n: Int, k: Int, weights: [Int8], weightScales: [Float], bias: [Int64], multipliers: [Int32], shifts: [Int32],
                actMin: Int32, actMax: Int32) {
        self.n = n; self.k = k; self.weights = weights; self.weightScales = weightScales; self.bias = bias
        self.multipliers = multipliers; self.shifts = shifts; self.actMin = actMin; self.actMax = actMax
    }
}

/// A 16x8 depthwise convolution (mq_depthwise_s16_params): weights [kh][kw][outC] as the 8-bit layer's.
public struct QDepthwiseS16: Sendable {
    public var window: QWindow
    public var inC: Int, depthMultiplier: Int
    public var weights: [Int8]
    public var bias: [Int64]
    public var multipliers: [Int32], shifts: [Int32]
    public var actMin: Int32, actMax: Int32
    /// As given.
    public init(window: QWindow, inC: Int, depthMultiplier: Int, weights: [Int8], bias: [Int64], multipliers: [Int32],
                shifts: [Int32], actMin: Int32, actMax: Int32) {
        self.window = window; self.inC = inC; self.depthMultiplier = depthMultiplier; self.weights = weights
        self.bias = bias; self.multipliers = multipliers; self.shifts = shifts; self.actMin = actMin; self.actMax = actMax
    }
}

/// The operator of a quantized node.
public enum QOp: Sendable {
    case fullyConnected(QGemm)
    case conv1x1(QGemm)
    /// Elementwise table (standalone activation); `name` is the activation.
    case lut(table: [UInt8], name: String)
    case add(mq_add_params)
    /// View (reshape, flatten, identity): same bytes, new shape.
    case reshape
    /// TFLite's integer softmax: constants from `mq_softmax_prepare` (input scale, beta 1).
    case softmax(axis: Int, inputMultiplier: Int32, inputLeftShift: Int32, diffMin: Int32)
    /// Softmax into the output tensor's own qparams with one rounding (QDQ models: onnxruntime's QLinearSoftmax
    /// arithmetic): `mq_softmax_table_prepare` (256-entry exp table of the input scale, 1 / output scale).
    case softmaxTable(axis: Int, expTable: [Int32], multiplier: Int32, shift: Int32)
    case transpose(perm: [Int])
    /// KxK convolution (any kernel, stride, dilation, per-side padding).
    case conv(QConv)
    case depthwiseConv(QDepthwise)
    case averagePool(QPool)
    case maxPool(QPool)
    /// Mean over the spatial axes (1, 2) of an NHWC tensor.
    case mean(QMean)
    /// Constant pad of a rank-4 tensor with the input zero point; per axis before / after.
    case pad(before: [Int], after: [Int])
    /// Concatenation along `axis` (inputs with the output's qparams).
    case concat(axis: Int)
    case mul(QMul)
    /// Elementwise requantization to the output qparams (8-bit to 8-bit).
    case requantize(multiplier: Int32, shift: Int32)
    // 16x8 ops (int16 activations, packed format 2.1): placed by `Precision.apply`.
    case fullyConnectedS16(QGemmS16)
    /// KxK or 1x1 convolution (group 1) on int16 activations.
    case convS16(window: QWindow, inC: Int, gemm: QGemmS16)
    case depthwiseConvS16(QDepthwiseS16)
    case addS16(mq_add_s16_params)
    case mulS16(QMul)
    case averagePoolS16(QPool)
    case maxPoolS16(QPool)
    /// 513-entry interpolated int16 table (mq_lut16_build) of the activation `name`.
    case lut16(table: [Int16], name: String)
    /// 8-bit -> int16 conversion (multiplier, shift of s8 / s16).
    case quantizeS16(multiplier: Int32, shift: Int32)
    /// int16 -> 8-bit conversion.
    case requantizeS16To8(multiplier: Int32, shift: Int32)
    /// TFLite's int16 softmax along the last axis (mq_softmax_s16_prepare: 513-entry exp and reciprocal tables);
    /// output scale 1/32768.
    case softmaxS16(inputMultiplier: Int32, inputShift: Int32, expTable: [Int16], recipTable: [Int16])

    /// True for the ops with int16 outputs or inputs (the 16x8 ops and the two conversions).
    public var isS16: Bool {
        switch self {
        case .fullyConnectedS16, .convS16, .depthwiseConvS16, .addS16, .mulS16, .averagePoolS16, .maxPoolS16, .lut16,
             .quantizeS16, .requantizeS16To8, .softmaxS16:
            return true
        default:
            return false
        }
    }

    /// Short name for reports.
    public var kind: String {
        switch self {
        case .fullyConnected: return "fully_connected"
        case .conv1x1: return "conv_1x1"
        case .lut(_, let name): return "lut(\(name))"
        case .add: return "add"
        case .reshape: return "reshape"
        case .softmax: return "softmax"
        case .softmaxTable: return "softmax_table"
        case .transpose: return "transpose"
        case .conv: return "conv"
        case .depthwiseConv: return "depthwise_conv"
        case .averagePool: return "average_pool"
        case .maxPool: return "max_pool"
        case .mean: return "mean"
        case .pad: return "pad"
        case .concat: return "concat"
        case .mul: return "mul"
        case .requantize: return "requantize"
        case .fullyConnectedS16: return "fully_connected_s16"
        case .convS16: return "conv_s16"
        case .depthwiseConvS16: return "depthwise_conv_s16"
        case .addS16: return "add_s16"
        case .mulS16: return "mul_s16"
        case .averagePoolS16: return "average_pool_s16"
        case .maxPoolS16: return "max_pool_s16"
        case .lut16(_, let name): return "lut16(\(name))"
        case .quantizeS16: return "quantize_s16"
        case .requantizeS16To8: return "requantize_s16_to_8"
        case .softmaxS16: return "softmax_s16"
        }
    }
}

/// One op of the quantized graph.
public struct QNode: Sendable {
    /// Name of the (first) float node it implements.
    public var name: String
    /// The float nodes fused into this one, in order (e.g. ["conv3", "silu3"]).
    public var fused: [String]
    /// The operator with its prepared constants.
    public var op: QOp
    /// Input tensor indices (into `QuantizedModel.tensors`).
    public var inputs: [Int]
    /// Output tensor index.
    public var output: Int
    /// Pixel-streamed chain (packed STREAM_FC / STREAM_FC_S16, docs/FORMAT.md): set on the head node, whose op is its
    /// `fullyConnected` / `fullyConnectedS16` and whose inputs are [source, gathered pixel, head pixel]; the next
    /// `members` nodes (streamMember) run once per pixel on one-pixel tensors. Formed by `MQPacking.StreamFusion`.
    public var stream: QStream? = nil
    /// A member of the pixel-streamed chain of the head node before it.
    public var streamMember = false
    /// Row-streamed segment (packed ROW_STREAM, docs/FORMAT.md "Row-streamed segment"): set on the FIRST member; the
    /// packer writes the segment's ROW_STREAM record before it. This node and the next `members - 1` (rowMember) run
    /// row by row; every member output but the last lives only as a ring of rows. Formed by `MQPacking.RowStreamFusion`.
    public var rows: QRows? = nil
    /// A member of a row-streamed segment (op flag bit 4).
    public var rowMember = false

    /// A node as given.
    public init(name: String, fused: [String], op: QOp, inputs: [Int], output: Int) {
        self.name = name; self.fused = fused; self.op = op; self.inputs = inputs; self.output = output
    }
}

/// A row-streamed segment: its members, the segment input tensor, the ring rows of members 0 ..< members - 1.
public struct QRows: Sendable, Equatable {
    public var members: Int
    public var input: Int
    public var ringRows: [Int]
    /// The planner gives a tabulated ADD member its term tables (2 KB of arena scratch over the segment); false: the
    /// ADD's rows run untabulated (slower, the same bytes), chosen when only that lets the segment lower the arena.
    public var addTerms: Bool
    public init(members: Int, input: Int, ringRows: [Int], addTerms: Bool = true) {
        self.members = members; self.input = input; self.ringRows = ringRows; self.addTerms = addTerms
    }
}

/// The geometry of a pixel-streamed chain: members, grid, the stride of the gather, the source layout.
public struct QStream: Sendable, Equatable {
    public var members: Int
    public var outH: Int, outW: Int
    public var strideH: Int, strideW: Int
    /// The source is NCHW (the chain's NCHW -> NHWC transpose is the gather); else NHWC.
    public var nchw: Bool
    public init(members: Int, outH: Int, outW: Int, strideH: Int, strideW: Int, nchw: Bool) {
        self.members = members; self.outH = outH; self.outW = outW; self.strideH = strideH; self.strideW = strideW
        self.nchw = nchw
    }
}

/// A fully quantized graph, in execution order.
public struct QuantizedModel: Sendable {
    /// Model name (from the float graph).
    public var name: String
    /// Code type of every activation tensor.
    public var activationDType: ActivationDType
    /// Observer used for the observed tensors.
    public var observer: ObserverKind
    /// Arena tensors (index = tensor id in the packed model).
    public var tensors: [QTensor]
    /// Ops in execution order.
    public var nodes: [QNode]
    /// Model input / output tensor indices (graph order).
    public var inputs: [Int]
    public var outputs: [Int]
    /// Float tensors that exist only inside a fused op: the pre-activation output of a layer with a
    /// LUT epilogue (its requantization target = the LUT's input qparams). Not arena tensors.
    public var preActivations: [QTensor] = []
    /// How requantization rounds in every op that requantizes (docs/QUANTIZATION.md).
    public var rounding: RequantizeRounding = .double
    /// Convolutions (conv, 1x1, depthwise) requantize with single rounding too (pre-quantized QDQ models:
    /// onnxruntime's QLinearConv rounds once; packed header flag MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV). The 1x1 and
    /// depthwise ones run in place as in any model (the in-place kernels have the single-rounding output stage).
    public var singleRoundingConv: Bool = false
    /// With `rounding == .single` and `singleRoundingConv`: the fully connected layers and the convolutions compute
    /// onnxruntime's float32 output stage exactly (packed header flag MQ_MODEL_FLAG_ORT_FLOAT32; the runtime's
    /// portable kernels, never in place or streamed: the planner and the stream fusions leave such a model alone).
    public var ortFloat32: Bool = false
    /// Set when the model was imported already quantized (e.g. "tflite"): no observer, no calibration.
    public var importedFrom: String? = nil

    /// A model as given.
    public init(name: String, activationDType: ActivationDType, observer: ObserverKind, tensors: [QTensor], nodes: [QNode],
                inputs: [Int], outputs: [Int], preActivations: [QTensor] = []) {
        self.name = name; self.activationDType = activationDType; self.observer = observer; self.tensors = tensors
        self.nodes = nodes; self.inputs = inputs; self.outputs = outputs; self.preActivations = preActivations
    }

    /// Index of the tensor with this name.
    public func tensorIndex(_ name: String) -> Int? { tensors.firstIndex { $0.name == name } }

    /// Bytes of constant data (packed weights, folded biases, multipliers, shifts, tables) the ops carry.
    public var constantBytes: Int {
        nodes.reduce(0) { $0 + Self.opConstantBytes($1.op) } + tensors.reduce(0) { $0 + ($1.constant?.count ?? 0) }
    }

    /// Constant bytes node `i` reads: its op's prepared constants and its CONST input tensors.
    public func constantBytes(node i: Int) -> Int {
        guard nodes.indices.contains(i) else { return 0 }
        let n = nodes[i]
        return Self.opConstantBytes(n.op) + Set(n.inputs).reduce(0) {
            $0 + (tensors.indices.contains($1) ? tensors[$1].constant?.count ?? 0 : 0)
        }
    }

    static func opConstantBytes(_ op: QOp) -> Int {
        switch op {
        case .fullyConnected(let g), .conv1x1(let g):
            return g.packedWeights.count + 4 * (g.foldedBias.count + g.multipliers.count + g.shifts.count) + (g.lut == nil ? 0 : 256)
        case .conv(let c):
            let g = c.gemm
            return g.packedWeights.count + 4 * (g.foldedBias.count + g.multipliers.count + g.shifts.count) + (g.lut == nil ? 0 : 256)
        case .depthwiseConv(let d):
            return d.weights.count + 4 * (d.bias.count + d.multipliers.count + d.shifts.count) + (d.lut == nil ? 0 : 256)
        case .lut: return 256
        case .fullyConnectedS16(let g), .convS16(_, _, let g):
            return g.weights.count + 8 * g.bias.count + 4 * (g.multipliers.count + g.shifts.count)
        case .depthwiseConvS16(let d):
            return d.weights.count + 8 * d.bias.count + 4 * (d.multipliers.count + d.shifts.count)
        case .lut16: return 1026
        case .softmaxS16: return 2 * 1026
        case .softmaxTable: return 1024
        default: return 0
        }
    }

    /// Multiply-accumulates of node `i` per inference, as the fit report counts them (MQSimulation.LayerInfo):
    /// fully connected and convolutions output elements x k, depthwise output elements x taps, 0 for the others.
    public func macs(node i: Int) -> Int {
        guard nodes.indices.contains(i), tensors.indices.contains(nodes[i].output) else { return 0 }
        let n = nodes[i]
        let out = tensors[n.output].byteCount
        switch n.op {
        case .fullyConnected(let g), .conv1x1(let g): return out * g.k
        case .conv(let c): return out * c.window.kernelH * c.window.kernelW * c.inC
        case .depthwiseConv(let d): return out * d.window.kernelH * d.window.kernelW
        default: return 0
        }
    }
}

extension QuantizedModel {
    /// MQ_MODEL_FLAG_ORT_FLOAT32's requirement on the fully connected / convolution multipliers (the loader checks it
    /// too): each is 0 or a normalized Q31 value with at most 24 significant bits (a float32 scale), shift in
    /// [-31, 30]. Returns the first node that breaks it, with the reason.
    public func ortFloat32Violation() -> String? {
        for n in nodes {
            let ms: [Int32], ss: [Int32]
            switch n.op {
            case .fullyConnected(let g), .conv1x1(let g): ms = g.multipliers; ss = g.shifts
            case .conv(let c): ms = c.gemm.multipliers; ss = c.gemm.shifts
            case .depthwiseConv(let d): ms = d.multipliers; ss = d.shifts
            case .mean(let q):
                // unnormalized (mq_mean): the float32 scale exactly needs at most 24 significant bits
                var m = UInt32(bitPattern: q.multiplier)
                while m != 0 && m & 1 == 0 { m >>= 1 }
                if q.multiplier < 0 || m >= (1 << 24) {
                    return "node '\(n.name)': mean scale (multiplier \(q.multiplier), shift \(q.shift)) has more than 24 significant bits (a float32 scale below 2^-8 with shift 0): not onnxruntime's float32 factor"
                }
                continue
            default: continue
            }
            for (m, s) in zip(ms, ss) {
                let ok = m == 0 || (m >= (1 << 30) && (m & 0x7F) == 0)
                if !ok || s < -31 || s > 30 {
                    return "node '\(n.name)': requantization scale \(Double(m) * Double(sign: .plus, exponent: Int(s) - 31, significand: 1)) (multiplier \(m), shift \(s)) is not a float32 scale in [2^-62, 2^30)"
                }
            }
        }
        return nil
    }
}

extension QuantizedModel {
    /// `--rounding onnxruntime`: an AVERAGE_POOL whose window is the whole input without padding (NHWC, output 1x1)
    /// is what onnxruntime runs as its global average pool (QLinearAveragePool falls back to
    /// QLinearGlobalAveragePool there): `float32(sum - n * zp) * float32(s_in / (s_out * n))`, rounded half to even.
    /// Such a pool becomes a MEAN with that float32 factor (run with the emulated float32 output stage,
    /// MQ_MODEL_FLAG_ORT_FLOAT32); other pools stay (docs/QUANTIZATION.md). Returns the names rewritten.
    public mutating func ortGlobalPoolsAsMean() -> [String] {
        var names: [String] = []
        for i in nodes.indices {
            guard case .averagePool(let p) = nodes[i].op else { continue }
            let x = tensors[nodes[i].inputs[0]], y = tensors[nodes[i].output]
            let w = p.window
            guard x.shape.count == 4, y.shape.count == 4, y.shape[1] == 1, y.shape[2] == 1,
                  w.kernelH == x.shape[1], w.kernelW == x.shape[2], w.dilationH == 1, w.dilationW == 1,
                  w.padTop == 0, w.padBottom == 0, w.padLeft == 0, w.padRight == 0 else { continue }
            let n = Float(x.shape[1] * x.shape[2])
            let real = Double(Float(x.qparams.scale) / (Float(y.qparams.scale) * n))   // onnxruntime's float32 factor
            var sh: Int32 = 0
            while real * Double(sign: .plus, exponent: 31 - Int(sh), significand: 1) >= 2147483647.5 && sh < 30 { sh += 1 }
            let m = (real * Double(sign: .plus, exponent: 31 - Int(sh), significand: 1)).rounded()
            guard m >= 1 && m < 2147483648 else { continue }
            nodes[i].op = .mean(QMean(multiplier: Int32(m), shift: sh, actMin: p.actMin, actMax: p.actMax))
            names.append(nodes[i].name)
        }
        return names
    }
}
