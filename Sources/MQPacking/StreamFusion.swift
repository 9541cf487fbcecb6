// Pixel-streamed chains (packed STREAM_FC / STREAM_FC_S16, docs/FORMAT.md "Pixel-streamed chain").
//
// A chain of pixel-wise layers that ends in flatten + fully connected:
//
//   source [1, h, w, c] (or NCHW [1, c, h, w] + a TRANSPOSE to NHWC read only by the chain)
//     -> pixel-wise nodes (1x1 convolutions without padding, 8-bit or 16x8, the first one with any stride and the
//        others stride 1; 8-bit / int16 tables; precision conversions), each output read only by the next
//     -> RESHAPE [1, oh, ow, c'] -> [1, oh * ow * c'] (NHWC flatten order) -> FULLY_CONNECTED[_S16]
//
// is rewritten into one head node (the fully connected layer, its `stream` set, inputs [source, gathered pixel,
// head pixel]) followed by the chain's nodes on one-pixel tensors ([1, 1, 1, c], the same qparams; `streamMember`,
// stride 1: the head's gather reads every stride-th source pixel). The C runtime runs the chain once per output
// pixel and accumulates the fully connected layer's products pixel by pixel (integer sums, so the result is
// byte-identical to the layers unfused: csrc/tests/test_model_stream.c). Only the source, one pixel of each
// intermediate, the accumulators and the output are live: the arena shrinks from the largest pair of whole
// intermediate tensors to the source plus a few pixels (tinyconv: 768 -> 272 B in int8).
//
// `best` applies it when the planned arena gets smaller; the tensors the chain no longer materializes are dropped.

import MQQuantization

public enum StreamFusion {
    /// Most members one chain may have (MQ_STREAM_MAX_MEMBERS).
    static let maxMembers = 16

    /// `m` with its chains streamed when that lowers the planned arena (and the result packs), else `m`.
    public static func best(_ m: QuantizedModel, inPlace: Bool = true) -> QuantizedModel {
        if m.ortFloat32 { return m } // onnxruntime rounding runs unstreamed (MQ_MODEL_FLAG_ORT_FLOAT32)
        guard let f = fused(m) else { return m }
        let before = MemoryPlanner.plan(m, inPlace: inPlace).arenaSize
        let plan = MemoryPlanner.plan(f, inPlace: inPlace)
        guard plan.arenaSize < before else { return m }
        do {
            _ = try Packer.pack(f, plan: plan, metadata: PackMetadata(sourceName: "stream", sourceSHA256: [],
                                                                      calibrationMethod: "stream"))
        } catch {
            return m
        }
        return f
    }

    /// The kinds of node a chain may contain, and whether it is a convolution (nil: not pixel-wise).
    static func memberKind(_ n: QNode) -> (conv: Bool, ok: Bool) {
        guard n.inputs.count == 1, n.stream == nil, !n.streamMember else { return (false, false) }
        switch n.op {
        case .conv1x1(let g):
            return (true, g.padTop == 0 && g.padLeft == 0 && g.padBottom == 0 && g.padRight == 0)
        case let .convS16(w, _, _):
            return (true, w.kernelH == 1 && w.kernelW == 1 && w.dilationH == 1 && w.dilationW == 1 && w.padTop == 0 &&
                          w.padBottom == 0 && w.padLeft == 0 && w.padRight == 0)
        case .lut, .lut16, .quantizeS16, .requantizeS16To8, .requantize:
            return (false, true)
        default:
            return (false, false)
        }
    }

    /// Every chain of `m` streamed (nil when there is none).
    public static func fused(_ m: QuantizedModel) -> QuantizedModel? {
        var model = m
        var changed = false
        // one chain at a time: indices change with every rewrite
        while let next = fuseOne(model) {
            model = next
            changed = true
        }
        return changed ? model : nil
    }

    static func fuseOne(_ m: QuantizedModel) -> QuantizedModel? {
        guard let uses = TensorUses(m) else { return nil }
        let readers = uses.readers, producer = uses.producer
        let outputs = Set(m.outputs)
        func private1(_ t: Int, _ reader: Int) -> Bool {
            readers[t] == [reader] && !outputs.contains(t) && !m.inputs.contains(t) && m.tensors[t].constant == nil
        }
        for (hi, h) in m.nodes.enumerated() where h.stream == nil && !h.streamMember && h.inputs.count == 1 {
            switch h.op {
            case .fullyConnected, .fullyConnectedS16: break
            default: continue
            }
            // elementwise nodes between the flatten and the head (precision conversions, tables placed on the
            // flattened tensor) run per pixel too: the same codes element by element
            var post: [Int] = []
            var flat = h.inputs[0]
            var reader = hi
            while private1(flat, reader), let p = producer[flat], !memberKind(m.nodes[p]).conv, memberKind(m.nodes[p]).ok,
                  post.count < maxMembers {
                post.append(p)
                reader = p
                flat = m.nodes[p].inputs[0]
            }
            post.reverse()
            guard private1(flat, reader), let ri = producer[flat], case .reshape = m.nodes[ri].op,
                  m.nodes[ri].inputs.count == 1 else { continue }
            let last = m.nodes[ri].inputs[0]
            let ts = m.tensors[last].shape
            guard ts.count == 4, ts[0] == 1, private1(last, ri) else { continue }
            // walk back over pixel-wise nodes whose inputs only they read
            var chain: [Int] = []
            var x = last
            while let p = producer[x], memberKind(m.nodes[p]).ok, chain.count < maxMembers {
                chain.append(p)
                x = m.nodes[p].inputs[0]
                if !private1(x, p) { break }
            }
            chain.reverse()
            guard !chain.isEmpty, chain.contains(where: { memberKind(m.nodes[$0]).conv }),
                  chain.count + post.count <= maxMembers else { continue }
            // x: the chain's input. Absorb an NCHW -> NHWC transpose read only by the chain.
            var source = x
            var nchw = false
            var dropped = Set(chain + post + [ri, hi])
            if let tp = producer[x], case .transpose(let perm) = m.nodes[tp].op, perm == [0, 2, 3, 1],
               private1(x, chain[0]), m.nodes[tp].inputs.count == 1,
               m.tensors[m.nodes[tp].inputs[0]].constant == nil {
                source = m.nodes[tp].inputs[0]
                nchw = true
                dropped.insert(tp)
            }
            let ss = m.tensors[source].shape
            guard ss.count == 4, ss[0] == 1, m.tensors[source].constant == nil else { continue }
            let (srcH, srcW, srcC) = nchw ? (ss[2], ss[3], ss[1]) : (ss[1], ss[2], ss[3])
            // strides: every node is pixel-wise (1x1, unpadded), so output pixel (y, x) of the chain reads only source
            // pixel (y * S, x * S), S the product of the convolutions' strides: the gather takes it, the members run
            // stride 1. Each node's spatial size must be its input's, or (in - 1) / stride + 1 after a convolution
            // (nested floor divisions compose: the grid is (src - 1) / S + 1).
            var strideH = 1, strideW = 1
            var ok = true
            var (curH, curW) = (srcH, srcW)
            for c in chain {
                var (sh, sw) = (1, 1)
                switch m.nodes[c].op {
                case .conv1x1(let g): (sh, sw) = (g.strideH, g.strideW)
                case let .convS16(w, _, _): (sh, sw) = (w.strideH, w.strideW)
                default: break
                }
                guard sh >= 1, sw >= 1, strideH <= 32768 / sh, strideW <= 32768 / sw else { ok = false; break }
                strideH *= sh
                strideW *= sw
                curH = (curH - 1) / sh + 1
                curW = (curW - 1) / sw + 1
                let s = m.tensors[m.nodes[c].output].shape
                guard s.count == 4, s[0] == 1, s[1] == curH, s[2] == curW else { ok = false; break }
            }
            let (oh, ow) = (ts[1], ts[2])
            guard ok, oh == curH, ow == curW, (oh - 1) * strideH < srcH, (ow - 1) * strideW < srcW else { continue }

            // rewrite: pixel tensors, the head, the members
            var tensors = m.tensors
            // the one-pixel copy of tensor t ([1, 1, 1, c]: the same qparams)
            func pixel(_ t: Int, channels c: Int) -> Int {
                var p = m.tensors[t]
                p.name += ".pixel"
                p.shape = [1, 1, 1, c]
                tensors.append(p)
                return tensors.count - 1
            }
            let g = pixel(source, channels: srcC)
            var members: [QNode] = []
            var px = g
            for c in chain + post {
                var n = m.nodes[c]
                // a chain node's own channels; after the flatten ([1, oh * ow * c']) the last chain node's
                let out = pixel(n.output, channels: post.contains(c) ? ts[3] : m.tensors[n.output].shape[3])
                n.inputs = [px]
                n.output = out
                n.streamMember = true
                switch n.op {
                case .conv1x1(var gm):
                    gm.strideH = 1
                    gm.strideW = 1
                    n.op = .conv1x1(gm)
                case .convS16(var w, let inC, let gm):
                    w.strideH = 1
                    w.strideW = 1
                    n.op = .convS16(window: w, inC: inC, gemm: gm)
                default: break
                }
                members.append(n)
                px = out
            }
            var head = h
            head.inputs = [source, g, px]
            head.fused = chain.flatMap { m.nodes[$0].fused } + m.nodes[ri].fused + post.flatMap { m.nodes[$0].fused } + h.fused
            head.stream = QStream(members: members.count, outH: oh, outW: ow, strideH: strideH, strideW: strideW, nchw: nchw)
            var nodes: [QNode] = []
            for (i, n) in m.nodes.enumerated() {
                if i == hi { nodes.append(head); nodes += members } else if !dropped.contains(i) { nodes.append(n) }
            }
            var out = m
            out.tensors = tensors
            out.nodes = nodes
            return compacted(out)
        }
        return nil
    }

    /// The model without the tensors no node, input or output refers to (indices renumbered, order kept).
    static func compacted(_ m: QuantizedModel) -> QuantizedModel {
        var used = Set(m.inputs + m.outputs)
        for n in m.nodes { used.formUnion(n.inputs); used.insert(n.output) }
        var map = [Int](repeating: -1, count: m.tensors.count)
        var tensors: [QTensor] = []
        for (i, t) in m.tensors.enumerated() where used.contains(i) {
            map[i] = tensors.count
            tensors.append(t)
        }
        var out = m
        out.tensors = tensors
        out.nodes = m.nodes.map { n in
            var n = n
            n.inputs = n.inputs.map { map[$0] }
            n.output = map[n.output]
            return n
        }
        out.inputs = m.inputs.map { map[$0] }
        out.outputs = m.outputs.map { map[$0] }
        return out
    }
}

/// Who reads and who writes each tensor of a quantized model: the fusion passes' view of the graph (StreamFusion,
/// RowStreamFusion).
struct TensorUses {
    /// the nodes reading tensor t (each node once, in node order)
    let readers: [Int: [Int]]
    /// the node writing tensor t
    let producer: [Int: Int]

    /// nil for a malformed model (a tensor index out of range): left to the packer, which names the bad op.
    init?(_ m: QuantizedModel) {
        let valid = m.tensors.indices
        guard m.nodes.allSatisfy({ $0.inputs.allSatisfy(valid.contains) && valid.contains($0.output) }),
              (m.inputs + m.outputs).allSatisfy(valid.contains) else { return nil }
        var readers: [Int: [Int]] = [:]
        var producer: [Int: Int] = [:]
        for (i, n) in m.nodes.enumerated() {
            for t in Set(n.inputs) { readers[t, default: []].append(i) }
            producer[n.output] = i
        }
        self.readers = readers
        self.producer = producer
    }
}
