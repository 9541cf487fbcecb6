// SimulationTests helpers: repository paths, a deterministic RNG, and a packed fully connected model
// built through the C writer (mq_writer) with its independent int64 reference.

import Foundation
import MicroQuantC
import MQSimulation

/// The checkout's root (Tests/SimulationTests/TestSupport.swift -> ../..).
let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

struct XorShift {
    var state: UInt64
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }
    mutating func int(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.upperBound - range.lowerBound + 1))
    }
}

/// TFLite's requantization written out again in the test, in Int64 (not the C code under test):
/// SaturatingRoundingDoublingHighMul then RoundingDivideByPOT, left shift wrapping to 32 bits.
func referenceRequantize(_ acc: Int64, multiplier: Int32, shift: Int32) -> Int64 {
    let left = max(Int64(shift), 0), right = max(-Int64(shift), 0)
    let a = Int64(Int32(truncatingIfNeeded: acc << left))
    let b = Int64(multiplier)
    var high: Int64
    if a == Int64(Int32.min) && b == Int64(Int32.min) {
        high = Int64(Int32.max)
    } else {
        let ab = a * b
        let nudge: Int64 = ab >= 0 ? (1 << 30) : (1 - (1 << 30))
        high = (ab + nudge) / (1 << 31)  // truncates toward zero, as TFLite's division does
    }
    if right == 0 { return high }
    let mask = (Int64(1) << right) - 1
    let remainder = high & mask
    let threshold = (mask >> 1) + (high < 0 ? 1 : 0)
    return (high >> right) + (remainder > threshold ? 1 : 0)
}

/// A fully connected layer y[rows, n] = clamp(zp_out + requant(sum_k (x - zp_x) w + b)) and its packed model.
struct FCCase {
    let rows: Int, n: Int, k: Int
    let inDtype: ElementType
    let inZP: Int32, outZP: Int32
    let actMin: Int32, actMax: Int32
    let weights: [Int8]      // row-major (n, k)
    let bias: [Int32]
    let multipliers: [Int32]
    let shifts: [Int32]
    let perChannel: Bool

    init(seed: UInt64, rows: Int, n: Int, k: Int, inDtype: ElementType, perChannel: Bool, relu: Bool) {
        var r = XorShift(state: seed)
        self.rows = rows; self.n = n; self.k = k; self.inDtype = inDtype; self.perChannel = perChannel
        inZP = Int32(inDtype == .uint8 ? r.int(0...255) : r.int(-128...127))
        outZP = Int32(r.int(-20...20))
        actMin = relu ? outZP : -128
        actMax = 127
        weights = (0..<(n * k)).map { _ in Int8(r.int(-127...127)) }
        bias = (0..<n).map { _ in Int32(r.int(-5000...5000)) }
        var ms: [Int32] = [], ss: [Int32] = []
        for _ in 0..<(perChannel ? n : 1) {
            var m: Int32 = 0, s: Int32 = 0
            let real = Double(r.int(1...1000)) / 1000.0 * 0.02
            precondition(mq_quantize_multiplier(real, &m, &s) == MQ_OK)
            ms.append(m); ss.append(s)
        }
        multipliers = ms; shifts = ss
    }

    var inputShape: [Int32] { [Int32(rows), Int32(k)] }

    /// Expected output codes for input codes x (rows x k), in Int64 from the unpacked parameters.
    func reference(_ x: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        for row in 0..<rows {
            for c in 0..<n {
                var acc: Int64 = Int64(bias[c])
                for j in 0..<k {
                    let code = inDtype == .uint8 ? Int64(x[row * k + j]) : Int64(Int8(bitPattern: x[row * k + j]))
                    acc += (code - Int64(inZP)) * Int64(weights[c * k + j])
                }
                let acc32 = Int64(Int32(truncatingIfNeeded: acc))  // the documented int32 wrap
                let i = perChannel ? c : 0
                var v = referenceRequantize(acc32, multiplier: multipliers[i], shift: shifts[i]) + Int64(outZP)
                v = min(max(v, Int64(actMin)), Int64(actMax))
                out.append(UInt8(bitPattern: Int8(v)))
            }
        }
        return out
    }

    /// Packs the layer with the host prepare functions and the C writer.
    func pack() throws -> [UInt8] {
        let packedSize = mq_packed_weights_size_n4k16(Int32(n), Int32(k))
        var packed = [Int8](repeating: 0, count: packedSize)
        var folded = [Int32](repeating: 0, count: n)
        guard mq_pack_weights_n4k16(weights, Int32(n), Int32(k), &packed, packedSize) == MQ_OK,
              mq_fold_bias(weights, bias, Int32(n), Int32(k), inZP, inDtype == .uint8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8, &folded) == MQ_OK
        else { throw SimulationError.inputMismatch(input: "fc", reason: "prepare failed") }
        let inBytes = rows * k
        let outOffset = UInt32((inBytes + 15) / 16 * 16)
        var tIn = mq_writer_tensor()
        tIn.dtype = inDtype == .uint8 ? MQ_DTYPE_UINT8 : MQ_DTYPE_INT8
        tIn.rank = 2
        tIn.dims = (Int32(rows), Int32(k), 0, 0)
        tIn.zero_point = inZP
        tIn.scale = 0.05
        tIn.storage = MQ_STORAGE_ARENA
        tIn.arena_offset = 0
        var tOut = mq_writer_tensor()
        tOut.dtype = MQ_DTYPE_INT8
        tOut.rank = 2
        tOut.dims = (Int32(rows), Int32(n), 0, 0)
        tOut.zero_point = outZP
        tOut.scale = 0.1
        tOut.storage = MQ_STORAGE_ARENA
        tOut.arena_offset = outOffset
        let tensors = [tIn, tOut]
        let ioIn: [Int32] = [0], ioOut: [Int32] = [1]
        return try packed.withUnsafeBufferPointer { pw in
            try folded.withUnsafeBufferPointer { pb in
                try multipliers.withUnsafeBufferPointer { pm in
                    try shifts.withUnsafeBufferPointer { ps in
                        var op = mq_writer_op()
                        op.type = MQ_OP_FULLY_CONNECTED
                        op.num_inputs = 1
                        op.inputs = (0, 0, 0, 0, 0, 0, 0, 0)
                        op.num_outputs = 1
                        op.outputs = (1, 0)
                        op.fc.n = Int32(n)
                        op.fc.k = Int32(k)
                        op.fc.weights = mq_packed_weights(packed: pw.baseAddress)
                        op.fc.bias = mq_folded_bias(folded: pb.baseAddress)
                        op.fc.multiplier = pm.baseAddress
                        op.fc.shift = ps.baseAddress
                        op.fc.per_channel = perChannel ? 1 : 0
                        op.fc.in_dtype = tIn.dtype
                        op.fc.out_dtype = MQ_DTYPE_INT8
                        op.fc.out_zero_point = outZP
                        op.fc.act_min = actMin
                        op.fc.act_max = actMax
                        let ops = [op]
                        return try tensors.withUnsafeBufferPointer { pt in
                            try ops.withUnsafeBufferPointer { po in
                                try ioIn.withUnsafeBufferPointer { pi in
                                    try ioOut.withUnsafeBufferPointer { pout in
                                        var m = mq_writer_model()
                                        m.tensors = pt.baseAddress
                                        m.num_tensors = 2
                                        m.ops = po.baseAddress
                                        m.num_ops = 1
                                        m.inputs = pi.baseAddress
                                        m.num_inputs = 1
                                        m.outputs = pout.baseAddress
                                        m.num_outputs = 1
                                        m.arena_size = outOffset + UInt32((rows * n + 15) / 16 * 16)
                                        m.arena_lower_bound = m.arena_size
                                        var size = 0
                                        var diag = mq_writer_diag()
                                        guard mq_writer_write(&m, nil, 0, &size, &diag) == MQ_OK else {
                                            throw SimulationError.inputMismatch(input: "writer", reason: "size query failed")
                                        }
                                        var blob = [UInt8](repeating: 0, count: size)
                                        let st = blob.withUnsafeMutableBytes { mq_writer_write(&m, $0.baseAddress, size, &size, &diag) }
                                        guard st == MQ_OK else {
                                            throw SimulationError.inputMismatch(input: "writer", reason: statusText(Int(st.rawValue)))
                                        }
                                        return blob
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
