// ONNX -> MQGraph for the convolutional op set (issue 10): Conv with any kernel, stride, dilation and
// padding (group 1 or depthwise), AveragePool, MaxPool, GlobalAveragePool / GlobalMaxPool, ReduceMean,
// Pad (constant), Concat / Squeeze / Unsqueeze of activations, Mul of two activations, and
// activation-times/plus-constant ops that cannot fold into a preceding layer (`affine`).
//
// Layout: every spatial op reads its input as NHWC (an IR transpose only where the ONNX value is not
// already held as NHWC) and defines its output as an NHWC tensor with the pending permutation
// [0, 3, 1, 2], so chains of convs, pools and tf2onnx's Transpose pairs run with no transpose.

import MQGraph

extension Converter {
    // MARK: helpers

    /// Two non-negative integers from an attribute (strides, dilations), default `def`.
    func pair(_ o: ONode, _ key: String, _ def: Int) throws -> [Int] {
        let v = o.ints(key) ?? [def, def]
        guard v.count == 2, v.allSatisfy({ $0 >= 1 && $0 <= 1 << 16 }) else {
            throw unsupported(o, "\(key) \(v) must be two values in 1...65536 (2-D only)")
        }
        return v
    }

    /// Padding [top, left, bottom, right] of a 2-D window from `pads` or `auto_pad`
    /// (SAME_UPPER: the extra pixel at the end, SAME_LOWER: at the beginning; output = ceil(in / stride)).
    func windowPads(_ o: ONode, input: [Int], kernel: [Int], strides: [Int], dilations: [Int]) throws -> [Int] {
        let autoPad = o.string("auto_pad") ?? "NOTSET"
        switch autoPad {
        case "NOTSET", "":
            let p = o.ints("pads") ?? [0, 0, 0, 0]
            guard p.count == 4, p.allSatisfy({ $0 >= 0 && $0 <= 1 << 16 }) else { throw unsupported(o, "pads \(p) must be 4 values in 0...65536") }
            return p
        case "VALID":
            return [0, 0, 0, 0]
        case "SAME_UPPER", "SAME_LOWER":
            var before = [0, 0], after = [0, 0]
            for d in 0..<2 {
                let out = (input[d] + strides[d] - 1) / strides[d]
                let total = max((out - 1) * strides[d] + (kernel[d] - 1) * dilations[d] + 1 - input[d], 0)
                before[d] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2
                after[d] = total - before[d]
            }
            return [before[0], before[1], after[0], after[1]]
        default:
            throw unsupported(o, "auto_pad '\(autoPad)' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID")
        }
    }

    /// Defines `value` as the NCHW view of the NHWC IR tensor produced by `op` from `input`.
    mutating func spatial(_ o: ONode, input x: String, op: Op, valueShape: [Int]) throws {
        let t = try materialize(x, as: nhwcToNchw)
        try layer(o, input: t, op: op, shape: valueShape, perm: nhwcToNchw)
    }

    // MARK: Conv

    /// Conv: 1x1 group 1 -> `conv1x1`; anything else (KxK, dilation, depthwise) -> `conv`.
    mutating func convertConvAny(_ o: ONode) throws {
        let x = try act(o, 0)
        let w = try const(o, 1, "W (weights)")
        let s = shapes[x]!
        guard w.shape.count == 4, s.count == 4 else {
            throw unsupported(o, "only 2-D convolutions are supported (input \(shapeString(s)), weights \(shapeString(w.shape)))")
        }
        let (m, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
        if let ks = o.ints("kernel_shape"), ks != [kh, kw] {
            throw unsupported(o, "kernel_shape \(ks) does not match the weights \(shapeString(w.shape))")
        }
        let group = o.int("group", 1)
        guard group >= 1, m >= 1, kh >= 1, kw >= 1, s[1] == cg * group, m % group == 0 else {
            throw unsupported(o, "input has \(s[1]) channels; weights \(shapeString(w.shape)) with group \(group) do not fit")
        }
        guard group == 1 || cg == 1 else {
            throw unsupported(o, "grouped convolution (group \(group), \(cg) input channels per group) is not supported; only group 1 and depthwise (group = input channels)")
        }
        let strides = try pair(o, "strides", 1), dil = try pair(o, "dilations", 1)
        let pads = try windowPads(o, input: [s[2], s[3]], kernel: [kh, kw], strides: strides, dilations: dil)
        var bias: ConstantTensor?
        if o.input(2) != nil {
            let b = try const(o, 2, "B (bias)")
            guard b.count == m else { throw unsupported(o, "bias has \(b.count) values, expected \(m)") }
            bias = ConstantTensor(shape: [m], data: b.floats)
        }
        let win = Window2D(kernelH: kh, kernelW: kw, strideH: strides[0], strideW: strides[1],
                           dilationH: dil[0], dilationW: dil[1],
                           padTop: pads[0], padLeft: pads[1], padBottom: pads[2], padRight: pads[3])
        guard let os = win.outputSize(h: s[2], w: s[3]) else { throw unsupported(o, "output would be empty for input \(shapeString(s))") }
        let op: Op
        if kh == 1 && kw == 1 && group == 1 {
            op = .conv1x1(Conv1x1(weight: ConstantTensor(shape: [m, cg], data: w.floats), bias: bias,
                                  strideH: strides[0], strideW: strides[1],
                                  padTop: pads[0], padLeft: pads[1], padBottom: pads[2], padRight: pads[3]))
        } else {
            let ohwi = transposeConst(w, [0, 2, 3, 1])
            op = .conv(Conv2D(weight: ConstantTensor(shape: ohwi.shape, data: ohwi.floats), bias: bias, window: win, group: group))
        }
        try spatial(o, input: x, op: op, valueShape: [s[0], m, os.h, os.w])
    }

    // MARK: pooling and means

    mutating func convertPool(_ o: ONode, isMax: Bool) throws {
        let x = try act(o, 0)
        let s = shapes[x]!
        guard s.count == 4 else { throw unsupported(o, "only 2-D pooling of an [N, C, H, W] input is supported (input \(shapeString(s)))") }
        if o.outputs.count > 1, !o.outputs[1].isEmpty, (consumers[o.outputs[1]] ?? 0) > 0 {
            throw unsupported(o, "the Indices output is not supported")
        }
        guard let k = o.ints("kernel_shape"), k.count == 2, k.allSatisfy({ $0 >= 1 && $0 <= 1 << 16 }) else {
            throw unsupported(o, "kernel_shape must be two values in 1...65536")
        }
        let strides = try pair(o, "strides", 1)
        let dil = try pair(o, "dilations", 1)
        guard dil == [1, 1] else { throw unsupported(o, "dilations \(dil) are not supported in pooling") }
        let pads = try windowPads(o, input: [s[2], s[3]], kernel: k, strides: strides, dilations: dil)
        let win = Window2D(kernelH: k[0], kernelW: k[1], strideH: strides[0], strideW: strides[1],
                           padTop: pads[0], padLeft: pads[1], padBottom: pads[2], padRight: pads[3])
        guard pads[0] < k[0], pads[2] < k[0], pads[1] < k[1], pads[3] < k[1] else {
            throw unsupported(o, "pads \(pads) must be smaller than the kernel \(k)")
        }
        guard let os = win.outputSize(h: s[2], w: s[3]) else { throw unsupported(o, "output would be empty for input \(shapeString(s))") }
        if o.int("ceil_mode", 0) != 0 {
            for d in 0..<2 {
                let span = [s[2], s[3]][d] + pads[d] + pads[d + 2] - k[d]
                if span % strides[d] != 0 {
                    throw unsupported(o, "ceil_mode = 1 changes the output size here (axis \(d + 2)); only floor mode is supported")
                }
            }
        }
        let includePad = !isMax && o.int("count_include_pad", 0) != 0 && pads.contains { $0 > 0 }
        let p = Pool2D(window: win, countIncludePad: includePad)
        try spatial(o, input: x, op: isMax ? .maxPool(p) : .averagePool(p), valueShape: [s[0], s[1], os.h, os.w])
    }

    mutating func convertGlobalPool(_ o: ONode, isMax: Bool) throws {
        let x = try act(o, 0)
        let s = shapes[x]!
        guard s.count == 4 else { throw unsupported(o, "only [N, C, H, W] inputs are supported (input \(shapeString(s)))") }
        let op: Op = isMax ? .maxPool(Pool2D(window: Window2D(kernelH: s[2], kernelW: s[3]))) : .mean(axes: [1, 2])
        try spatial(o, input: x, op: op, valueShape: [s[0], s[1], 1, 1])
    }

    /// ReduceMean over any axes; over the spatial axes of an image it runs on the NHWC tensor
    /// (H, W = IR axes 1, 2, what the device's MEAN supports).
    mutating func convertReduceMean(_ o: ONode) throws {
        let x = try act(o, 0)
        let s = shapes[x]!
        var axes: [Int]
        if let a = o.ints("axes") { axes = a } else if o.input(1) != nil { axes = try ints(o, const(o, 1, "axes"), "axes") } else { axes = [] }
        if axes.isEmpty {
            if o.int("noop_with_empty_axes", 0) != 0 { define(o.outputs[0], shape: s, repr: reprs[x]!); return }
            axes = Array(0..<s.count)
        }
        let norm = try Set(axes.map { try normAxis(o, $0, rank: s.count) }).sorted()
        var kept = s
        for a in norm { kept[a] = 1 }
        var r = reprs[x]!
        if s.count == 4, norm == [2, 3] {
            // NCHW image: reduce H, W of the NHWC tensor.
            let t = try materialize(x, as: nhwcToNchw)
            r = Repr(tensor: t, perm: nhwcToNchw)
        }
        let irAxes = norm.map { r.perm[$0] }.sorted()
        let keepName = o.int("keepdims", 1) != 0 ? o.outputs[0] : o.outputs[0] + ".keepdims"
        let out = irName(keepName, r.perm)
        try emit(name: o.name, op: .mean(axes: irAxes), inputs: [r.tensor], output: out)
        define(keepName, shape: kept, repr: Repr(tensor: out, perm: r.perm))
        if keepName != o.outputs[0] {
            let target = s.enumerated().filter { !norm.contains($0.offset) }.map(\.element)
            try reshape(o, keepName, target.isEmpty ? [1] : target, name: o.name + ".squeeze")
        }
    }

    // MARK: Pad, Concat, Squeeze / Unsqueeze

    mutating func convertPad(_ o: ONode) throws {
        let x = try act(o, 0)
        let s = shapes[x]!
        let mode = o.string("mode") ?? "constant"
        guard mode == "constant" else { throw unsupported(o, "mode '\(mode)' is not supported (only constant)") }
        var pads: [Int]
        var value: Float = 0
        if opset >= 11 {
            pads = try ints(o, const(o, 1, "pads"), "pads")
            if o.input(2) != nil {
                let c = try const(o, 2, "constant_value")
                guard c.count == 1 else { throw unsupported(o, "constant_value must be a scalar") }
                value = Float(c.values[0])
            }
        } else {
            pads = o.ints("pads") ?? []
            value = o.float("value", 0)
        }
        var axes = Array(0..<s.count)
        if o.input(3) != nil { axes = try ints(o, const(o, 3, "axes"), "axes").map { try normAxis(o, $0, rank: s.count) } }
        guard pads.count == 2 * axes.count else { throw unsupported(o, "pads has \(pads.count) values, expected \(2 * axes.count)") }
        guard pads.allSatisfy({ $0 >= 0 && $0 <= 1 << 16 }) else { throw unsupported(o, "pads \(pads): negative (cropping) or too large pads are not supported") }
        guard value.isFinite else { throw unsupported(o, "constant_value \(value) is not finite") }
        var r = reprs[x]!
        let padsHW = s.count == 4 && axes.enumerated().allSatisfy { i, a in a >= 2 || (pads[i] == 0 && pads[axes.count + i] == 0) }
        if padsHW && r.perm != nhwcToNchw {
            // spatial padding of an image: pad the NHWC tensor, as the convs and the device read it
            r = Repr(tensor: try materialize(x, as: nhwcToNchw), perm: nhwcToNchw)
        }
        var before = [Int](repeating: 0, count: s.count), after = before
        var outShape = s
        for (i, a) in axes.enumerated() {
            before[r.perm[a]] += pads[i]
            after[r.perm[a]] += pads[axes.count + i]
            outShape[a] += pads[i] + pads[axes.count + i]
        }
        let out = irName(o.outputs[0], r.perm)
        try emit(name: o.name, op: .pad(before: before, after: after, value: value), inputs: [r.tensor], output: out)
        define(o.outputs[0], shape: outShape, repr: Repr(tensor: out, perm: r.perm))
    }

    mutating func convertConcat(_ o: ONode) throws {
        let xs = try o.inputs.indices.map { try act(o, $0) }
        let s0 = shapes[xs[0]]!
        let a = try normAxis(o, o.int("axis", 0), rank: s0.count)
        var total = 0
        for x in xs {
            let sx = shapes[x]!
            guard sx.count == s0.count, sx.indices.allSatisfy({ $0 == a || sx[$0] == s0[$0] }) else {
                throw unsupported(o, "inputs \(shapeString(s0)) and \(shapeString(sx)) differ outside axis \(a)")
            }
            total += sx[a]
        }
        let r = reprs[xs[0]]!
        let ts = try xs.map { try materialize($0, as: r.perm) }
        var outShape = s0
        outShape[a] = total
        let out = irName(o.outputs[0], r.perm)
        try emit(name: o.name, op: .concat(axis: r.perm[a]), inputs: ts, output: out)
        define(o.outputs[0], shape: outShape, repr: Repr(tensor: out, perm: r.perm))
    }

    /// Squeeze / Unsqueeze of an activation: a reshape.
    mutating func convertSqueezeActivation(_ o: ONode) throws {
        let x = try act(o, 0)
        let s = shapes[x]!
        var axes: [Int]
        if let a = o.ints("axes") { axes = a } else if o.input(1) != nil { axes = try ints(o, const(o, 1, "axes"), "axes") } else { axes = [] }
        var target: [Int]
        if o.opType == "Unsqueeze" {
            let rank = s.count + axes.count
            let norm = try axes.map { try normAxis(o, $0, rank: rank) }.sorted()
            guard Set(norm).count == norm.count else { throw unsupported(o, "repeated axes \(axes)") }
            target = s
            for a in norm { target.insert(1, at: a) }
        } else {
            let norm = try Set(axes.map { try normAxis(o, $0, rank: s.count) })
            for a in norm where s[a] != 1 { throw unsupported(o, "axis \(a) of \(shapeString(s)) has size \(s[a]), not 1") }
            target = s.enumerated().filter { norm.isEmpty ? $0.element != 1 : !norm.contains($0.offset) }.map(\.element)
        }
        if target.isEmpty { target = [1] }
        try reshape(o, x, target)
    }

    // MARK: Mul of activations, affine

    /// Mul of two activations: same shapes, or one operand broadcast per channel (one value per
    /// element of one axis) or as a scalar. The full-size operand comes first in the IR.
    mutating func convertMulActivations(_ o: ONode) throws {
        var a = try act(o, 0), b = try act(o, 1)
        var sa = shapes[a]!, sb = shapes[b]!
        if sa.reduce(1, *) < sb.reduce(1, *) { swap(&a, &b); swap(&sa, &sb) }
        let ra = reprs[a]!
        if sa == sb {
            let tb = try materialize(b, as: ra.perm)
            let out = irName(o.outputs[0], ra.perm)
            try emit(name: o.name, op: .mul, inputs: [ra.tensor, tb], output: out)
            define(o.outputs[0], shape: sa, repr: Repr(tensor: out, perm: ra.perm))
            return
        }
        guard sb.count <= sa.count else { throw unsupported(o, "operands \(shapeString(sa)) and \(shapeString(sb)) do not broadcast") }
        let aligned = [Int](repeating: 1, count: sa.count - sb.count) + sb
        let big = aligned.indices.filter { aligned[$0] != 1 }
        var perm = ra.perm
        var tb: String
        if big.isEmpty {
            tb = try plain(b)   // scalar
        } else {
            guard big.count == 1, aligned[big[0]] == sa[big[0]] else {
                throw unsupported(o, "operand \(shapeString(sb)) broadcasts over \(shapeString(sa)) along more than one axis; only same shape, per channel or scalar")
            }
            let c = big[0]
            if perm[c] != sa.count - 1 { perm = channelLastPerm(c, rank: sa.count) }
            if aligned.count != sb.count {
                // value of b seen with the full rank
                let bv = b + ".aligned"
                try reshape(o, b, aligned, name: o.name + ".broadcast", value: bv)
                b = bv
            }
            tb = try materialize(b, as: perm)
        }
        let ta = try materialize(a, as: perm)
        let out = irName(o.outputs[0], perm)
        try emit(name: o.name, op: .mul, inputs: [ta, tb], output: out)
        define(o.outputs[0], shape: sa, repr: Repr(tensor: out, perm: perm))
    }

    /// A permutation target t with value = transpose(s, t) where s has value axis `c` last and the
    /// other axes in order (NCHW with c = 1 gives [0, 3, 1, 2], the NHWC view).
    func channelLastPerm(_ c: Int, rank: Int) -> [Int] {
        let order = (0..<rank).filter { $0 != c } + [c]    // value axes in s order
        var t = [Int](repeating: 0, count: rank)
        for (i, v) in order.enumerated() { t[v] = i }
        return t
    }

    /// x * scale + shift per channel (along the value axis where the constants vary; scalars broadcast)
    /// for an activation no layer can absorb. `scale`/`shift` are the constants as given (nil = 1 / 0).
    mutating func emitAffine(_ o: ONode, _ x: String, scale: Const?, shift: Const?, negate: Bool = false) throws {
        let s = shapes[x]!
        var axis: Int? = nil
        for c in [scale, shift].compactMap({ $0 }) {
            guard c.shape.count <= s.count else { throw unsupported(o, "constant \(shapeString(c.shape)) has a higher rank than \(shapeString(s))") }
            let aligned = [Int](repeating: 1, count: s.count - c.shape.count) + c.shape
            for (d, v) in aligned.enumerated() where v != 1 {
                guard v == s[d], axis == nil || axis == d else {
                    throw unsupported(o, "constant \(shapeString(c.shape)) is not per-channel (one axis) or scalar for \(shapeString(s))")
                }
                axis = d
            }
        }
        var perm = reprs[x]!.perm
        if let a = axis, perm[a] != s.count - 1 { perm = channelLastPerm(a, rank: s.count) }
        let t = try materialize(x, as: perm)
        func vec(_ c: Const?) -> ConstantTensor? {
            guard let c else { return nil }
            return ConstantTensor(shape: [c.count], data: c.floats)
        }
        var sc = vec(scale)
        if negate { sc = ConstantTensor(shape: sc?.shape ?? [1], data: (sc?.data ?? [1]).map { -$0 }) }
        let out = irName(o.outputs[0], perm)
        try emit(name: o.name, op: .affine(scale: sc, shift: vec(shift)), inputs: [t], output: out)
        define(o.outputs[0], shape: s, repr: Repr(tensor: out, perm: perm))
    }
}
