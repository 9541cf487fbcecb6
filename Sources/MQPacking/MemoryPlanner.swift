// Offline arena planning: lifetimes, in-place aliasing, greedy-by-size placement, lower bound.

import MQQuantization
import MicroQuantC

/// A buffer to place in the arena: `size` bytes live from op `first` to op `last` (inclusive;
/// -1 = before the first op, i.e. a model input written before running).
public struct ArenaBuffer: Sendable, Equatable {
    /// Bytes.
    public var size: Int
    /// First and last op index of the lifetime (inclusive).
    public var first: Int
    public var last: Int
    /// A buffer of `size` bytes live over ops first...last.
    public init(size: Int, first: Int, last: Int) { self.size = size; self.first = first; self.last = last }

    func overlaps(_ o: ArenaBuffer) -> Bool { first <= o.last && o.first <= last }
}

/// The arena alignment of every offset (bytes).
public let arenaAlignment = 16

@inline(__always) func alignUp(_ x: Int, _ a: Int = arenaAlignment) -> Int { (x + a - 1) / a * a }

/// Greedy-by-size placement (TFLite Micro's GreedyMemoryPlanner idea): buffers sorted by size
/// (descending; ties by first use, then index), each placed at the lowest 16-byte-aligned offset
/// where it overlaps no already placed buffer whose lifetime intersects its own.
/// Returns the offsets (same order as `buffers`) and the arena size (end of the highest buffer, aligned).
public func placeGreedyBySize(_ buffers: [ArenaBuffer]) -> (offsets: [Int], arenaSize: Int) {
    let order = buffers.indices.sorted { a, b in
        let x = buffers[a], y = buffers[b]
        if x.size != y.size { return x.size > y.size }
        if x.first != y.first { return x.first < y.first }
        return a < b
    }
    var offsets = [Int](repeating: -1, count: buffers.count)
    var placed: [Int] = []
    var arena = 0
    for i in order {
        let b = buffers[i]
        let size = alignUp(max(b.size, 1))
        let conflicts = placed.filter { buffers[$0].overlaps(b) }.sorted { offsets[$0] < offsets[$1] }
        var candidate = 0
        for c in conflicts {
            let cs = offsets[c], ce = offsets[c] + alignUp(max(buffers[c].size, 1))
            if candidate + size <= cs { break }
            candidate = max(candidate, ce)
        }
        offsets[i] = candidate
        placed.append(i)
        arena = max(arena, candidate + size)
    }
    return (offsets, arena)
}

/// Largest sum of (16-byte rounded) sizes of buffers live at the same op: no placement can use less.
public func arenaLowerBound(_ buffers: [ArenaBuffer]) -> Int {
    guard let lo = buffers.map(\.first).min(), let hi = buffers.map(\.last).max() else { return 0 }
    var best = 0
    for t in lo...hi {
        best = max(best, buffers.filter { $0.first <= t && t <= $0.last }.reduce(0) { $0 + alignUp(max($1.size, 1)) })
    }
    return best
}

/// The arena plan of a quantized model.
public struct MemoryPlan: Sendable, Equatable {
    /// Arena offset of every tensor (index = tensor index); aliases share an offset.
    public var tensorOffsets: [Int]
    /// Arena offset of each node's scratch (conv with padding), keyed by node index.
    public var scratchOffsets: [Int: Int]
    /// Bytes of arena the model needs.
    public var arenaSize: Int
    /// Largest sum of simultaneously live buffers of this plan (in-place ops share one buffer; their scratch
    /// counts): no placement of these buffers can use less. The packed header's `arena_lower_bound`.
    public var lowerBound: Int
    /// The plain lower bound: the same over the plan without in-place convolutions (every 1x1 / depthwise
    /// output apart from its input, as TFLite Micro places them), including their scratch.
    public var plainLowerBound: Int
    /// The largest input + output pair: the most arena bytes (16-byte rounded) any single op's distinct
    /// inputs and output take together (views excluded). Out-of-place execution can never go below it.
    public var largestPairBound: Int
    /// Nodes whose output the planner put over their input 0 (the packed op flag MQ_OP_FLAG_IN_PLACE):
    /// proven safe (input dead after the op, the kernel's in-place geometry) and paying off.
    public var inPlaceNodes: Set<Int>
    /// For each tensor, the index of the buffer it lives in (aliases share one).
    public var bufferOfTensor: [Int]
    /// The buffers placed (after aliasing).
    public var buffers: [ArenaBuffer]
    /// Row-streamed segments (keyed by the first member's node index): the arena offset of each member's ring
    /// (members 0 ..< count - 1).
    public var ringOffsets: [Int: [Int]] = [:]
    /// Row-streamed segments with a tabulated ADD member (keyed like ringOffsets): the arena offset of the ADD's two
    /// 256-entry int32 input term tables (`RowStreamFusion.termsBytes`, live over the segment; docs/FORMAT.md).
    public var termsOffsets: [Int: Int] = [:]
}

/// Memory planning for QuantizedModel.
public enum MemoryPlanner {
    /// Plans the arena. Views (reshape) always alias their input; a LUT, add, mul, requantize or softmax writes in
    /// place over an input that is dead after it; so do 1x1 convolutions and depthwise convolutions (`inPlace`)
    /// when their input is dead after them, their kernel supports the geometry (mq_conv1x1_inplace_scratch_size,
    /// mq_depthwise_inplace_scratch_size > 0) and its scratch is smaller than the output it saves (with either
    /// rounding: the in-place kernels of a `singleRoundingConv` model run the single-rounding output stage). Model outputs
    /// live until the end (the runtime copies them out after the last op). `keepAllAlive` makes every tensor live
    /// until the end (no reuse): used for the debug model whose every tensor is an output.
    public static func plan(_ model: QuantizedModel, keepAllAlive: Bool = false, inPlace: Bool = true) -> MemoryPlan {
        // onnxruntime rounding (ortFloat32): the portable kernels of its output stage have no in-place variant
        let inPlace = inPlace && !model.ortFloat32
        var p = planOnce(model, keepAllAlive: keepAllAlive, inPlace: inPlace && !keepAllAlive)
        if inPlace && !keepAllAlive && !p.inPlaceNodes.isEmpty {
            p.plainLowerBound = planOnce(model, keepAllAlive: false, inPlace: false).lowerBound
        }
        return p
    }

    /// The largest sum of (16-byte rounded) bytes of one op's distinct inputs and output (views excluded).
    static func largestPair(_ model: QuantizedModel) -> Int {
        var best = 0
        for n in model.nodes {
            if case .reshape = n.op { continue }
            let ids = Set(n.inputs + [n.output])
            best = max(best, ids.reduce(0) { $0 + alignUp(max(model.tensors[$1].byteCount, 1)) })
        }
        return best
    }

    static func planOnce(_ model: QuantizedModel, keepAllAlive: Bool, inPlace: Bool) -> MemoryPlan {
        let nT = model.tensors.count, nOps = model.nodes.count
        var lastUse = [Int](repeating: -1, count: nT)
        var def = [Int](repeating: -1, count: nT)
        for (i, n) in model.nodes.enumerated() {
            def[n.output] = i
            for t in n.inputs { lastUse[t] = max(lastUse[t], i) }
        }
        // A pixel-streamed chain (head h, members h+1 ... h+M, run once per pixel by the head): the source, the
        // accumulators (scratch, below) and the head's output are live through the whole chain; the head writes the
        // gathered pixel first (at h) and reads the last member's output last (at h+M). Pixel tensors between
        // members live from their producer to their consumer, as any tensor.
        for (i, n) in model.nodes.enumerated() {
            guard let st = n.stream, n.inputs.count == 3 else { continue }
            let end = min(i + st.members, nOps - 1)
            lastUse[n.inputs[0]] = max(lastUse[n.inputs[0]], end)
            def[n.inputs[1]] = i
            lastUse[n.inputs[2]] = max(lastUse[n.inputs[2]], end)
            lastUse[n.output] = max(lastUse[n.output], end)
        }
        // A row-streamed segment (first member i, members i ..< i + M, run interleaved row by row by one ROW_STREAM op):
        // the segment input is live and the output written over the whole segment; the members' intermediate
        // tensors live only as rings (placed below) and take no arena of their own.
        var segments: [(first: Int, end: Int, input: Int, output: Int, rings: [Int])] = []
        var ringTensor = Set<Int>()
        if !keepAllAlive {
            for (i, n) in model.nodes.enumerated() {
                guard let r = n.rows, r.members >= 1, i + r.members <= nOps,
                      model.tensors.indices.contains(r.input) else { continue }
                let end = i + r.members - 1
                let out = model.nodes[end].output
                segments.append((i, end, r.input, out, r.ringRows))
                lastUse[r.input] = max(lastUse[r.input], end)
                for k in i..<end { ringTensor.insert(model.nodes[k].output) }
            }
            for s in segments { def[s.output] = min(def[s.output], s.first) }
        }
        for t in model.outputs { lastUse[t] = max(lastUse[t], nOps) }
        if keepAllAlive { for t in 0..<nT { lastUse[t] = nOps } }
        // constants (CONST storage) are read from the blob: their placeholder buffers live before the first op,
        // apart from every arena tensor
        for t in 0..<nT where model.tensors[t].constant != nil { def[t] = -2; lastUse[t] = -2 }
        for t in 0..<nT where lastUse[t] < def[t] { lastUse[t] = def[t] }   // unused tensors still need their op's output
        // union-find of aliases
        var parent = Array(0..<nT)
        func find(_ x: Int) -> Int { var x = x; while parent[x] != x { x = parent[x] }; return x }
        // Views alias first, so a buffer's lifetime covers every tensor viewing it.
        for n in model.nodes { if case .reshape = n.op { parent[find(n.output)] = find(n.inputs[0]) } }
        // Last use of every buffer (alias group), kept up to date as groups merge.
        var groupLast = [Int](repeating: -1, count: nT)
        for t in 0..<nT { groupLast[find(t)] = max(groupLast[find(t)], lastUse[t]) }
        func merge(_ out: Int, into input: Int) {
            let r = find(input), o = find(out)
            parent[o] = r
            groupLast[r] = max(groupLast[r], groupLast[o])
        }
        var inPlaceNodes = Set<Int>()
        if !keepAllAlive {
            for (i, n) in model.nodes.enumerated() {
                // input 0 dead after this op (not read later, not a model output) and the output not yet aliased
                let firstDead = find(n.output) == n.output && groupLast[find(n.inputs[0])] == i
                    && find(n.inputs[0]) != find(n.output)
                // members of a pixel-streamed chain run without the in-place flag: only LUT16 (exactly over its
                // input, no flag) may share its input's buffer
                if n.streamMember, !{ if case .lut16 = n.op { return true } else { return false } }() { continue }
                if n.stream != nil { continue }
                if n.rowMember {
                    // the segment's output over its input when the input dies with the segment and the row schedule
                    // allows it (the loader checks the same schedule); members never carry the in-place flag
                    guard let s = segments.first(where: { $0.end == i }), find(n.output) == n.output,
                          groupLast[find(s.input)] == i, model.tensors[s.input].constant == nil,
                          find(s.input) != find(n.output),
                          RowStreamFusion.schedulesInPlace(model, first: s.first, rings: s.rings) else { continue }
                    merge(n.output, into: s.input)
                    continue
                }
                switch n.op {
                case .lut, .requantize, .softmax, .softmaxTable, .mul:
                    // same shape, 8-bit: the kernels write exactly over input 0 (MUL: x1 has y's shape);
                    // never over a constant (it lives in the blob)
                    if firstDead && model.tensors[n.inputs[0]].constant == nil
                        && model.tensors[n.inputs[0]].byteCount == model.tensors[n.output].byteCount {
                        merge(n.output, into: n.inputs[0])
                        inPlaceNodes.insert(i)
                    }
                case .lut16:
                    // int16 elementwise: exactly over input 0 (format 2.0's aliasing rule, no flag)
                    if firstDead { merge(n.output, into: n.inputs[0]) }
                case .addS16:
                    if find(n.output) != n.output { break }
                    if groupLast[find(n.inputs[0])] == i { merge(n.output, into: n.inputs[0]) }
                    else if groupLast[find(n.inputs[1])] == i { merge(n.output, into: n.inputs[1]) }
                case .add(let p):
                    // never over a constant operand, nor over a broadcast second operand (smaller than the output)
                    if find(n.output) != n.output { break }
                    if groupLast[find(n.inputs[0])] == i && model.tensors[n.inputs[0]].constant == nil {
                        merge(n.output, into: n.inputs[0]); inPlaceNodes.insert(i)
                    } else if groupLast[find(n.inputs[1])] == i && model.tensors[n.inputs[1]].constant == nil
                                && p.broadcast == MQ_BCAST_NONE {
                        merge(n.output, into: n.inputs[1])
                    }
                case .conv1x1, .depthwiseConv:
                    // double or single rounding (QDQ imports): the in-place kernels compute both exactly
                    guard inPlace, firstDead else { break }
                    let scratch = (try? Packer.scratchSize(model, node: i, inPlace: true)) ?? 0
                    let plain = (try? Packer.scratchSize(model, node: i, inPlace: false)) ?? 0
                    // the kernel supports the geometry, and the op's live bytes shrink: in place it holds
                    // max(in, out) + scratch instead of in + out + its plain scratch
                    let inB = alignUp(model.tensors[n.inputs[0]].byteCount), outB = alignUp(model.tensors[n.output].byteCount)
                    if scratch > 0 && max(inB, outB) + alignUp(scratch) < inB + outB + (plain > 0 ? alignUp(plain) : 0) {
                        merge(n.output, into: n.inputs[0])
                        inPlaceNodes.insert(i)
                    }
                default: break
                }
            }
        }
        // constant tensors (CONST storage) take no arena
        func arenaBytes(_ t: Int) -> Int {
            model.tensors[t].constant == nil && !ringTensor.contains(t) ? model.tensors[t].byteCount : 0
        }
        var bufferIndex: [Int: Int] = [:]
        var buffers: [ArenaBuffer] = []
        var bufferOfTensor = [Int](repeating: 0, count: nT)
        for t in 0..<nT {
            let r = find(t)
            if let b = bufferIndex[r] {
                buffers[b].size = max(buffers[b].size, arenaBytes(t))
                buffers[b].first = min(buffers[b].first, def[t])
                buffers[b].last = max(buffers[b].last, lastUse[t])
                bufferOfTensor[t] = b
            } else {
                bufferIndex[r] = buffers.count
                bufferOfTensor[t] = buffers.count
                buffers.append(ArenaBuffer(size: arenaBytes(t), first: def[t], last: lastUse[t]))
            }
        }
        var scratchBuffer: [Int: Int] = [:]
        var ringBuffers: [Int: [Int]] = [:]
        var termsBuffer: [Int: Int] = [:]
        for s in segments {
            // the rings, and one scratch the members share (they run one at a time), live over the whole segment
            var rb: [Int] = []
            for (j, k) in (s.first..<s.end).enumerated() {
                let t = model.tensors[model.nodes[k].output]
                let rows = j < s.rings.count ? s.rings[j] : t.shape[1]
                rb.append(buffers.count)
                buffers.append(ArenaBuffer(size: RowStreamFusion.ringBytes(rowBytes: t.byteCount / max(t.shape[1], 1), rows: rows),
                                           first: s.first, last: s.end))
            }
            ringBuffers[s.first] = rb
            let scratch = (s.first...s.end).map { (try? Packer.scratchSize(model, node: $0)) ?? 0 }.max() ?? 0
            if scratch > 0 {
                for k in s.first...s.end { scratchBuffer[k] = buffers.count }
                buffers.append(ArenaBuffer(size: scratch, first: s.first, last: s.end))
            }
            // an ADD member the runtime tabulates: its input term tables, filled once per call, read by every row
            if model.nodes[s.first].rows?.addTerms ?? true,
               (s.first...s.end).contains(where: { RowStreamFusion.tabulatesAdd(model.nodes[$0], model: model) }) {
                termsBuffer[s.first] = buffers.count
                buffers.append(ArenaBuffer(size: RowStreamFusion.termsBytes, first: s.first, last: s.end))
            }
        }
        for (i, n) in model.nodes.enumerated() {
            if n.rowMember { continue }
            if let st = n.stream {
                // the head's accumulators, live through the chain
                let size = (try? Packer.scratchSize(model, node: i)) ?? 0
                if size > 0 {
                    scratchBuffer[i] = buffers.count
                    buffers.append(ArenaBuffer(size: size, first: i, last: min(i + st.members, nOps - 1)))
                }
                continue
            }
            switch n.op {
            case .conv1x1, .conv, .depthwiseConv:
                // the kernels' own scratch sizes (an unpackable node gets none here; packing reports it)
                let size = (try? Packer.scratchSize(model, node: i, inPlace: inPlaceNodes.contains(i))) ?? 0
                if size > 0 {
                    scratchBuffer[i] = buffers.count
                    buffers.append(ArenaBuffer(size: size, first: i, last: i))
                }
            default: break
            }
        }
        var (offsets, arena) = placeGreedyBySize(buffers)
        let bound = arenaLowerBound(buffers)
        // a ring tensor's own record is never read or written (the runtime uses the ring): offset 0, inside the arena
        var tensorOffsets = (0..<nT).map { offsets[bufferOfTensor[$0]] }
        for t in ringTensor {
            tensorOffsets[t] = 0
            arena = max(arena, alignUp(model.tensors[t].byteCount))
        }
        return MemoryPlan(tensorOffsets: tensorOffsets,
                          scratchOffsets: scratchBuffer.mapValues { offsets[$0] },
                          arenaSize: arena, lowerBound: bound, plainLowerBound: bound,
                          largestPairBound: largestPair(model), inPlaceNodes: inPlaceNodes,
                          bufferOfTensor: bufferOfTensor, buffers: buffers,
                          ringOffsets: ringBuffers.mapValues { $0.map { offsets[$0] } },
                          termsOffsets: termsBuffer.mapValues { offsets[$0] })
    }
}
