// ONNX QDQ models (QuantizeLinear / DequantizeLinear around the layers, as onnxruntime's
// quantize_static(quant_format=QDQ) writes them): weights and biases stored as integers behind a
// DequantizeLinear are folded to float constants (the quantizer re-derives the same int8 codes: symmetric
// per-channel weights and int32 biases at in_scale * w_scale round-trip exactly); every activation
// QuantizeLinear -> DequantizeLinear pair becomes no IR node, only the qparams it states, recorded for the
// IR tensor (Graph.quantization) and used by the quantizer instead of calibration.

import MQGraph

extension Converter {
    /// ONNX ops that only move data: they commute with per-tensor quantization (quantize(view(x)) =
    /// view(quantize(x)) element for element), so a QDQ model may apply them to a graph input in float before its
    /// first QuantizeLinear (onnxruntime's quantize_static leaves such a Transpose NHWC -> NCHW in float).
    static let dataMovementOps: Set<String> = ["Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity", "Dropout"]

    /// QDQ model, node `o` reading graph input `input` (or a float data-movement view of it) before any
    /// QuantizeLinear: data movement (the view is tracked: its QuantizeLinear quantizes the graph input itself)
    /// and QuantizeLinear pass, Shape passes (it reads no values); anything else would compute in float on the
    /// input, which the integer model cannot, and is an error naming the node.
    mutating func checkBeforeQuantize(_ o: ONode, input: String) throws {
        let first = o.input(0).flatMap { inputViews[$0] }
        switch o.opType {
        case _ where (o.opType == "QuantizeLinear" || o.opType == "Shape") && first != nil:
            return
        case _ where Self.dataMovementOps.contains(o.opType) && first != nil
                && o.inputs.dropFirst().allSatisfy({ $0.isEmpty || consts[$0] != nil }):
            inputViews[o.outputs[0]] = input
        default:
            throw unsupported(o, "computes in float on graph input '\(input)' before its QuantizeLinear; between a graph input and its first QuantizeLinear a QDQ model may only move data (\(Self.dataMovementOps.sorted().joined(separator: ", ")): they commute with per-tensor quantization), so quantize the input before this node (onnxruntime's quantize_static with this op in op_types_to_quantize) or apply it outside the model")
        }
    }

    /// DequantizeLinear: of a constant (weights, bias) -> folded float constant; of a QuantizeLinear output
    /// -> the activation itself (its qparams were recorded by the QuantizeLinear).
    mutating func convertDequantizeLinear(_ o: ONode) throws {
        guard let v = o.input(0) else { throw unsupported(o, "missing input") }
        let scale = try const(o, 1, "x_scale")
        let zp = o.input(2) != nil ? try const(o, 2, "x_zero_point") : nil
        if let c = consts[v] {
            let axisAttr = o.int("axis", 1)
            var values = c.values
            if scale.count == 1 {
                let s = scale.values[0], z = zp?.values.first ?? 0
                values = c.values.map { ($0 - z) * s }
            } else {
                let axis = try normAxis(o, axisAttr, rank: c.shape.count)
                guard c.shape[axis] == scale.count, zp.map({ $0.count == scale.count }) ?? true else {
                    throw unsupported(o, "per-axis scale of \(scale.count) values does not match axis \(axis) of \(shapeString(c.shape))")
                }
                let inner = c.shape[(axis + 1)...].reduce(1, *), n = scale.count
                for i in values.indices {
                    let ch = (i / inner) % n
                    values[i] = (c.values[i] - (zp?.values[ch] ?? 0)) * scale.values[ch]
                }
            }
            guard values.allSatisfy({ $0.isFinite }) else { throw unsupported(o, "dequantized constant '\(v)' is not finite") }
            if c.elemType == 3 { qdqWeightScales[o.outputs[0]] = scale.values }   // int8 weights
            consts[o.outputs[0]] = Const(shape: c.shape, values: values)
            return
        }
        let x = try act(o, 0)
        guard let q = quantizedValues[x] else {
            throw unsupported(o, "DequantizeLinear of '\(x)', which no QuantizeLinear produced (integer graph inputs are not supported)")
        }
        let (s, z, _) = try scalarQParams(o, scale: scale, zp: zp)
        guard s == q.scale, z == q.zeroPoint else {
            throw unsupported(o, "dequantizes with scale \(s), zero point \(z) but its QuantizeLinear '\(q.node)' used \(q.scale), \(q.zeroPoint)")
        }
        define(o.outputs[0], shape: shapes[x]!, repr: reprs[x]!)
    }

    /// QuantizeLinear of an activation: per-tensor qparams recorded for its IR tensor; the output value
    /// (integer codes in ONNX) aliases the activation for the DequantizeLinear that must follow.
    mutating func convertQuantizeLinear(_ o: ONode) throws {
        let x = try act(o, 0)
        let scale = try const(o, 1, "y_scale")
        let zp = o.input(2) != nil ? try const(o, 2, "y_zero_point") : nil
        let (s, z, signed) = try scalarQParams(o, scale: scale, zp: zp)
        let q = TensorQuantization(scale: s, zeroPoint: z, signed: signed, node: o.name)
        var r = reprs[x]!
        if let root = inputViews[x] {
            // The graph input, maybe through float data movement (a layout Transpose, Reshape, ...): the packed
            // model's input quantization is this QuantizeLinear, applied before the data movement (which then
            // runs on codes: the same codes element for element). Its clamp at qmin is the quantization's own: no
            // relu. One graph input takes one quantization.
            if let old = qdqAnnotations[root], old.scale != s || old.zeroPoint != z || old.signed != signed {
                throw unsupported(o, "quantizes graph input '\(root)' (through data movement) with scale \(s), zero point \(z), but '\(old.node)' quantized it with \(old.scale), \(old.zeroPoint); one quantization per graph input is supported")
            }
        } else if let old = qdqAnnotations[r.tensor], old.scale != s || old.zeroPoint != z, !quantizeLinearInputs.contains(x) {
            // The graph requantizes a tensor it already quantized (QuantizeLinear -> DequantizeLinear, maybe a
            // layout Transpose / Reshape, then QuantizeLinear with other qparams, as tf2onnx's models have after a
            // conv): onnxruntime rounds twice there, so keep both steps: an identity view whose output takes the
            // new qparams (the quantizer puts onnxruntime's DequantizeLinear -> QuantizeLinear table after it,
            // which also clips at the new range's start: no relu needed).
            let out = irName(o.outputs[0], r.perm)
            try emit(name: o.name, op: .identity, inputs: [r.tensor], output: out)
            r = Repr(tensor: out, perm: r.perm)
        } else if z == (signed ? -128 : 0) {
            // The range starts at 0.0: DequantizeLinear(QuantizeLinear(x)) clips negatives, which is how
            // onnxruntime's QDQ format expresses a Relu / Clip it removed. Keep that in the float graph as a
            // relu (fused into the producing layer as its clamp) unless the tensor is already clipped at 0.
            if !nonNegative(r.tensor) {
                let out = irName(o.outputs[0], r.perm)
                try emit(name: o.name, op: .relu, inputs: [r.tensor], output: out)
                r = Repr(tensor: out, perm: r.perm)
            }
        }
        let t = r.tensor
        if let old = qdqAnnotations[t], old.scale != s || old.zeroPoint != z {
            throw unsupported(o, "quantizes '\(x)' with scale \(s), zero point \(z), but '\(old.node)' quantized the same tensor with \(old.scale), \(old.zeroPoint)")
        }
        qdqAnnotations[t] = q
        quantizeLinearInputs.insert(x)
        // Quantizing a view (reshape / layout transpose) of a tensor the graph does not quantize itself, e.g.
        // tf2onnx's Reshape of the graph input before the first QuantizeLinear: per-tensor quantization commutes
        // with the view, so the tensors upstream take the same qparams (the view may be simplified away).
        var cur = t
        func isView(_ op: Op) -> Bool {
            switch op { case .reshape, .transpose, .identity: return true; default: return false }
        }
        while let p = nodes.last(where: { $0.output == cur }), isView(p.op), p.inputs.count == 1, qdqAnnotations[p.inputs[0]] == nil {
            qdqAnnotations[p.inputs[0]] = q
            cur = p.inputs[0]
        }
        quantizedValues[o.outputs[0]] = q
        define(o.outputs[0], shape: shapes[x]!, repr: r)
    }

    /// The weight scales of the QDQ layers (Conv, Gemm, MatMul whose weights are a DequantizeLinear of int8
    /// codes), per output channel, by IR node name: a per-tensor scale is repeated; per-axis scales must be one
    /// per output channel (else the layer is left to the quantizer's own scales).
    func qdqLayerWeightScales(_ onodes: [ONode], _ graph: Graph) -> [String: [Float]] {
        var out: [String: [Float]] = [:]
        for o in onodes where ["Conv", "Gemm", "MatMul"].contains(o.opType) {
            guard let w = o.input(1), let s = qdqWeightScales[w],
                  let node = graph.nodes.first(where: { $0.name == o.name }) else { continue }
            let n: Int
            switch node.op {
            case .fullyConnected(let fc): n = fc.weight.shape.first ?? 0
            case .conv1x1(let c): n = c.weight.shape.first ?? 0
            case .conv(let c): n = c.outChannels
            default: continue
            }
            if s.count == 1 { out[o.name] = [Float](repeating: Float(s[0]), count: n) } else if s.count == n { out[o.name] = s.map { Float($0) } }
        }
        return out
    }

    /// True when tensor `t` is >= 0 by construction: quantized by the graph with a range starting at 0, produced
    /// by relu / sigmoid / hard sigmoid / softmax / clip(lo >= 0), or by a view, pool, mean or zero pad of such a
    /// tensor.
    func nonNegative(_ t: String, depth: Int = 0) -> Bool {
        // quantized by the graph with its range starting at 0 (codes cannot hold a negative value)
        if let a = qdqAnnotations[t], a.zeroPoint == (a.signed ? -128 : 0) { return true }
        guard depth < 64, let p = nodes.last(where: { $0.output == t }) else { return false }
        switch p.op {
        case .relu, .sigmoid, .hardSigmoid, .softmax: return true
        case .clip(let lo, _): return lo >= 0
        case .reshape, .transpose, .identity, .mean, .averagePool, .maxPool:
            return p.inputs.count == 1 && nonNegative(p.inputs[0], depth: depth + 1)
        case .pad(_, _, let value): return value >= 0 && p.inputs.count == 1 && nonNegative(p.inputs[0], depth: depth + 1)
        case .concat: return p.inputs.allSatisfy { nonNegative($0, depth: depth + 1) }
        default: return false
        }
    }

    /// Per-tensor (scalar) scale and zero point of an activation QuantizeLinear / DequantizeLinear.
    func scalarQParams(_ o: ONode, scale: Const, zp: Const?) throws -> (Float, Int32, Bool) {
        guard scale.count == 1, zp.map({ $0.count == 1 }) ?? true else {
            throw unsupported(o, "per-axis quantization of an activation is not supported (scale \(shapeString(scale.shape)))")
        }
        let s = Float(scale.values[0])
        guard s.isFinite, s > 0 else { throw unsupported(o, "scale \(s) must be finite and > 0") }
        let type = zp?.elemType ?? 2
        guard type == 2 || type == 3 else {
            throw unsupported(o, "zero point of ONNX type \(type); only uint8 (2) and int8 (3) activations are supported")
        }
        let zv = zp?.values[0] ?? 0
        guard let z = exactInt(zv), (type == 3 ? -128...127 : 0...255).contains(z) else { throw unsupported(o, "zero point \(zv) out of range") }
        return (s, Int32(z), type == 3)
    }
}
