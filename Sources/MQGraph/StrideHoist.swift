// Stride hoisting: an exact rewrite of the float graph that moves the subsampling of a strided 1x1
// convolution to the start of the pixel-wise chain that produces its input (issue 12).
//
// A 1x1 convolution with stride (sh, sw) and no padding reads only the input pixels (oy * sh, ox * sw).
// When that input is computed pixel by pixel (1x1 convolutions, element-wise activations, add / mul of
// tensors of the same chain, mul by a per-channel or scalar operand, per-channel affine, channel concat)
// from the outputs of 1x1 convolutions, and no other node and no graph output reads the chain's
// tensors, the pixels the strided convolution skips are computed for nothing. Multiplying the strides of
// the chain's first convolutions (its "sources") by (sh, sw) and setting the strided convolution's stride
// to 1 computes exactly the pixels that are read, with the same float operations in the same order, so
// the graph outputs are bit-identical. Output size: a source with stride t on an input of H rows gives
// floor((H - 1) / t) + 1 rows, and floor(floor((H - 1) / t) / s) = floor((H - 1) / (t s)), so the
// subsampled chain has exactly the strided convolution's output size.
//
// Conditions (checked strictly; anything else leaves the convolution as it is, with the reason):
//  * the strided node is a 1x1 kernel: `conv1x1`, or `conv` with kernel 1x1, dilation 1 (group 1 or
//    depthwise), no padding, stride > 1 on an axis whose input is longer than the output;
//  * every node between the sources and it is pixel-wise (list above), on rank-4 NHWC tensors whose H x W
//    equals the strided node's input H x W;
//  * the sources are 1x1 convolutions (`conv1x1`, or 1x1 `conv`) without padding (dilation 1), and a
//    source `conv1x1` keeps a stride the device kernel runs (1 or 2 after the multiplication);
//  * every tensor of the chain (the sources' outputs, the intermediate tensors and the strided node's
//    input) is read only by nodes of the chain and the strided node, and is not a graph output; a chain
//    that starts at a graph input is not rewritten (there is no strided-slice op);
//  * node and tensor names stay (QDQ annotations and weight scales keyed by them still apply), and the
//    rewritten graph must infer the same shape for the strided node's output and every graph output.
// The pass is repeated until nothing changes, so a stride moves back through several chains of 1x1
// convolutions (as long as the device stride limit allows).

/// One rewrite: the strided node now has stride 1 and each source has its strides multiplied.
public struct StrideHoist: Sendable, Equatable, CustomStringConvertible {
    /// The strided 1x1 node whose subsampling moved (now stride 1).
    public var node: String
    /// The stride that moved.
    public var strideH: Int, strideW: Int
    /// The first nodes of the chain, which now subsample (their strides multiplied by the stride above).
    public var sources: [String]
    /// The pixel-wise nodes between the sources and `node`, which now run on strideH * strideW fewer pixels
    /// (roughly).
    public var chain: [String]
    /// Tensors whose shape shrank: name, shape before, shape after.
    public var tensors: [(name: String, before: [Int], after: [Int])]

    public static func == (a: StrideHoist, b: StrideHoist) -> Bool {
        a.node == b.node && a.strideH == b.strideH && a.strideW == b.strideW && a.sources == b.sources && a.chain == b.chain
            && a.tensors.map(\.name) == b.tensors.map(\.name) && a.tensors.map(\.before) == b.tensors.map(\.before)
            && a.tensors.map(\.after) == b.tensors.map(\.after)
    }

    /// One line for logs: "'/features.2/Conv' stride 2x2 moved to {'/features.0/Conv'} (chain: '/features.1/Mul')".
    public var description: String {
        let src = sources.map { "'\($0)'" }.joined(separator: ", ")
        let ch = chain.isEmpty ? "" : "; now on fewer pixels: " + chain.map { "'\($0)'" }.joined(separator: ", ")
        let ts = tensors.map { "\($0.name) \(shapeString($0.before)) -> \(shapeString($0.after))" }.joined(separator: ", ")
        return "'\(node)' stride \(strideH)x\(strideW) moved to \(src)\(ch) (\(ts))"
    }
}

/// A strided 1x1 node left as it is, and why.
public struct StrideHoistSkip: Sendable, Equatable, CustomStringConvertible {
    public var node: String
    public var reason: String
    public var description: String { "'\(node)': \(reason)" }
}

/// Result of `Graph.hoistingStrides()`.
public struct StrideHoistResult: Sendable {
    /// The rewritten graph (the input graph when nothing was rewritten).
    public var graph: Graph
    /// The rewrites, in the order they were made.
    public var rewrites: [StrideHoist]
    /// Strided 1x1 nodes of the input graph that were not rewritten, with the reason (nodes that only became
    /// strided as sources of a rewrite are not listed).
    public var skipped: [StrideHoistSkip]
    /// Multiply-accumulates per inference before and after (`Graph.macs`).
    public var macsBefore: Int, macsAfter: Int
}

extension Graph {
    /// Multiply-accumulates per inference of the convolutions and fully connected layers (output elements
    /// x inputs per output, the count of `QuantizedModel.macs`); other ops count 0.
    public var macs: Int {
        var total = 0
        for n in nodes {
            let out = (shapes[n.output] ?? []).reduce(1, *)
            switch n.op {
            case .fullyConnected(let fc): total += out * fc.inFeatures
            case .conv1x1(let c): total += out * c.inChannels
            case .conv(let c): total += out * c.window.kernelH * c.window.kernelW * c.inChannelsPerGroup
            default: break
            }
        }
        return total
    }

    /// Moves the subsampling of strided 1x1 convolutions to the start of the pixel-wise chains that
    /// produce their inputs (see the file comment for the exact conditions). The outputs of the returned
    /// graph equal this graph's outputs exactly (same float operations on the pixels that are read).
    public func hoistingStrides() throws -> StrideHoistResult {
        var g = self
        var rewrites: [StrideHoist] = []
        // Each rewrite moves a stride to strictly earlier nodes, so this terminates; the bound is a guard.
        var rounds = 0
        while rounds < nodes.count + 1 {
            rounds += 1
            var done = false
            for i in g.nodes.indices {
                guard case .hoist(let plan) = g.strideHoistPlan(target: i) else { continue }
                var r = g
                r.apply(plan)
                do { try r.inferShapes() } catch { continue }
                // the strided node's output and every graph output keep their shapes (inferShapes checks the outputs)
                guard r.shapes[g.nodes[i].output] == g.shapes[g.nodes[i].output] else { continue }
                let names = plan.tensors
                rewrites.append(StrideHoist(node: g.nodes[i].name, strideH: plan.strideH, strideW: plan.strideW,
                                            sources: plan.sources.map { g.nodes[$0].name },
                                            chain: plan.chain.map { g.nodes[$0].name },
                                            tensors: names.map { ($0, g.shapes[$0] ?? [], r.shapes[$0] ?? []) }))
                g = r
                done = true
                break
            }
            if !done { break }
        }
        // strided 1x1 nodes of this graph that are still strided (a source that received a stride is not listed)
        let strided = Set(nodes.compactMap { n in pointwise(n).flatMap { $0.sh > 1 || $0.sw > 1 ? n.name : nil } })
        var skipped: [StrideHoistSkip] = []
        for i in g.nodes.indices where strided.contains(g.nodes[i].name) {
            if case .skip(let why) = g.strideHoistPlan(target: i) { skipped.append(StrideHoistSkip(node: g.nodes[i].name, reason: why)) }
        }
        return StrideHoistResult(graph: g, rewrites: rewrites, skipped: skipped, macsBefore: macs, macsAfter: g.macs)
    }

    struct HoistPlan {
        var target: Int
        var strideH: Int, strideW: Int
        var sources: [Int]
        var chain: [Int]
        /// Tensors that shrink (sources' and chain nodes' outputs, in graph order).
        var tensors: [String]
    }

    enum HoistDecision {
        /// Not a strided 1x1 node: nothing to say.
        case notStrided
        case skip(String)
        case hoist(HoistPlan)
    }

    /// 1x1 geometry of a node: (strideH, strideW, padded, dilated) for `conv1x1` and 1x1 `conv`, nil otherwise.
    private func pointwise(_ n: Node) -> (sh: Int, sw: Int, padded: Bool, dilated: Bool)? {
        switch n.op {
        case .conv1x1(let c):
            return (c.strideH, c.strideW, max(c.padTop, c.padLeft, c.padBottom, c.padRight) != 0, false)
        case .conv(let c) where c.window.kernelH == 1 && c.window.kernelW == 1:
            let w = c.window
            return (w.strideH, w.strideW, max(w.padTop, w.padLeft, w.padBottom, w.padRight) != 0, w.dilationH != 1 || w.dilationW != 1)
        default:
            return nil
        }
    }

    /// Whether node `ti` is a strided 1x1 node whose subsampling can move, and how.
    func strideHoistPlan(target ti: Int) -> HoistDecision {
        let t = nodes[ti]
        guard let geo = pointwise(t) else { return .notStrided }
        guard geo.sh > 1 || geo.sw > 1 else { return .notStrided }
        guard t.inputs.count == 1, let x = t.inputs.first, let xs = shapes[x], xs.count == 4,
              let ys = shapes[t.output], ys.count == 4 else { return .skip("input or output is not a rank-4 NHWC tensor") }
        if geo.padded { return .skip("has zero padding (the strided pixels are shifted, not a subsample of the input)") }
        if geo.dilated { return .skip("has a dilation other than 1") }
        guard ys[1] < xs[1] || ys[2] < xs[2] else { return .notStrided }   // a 1x1 input: nothing to subsample
        let (sh, sw) = (geo.sh, geo.sw)
        let (h, w) = (xs[1], xs[2])
        let graphOutputs = Set(outputs.map(\.name))
        var producer: [String: Int] = [:]
        for (i, n) in nodes.enumerated() { producer[n.output] = i }

        var inRegion = Set<Int>()
        var sources: [Int] = [], chain: [Int] = []
        var seen = Set<String>()
        var work = [x]
        while let v = work.popLast() {
            guard seen.insert(v).inserted else { continue }
            if graphOutputs.contains(v) { return .skip("tensor '\(v)' of the chain is a graph output") }
            guard let pi = producer[v] else {
                return .skip("the chain starts at graph input '\(v)' (there is no strided-slice op to subsample it)")
            }
            let p = nodes[pi]
            if case .transpose = p.op, let i = p.inputs.first, producer[i] == nil {
                return .skip("the chain starts at graph input '\(i)' (its layout transpose '\(p.name)'; there is no strided-slice op to subsample it)")
            }
            guard let vs = shapes[v], vs.count == 4, vs[1] == h, vs[2] == w else {
                return .skip("tensor '\(v)' of the chain is not [1, \(h), \(w), C] (shape \(shapeString(shapes[v] ?? [])))")
            }
            if let pg = pointwise(p) {
                if pg.padded { return .skip("source '\(p.name)' has zero padding") }
                if pg.dilated { return .skip("source '\(p.name)' has a dilation other than 1") }
                if case .conv1x1 = p.op, pg.sh * sh > 2 || pg.sw * sw > 2 {
                    return .skip("source '\(p.name)' would need stride \(pg.sh * sh)x\(pg.sw * sw); the device's 1x1 convolution runs strides 1 and 2")
                }
                if inRegion.insert(pi).inserted { sources.append(pi) }
                continue
            }
            switch p.op {
            case .relu, .clip, .sigmoid, .silu, .hardSigmoid, .hardSwish, .tanh, .gelu, .identity, .affine, .add:
                work.append(contentsOf: p.inputs)
            case .mul:
                guard p.inputs.count == 2, let a = shapes[p.inputs[0]], let b = shapes[p.inputs[1]],
                      let bc = Op.mulBroadcast(a, b) else { return .skip("'\(p.name)' (mul) has unexpected operands") }
                // a per-channel or scalar second operand is the same for every pixel: it stays as it is
                work.append(contentsOf: bc == MulBroadcast.none ? p.inputs : [p.inputs[0]])
            case .concat(let axis) where axis == 3:
                work.append(contentsOf: p.inputs)
            case .conv(let c):
                return .skip("'\(p.name)' is a \(c.window.kernelH)x\(c.window.kernelW) convolution in the chain (it reads neighbouring pixels)")
            default:
                return .skip("'\(p.name)' (\(p.op.kind)) in the chain is not a pixel-wise op")
            }
            inRegion.insert(pi)
            chain.append(pi)
        }
        // a 1x1 convolution that reads a tensor of the chain (e.g. the second conv of a residual branch) is
        // part of the chain, not a source: it keeps its stride (which must be 1) and reads the subsampled tensor
        for si in sources where nodes[si].inputs.contains(where: { seen.contains($0) }) {
            guard let pg = pointwise(nodes[si]), pg.sh == 1, pg.sw == 1 else {
                return .skip("'\(nodes[si].name)' reads a tensor of the chain and is itself strided")
            }
            sources.removeAll { $0 == si }
            chain.append(si)
        }
        // every tensor of the chain is read only inside the chain and by the strided node
        let allowed = inRegion.union([ti])
        for (j, n) in nodes.enumerated() where !allowed.contains(j) {
            for i in n.inputs where seen.contains(i) {
                return .skip("tensor '\(i)' of the chain is also read by '\(n.name)'")
            }
        }
        let order = inRegion.sorted()
        return .hoist(HoistPlan(target: ti, strideH: sh, strideW: sw, sources: sources.sorted(), chain: chain.sorted(),
                                tensors: order.map { nodes[$0].output }))
    }

    mutating func apply(_ plan: HoistPlan) {
        for s in plan.sources {
            switch nodes[s].op {
            case .conv1x1(var c):
                c.strideH *= plan.strideH; c.strideW *= plan.strideW
                nodes[s].op = .conv1x1(c)
            case .conv(var c):
                c.window.strideH *= plan.strideH; c.window.strideW *= plan.strideW
                nodes[s].op = .conv(c)
            default: break
            }
        }
        switch nodes[plan.target].op {
        case .conv1x1(var c):
            c.strideH = 1; c.strideW = 1
            nodes[plan.target].op = .conv1x1(c)
        case .conv(var c):
            c.window.strideH = 1; c.window.strideW = 1
            nodes[plan.target].op = .conv(c)
        default: break
        }
    }
}
