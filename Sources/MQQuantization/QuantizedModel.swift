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

    /// Elements (= bytes).
    public var byteCount: Int { shape.reduce(1, *) }
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
    case transpose(perm: [Int])

    /// Short name for reports.
    public var kind: String {
        switch self {
        case .fullyConnected: return "fully_connected"
        case .conv1x1: return "conv_1x1"
        case .lut(_, let name): return "lut(\(name))"
        case .add: return "add"
        case .reshape: return "reshape"
        case .softmax: return "softmax"
        case .transpose: return "transpose"
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

    /// Index of the tensor with this name.
    public func tensorIndex(_ name: String) -> Int? { tensors.firstIndex { $0.name == name } }

    /// Bytes of constant data (packed weights, folded biases, multipliers, shifts, tables) the ops carry.
    public var constantBytes: Int {
        nodes.reduce(0) { acc, n in
            switch n.op {
            case .fullyConnected(let g), .conv1x1(let g):
                return acc + g.packedWeights.count + 4 * (g.foldedBias.count + g.multipliers.count + g.shifts.count) + (g.lut == nil ? 0 : 256)
            case .lut: return acc + 256
            default: return acc
            }
        }
    }
}
