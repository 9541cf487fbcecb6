// MQGraph: the float graph IR that the ONNX importer produces and that calibration,
// quantization and packing consume.
//
// Conventions (read these before using the IR):
//  * Every shape is the shape of ONE sample with the batch dimension kept as 1 where the
//    ONNX model has one (a dynamic/symbolic batch dimension is imported as 1). The float
//    executor runs B samples by stacking them: a batch buffer is B contiguous per-sample
//    buffers, i.e. layout [B, shape...] where shape[0] == 1 (or [B * shape[0], ...]).
//  * All tensors are row-major (C order) float32.
//  * Rank-4 tensors produced or consumed by `conv1x1` are NHWC (channels last), the layout
//    the device runs. Graph inputs and outputs always keep the user's ONNX layout (usually
//    NCHW); the importer inserts explicit `transpose` nodes where layouts change, and
//    reshapes / softmax axes / user transposes keep their ONNX meaning.
//  * Weights are float32 constants owned by the node that uses them (no shared constant
//    table): `fullyConnected` and `conv1x1` carry a weight matrix [out, in] (the
//    `nn.Linear` layout; a 1x1 conv weight [out, in, 1, 1] is stored as [out, in]) and an
//    optional bias [out]. BatchNormalization and constant-operand Adds have already been
//    folded into these by the importer.
//  * `nodes` are topologically sorted: every node's inputs are graph inputs or outputs of
//    earlier nodes. Each node has exactly one output tensor; tensor names are unique.

/// A named tensor shape: a graph input, a graph output, or any intermediate activation.
public struct TensorInfo: Sendable, Hashable, CustomStringConvertible {
    /// Tensor name (the ONNX value name where there is one; inserted tensors get derived names).
    public var name: String
    /// Per-sample shape, row-major, batch dimension (if any) = 1. Empty = scalar.
    public var shape: [Int]

    public init(name: String, shape: [Int]) {
        self.name = name
        self.shape = shape
    }

    /// Number of elements of one sample (product of `shape`; 1 for a scalar).
    public var elementCount: Int { shape.reduce(1, *) }

    public var description: String { "\(name)\(shapeString(shape))" }
}

/// A float32 constant (weights, biases), row-major.
public struct ConstantTensor: Sendable, Hashable {
    /// Shape of `data`, row-major.
    public var shape: [Int]
    /// Values, count == product of `shape`.
    public var data: [Float]

    /// Creates a constant; `data.count` must equal the product of `shape` (checked by `Graph.validate()`).
    public init(shape: [Int], data: [Float]) {
        self.shape = shape
        self.data = data
    }

    /// Number of elements (product of `shape`).
    public var elementCount: Int { shape.reduce(1, *) }
}

/// Parameters of a fully connected layer: y[m, o] = sum_i x[m, i] * weight[o, i] + bias[o].
/// The input tensor is viewed as [rows, in] with in = its last dimension (rows = product of the
/// others); the output has the input's shape with the last dimension replaced by `out`.
public struct FullyConnected: Sendable, Hashable {
    /// Weight matrix, shape [out, in] (row-major, `nn.Linear` layout).
    public var weight: ConstantTensor
    /// Bias, shape [out], or nil for no bias.
    public var bias: ConstantTensor?

    public init(weight: ConstantTensor, bias: ConstantTensor?) {
        self.weight = weight
        self.bias = bias
    }

    /// Output features (weight.shape[0]).
    public var outFeatures: Int { weight.shape[0] }
    /// Input features (weight.shape[1]).
    public var inFeatures: Int { weight.shape[1] }
}

/// Parameters of a pointwise (1x1) convolution in NHWC:
/// input [N, H, W, in] -> output [N, OH, OW, out] with OH = (H + padTop + padBottom - 1) / strideH + 1
/// (likewise OW); out[n, oy, ox, o] = bias[o] + sum_i x[n, oy*strideH - padTop, ox*strideW - padLeft, i] * weight[o, i],
/// where positions outside the input read zero (zero padding).
public struct Conv1x1: Sendable, Hashable {
    /// Weight matrix, shape [out, in] (the ONNX [out, in, 1, 1] kernel with the unit dims dropped).
    public var weight: ConstantTensor
    /// Bias, shape [out], or nil.
    public var bias: ConstantTensor?
    /// Strides (1 or 2 for the device; any >= 1 in the IR).
    public var strideH: Int
    public var strideW: Int
    /// Zero padding in pixels.
    public var padTop: Int
    public var padLeft: Int
    public var padBottom: Int
    public var padRight: Int

    public init(weight: ConstantTensor, bias: ConstantTensor?, strideH: Int = 1, strideW: Int = 1,
                padTop: Int = 0, padLeft: Int = 0, padBottom: Int = 0, padRight: Int = 0) {
        self.weight = weight
        self.bias = bias
        self.strideH = strideH
        self.strideW = strideW
        self.padTop = padTop
        self.padLeft = padLeft
        self.padBottom = padBottom
        self.padRight = padRight
    }

    /// Output channels (weight.shape[0]).
    public var outChannels: Int { weight.shape[0] }
    /// Input channels (weight.shape[1]).
    public var inChannels: Int { weight.shape[1] }

    /// Output spatial size for an input of h x w, or nil if it would be < 1.
    public func outputSize(h: Int, w: Int) -> (h: Int, w: Int)? {
        let hp = h + padTop + padBottom, wp = w + padLeft + padRight
        guard strideH >= 1, strideW >= 1, hp >= 1, wp >= 1 else { return nil }
        return ((hp - 1) / strideH + 1, (wp - 1) / strideW + 1)
    }
}

/// The operator vocabulary of the IR. Unary ops take one input; `add` takes two.
/// All elementwise ops keep the input shape.
public enum Op: Sendable, Hashable {
    /// Fully connected over the last dimension (ONNX Gemm, MatMul with constant weights (+ Add bias)).
    case fullyConnected(FullyConnected)
    /// Pointwise convolution, NHWC input and output (ONNX Conv with a 1x1 kernel, group 1).
    case conv1x1(Conv1x1)
    /// max(x, 0).
    case relu
    /// min(max(x, min), max); bounds may be -inf / +inf. ReLU6 is clip(0, 6).
    case clip(min: Float, max: Float)
    /// 1 / (1 + exp(-x)).
    case sigmoid
    /// x * sigmoid(x) (ONNX Mul(x, Sigmoid(x)), torch nn.SiLU).
    case silu
    /// max(0, min(1, alpha * x + beta)) (ONNX HardSigmoid; ONNX defaults alpha 0.2, beta 0.5;
    /// torch nn.Hardsigmoid exports alpha 1/6, beta 0.5).
    case hardSigmoid(alpha: Float, beta: Float)
    /// x * max(0, min(1, x / 6 + 1 / 2)) (ONNX HardSwish, torch nn.Hardswish).
    case hardSwish
    /// tanh(x).
    case tanh
    /// Exact GELU: x * Phi(x) = x * 0.5 * (1 + erf(x / sqrt(2))) (ONNX Gelu, or the Erf pattern).
    case gelu
    /// Elementwise sum of two activation tensors of the same shape (residual add).
    case add
    /// View the input as `shape` (fully resolved: no 0 or -1; same element count).
    /// ONNX Reshape and Flatten both import as this.
    case reshape(shape: [Int])
    /// Permute dimensions: output dim i = input dim perm[i] (ONNX Transpose semantics).
    case transpose(perm: [Int])
    /// Softmax along `axis` (non-negative, < rank), ONNX opset-13 semantics (one axis).
    case softmax(axis: Int)
    /// Copy (ONNX Identity / Dropout in inference). Kept only where it names a graph output.
    case identity
    /// KxK or depthwise convolution, NHWC input and output (ONNX Conv other than 1x1 group 1).
    case conv(Conv2D)
    /// Average pooling, NHWC (ONNX AveragePool).
    case averagePool(Pool2D)
    /// Max pooling, NHWC; padded taps are ignored (ONNX MaxPool).
    case maxPool(Pool2D)
    /// Mean over `axes` (sorted, distinct), kept as size-1 dimensions (ONNX GlobalAveragePool,
    /// ReduceMean; the device runs axes [1, 2] of NHWC).
    case mean(axes: [Int])
    /// Constant padding: `before[d]` / `after[d]` elements of `value` on each side of dimension d.
    case pad(before: [Int], after: [Int], value: Float)
    /// Concatenation of all inputs (one or more) along `axis`.
    case concat(axis: Int)
    /// Elementwise product of two activations; the second may broadcast (`Op.mulBroadcast`).
    case mul
    /// y = x * scale[c] + shift[c] over the last axis c (scale / shift [C] or [1]; nil = 1 / 0): an
    /// activation times / plus a constant that cannot be folded into a preceding layer.
    case affine(scale: ConstantTensor?, shift: ConstantTensor?)

    /// Short name for messages and reports ("fullyConnected", "conv1x1", "relu", ...).
    public var kind: String {
        switch self {
        case .fullyConnected: return "fullyConnected"
        case .conv1x1: return "conv1x1"
        case .relu: return "relu"
        case .clip: return "clip"
        case .sigmoid: return "sigmoid"
        case .silu: return "silu"
        case .hardSigmoid: return "hardSigmoid"
        case .hardSwish: return "hardSwish"
        case .tanh: return "tanh"
        case .gelu: return "gelu"
        case .add: return "add"
        case .reshape: return "reshape"
        case .transpose: return "transpose"
        case .softmax: return "softmax"
        case .identity: return "identity"
        case .conv(let c): return c.isDepthwise ? "depthwiseConv" : "conv"
        case .averagePool: return "averagePool"
        case .maxPool: return "maxPool"
        case .mean: return "mean"
        case .pad: return "pad"
        case .concat: return "concat"
        case .mul: return "mul"
        case .affine: return "affine"
        }
    }

    /// Number of activation inputs the op takes (2 for `add` and `mul`, 1 otherwise; `concat`: any
    /// number >= 1, reported as 1 here and checked by `outputShape`).
    public var inputCount: Int {
        switch self {
        case .add, .mul: return 2
        default: return 1
        }
    }

    /// True for ops applied independently to every element (output shape = input shape, one input).
    public var isElementwiseUnary: Bool {
        switch self {
        case .relu, .clip, .sigmoid, .silu, .hardSigmoid, .hardSwish, .tanh, .gelu, .identity: return true
        default: return false
        }
    }

    /// Output shape for the given input shapes, or a `GraphError.shape` explaining the mismatch.
    /// `node` is only used in messages.
    public func outputShape(inputs: [[Int]], node: String) throws -> [Int] {
        if case .concat = self {
            guard !inputs.isEmpty else { throw GraphError.malformed("node '\(node)' (concat) has no input") }
        } else if inputs.count != inputCount {
            throw GraphError.malformed("node '\(node)' (\(kind)) takes \(inputCount) input(s), has \(inputs.count)")
        }
        let x = inputs[0]
        func fail(_ why: String) -> GraphError {
            .shape("node '\(node)' (\(kind)): \(why); input shape \(shapeString(x))")
        }
        switch self {
        case .fullyConnected(let fc):
            guard fc.weight.shape.count == 2 else { throw fail("weight must be [out, in], got \(shapeString(fc.weight.shape))") }
            guard let last = x.last, last == fc.inFeatures else {
                throw fail("last dimension must be \(fc.inFeatures) (weight \(shapeString(fc.weight.shape)))")
            }
            if let b = fc.bias, b.shape != [fc.outFeatures] {
                throw fail("bias must be [\(fc.outFeatures)], got \(shapeString(b.shape))")
            }
            return Array(x.dropLast()) + [fc.outFeatures]
        case .conv1x1(let c):
            guard c.weight.shape.count == 2 else { throw fail("weight must be [out, in], got \(shapeString(c.weight.shape))") }
            guard x.count == 4, x[3] == c.inChannels else {
                throw fail("input must be NHWC with \(c.inChannels) channels")
            }
            if let b = c.bias, b.shape != [c.outChannels] {
                throw fail("bias must be [\(c.outChannels)], got \(shapeString(b.shape))")
            }
            guard min(c.padTop, c.padLeft, c.padBottom, c.padRight) >= 0, max(c.padTop, c.padLeft, c.padBottom, c.padRight) < 1 << 30,
                  c.strideH < 1 << 30, c.strideW < 1 << 30 else { throw fail("padding or stride out of range") }
            guard let o = c.outputSize(h: x[1], w: x[2]) else { throw fail("output would be empty") }
            return [x[0], o.h, o.w, c.outChannels]
        case .add:
            guard inputs[1] == x else { throw fail("operands differ: \(shapeString(x)) vs \(shapeString(inputs[1]))") }
            return x
        case .reshape(let s):
            guard s.allSatisfy({ $0 >= 1 }), elementCountFits(s) else { throw fail("target shape \(shapeString(s)) must be fully resolved") }
            guard s.reduce(1, *) == x.reduce(1, *) else {
                throw fail("cannot view \(x.reduce(1, *)) elements as \(shapeString(s))")
            }
            return s
        case .transpose(let perm):
            guard perm.count == x.count, perm.sorted() == Array(0..<x.count) else {
                throw fail("perm \(perm) is not a permutation of 0..<\(x.count)")
            }
            return perm.map { x[$0] }
        case .softmax(let axis):
            guard axis >= 0, axis < x.count else { throw fail("axis \(axis) out of range") }
            return x
        case .relu, .clip, .sigmoid, .silu, .hardSigmoid, .hardSwish, .tanh, .gelu, .identity:
            return x
        case .conv, .averagePool, .maxPool, .mean, .pad, .concat, .mul, .affine:
            return try convSetOutputShape(inputs: inputs, fail: fail)
        }
    }
}

/// One operation: `output = op(inputs)`.
public struct Node: Sendable, Hashable, CustomStringConvertible {
    /// Node name (the ONNX node name, or a derived name for inserted nodes); used in messages and reports.
    public var name: String
    /// What the node computes.
    public var op: Op
    /// Input tensor names (activations only; constants live inside `op`). Count = `op.inputCount`.
    public var inputs: [String]
    /// Output tensor name (unique in the graph).
    public var output: String

    public init(name: String, op: Op, inputs: [String], output: String) {
        self.name = name
        self.op = op
        self.inputs = inputs
        self.output = output
    }

    public var description: String {
        "\(output) = \(op.kind)(\(inputs.joined(separator: ", ")))  # \(name)"
    }
}

/// Errors from graph construction, validation and execution.
public enum GraphError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Structural problem: unknown tensor, duplicate name, cycle, wrong input count.
    case malformed(String)
    /// Shapes that do not fit an op.
    case shape(String)
    /// Bad executor input (wrong sample size, unknown input name, empty batch).
    case input(String)

    public var description: String {
        switch self {
        case .malformed(let m): return "malformed graph: \(m)"
        case .shape(let m): return "shape error: \(m)"
        case .input(let m): return "bad input: \(m)"
        }
    }
}

/// A float model: inputs, topologically sorted nodes, outputs, and the shape of every tensor.
public struct Graph: Sendable, Hashable {
    /// Model name (ONNX graph name or file stem).
    public var name: String
    /// Graph inputs in the user's ONNX layout, per-sample shapes (batch = 1).
    public var inputs: [TensorInfo]
    /// Graph outputs in the user's ONNX layout, per-sample shapes (batch = 1).
    public var outputs: [TensorInfo]
    /// Topologically sorted nodes.
    public var nodes: [Node]
    /// Shape of every tensor (graph inputs and every node output), filled by `inferShapes()`.
    public var shapes: [String: [Int]]
    /// Quantization parameters given by the model itself (ONNX QDQ: QuantizeLinear / DequantizeLinear pairs), by
    /// tensor name; empty for a float model. The quantizer takes them instead of calibrating.
    public var quantization: [String: TensorQuantization] = [:]
    /// Weight scales given by the model itself (ONNX QDQ: the DequantizeLinear of a layer's int8 weights), per
    /// output channel (a per-tensor scale repeated), by layer node name. The quantizer uses them instead of
    /// deriving its own, so the weight codes are the model's.
    public var weightScales: [String: [Float]] = [:]

    /// Creates a graph and infers all shapes; throws if it is malformed (see `validate()`).
    public init(name: String, inputs: [TensorInfo], outputs: [TensorInfo], nodes: [Node]) throws {
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.nodes = nodes
        self.shapes = [:]
        try inferShapes()
    }

    /// Recomputes `shapes` from the inputs through every node, checking the graph:
    /// unique tensor names, inputs defined before use (topological order), op input counts,
    /// constants' element counts, per-op shape rules, and that every declared output exists
    /// with the declared shape.
    public mutating func inferShapes() throws {
        var s: [String: [Int]] = [:]
        for i in inputs {
            guard s[i.name] == nil else { throw GraphError.malformed("duplicate graph input '\(i.name)'") }
            guard i.shape.allSatisfy({ $0 >= 1 }) else {
                throw GraphError.shape("graph input '\(i.name)' has a non-positive dimension \(shapeString(i.shape))")
            }
            guard elementCountFits(i.shape) else {
                throw GraphError.shape("graph input '\(i.name)' \(shapeString(i.shape)) has too many elements")
            }
            s[i.name] = i.shape
        }
        for n in nodes {
            let ins = try n.inputs.map { name -> [Int] in
                guard let sh = s[name] else {
                    throw GraphError.malformed("node '\(n.name)' reads '\(name)' before it is defined (not topologically sorted or unknown tensor)")
                }
                return sh
            }
            for c in n.op.constants where !elementCountFits(c.shape) || c.data.count != c.elementCount {
                throw GraphError.malformed("node '\(n.name)': constant of shape \(shapeString(c.shape)) has \(c.data.count) values")
            }
            let out = try n.op.outputShape(inputs: ins, node: n.name)
            guard elementCountFits(out) else {
                throw GraphError.shape("node '\(n.name)' output \(shapeString(out)) has too many elements")
            }
            guard s[n.output] == nil else { throw GraphError.malformed("tensor '\(n.output)' is defined twice (node '\(n.name)')") }
            s[n.output] = out
        }
        for o in outputs {
            guard let sh = s[o.name] else { throw GraphError.malformed("graph output '\(o.name)' is not produced by any node") }
            guard sh == o.shape else {
                throw GraphError.shape("graph output '\(o.name)' is declared \(shapeString(o.shape)) but computes to \(shapeString(sh))")
            }
        }
        shapes = s
    }

    /// Checks the graph (same checks as `inferShapes()`, without changing it).
    public func validate() throws {
        var copy = self
        try copy.inferShapes()
    }

    /// Per-sample shape of a tensor, or nil if the graph has no such tensor.
    public func shape(of tensor: String) -> [Int]? { shapes[tensor] }

    /// The node that produces `tensor`, or nil for graph inputs / unknown names.
    public func producer(of tensor: String) -> Node? { nodes.first { $0.output == tensor } }

    /// The nodes that read `tensor`, in graph order.
    public func consumers(of tensor: String) -> [Node] { nodes.filter { $0.inputs.contains(tensor) } }

    /// Human-readable listing: inputs, one line per node with its output shape, outputs.
    public var summary: String {
        var lines = ["graph \(name)"]
        for i in inputs { lines.append("  input  \(i)") }
        for n in nodes { lines.append("  \(n.output)\(shapeString(shapes[n.output] ?? [])) = \(n.op.kind)(\(n.inputs.joined(separator: ", ")))  # \(n.name)") }
        for o in outputs { lines.append("  output \(o)") }
        return lines.joined(separator: "\n")
    }
}

extension Op {
    /// The constants the op owns (weights then bias), for validation and size accounting.
    public var constants: [ConstantTensor] {
        switch self {
        case .fullyConnected(let fc): return [fc.weight] + (fc.bias.map { [$0] } ?? [])
        case .conv1x1(let c): return [c.weight] + (c.bias.map { [$0] } ?? [])
        case .conv(let c): return [c.weight] + (c.bias.map { [$0] } ?? [])
        case .affine(let a, let b): return [a, b].compactMap { $0 }
        default: return []
        }
    }
}

/// True when every dimension is >= 0 and the element count stays below 2^40 (no Int overflow
/// anywhere in size computations).
func elementCountFits(_ shape: [Int]) -> Bool {
    var p = 1
    for d in shape {
        guard d >= 0, d < 1 << 40 else { return false }
        let (r, o) = p.multipliedReportingOverflow(by: d)
        guard !o, r < 1 << 40 else { return false }
        p = r
    }
    return true
}

/// "[1, 3, 8, 8]"-style rendering of a shape.
public func shapeString(_ s: [Int]) -> String { "[" + s.map(String.init).joined(separator: ", ") + "]" }

/// Per-tensor quantization parameters read from a model (real = (code - zeroPoint) * scale).
public struct TensorQuantization: Sendable, Hashable {
    public var scale: Float
    public var zeroPoint: Int32
    /// int8 codes (true) or uint8 (false).
    public var signed: Bool
    /// Node that gave them (the QuantizeLinear), for messages.
    public var node: String

    public init(scale: Float, zeroPoint: Int32, signed: Bool, node: String) {
        self.scale = scale
        self.zeroPoint = zeroPoint
        self.signed = signed
        self.node = node
    }
}

/// What a model output most likely is, from its number of values per sample; decides which accuracy
/// figure the report (`calibrate`) and `simulate --reference` print besides SQNR.
public enum OutputTask: String, Sendable, Equatable {
    /// One value per sample (a sigmoid / binary head): agreement of the 0.5 threshold.
    case binary
    /// 2...100 values per sample (class scores): argmax (top-1) agreement.
    case classification
    /// More than 100 values per sample (boxes, DFL distributions, reconstructions, feature maps): no
    /// argmax; max and mean absolute error.
    case regression

    /// The task of an output with `valuesPerSample` values per sample.
    public static func of(valuesPerSample n: Int) -> OutputTask {
        n <= 1 ? .binary : (n <= 100 ? .classification : .regression)
    }
}
