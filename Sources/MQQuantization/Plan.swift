// Fusion analysis: which float nodes become one quantized op, and which float tensors need observers.

import MQGraph

/// Errors of planning, calibration and quantization; each names the tensor / node / sample concerned.
public enum QuantizationError: Error, CustomStringConvertible, Equatable {
    case emptyDataSet(String)
    case shapeMismatch(input: String, expected: [Int], got: [Int])
    case nonFinite(tensor: String, sample: Int, value: Float)
    case unsupported(node: String, reason: String)
    case cLibrary(function: String, status: String, context: String)
    case internalError(String)
    /// The model's inputs are outside what calibration supports (e.g. more than one input).
    case unsupportedInputs(String)
    /// An intermediate tensor became NaN/Inf on finite inputs (float32 overflow in the float model).
    case overflow(tensor: String, sample: Int, value: Float)

    public var description: String {
        switch self {
        case .emptyDataSet(let what): return "empty calibration data set: \(what)"
        case let .shapeMismatch(input, expected, got):
            return "calibration data does not match model input '\(input)': expected samples of shape \(shapeString(expected)) (data [N, \(expected.map(String.init).joined(separator: ", "))]), got data of shape \(shapeString(got))"
        case let .nonFinite(tensor, sample, value):
            return "non-finite value \(value) in tensor '\(tensor)' for calibration sample \(sample)"
        case let .unsupported(node, reason): return "cannot quantize node '\(node)': \(reason)"
        case let .cLibrary(fn, status, ctx): return "\(fn) failed (\(status)) for \(ctx)"
        case .internalError(let m): return "internal error: \(m)"
        case .unsupportedInputs(let m): return m
        case let .overflow(tensor, sample, value):
            return "the float model computes \(value) in tensor '\(tensor)' for calibration sample \(sample) although the inputs are finite: float32 overflow (values too large for this model; check the data's scale and that sample)"
        }
    }
}

/// One quantized op to be, described on the float graph.
public struct PlannedOp: Sendable {
    /// What the op becomes.
    public enum Kind: Sendable {
        /// fullyConnected / conv1x1 `layer`, optionally followed by a fused clamp (relu/clip) and a
        /// fused LUT activation.
        case gemm(layer: Node, clamp: Node?, activation: Node?)
        /// A standalone elementwise activation (LUT op).
        case lut(Node)
        /// Residual add, optionally with a fused clamp.
        case add(Node, clamp: Node?)
        /// reshape / identity.
        case view(Node)
        case transpose(Node, perm: [Int])
        case softmax(Node, axis: Int)
        /// Average / max pooling (output qparams = input qparams).
        case pool(Node)
        /// Mean over H, W, optionally with a fused clamp.
        case mean(Node, clamp: Node?)
        /// Constant pad with the zero point (pad value 0.0; output qparams = input qparams).
        case pad(Node)
        /// Concatenation; inputs share the output's qparams (`inherits`).
        case concat(Node)
        /// Elementwise multiply of two activations, optionally with a fused clamp.
        case mul(Node, clamp: Node?)
    }
    /// The op kind and the float nodes it covers.
    public var kind: Kind
    /// Float input tensors.
    public var inputs: [String]
    /// Float tensor the op's output represents.
    public var output: String
    /// The tensor whose qparams the layer requantizes to before a fused LUT (the LUT's input), if any.
    public var lutInput: String?
    /// Names of the float nodes covered, in order.
    public var fused: [String]
}

/// The fusion plan of a float graph.
public struct QuantizationPlan: Sendable {
    /// Quantized ops to be, in execution order.
    public var ops: [PlannedOp]
    /// Float tensors whose qparams come from an observer.
    public var observed: [String]
    /// Float tensors with fixed qparams (sigmoid / softmax outputs).
    public var fixed: [String]
    /// View outputs and the tensor they inherit qparams from.
    public var inherits: [String: String]

    /// Builds the plan. Fusion happens only through tensors read by exactly one node and not
    /// graph outputs. Throws `QuantizationError.unsupported` for ops the device cannot run.
    public init(graph: Graph) throws {
        let outputs = Set(graph.outputs.map(\.name))
        var consumers: [String: Int] = [:]
        for n in graph.nodes { for i in n.inputs { consumers[i, default: 0] += 1 } }
        func fusable(_ t: String) -> Bool { consumers[t] == 1 && !outputs.contains(t) }
        var byInput: [String: Node] = [:]
        for n in graph.nodes { for i in n.inputs where consumers[i] == 1 { byInput[i] = n } }

        var ops: [PlannedOp] = []
        var observed: [String] = graph.inputs.map(\.name)
        var fixed: [String] = []
        var inherits: [String: String] = [:]
        var consumed = Set<String>()   // node names already fused
        var concats: [Node] = []

        func isClamp(_ op: Op) -> Bool {
            switch op { case .relu, .clip: return true; default: return false }
        }
        func isLUTActivation(_ op: Op) -> Bool {
            switch op { case .sigmoid, .silu, .tanh, .hardSigmoid, .hardSwish, .gelu: return true; default: return false }
        }
        func outputQParams(_ t: String, producer: Op) {
            if case .sigmoid = producer { fixed.append(t) } else { observed.append(t) }
        }
        // Pre-quantized (QDQ) graphs: a view / pool / pad whose output the graph quantizes with qparams other
        // than its input's keeps them (the quantizer requantizes after the op, as the graph does); otherwise
        // the output shares the input's qparams.
        let qdq = graph.quantization
        func annotatedSource(_ t: String) -> TensorQuantization? {
            var cur = t
            while true {
                if let a = qdq[cur] { return a }
                guard let up = inherits[cur] else { return nil }
                cur = up
            }
        }
        func inherit(_ out: String, from input: String) {
            if let o = qdq[out], let i = annotatedSource(input), o.scale != i.scale || o.zeroPoint != i.zeroPoint {
                observed.append(out)
            } else {
                inherits[out] = input
            }
        }

        for node in graph.nodes where !consumed.contains(node.name) {
            switch node.op {
            case .fullyConnected, .conv1x1, .conv, .affine:
                var clamp: Node? = nil
                var act: Node? = nil
                var cur = node.output
                if fusable(cur), let next = byInput[cur], isClamp(next.op) {
                    clamp = next
                    cur = next.output
                }
                if fusable(cur), let next = byInput[cur], isLUTActivation(next.op) {
                    act = next
                    observed.append(cur)      // the LUT's input qparams, observed before the activation
                    cur = next.output
                    outputQParams(cur, producer: next.op)
                } else {
                    observed.append(cur)
                }
                let fusedNodes = [node] + [clamp, act].compactMap { $0 }
                for f in fusedNodes { consumed.insert(f.name) }
                ops.append(PlannedOp(kind: .gemm(layer: node, clamp: clamp, activation: act), inputs: node.inputs,
                                     output: cur, lutInput: act == nil ? nil : act!.inputs[0], fused: fusedNodes.map(\.name)))
            case .add:
                var clamp: Node? = nil
                var cur = node.output
                if fusable(cur), let next = byInput[cur], isClamp(next.op) {
                    clamp = next
                    cur = next.output
                    consumed.insert(next.name)
                }
                observed.append(cur)
                ops.append(PlannedOp(kind: .add(node, clamp: clamp), inputs: node.inputs, output: cur, lutInput: nil,
                                     fused: [node.name] + (clamp.map { [$0.name] } ?? [])))
            case .relu, .clip, .sigmoid, .silu, .tanh, .hardSigmoid, .hardSwish, .gelu:
                outputQParams(node.output, producer: node.op)
                ops.append(PlannedOp(kind: .lut(node), inputs: node.inputs, output: node.output, lutInput: nil, fused: [node.name]))
            case .reshape, .identity:
                inherit(node.output, from: node.inputs[0])
                ops.append(PlannedOp(kind: .view(node), inputs: node.inputs, output: node.output, lutInput: nil, fused: [node.name]))
            case .transpose(let perm):
                inherit(node.output, from: node.inputs[0])
                ops.append(PlannedOp(kind: .transpose(node, perm: perm), inputs: node.inputs, output: node.output, lutInput: nil, fused: [node.name]))
            case .averagePool(let p), .maxPool(let p):
                if p.countIncludePad {
                    throw QuantizationError.unsupported(node: node.name, reason: "average pooling that counts padded taps (count_include_pad = 1 with padding) has no int8 kernel; the device divides by the taps inside the input")
                }
                if case .averagePool = node.op, let o = qdq[node.output], let i = annotatedSource(node.inputs[0]),
                   o.scale != i.scale || o.zeroPoint != i.zeroPoint, let s = graph.shapes[node.inputs[0]], s.count == 4,
                   p.window.kernelH == s[1], p.window.kernelW == s[2],
                   p.window.padTop == 0, p.window.padLeft == 0, p.window.padBottom == 0, p.window.padRight == 0 {
                    // QDQ: an average pool over the whole image into other qparams is a requantizing mean
                    // (onnxruntime's QLinearAveragePool computes the float mean and quantizes it once)
                    observed.append(node.output)
                    ops.append(PlannedOp(kind: .mean(node, clamp: nil), inputs: node.inputs, output: node.output, lutInput: nil, fused: [node.name]))
                    continue
                }
                inherit(node.output, from: node.inputs[0])
                ops.append(PlannedOp(kind: .pool(node), inputs: node.inputs, output: node.output, lutInput: nil, fused: [node.name]))
            case .pad(_, _, let value):
                guard value == 0 else {
                    throw QuantizationError.unsupported(node: node.name, reason: "constant pad value \(value): the device pads with the zero point (value 0.0) only")
                }
                inherit(node.output, from: node.inputs[0])
                ops.append(PlannedOp(kind: .pad(node), inputs: node.inputs, output: node.output, lutInput: nil, fused: [node.name]))
            case .mean(let axes):
                guard let s = graph.shapes[node.inputs[0]], s.count == 4, axes == [1, 2] else {
                    throw QuantizationError.unsupported(node: node.name, reason: "mean over axes \(axes) of \(shapeString(graph.shapes[node.inputs[0]] ?? [])); the device averages H, W (axes 1, 2) of an NHWC tensor")
                }
                fallthrough
            case .mul:
                var clamp: Node? = nil
                var cur = node.output
                if fusable(cur), let next = byInput[cur], isClamp(next.op) {
                    clamp = next
                    cur = next.output
                    consumed.insert(next.name)
                }
                observed.append(cur)
                let kind: PlannedOp.Kind
                if case .mul = node.op { kind = .mul(node, clamp: clamp) } else { kind = .mean(node, clamp: clamp) }
                ops.append(PlannedOp(kind: kind, inputs: node.inputs, output: cur, lutInput: nil,
                                     fused: [node.name] + (clamp.map { [$0.name] } ?? [])))
            case .concat:
                observed.append(node.output)
                concats.append(node)
                ops.append(PlannedOp(kind: .concat(node), inputs: node.inputs, output: node.output, lutInput: nil, fused: [node.name]))
            case .softmax(let axis):
                fixed.append(node.output)
                ops.append(PlannedOp(kind: .softmax(node, axis: axis), inputs: node.inputs, output: node.output, lutInput: nil, fused: [node.name]))
            }
        }
        for t in graph.shapes.keys.sorted() {
            if let s = graph.shapes[t], s.count > 4 {
                throw QuantizationError.unsupported(node: graph.producer(of: t)?.name ?? t,
                                                    reason: "tensor '\(t)' has rank \(s.count) \(shapeString(s)); the device supports rank 1..4")
            }
        }
        // Concat inputs take the concat output's qparams (the output's range covers every input), so the
        // kernel only copies: the tensor each input's qparams come from inherits from the concat output.
        func source(_ t: String) -> String {
            var cur = t
            while let up = inherits[cur] { cur = up }
            return cur
        }
        for c in concats {
            for t in c.inputs {
                let src = source(t)
                if src == source(c.output) { continue }
                // QDQ: an input the graph quantizes on its own keeps its qparams; the quantizer requantizes it
                // to the concat's (onnxruntime's QLinearConcat requantizes each input the same way)
                if qdq[src] != nil && qdq[c.output] != nil { continue }
                guard let idx = observed.firstIndex(of: src) else {
                    throw QuantizationError.unsupported(node: c.name, reason: "input '\(t)' of the concatenation has fixed qparams (\(fixed.contains(src) ? "sigmoid/softmax output" : "shared with another concatenation")); a requantize before the concat is not implemented yet")
                }
                observed.remove(at: idx)
                inherits[src] = c.output
            }
        }
        self.ops = ops
        self.observed = observed
        self.fixed = fixed
        self.inherits = inherits
    }

    /// The tensor whose qparams `t` uses (follows view inheritance).
    public func qparamsSource(_ t: String) -> String {
        var cur = t
        while let up = inherits[cur] { cur = up }
        return cur
    }
}
