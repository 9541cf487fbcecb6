// Packing: QuantizedModel + MemoryPlan -> the flat binary, serialized by the C writer (mq_writer.h).
// The format knowledge stays in C next to the loader; this file only fills the writer's structs.

import Foundation
import MQCalibration
import MQQuantization
import MicroQuantC

/// Producer string written in the metadata.
public let microquantProducer = "microquant 0.1.0"

/// Errors of packing / running packed models.
public enum PackingError: Error, CustomStringConvertible, Equatable {
    /// The C writer rejected the description (status, and its diagnostic naming the tensor / op).
    case writer(status: String, message: String, tensor: Int, op: Int)
    /// mq_model_load rejected a blob.
    case load(status: String, offset: Int)
    /// mq_model_run failed.
    case run(status: String)
    case invalid(String)

    public var description: String {
        switch self {
        case let .writer(st, msg, t, op):
            return "packing failed: \(st): \(msg)" + (t >= 0 ? " (tensor \(t))" : "") + (op >= 0 ? " (op \(op))" : "")
        case let .load(st, off): return "packed model rejected by the loader: \(st) at byte \(off)"
        case let .run(st): return "running the packed model failed: \(st)"
        case let .invalid(m): return m
        }
    }
}

/// Metadata of a packed model.
public struct PackMetadata: Sendable {
    /// File name of the source model.
    public var sourceName: String
    /// SHA-256 of the source model bytes (32 bytes, or empty).
    public var sourceSHA256: [UInt8]
    /// e.g. "minmax", "percentile:99.99".
    public var calibrationMethod: String
    /// Metadata as given.
    public init(sourceName: String, sourceSHA256: [UInt8], calibrationMethod: String) {
        self.sourceName = sourceName
        self.sourceSHA256 = sourceSHA256
        self.calibrationMethod = calibrationMethod
    }
}

/// Owns C allocations for the duration of a writer call.
final class CAllocations {
    private var ptrs: [UnsafeMutableRawPointer] = []
    deinit { for p in ptrs { p.deallocate() } }
    func copy<T>(_ a: [T]) -> UnsafePointer<T> {
        let p = UnsafeMutablePointer<T>.allocate(capacity: max(a.count, 1))
        _ = UnsafeMutableBufferPointer(start: p, count: a.count).initialize(from: a)
        ptrs.append(UnsafeMutableRawPointer(p))
        return UnsafePointer(p)
    }
    func cString(_ s: String) -> UnsafePointer<CChar> { copy(Array(s.utf8CString)) }
}

func dims4(_ shape: [Int]) -> (Int32, Int32, Int32, Int32) {
    let s = shape.isEmpty ? [1] : shape
    func d(_ i: Int) -> Int32 { i < s.count ? Int32(s[i]) : 1 }
    return (d(0), d(1), d(2), d(3))
}

/// Packs models through mq_writer_write.
public enum Packer {
    /// Serializes `model` with the arena `plan`. `outputs` overrides the model outputs (the debug
    /// model lists every tensor; plan it with keepAllAlive). Deterministic.
    public static func pack(_ model: QuantizedModel, plan: MemoryPlan, metadata: PackMetadata,
                            outputs: [Int]? = nil) throws -> [UInt8] {
        if model.ortFloat32 {
            guard model.rounding == .single && model.singleRoundingConv else {
                throw PackingError.invalid("onnxruntime rounding (MQ_MODEL_FLAG_ORT_FLOAT32) needs the single-rounding fully connected layers and convolutions of a QDQ import")
            }
            if let v = model.ortFloat32Violation() { throw PackingError.invalid("onnxruntime rounding: \(v)") }
            if let n = model.nodes.first(where: { $0.rows != nil || $0.stream != nil || $0.streamMember || $0.rowMember }) {
                throw PackingError.invalid("onnxruntime rounding: node '\(n.name)' is streamed (the float32 output stage runs unstreamed)")
            }
        }
        let mem = CAllocations()
        let tensors = try writerTensors(model, offsets: plan.tensorOffsets, mem: mem)
        var ops: [mq_writer_op] = []
        for (i, n) in model.nodes.enumerated() {
            if let r = n.rows {
                // a row-streamed segment: its ROW_STREAM record first, then the members (docs/FORMAT.md)
                ops.append(try rowStreamOp(r, first: i, model: model, plan: plan))
            }
            var o = try writerOp(n, index: i, model: model, mem: mem)
            o.scratch_offset = UInt32(plan.scratchOffsets[i] ?? 0)
            // in place over input 0, as planned (the loader checks the offsets and the kernel's geometry)
            if plan.inPlaceNodes.contains(i) { o.flags = UInt32(MQ_WRITER_OP_IN_PLACE) }
            // a member of a pixel-streamed chain: run per pixel by the STREAM op before it (never in place)
            if n.streamMember { o.flags = UInt32(MQ_WRITER_OP_STREAMED) }
            // a member of a row-streamed segment: run row by row by the ROW_STREAM op before it (never in place)
            if n.rowMember { o.flags = UInt32(MQ_WRITER_OP_ROW_MEMBER) }
            ops.append(o)
        }
        let outs = outputs ?? model.outputs
        var m = mq_writer_model()
        m.tensors = mem.copy(tensors)
        m.num_tensors = Int32(tensors.count)
        m.ops = mem.copy(ops)
        m.num_ops = Int32(ops.count)
        m.inputs = mem.copy(model.inputs.map { Int32($0) })
        m.num_inputs = Int32(model.inputs.count)
        m.outputs = mem.copy(outs.map { Int32($0) })
        m.num_outputs = Int32(outs.count)
        m.arena_size = UInt32(plan.arenaSize)
        m.arena_lower_bound = UInt32(plan.lowerBound)
        m.flags = (model.rounding == .single ? UInt32(MQ_MODEL_FLAG_SINGLE_ROUNDING_FC) : 0)
            | (model.singleRoundingConv ? UInt32(MQ_MODEL_FLAG_SINGLE_ROUNDING_CONV) : 0)
            | (model.ortFloat32 ? UInt32(MQ_MODEL_FLAG_ORT_FLOAT32) : 0)
        var md = mq_writer_metadata()
        md.producer = mem.cString(microquantProducer)
        md.source_name = mem.cString(metadata.sourceName)
        md.hash_algorithm = mem.cString("sha256")
        md.source_hash = metadata.sourceSHA256.isEmpty ? nil : mem.copy(metadata.sourceSHA256)
        md.source_hash_size = UInt32(metadata.sourceSHA256.count)
        md.calibration_method = mem.cString(metadata.calibrationMethod)
        md.input_names = mem.copy(model.inputs.map { Optional(mem.cString(model.tensors[$0].name)) })
        md.output_names = mem.copy(outs.map { Optional(mem.cString(model.tensors[$0].name)) })
        m.metadata = md
        var diag = mq_writer_diag()
        var size = 0
        var st = mq_writer_write(&m, nil, 0, &size, &diag)
        guard st == MQ_OK else { throw writerError(st, diag) }
        var out = [UInt8](repeating: 0, count: size)
        st = out.withUnsafeMutableBytes { mq_writer_write(&m, $0.baseAddress, $0.count, &size, &diag) }
        guard st == MQ_OK else { throw writerError(st, diag) }
        return Array(out.prefix(size))
    }

    /// The ROW_STREAM record of the segment whose first member is node `first`: input, the last member's output, the
    /// members and their rings as planned.
    static func rowStreamOp(_ r: QRows, first i: Int, model: QuantizedModel, plan: MemoryPlan) throws -> mq_writer_op {
        guard r.members >= 1, r.members <= RowStreamFusion.maxMembers, i + r.members <= model.nodes.count,
              model.tensors.indices.contains(r.input), r.ringRows.count == r.members - 1,
              let rings = plan.ringOffsets[i], rings.count == r.members - 1 else {
            throw PackingError.invalid("op \(i) '\(model.nodes[i].name)': a row-streamed segment without its rings planned")
        }
        var o = mq_writer_op()
        o.type = MQ_OP_ROW_STREAM
        o.num_inputs = 1
        o.inputs.0 = Int32(r.input)
        o.num_outputs = 1
        o.outputs = (Int32(model.nodes[i + r.members - 1].output), 0)
        o.rows.members = Int32(r.members)
        withUnsafeMutableBytes(of: &o.rows.ring_offset) { raw in
            let p = raw.bindMemory(to: UInt32.self)
            for (j, off) in rings.enumerated() { p[j] = UInt32(off) }
        }
        withUnsafeMutableBytes(of: &o.rows.ring_rows) { raw in
            let p = raw.bindMemory(to: Int32.self)
            for (j, rows) in r.ringRows.enumerated() { p[j] = Int32(rows) }
        }
        if let t = plan.termsOffsets[i] {
            o.rows.terms_offset = UInt32(t)
            o.rows.terms_size = UInt32(RowStreamFusion.termsBytes)
        }
        return o
    }

    /// The writer's description of one node (scratch offset 0; the planner fills it).
    static func writerOp(_ n: QNode, index i: Int, model: QuantizedModel, mem: CAllocations) throws -> mq_writer_op {
        var o = mq_writer_op()
        guard n.inputs.count >= 1, n.inputs.count <= Int(MQ_WRITER_MAX_OP_INPUTS),
              n.inputs.allSatisfy({ model.tensors.indices.contains($0) }), model.tensors.indices.contains(n.output) else {
            throw PackingError.invalid("op \(i) '\(n.name)': bad tensor indices")
        }
        o.num_inputs = Int32(n.inputs.count)
        withUnsafeMutableBytes(of: &o.inputs) { raw in
            let p = raw.bindMemory(to: Int32.self)
            for (k, t) in n.inputs.enumerated() { p[k] = Int32(t) }
        }
        o.num_outputs = 1
        o.outputs = (Int32(n.output), 0)
        let inT = model.tensors[n.inputs[0]], outT = model.tensors[n.output]
        func fc(_ g: QGemm) -> mq_fc_params {
            var p = mq_fc_params()
            p.n = Int32(g.n)
            p.k = Int32(g.k)
            p.weights = mq_packed_weights(packed: mem.copy(g.packedWeights))
            p.bias = mq_folded_bias(folded: mem.copy(g.foldedBias))
            p.multiplier = mem.copy(g.multipliers)
            p.shift = mem.copy(g.shifts)
            // One multiplier and shift for every channel (a per-tensor weight scale, e.g. TFLite's FULLY_CONNECTED):
            // written once (per_channel 0; the kernels then read entry 0 for every channel, the same numbers),
            // 8 bytes per channel less flash.
            let uniform = g.multipliers.count == g.shifts.count && !g.multipliers.isEmpty &&
                g.multipliers.allSatisfy { $0 == g.multipliers[0] } && g.shifts.allSatisfy { $0 == g.shifts[0] }
            p.per_channel = uniform ? 0 : 1
            p.in_dtype = inT.qparams.dtype.c
            p.out_dtype = g.outDType.c
            p.out_zero_point = g.outZeroPoint
            p.act_min = g.actMin
            p.act_max = g.actMax
            p.lut = g.lut.map { mem.copy($0) }
            return p
        }
        func fcS16(_ g: QGemmS16) throws -> mq_fc_s16_params {
            guard g.weights.count == g.n * g.k, g.bias.count == g.n, g.multipliers.count == g.n, g.shifts.count == g.n else {
                throw PackingError.invalid("op \(i) '\(n.name)' (\(n.op.kind)): constants do not match n = \(g.n), k = \(g.k)")
            }
            var p = mq_fc_s16_params()
            p.n = Int32(g.n)
            p.k = Int32(g.k)
            p.weights = mem.copy(g.weights)
            p.bias = mem.copy(g.bias)
            p.multiplier = mem.copy(g.multipliers)
            p.shift = mem.copy(g.shifts)
            p.per_channel = 1
            p.act_min = g.actMin
            p.act_max = g.actMax
            return p
        }
        func window(_ w: QWindow) throws -> mq_window {
            guard inT.shape.count == 4, outT.shape.count == 4 else {
                throw PackingError.invalid("op \(i) '\(n.name)' (\(n.op.kind)): input and output must be NHWC (rank 4)")
            }
            var c = mq_window()
            c.batch = Int32(inT.shape[0]); c.in_h = Int32(inT.shape[1]); c.in_w = Int32(inT.shape[2])
            c.out_h = Int32(outT.shape[1]); c.out_w = Int32(outT.shape[2])
            c.kernel_h = Int32(w.kernelH); c.kernel_w = Int32(w.kernelW)
            c.stride_h = Int32(w.strideH); c.stride_w = Int32(w.strideW)
            c.dilation_h = Int32(w.dilationH); c.dilation_w = Int32(w.dilationW)
            c.pad_top = Int32(w.padTop); c.pad_bottom = Int32(w.padBottom)
            c.pad_left = Int32(w.padLeft); c.pad_right = Int32(w.padRight)
            return c
        }
        switch n.op {
        case .fullyConnected(let g):
            o.type = MQ_OP_FULLY_CONNECTED
            o.fc = fc(g)
        case .conv1x1(let g):
            o.type = MQ_OP_CONV_1X1
            var c = mq_conv1x1_params()
            c.stride_h = Int32(g.strideH); c.stride_w = Int32(g.strideW)
            c.pad_top = Int32(g.padTop); c.pad_left = Int32(g.padLeft)
            c.pad_bottom = Int32(g.padBottom); c.pad_right = Int32(g.padRight)
            c.gemm = fc(g)
            c.in_zero_point = inT.qparams.zeroPoint
            o.conv = c
        case .conv(let cv):
            var c = mq_conv_params()
            c.win = try window(cv.window)
            c.in_c = Int32(cv.inC)
            c.in_zero_point = inT.qparams.zeroPoint
            c.gemm = fc(cv.gemm)
            o.type = MQ_OP_CONV
            o.conv2d = c
        case .depthwiseConv(let d):
            var p = mq_depthwise_params()
            p.win = try window(d.window)
            p.in_c = Int32(d.inC)
            p.depth_multiplier = Int32(d.depthMultiplier)
            p.in_dtype = inT.qparams.dtype.c
            p.out_dtype = outT.qparams.dtype.c
            p.in_zero_point = inT.qparams.zeroPoint
            p.out_zero_point = d.outZeroPoint
            let outC = d.inC * d.depthMultiplier
            guard d.weights.count == d.window.kernelH * d.window.kernelW * outC, d.bias.count == outC,
                  d.multipliers.count == outC, d.shifts.count == outC else {
                throw PackingError.invalid("op \(i) '\(n.name)' (depthwise_conv): constants do not match \(outC) output channels")
            }
            var packed = [UInt8](repeating: 0, count: 2 * d.weights.count)
            var st = mq_depthwise_pack_weights(d.weights, Int32(d.window.kernelH), Int32(d.window.kernelW), Int32(outC), &packed, packed.count)
            guard st == MQ_OK else { throw PackingError.invalid("op \(i) '\(n.name)': mq_depthwise_pack_weights: \(String(cString: mq_status_str(st)))") }
            var bias = [Int32](repeating: 0, count: outC)
            st = mq_depthwise_prepare_bias(d.weights, d.bias, Int32(d.window.kernelH), Int32(d.window.kernelW), Int32(outC),
                                           inT.qparams.zeroPoint, inT.qparams.dtype.c, &bias)
            guard st == MQ_OK else { throw PackingError.invalid("op \(i) '\(n.name)': mq_depthwise_prepare_bias: \(String(cString: mq_status_str(st)))") }
            p.weights = mq_depthwise_weights(data: UnsafeRawPointer(mem.copy(packed)))
            p.bias = mq_depthwise_bias(folded: mem.copy(bias))
            p.multiplier = mem.copy(d.multipliers)
            p.shift = mem.copy(d.shifts)
            p.per_channel = 1
            p.act_min = d.actMin
            p.act_max = d.actMax
            p.lut = d.lut.map { mem.copy($0) }
            o.type = MQ_OP_DEPTHWISE_CONV
            o.depthwise = p
        case .averagePool(let q), .maxPool(let q):
            var p = mq_pool_params()
            p.win = try window(q.window)
            p.channels = Int32(inT.shape[3])
            p.dtype = inT.qparams.dtype.c
            p.act_min = q.actMin
            p.act_max = q.actMax
            if case .maxPool = n.op { o.type = MQ_OP_MAX_POOL } else { o.type = MQ_OP_AVERAGE_POOL }
            o.pool = p
        case .mean(let q):
            guard inT.shape.count == 4 else { throw PackingError.invalid("op \(i) '\(n.name)' (mean): input must be NHWC") }
            var p = mq_mean_params()
            p.batch = Int32(inT.shape[0]); p.h = Int32(inT.shape[1]); p.w = Int32(inT.shape[2]); p.channels = Int32(inT.shape[3])
            p.in_dtype = inT.qparams.dtype.c; p.out_dtype = outT.qparams.dtype.c
            p.in_zero_point = inT.qparams.zeroPoint; p.out_zero_point = outT.qparams.zeroPoint
            p.multiplier = q.multiplier; p.shift = q.shift
            p.act_min = q.actMin; p.act_max = q.actMax
            o.type = MQ_OP_MEAN
            o.mean = p
        case let .pad(before, after):
            guard before.count <= 4, after.count == before.count else {
                throw PackingError.invalid("op \(i) '\(n.name)' (pad): at most 4 axes")
            }
            let b = (before + [Int](repeating: 0, count: 4 - before.count)).map { Int32($0) }
            let a = (after + [Int](repeating: 0, count: 4 - after.count)).map { Int32($0) }
            o = mq_writer_op_pad(Int32(n.inputs[0]), Int32(n.output), b, a)
        case .concat(let axis):
            o = mq_writer_op_concat(n.inputs.map { Int32($0) }, Int32(n.inputs.count), Int32(n.output), Int32(axis))
        case .mul(let q):
            var p = mq_mul_params()
            let in2 = model.tensors[n.inputs.count > 1 ? n.inputs[1] : n.inputs[0]]
            p.in1_dtype = inT.qparams.dtype.c; p.in2_dtype = in2.qparams.dtype.c; p.out_dtype = outT.qparams.dtype.c
            p.in1_zero_point = inT.qparams.zeroPoint; p.in2_zero_point = in2.qparams.zeroPoint
            p.out_zero_point = outT.qparams.zeroPoint
            p.out_multiplier = q.multiplier; p.out_shift = q.shift
            p.act_min = q.actMin; p.act_max = q.actMax
            p.single_rounding = q.singleRounding ? 1 : 0
            switch q.broadcast {
            case .none: p.broadcast = MQ_BCAST_NONE
            case .scalar: p.broadcast = MQ_BCAST_SCALAR
            case .channel(let c): p.broadcast = MQ_BCAST_CHANNEL; p.channels = Int32(c)
            }
            o.type = MQ_OP_MUL
            o.mul = p
        case let .requantize(m, sh):
            var p = mq_requantize_params()
            p.in_dtype = inT.qparams.dtype.c; p.out_dtype = outT.qparams.dtype.c
            p.in_zero_point = inT.qparams.zeroPoint; p.out_zero_point = outT.qparams.zeroPoint
            p.multiplier = m; p.shift = sh
            o.type = MQ_OP_REQUANTIZE
            o.requantize = p
        case .lut(let table, _):
            o.type = MQ_OP_LUT
            o.lut = mem.copy(table)
        case .add(let p):
            o.type = MQ_OP_ADD
            o.add = p
        case .reshape:
            o.type = MQ_OP_RESHAPE
        case .softmax(let axis, let mult, let left, let diffMin):
            o.type = MQ_OP_SOFTMAX
            o.axis = Int32(axis)
            o.softmax.input_multiplier = mult
            o.softmax.input_left_shift = left
            o.softmax.diff_min = diffMin
        case let .softmaxTable(axis, table, m, sh):
            guard table.count == 256 else { throw PackingError.invalid("op \(i) '\(n.name)' (softmax_table): exp table of \(table.count) entries, 256 expected") }
            o = mq_writer_op_softmax_table(Int32(n.inputs[0]), Int32(n.output), Int32(axis), mem.copy(table), m, sh)
        case .transpose(let perm):
            o.type = MQ_OP_TRANSPOSE
            let p = perm + [Int](repeating: 0, count: 4 - perm.count)
            o.perm = (Int32(p[0]), Int32(p[1]), Int32(p[2]), Int32(p[3]))
        case .fullyConnectedS16(let g):
            o.type = MQ_OP_FULLY_CONNECTED_S16
            o.fc_s16 = try fcS16(g)
        case let .convS16(w, inC, g):
            var c = mq_conv_s16_params()
            c.win = try window(w)
            c.in_c = Int32(inC)
            c.gemm = try fcS16(g)
            o.type = MQ_OP_CONV_S16
            o.conv_s16 = c
        case .depthwiseConvS16(let d):
            let outC = d.inC * d.depthMultiplier
            guard d.weights.count == d.window.kernelH * d.window.kernelW * outC, d.bias.count == outC,
                  d.multipliers.count == outC, d.shifts.count == outC else {
                throw PackingError.invalid("op \(i) '\(n.name)' (depthwise_conv_s16): constants do not match \(outC) output channels")
            }
            var p = mq_depthwise_s16_params()
            p.win = try window(d.window)
            p.in_c = Int32(d.inC)
            p.depth_multiplier = Int32(d.depthMultiplier)
            p.weights = mem.copy(d.weights)
            p.bias = mem.copy(d.bias)
            p.multiplier = mem.copy(d.multipliers)
            p.shift = mem.copy(d.shifts)
            p.per_channel = 1
            p.act_min = d.actMin
            p.act_max = d.actMax
            o.type = MQ_OP_DEPTHWISE_CONV_S16
            o.depthwise_s16 = p
        case .addS16(let p):
            o.type = MQ_OP_ADD_S16
            o.add_s16 = p
        case .mulS16(let q):
            var p = mq_mul_s16_params()
            p.out_multiplier = q.multiplier; p.out_shift = q.shift
            p.act_min = q.actMin; p.act_max = q.actMax
            switch q.broadcast {
            case .none: p.broadcast = MQ_BCAST_NONE
            case .scalar: p.broadcast = MQ_BCAST_SCALAR
            case .channel(let c): p.broadcast = MQ_BCAST_CHANNEL; p.channels = Int32(c)
            }
            o.type = MQ_OP_MUL_S16
            o.mul_s16 = p
        case .averagePoolS16(let q), .maxPoolS16(let q):
            var p = mq_pool_s16_params()
            p.win = try window(q.window)
            p.channels = Int32(inT.shape[3])
            p.act_min = q.actMin
            p.act_max = q.actMax
            if case .maxPoolS16 = n.op { o.type = MQ_OP_MAX_POOL_S16 } else { o.type = MQ_OP_AVERAGE_POOL_S16 }
            o.pool_s16 = p
        case .lut16(let table, _):
            guard table.count == Int(MQ_LUT16_SIZE) else {
                throw PackingError.invalid("op \(i) '\(n.name)' (lut16): the table has \(table.count) entries, not 513")
            }
            o.type = MQ_OP_LUT16
            o.lut16 = mem.copy(table)
        case let .quantizeS16(m, sh):
            o.type = MQ_OP_QUANTIZE_S16
            o.s16_multiplier = m
            o.s16_shift = sh
        case let .requantizeS16To8(m, sh):
            o.type = MQ_OP_REQUANTIZE_S16_TO_8
            o.s16_multiplier = m
            o.s16_shift = sh
        case let .softmaxS16(m, sh, expT, recipT):
            guard expT.count == Int(MQ_LUT16_SIZE), recipT.count == Int(MQ_LUT16_SIZE) else {
                throw PackingError.invalid("op \(i) '\(n.name)' (softmax_s16): the tables need 513 entries each")
            }
            o.type = MQ_OP_SOFTMAX_S16
            o.softmax_s16.input_multiplier = m
            o.softmax_s16.input_shift = sh
            o.softmax_s16.exp_lut = mem.copy(expT)
            o.softmax_s16.recip_lut = mem.copy(recipT)
        }
        if let st = n.stream {
            // the head of a pixel-streamed chain: inputs [source, gathered pixel, head pixel] (docs/FORMAT.md)
            guard n.inputs.count == 3 else {
                throw PackingError.invalid("op \(i) '\(n.name)': a pixel-streamed chain needs 3 inputs (source, pixel, head pixel)")
            }
            switch n.op {
            case .fullyConnected:
                o.type = MQ_OP_STREAM_FC
                o.fc.in_dtype = model.tensors[n.inputs[2]].qparams.dtype.c
            case .fullyConnectedS16:
                o.type = MQ_OP_STREAM_FC_S16
            default:
                throw PackingError.invalid("op \(i) '\(n.name)' (\(n.op.kind)): a pixel-streamed chain ends in a fully connected layer")
            }
            o.stream.members = Int32(st.members)
            o.stream.out_h = Int32(st.outH)
            o.stream.out_w = Int32(st.outW)
            o.stream.stride_h = Int32(st.strideH)
            o.stream.stride_w = Int32(st.strideW)
            o.stream.layout = st.nchw ? 1 : 0
        }
        return o
    }

    /// Arena scratch bytes node `i` needs while it runs (conv im2col, depthwise, padded 1x1 conv), from
    /// the kernels' own size functions through mq_writer_op_scratch_size.
    /// `inPlace`: the in-place kernel's scratch (0 when it does not support the node's geometry).
    public static func scratchSize(_ model: QuantizedModel, node i: Int, inPlace: Bool = false) throws -> Int {
        let mem = CAllocations()
        var o = try writerOp(model.nodes[i], index: i, model: model, mem: mem)
        if inPlace { o.flags = UInt32(MQ_WRITER_OP_IN_PLACE) }
        var tensors = try writerTensors(model, offsets: nil, mem: mem)
        return tensors.withUnsafeMutableBufferPointer { buf in
            withUnsafePointer(to: o) { Int(mq_writer_op_scratch_size($0, buf.baseAddress, Int32(buf.count))) }
        }
    }

    /// The writer's tensor records (arena offsets from `offsets`, 0 when nil).
    static func writerTensors(_ model: QuantizedModel, offsets: [Int]?, mem: CAllocations) throws -> [mq_writer_tensor] {
        var tensors: [mq_writer_tensor] = []
        for (i, t) in model.tensors.enumerated() {
            guard (1...4).contains(max(t.shape.count, 1)) else {
                throw PackingError.invalid("tensor '\(t.name)' has rank \(t.shape.count); the format supports 1..4")
            }
            var w = mq_writer_tensor()
            w.dtype = t.isInt16 ? MQ_DTYPE_INT16 : t.qparams.dtype.c
            w.rank = Int32(max(t.shape.count, 1))
            w.dims = dims4(t.shape)
            w.zero_point = t.isInt16 ? 0 : t.qparams.zeroPoint
            w.scale = t.qparams.scale
            if let data = t.constant {
                guard data.count == t.byteCount else {
                    throw PackingError.invalid("constant tensor '\(t.name)' holds \(data.count) bytes; shape \(t.shape) needs \(t.byteCount)")
                }
                w.storage = MQ_STORAGE_CONST
                w.data = UnsafeRawPointer(mem.copy(data))
            } else {
                w.storage = MQ_STORAGE_ARENA
                w.arena_offset = UInt32(offsets?[i] ?? 0)
            }
            w.channel_axis = 0
            tensors.append(w)
        }
        return tensors
    }

    static func writerError(_ st: mq_status, _ d: mq_writer_diag) -> PackingError {
        var diag = d
        let msg = withUnsafeBytes(of: &diag.message) { raw -> String in
            let bytes = raw.bindMemory(to: UInt8.self)
            let end = bytes.firstIndex(of: 0) ?? bytes.count
            return String(decoding: bytes[..<end], as: UTF8.self)
        }
        return .writer(status: String(cString: mq_status_str(st)), message: msg, tensor: Int(d.tensor), op: Int(d.op))
    }
}

/// A packed model loaded by the C runtime (mq_model_load), run with mq_model_run: the same code
/// the device runs.
public final class PackedModel {
    private let blob: UnsafeMutableRawPointer
    private let arena: UnsafeMutableRawPointer
    /// Bytes of the blob.
    public let size: Int
    private var model = mq_model()
    /// Arena bytes declared by the model.
    public var arenaSize: Int { Int(model.arena_size) }
    public var arenaLowerBound: Int { Int(model.arena_lower_bound) }

    /// Loads `bytes` (copied into 16-byte aligned memory) with CRC checking.
    public init(bytes: [UInt8]) throws {
        size = bytes.count
        let b = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 16)
        bytes.withUnsafeBytes { if let base = $0.baseAddress { b.copyMemory(from: base, byteCount: bytes.count) } }
        var m = mq_model()
        let st = mq_model_load(b, bytes.count, MQ_LOAD_CHECK_CRC, &m)
        if st != MQ_OK {
            b.deallocate()
            throw PackingError.load(status: String(cString: mq_status_str(st)), offset: Int(m.error_offset))
        }
        blob = b
        model = m
        arena = UnsafeMutableRawPointer.allocate(byteCount: max(Int(m.arena_size), 16), alignment: 16)
    }

    deinit {
        blob.deallocate()
        arena.deallocate()
    }

    /// Number of model inputs / outputs.
    public var inputCount: Int { Int(mq_model_num_inputs(&model)) }
    public var outputCount: Int { Int(mq_model_num_outputs(&model)) }

    /// Description of input / output `i`.
    public func inputInfo(_ i: Int) throws -> mq_tensor_info {
        var info = mq_tensor_info()
        let st = mq_model_input_info(&model, Int32(i), &info)
        guard st == MQ_OK else { throw PackingError.run(status: String(cString: mq_status_str(st))) }
        return info
    }
    /// Description of output `i` (MQ_ERR_INDEX as a thrown error when out of range).
    public func outputInfo(_ i: Int) throws -> mq_tensor_info {
        var info = mq_tensor_info()
        let st = mq_model_output_info(&model, Int32(i), &info)
        guard st == MQ_OK else { throw PackingError.run(status: String(cString: mq_status_str(st))) }
        return info
    }

    /// Runs one inference on input codes (one byte array per input, `size_bytes` each); returns the output codes.
    public func run(_ inputs: [[UInt8]]) throws -> [[UInt8]] {
        guard inputs.count == inputCount else { throw PackingError.invalid("model has \(inputCount) inputs, got \(inputs.count)") }
        for (i, x) in inputs.enumerated() {
            let want = Int(try inputInfo(i).size_bytes)
            guard x.count == want else { throw PackingError.invalid("input \(i) needs \(want) bytes, got \(x.count)") }
        }
        var outs = try (0..<outputCount).map { [UInt8](repeating: 0, count: Int(try outputInfo($0).size_bytes)) }
        let inPtrs = inputs.map { a -> UnsafeMutableRawPointer in
            let p = UnsafeMutableRawPointer.allocate(byteCount: max(a.count, 1), alignment: 16)
            a.withUnsafeBytes { p.copyMemory(from: $0.baseAddress!, byteCount: a.count) }
            return p
        }
        let outPtrs = outs.map { UnsafeMutableRawPointer.allocate(byteCount: max($0.count, 1), alignment: 16) }
        defer { inPtrs.forEach { $0.deallocate() }; outPtrs.forEach { $0.deallocate() } }
        let cin: [UnsafeRawPointer?] = inPtrs.map { UnsafeRawPointer($0) }
        let cout: [UnsafeMutableRawPointer?] = outPtrs
        let st = mq_model_run(&model, arena, Int(model.arena_size), cin, cout)
        guard st == MQ_OK else { throw PackingError.run(status: String(cString: mq_status_str(st))) }
        for i in 0..<outs.count { outs[i] = Array(UnsafeRawBufferPointer(start: outPtrs[i], count: outs[i].count)) }
        return outs
    }

    /// A metadata string (UTF-8) or raw bytes for the hash.
    public func metadata(_ field: mq_meta_field) -> [UInt8] {
        var len: UInt32 = 0
        guard let p = mq_model_metadata(&model, field, &len) else { return [] }
        return Array(UnsafeRawBufferPointer(start: p, count: Int(len)))
    }
}
