// Row-streamed segments (packed ROW_STREAM, docs/FORMAT.md "Row-streamed segment").
//
// A residual block
//
//   S -> row-wise layers (KxK / 1x1 / depthwise convolutions, 8-bit tables) -> ... -> ADD(., S or another branch of S)
//
// run layer by layer keeps the block input S alive while the branch writes whole intermediate tensors (ResNet-8's
// first stage: S 16 KB + two 16 KB convolution outputs). Run row by row (one ROW_STREAM op, the C runtime's row
// schedule, csrc/src/stream/mq_rows.h) every intermediate lives as a ring of a few rows, and the block output can
// be written over S as soon as no later row reads the S rows under it. The result is byte-identical to the layers
// one after another (the same kernels on row views: csrc/tests/test_model_rows.c).
//
// `fused` forms every such block whose members are 8-bit, rank-4 batch-1 and read only inside the block (16x8 layers
// never join: the precision search's int16 layers stay as they are); the members are moved together (their
// intermediates have no other reader, so the order of the other nodes is unchanged) and the first one carries the
// segment (`rows`) with the ring rows the schedule needs. `best` keeps the result when it lowers the planned arena.

import MQQuantization
import MicroQuantC

public enum RowStreamFusion {
    /// Most members one segment may have (MQ_ROWS_MAX_MEMBERS).
    static let maxMembers = 8

    /// `m` with those of its residual blocks row-streamed that lower the planned arena (and the result packs), else
    /// `m`. One block at a time, in graph order: a block whose streaming leaves the arena where it is (its peak is not
    /// the model's) stays layer by layer, so it does not pay the per-row calls for nothing.
    public static func best(_ m: QuantizedModel, inPlace: Bool = true, log: ((String) -> Void)? = nil) -> QuantizedModel {
        if m.ortFloat32 { return m } // onnxruntime rounding runs unstreamed (MQ_MODEL_FLAG_ORT_FLOAT32)
        var cur = m
        var arena = MemoryPlanner.plan(m, inPlace: inPlace).arenaSize
        var skip = Set<Int>()
        while let (fusedModel, key) = fuseOne(cur, skipping: skip) {
            var next = fusedModel
            var plan = MemoryPlanner.plan(next, inPlace: inPlace)
            let name = next.nodes.first { $0.output == key }?.name ?? "?"
            var how = ""
            if plan.arenaSize >= arena, let last = next.nodes.firstIndex(where: { $0.output == key }),
               let first = (0...last).last(where: { next.nodes[$0].rows != nil }),
               next.nodes[first].rows?.addTerms == true, plan.termsOffsets[first] != nil {
                // the ADD's 2 KB term tables cost the gain: the segment without them (its ADD rows untabulated)
                var alt = next
                alt.nodes[first].rows?.addTerms = false
                let p2 = MemoryPlanner.plan(alt, inPlace: inPlace)
                if p2.arenaSize < arena { next = alt; plan = p2; how = " (without the ADD term tables)" }
            }
            log?("row stream: block ending in '\(name)': arena \(arena) -> \(plan.arenaSize) B\(plan.arenaSize < arena ? how : " (kept layer by layer)")")
            if plan.arenaSize < arena, (try? Packer.pack(next, plan: plan, metadata: PackMetadata(
                sourceName: "rows", sourceSHA256: [], calibrationMethod: "rows"))) != nil {
                cur = next
                arena = plan.arenaSize
            } else {
                skip.insert(key)
            }
        }
        return cur
    }

    /// Row geometry of a node that can be a member: output row y reads input rows [y * stride - padTop, + extent).
    static func geometry(_ n: QNode, _ m: QuantizedModel) -> RowMember? {
        guard n.stream == nil, !n.streamMember, n.rows == nil, !n.rowMember else { return nil }
        let ids = n.inputs + [n.output]
        guard ids.allSatisfy({ m.tensors.indices.contains($0) }) else { return nil }
        for t in ids {
            let x = m.tensors[t]
            guard x.constant == nil, !x.isInt16, x.shape.count == 4, x.shape[0] == 1, x.byteCount > 0 else { return nil }
        }
        var g = RowMember(outH: m.tensors[n.output].shape[1], srcH: m.tensors[n.inputs[0]].shape[1])
        switch n.op {
        case .conv(let c):
            guard n.inputs.count == 1 else { return nil }
            g.stride = c.window.strideH; g.padTop = c.window.padTop
            g.extent = c.window.dilationH * (c.window.kernelH - 1) + 1
        case .depthwiseConv(let d):
            guard n.inputs.count == 1 else { return nil }
            g.stride = d.window.strideH; g.padTop = d.window.padTop
            g.extent = d.window.dilationH * (d.window.kernelH - 1) + 1
        case .conv1x1(let q):
            guard n.inputs.count == 1, q.padTop == 0, q.padBottom == 0 else { return nil }
            g.stride = q.strideH
        case .lut:
            guard n.inputs.count == 1 else { return nil }
            g.elementwise = true
        case .add(let p):
            guard n.inputs.count == 2, p.broadcast == MQ_BCAST_NONE,
                  m.tensors[n.inputs[1]].shape == m.tensors[n.output].shape,
                  m.tensors[n.inputs[0]].shape == m.tensors[n.output].shape else { return nil }
            g.elementwise = true
        default:
            return nil
        }
        guard g.stride >= 1, g.extent >= 1, g.outH >= 1 else { return nil }
        return g
    }

    /// Every residual block of `m` row-streamed (nil when there is none).
    public static func fused(_ m: QuantizedModel) -> QuantizedModel? {
        var model = m
        var changed = false
        while let (next, _) = fuseOne(model, skipping: []) {
            model = next
            changed = true
        }
        return changed ? model : nil
    }

    /// The first formable block (its ADD's output tensor not in `skipping`) fused, and that tensor.
    static func fuseOne(_ m: QuantizedModel, skipping: Set<Int>) -> (QuantizedModel, Int)? {
        guard let uses = TensorUses(m) else { return nil }
        let readers = uses.readers, producer = uses.producer
        let outputs = Set(m.outputs)
        for (a, node) in m.nodes.enumerated() {
            guard case .add = node.op, !skipping.contains(node.output), geometry(node, m) != nil else { continue }
            // walk each operand back through single-reader row-wise layers to the block input
            func walk(_ t0: Int) -> (chain: [Int], source: Int) {
                var t = t0, chain: [Int] = []
                while let p = producer[t], readers[t]?.count == 1, !outputs.contains(t), chain.count < maxMembers,
                      m.nodes[p].inputs.count == 1, geometry(m.nodes[p], m) != nil {
                    chain.append(p)
                    t = m.nodes[p].inputs[0]
                }
                return (chain, t)
            }
            let l = walk(node.inputs[0]), r = walk(node.inputs[1])
            guard l.source == r.source, !(l.chain.isEmpty && r.chain.isEmpty) else { continue }
            let src = l.source
            guard m.tensors[src].constant == nil, !m.tensors[src].isInt16, m.tensors[src].shape.count == 4,
                  m.tensors[src].shape[0] == 1 else { continue }
            let members = (l.chain + r.chain + [a]).sorted()
            guard members.count >= 2, members.count <= maxMembers, Set(members).count == members.count else { continue }
            // the segment's geometry and the smallest rings the schedule completes with
            guard let rings = ringRows(m, members: members, input: src) else { continue }
            var nodes = m.nodes
            var seg = members.map { m.nodes[$0] }
            for k in seg.indices { seg[k].rowMember = true }
            seg[0].rows = QRows(members: members.count, input: src, ringRows: rings)
            // the members move to where the last one (the ADD) was; their intermediates have no other reader
            let set = Set(members)
            var out: [QNode] = []
            for (i, n) in nodes.enumerated() {
                if i == a { out += seg } else if !set.contains(i) { out.append(n) }
            }
            nodes = out
            var f = m
            f.nodes = nodes
            return (f, node.output)
        }
        return nil
    }

    /// The plan of a segment (members in order, reading `input` or each other).
    static func plan(_ m: QuantizedModel, members: [Int], input: Int, rings: [Int]) -> [RowMember]? {
        var out: [RowMember] = []
        for (j, i) in members.enumerated() {
            var n = m.nodes[i]
            n.rows = nil
            n.rowMember = false // an existing segment's members (as when it was formed)
            guard var g = geometry(n, m) else { return nil }
            g.ring = j + 1 < members.count ? rings[j] : 0
            g.src = (0..<2).map { q in
                guard q < m.nodes[i].inputs.count else { return -2 }
                let t = m.nodes[i].inputs[q]
                if t == input { return -1 }
                return members.prefix(j).firstIndex { m.nodes[$0].output == t } ?? -2
            }
            if g.src[0] == -2 || (m.nodes[i].inputs.count == 2 && g.src[1] == -2) { return nil }
            out.append(g)
        }
        return out
    }

    /// Ring rows for members 0 ..< count - 1: the most rows a consumer reads at once (the schedule with the output
    /// apart from the input must complete with them), else whole tensors; nil when even that stalls.
    static func ringRows(_ m: QuantizedModel, members: [Int], input: Int) -> [Int]? {
        guard var p = plan(m, members: members, input: input, rings: Array(repeating: 1, count: members.count)) else {
            return nil
        }
        var rings = [Int](repeating: 1, count: members.count - 1)
        for j in rings.indices {
            var need = 1
            for c in p.indices where p[c].src.contains(j) {
                for y in 0..<p[c].outH {
                    let (lo, hi) = p[c].range(y)
                    need = max(need, hi - lo)
                }
            }
            rings[j] = min(need, p[j].outH)
        }
        for j in rings.indices { p[j].ring = rings[j] }
        if RowSchedule(members: p).completes() { return rings }
        for j in rings.indices { p[j].ring = p[j].outH; rings[j] = p[j].outH }
        return RowSchedule(members: p).completes() ? rings : nil
    }

    /// Whether the segment starting at node `first` may write its output over its input (same offset): the row
    /// schedule with the overlap completes.
    static func schedulesInPlace(_ m: QuantizedModel, first: Int, rings: [Int]) -> Bool {
        guard let r = m.nodes[first].rows, first + r.members <= m.nodes.count else { return false }
        let members = Array(first..<(first + r.members))
        guard let p = plan(m, members: members, input: r.input, rings: rings + [0]) else { return false }
        let s = m.tensors[r.input], y = m.tensors[m.nodes[members.last!].output]
        var sched = RowSchedule(members: p)
        sched.overlap = true
        sched.outRel = 0
        sched.inH = max(s.shape[1], 1)
        sched.inRow = max(s.byteCount / sched.inH, 1)
        sched.outRow = max(y.byteCount / max(y.shape[1], 1), 1)
        return sched.completes()
    }

    /// Bytes of a segment's ADD term tables (MQ_ROWS_TERMS_BYTES: two 256-entry int32 tables), as the writer packs them.
    static var termsBytes: Int { Int(mq_writer_rows_terms_size()) }

    /// An ADD member worth tabulating, whose segment then gets the term tables as arena scratch: the runtime's
    /// test (mq_add_tabulate: no broadcast, every shift <= 0) and, as a whole-tensor ADD (MQ_ADD_TABLE_MIN), at
    /// least 1024 elements (8-bit: bytes); a smaller one runs its rows untabulated and the segment needs no tables.
    static func tabulatesAdd(_ n: QNode, model: QuantizedModel) -> Bool {
        guard n.rowMember, case .add(let p) = n.op else { return false }
        return p.broadcast == MQ_BCAST_NONE && p.in1_shift <= 0 && p.in2_shift <= 0 && p.out_shift <= 0
            && model.tensors[n.output].byteCount >= 1024
    }

    /// Bytes of a ring of `rows` rows (the double write: 2 rows - 1 row slots).
    static func ringBytes(rowBytes: Int, rows: Int) -> Int { rows >= 1 ? (2 * rows - 1) * rowBytes : 0 }
}

/// One member's row geometry (csrc/src/stream/mq_rows.h mq_rows_member).
struct RowMember {
    var outH: Int
    var ring = 0
    var stride = 1, padTop = 0, extent = 1
    var srcH: Int
    /// Producers of inputs 0, 1: member index, -1 the segment input, -2 none / constant.
    var src: [Int] = [-2, -2]
    var elementwise = false

    init(outH: Int, srcH: Int) { self.outH = outH; self.srcH = srcH }

    func range(_ y: Int) -> (Int, Int) {
        var a = y * stride - padTop
        var b = a + extent
        a = min(max(a, 0), srcH)
        b = max(min(b, srcH), a)
        return (a, b)
    }

    func firstNeeded(_ next: Int) -> Int { next >= outH ? Int.max : range(next).0 }
}

/// The row schedule of csrc/src/stream/mq_rows_schedule.c on counters (the loader runs the same and rejects a
/// segment that stalls): used to size the rings and to decide whether the output may go over the input.
struct RowSchedule {
    var members: [RowMember]
    var overlap = false
    var outRel = 0, inRow = 1, outRow = 1, inH = 1

    func ready(_ next: [Int], _ j: Int) -> Bool {
        let m = members[j], y = next[j]
        guard y < m.outH else { return false }
        let (lo, hi) = m.range(y)
        for s in m.src where s >= 0 && next[s] < hi { return false }
        if m.ring > 0 && y >= m.ring {
            for i in (j + 1)..<members.count where members[i].src.contains(j) {
                if members[i].firstNeeded(next[i]) <= y - m.ring { return false }
            }
        }
        if overlap && j + 1 == members.count {
            let a = outRel + y * outRow, b = a + outRow
            if b > 0 && a < inH * inRow {
                let r0 = a > 0 ? a / inRow : 0
                let r1 = min((b - 1) / inRow, inH - 1)
                for (i, c) in members.enumerated() where c.src.contains(-1) {
                    if i == j {
                        if c.firstNeeded(y + 1) <= r1 { return false }
                        if lo <= r1 && hi > r0 && !(c.elementwise && outRel == 0 && inRow == outRow && r0 == y && r1 == y) {
                            return false
                        }
                    } else if c.firstNeeded(next[i]) <= r1 {
                        return false
                    }
                }
            }
        }
        return true
    }

    func completes() -> Bool {
        guard !members.isEmpty, members.count <= RowStreamFusion.maxMembers else { return false }
        var next = [Int](repeating: 0, count: members.count)
        let last = members.count - 1
        while next[last] < members[last].outH {
            var progress = false
            for j in members.indices {
                while ready(next, j) { next[j] += 1; progress = true }
            }
            if !progress { return false }
        }
        return true
    }
}
