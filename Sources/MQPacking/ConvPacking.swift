// Packing of the convolutional op set (quantized IR conv, depthwise, pools, mean, pad, concat, mul,
// requantize) into mq_writer ops, and the scratch sizes the memory planner reserves for them.
// Format knowledge stays in C (mq_writer.h); this file fills the kernels' parameter structs.

import MQCalibration
import MQQuantization
import MicroQuantC

/// The mq_window of a layer from its window and its NHWC input / output shapes.
func mqWindow(_ w: QWindow, input: [Int], output: [Int]) -> mq_window {
    var m = mq_window()
    m.batch = Int32(input.count == 4 ? input[0] : 1)
    m.in_h = Int32(input.count == 4 ? input[1] : 1); m.in_w = Int32(input.count == 4 ? input[2] : 1)
    m.out_h = Int32(output.count == 4 ? output[1] : 1); m.out_w = Int32(output.count == 4 ? output[2] : 1)
    m.kernel_h = Int32(w.kernelH); m.kernel_w = Int32(w.kernelW)
    m.stride_h = Int32(w.strideH); m.stride_w = Int32(w.strideW)
    m.dilation_h = Int32(w.dilationH); m.dilation_w = Int32(w.dilationW)
    m.pad_top = Int32(w.padTop); m.pad_bottom = Int32(w.padBottom)
    m.pad_left = Int32(w.padLeft); m.pad_right = Int32(w.padRight)
    return m
}

/// mq_fc_params of a GEMM layer (pointers into `mem`).
func fcParams(_ g: QGemm, inDType: ActivationDType, mem: CAllocations) -> mq_fc_params {
    var p = mq_fc_params()
    p.n = Int32(g.n)
    p.k = Int32(g.k)
    p.weights = mem.copy(g.packedWeights)
    p.bias = mem.copy(g.foldedBias)
    p.multiplier = mem.copy(g.multipliers)
    p.shift = mem.copy(g.shifts)
    p.per_channel = 1
    p.in_dtype = inDType.c
    p.out_dtype = g.outDType.c
    p.out_zero_point = g.outZeroPoint
    p.act_min = g.actMin
    p.act_max = g.actMax
    p.lut = g.lut.map { mem.copy($0) }
    return p
}

extension Packer {
    /// Scratch bytes of node `n` (conv, depthwise; 0 for the others).
    static func convSetScratch(_ n: QNode, model: QuantizedModel) throws -> Int {
        let mem = CAllocations()
        let o = try convSetOp(n, model: model, mem: mem, scratchOffset: 0)
        switch n.op {
        case .conv: return mq_conv_scratch_size(withUnsafePointer(to: o.conv2d) { $0 })
        case .depthwiseConv: return mq_depthwise_scratch_size(withUnsafePointer(to: o.depthwise) { $0 })
        default: return 0
        }
    }

    /// The writer op of a conv-op-set node.
    static func convSetOp(_ n: QNode, model: QuantizedModel, mem: CAllocations, scratchOffset: UInt32) throws -> mq_writer_op {
        let x = model.tensors[n.inputs[0]], y = model.tensors[n.output]
        let xi = Int32(n.inputs[0]), yi = Int32(n.output)
        func bad(_ st: mq_status, _ what: String) -> PackingError {
            .invalid("op '\(n.name)' (\(n.op.kind)): \(what) failed (\(String(cString: mq_status_str(st))))")
        }
        switch n.op {
        case .conv(let c):
            var p = mq_conv_params()
            p.win = mqWindow(c.window, input: x.shape, output: y.shape)
            p.in_c = Int32(c.inC)
            p.in_zero_point = x.qparams.zeroPoint
            p.gemm = fcParams(c.gemm, inDType: x.qparams.dtype, mem: mem)
            var o = mq_writer_op_conv(xi, yi, &p, scratchOffset)
            o.conv2d = p
            return o
        case .depthwiseConv(let d):
            let (kh, kw) = (d.window.kernelH, d.window.kernelW)
            let outC = d.inC * d.depthMultiplier
            let wsize = 2 * kh * kw * outC
            var packed = [UInt8](repeating: 0, count: wsize)
            var st = mq_depthwise_pack_weights(d.weights, Int32(kh), Int32(kw), Int32(outC), &packed, wsize)
            guard st == MQ_OK else { throw bad(st, "mq_depthwise_pack_weights") }
            var bias = [Int32](repeating: 0, count: outC)
            st = mq_depthwise_prepare_bias(d.weights, d.bias, Int32(kh), Int32(kw), Int32(outC), x.qparams.zeroPoint, x.qparams.dtype.c, &bias)
            guard st == MQ_OK else { throw bad(st, "mq_depthwise_prepare_bias") }
            var p = mq_depthwise_params()
            p.win = mqWindow(d.window, input: x.shape, output: y.shape)
            p.in_c = Int32(d.inC)
            p.depth_multiplier = Int32(d.depthMultiplier)
            p.in_dtype = x.qparams.dtype.c
            p.out_dtype = y.qparams.dtype.c
            p.in_zero_point = x.qparams.zeroPoint
            p.out_zero_point = d.outZeroPoint
            p.weights = UnsafeRawPointer(mem.copy(packed)).assumingMemoryBound(to: Int8.self)
            p.bias = mem.copy(bias)
            p.multiplier = mem.copy(d.multipliers)
            p.shift = mem.copy(d.shifts)
            p.per_channel = 1
            p.act_min = d.actMin
            p.act_max = d.actMax
            p.lut = d.lut.map { mem.copy($0) }
            return mq_writer_op_depthwise_conv(xi, yi, &p, scratchOffset)
        case .averagePool(let q), .maxPool(let q):
            var p = mq_pool_params()
            p.win = mqWindow(q.window, input: x.shape, output: y.shape)
            p.channels = Int32(x.shape.last ?? 1)
            p.dtype = x.qparams.dtype.c
            p.act_min = q.actMin
            p.act_max = q.actMax
            let type: mq_op_type
            if case .averagePool = n.op { type = MQ_OP_AVERAGE_POOL } else { type = MQ_OP_MAX_POOL }
            return mq_writer_op_pool(type, xi, yi, &p)
        case .mean(let m):
            guard x.shape.count == 4 else { throw PackingError.invalid("op '\(n.name)' (mean): input must be NHWC, got \(x.shape)") }
            var p = mq_mean_params()
            let st = mq_mean_prepare(Int32(x.shape[0]), Int32(x.shape[1]), Int32(x.shape[2]), Int32(x.shape[3]),
                                     Double(x.qparams.scale), x.qparams.zeroPoint, x.qparams.dtype.c,
                                     Double(y.qparams.scale), y.qparams.zeroPoint, y.qparams.dtype.c, m.actMin, m.actMax, &p)
            guard st == MQ_OK else { throw bad(st, "mq_mean_prepare") }
            return mq_writer_op_mean(xi, yi, &p)
        case let .pad(before, after):
            guard before.count <= 4, after.count <= 4 else { throw PackingError.invalid("op '\(n.name)' (pad): rank above 4") }
            // pads follow the tensor's dims as the writer stores them (rank < 4: leading dims)
            let b = before.map { Int32($0) } + [Int32](repeating: 0, count: 4 - before.count)
            let a = after.map { Int32($0) } + [Int32](repeating: 0, count: 4 - after.count)
            var o = b.withUnsafeBufferPointer { bp in a.withUnsafeBufferPointer { ap in mq_writer_op_pad(xi, yi, bp.baseAddress, ap.baseAddress) } }
            o.pad.value = UInt8(truncatingIfNeeded: x.qparams.zeroPoint)
            withUnsafeMutableBytes(of: &o.pad.in_dims) { raw in
                let d = raw.bindMemory(to: Int32.self)
                for i in 0..<4 { d[i] = i < x.shape.count ? Int32(x.shape[i]) : 1 }
            }
            return o
        case .concat(let axis):
            guard n.inputs.count <= Int(MQ_WRITER_MAX_OP_INPUTS) else {
                throw PackingError.invalid("op '\(n.name)' (concat): \(n.inputs.count) inputs, the format allows \(MQ_WRITER_MAX_OP_INPUTS)")
            }
            let xs = n.inputs.map { Int32($0) }
            return xs.withUnsafeBufferPointer { mq_writer_op_concat($0.baseAddress, Int32(xs.count), yi, Int32(axis)) }
        case .mul(let m):
            let b = model.tensors[n.inputs[1]]
            var p = mq_mul_params()
            p.in1_dtype = x.qparams.dtype.c; p.in2_dtype = b.qparams.dtype.c; p.out_dtype = y.qparams.dtype.c
            p.in1_zero_point = x.qparams.zeroPoint; p.in2_zero_point = b.qparams.zeroPoint; p.out_zero_point = y.qparams.zeroPoint
            p.out_multiplier = m.multiplier; p.out_shift = m.shift
            p.act_min = m.actMin; p.act_max = m.actMax
            switch m.broadcast {
            case .none: p.broadcast = MQ_BCAST_NONE
            case .scalar: p.broadcast = MQ_BCAST_SCALAR
            case .channel(let c): p.broadcast = MQ_BCAST_CHANNEL; p.channels = Int32(c)
            }
            return mq_writer_op_mul(xi, Int32(n.inputs[1]), yi, &p)
        case let .requantize(m, s):
            var p = mq_requantize_params()
            p.in_dtype = x.qparams.dtype.c; p.out_dtype = y.qparams.dtype.c
            p.in_zero_point = x.qparams.zeroPoint; p.out_zero_point = y.qparams.zeroPoint
            p.multiplier = m; p.shift = s
            return mq_writer_op_requantize(xi, yi, &p)
        default:
            throw PackingError.invalid("op '\(n.name)' (\(n.op.kind)) is not in the conv op set")
        }
    }
}
