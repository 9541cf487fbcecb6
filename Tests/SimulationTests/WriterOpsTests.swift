// The format-2 writer calls from Swift (MicroQuantC: mq_writer_op_* constructors, mq_pool_prepare): a pooling
// model built here, packed by the C writer, loaded and run by the C runtime, checked against a reference
// written in the test; its layer description and op build list.

import Foundation
import MicroQuantC
import MQSimulation
import XCTest

final class WriterOpsTests: XCTestCase {
    /// x INT8 [1,4,5,3] --MAX_POOL 2x2 stride 2, pad right 1--> [1,2,3,3] --AVERAGE_POOL 2x3 stride 1--> [1,1,1,3]
    /// (model outputs: both).
    func testPoolModelFromSwift() throws {
        let zp: Int32 = -4
        var rng = XorShift(state: 0x1234_5678)
        let x = (0..<(4 * 5 * 3)).map { _ in UInt8(truncatingIfNeeded: rng.int(-128...127)) }
        func tensor(_ dims: [Int32], offset: UInt32) -> mq_writer_tensor {
            var t = mq_writer_tensor()
            t.dtype = MQ_DTYPE_INT8
            t.rank = 4
            t.dims = (dims[0], dims[1], dims[2], dims[3])
            t.zero_point = zp
            t.scale = 0.05
            t.storage = MQ_STORAGE_ARENA
            t.arena_offset = offset
            return t
        }
        let tensors = [tensor([1, 4, 5, 3], offset: 0), tensor([1, 2, 3, 3], offset: 64), tensor([1, 1, 1, 3], offset: 96)]
        var maxp = mq_pool_params(), avgp = mq_pool_params()
        XCTAssertEqual(mq_pool_prepare(1, 4, 5, 3, 2, 2, 2, 2, 0, 0, 0, 1, MQ_DTYPE_INT8, 0.05, zp, -.infinity, .infinity, &maxp), MQ_OK)
        XCTAssertEqual(mq_pool_prepare(1, 2, 3, 3, 2, 3, 1, 1, 0, 0, 0, 0, MQ_DTYPE_INT8, 0.05, zp, -.infinity, .infinity, &avgp), MQ_OK)
        let ops = [mq_writer_op_pool(MQ_OP_MAX_POOL, 0, 1, &maxp), mq_writer_op_pool(MQ_OP_AVERAGE_POOL, 1, 2, &avgp)]
        let ins: [Int32] = [0], outs: [Int32] = [1, 2]
        var size = 0
        var diag = mq_writer_diag()
        let blob: [UInt8] = try tensors.withUnsafeBufferPointer { pt in
            try ops.withUnsafeBufferPointer { po in
                try ins.withUnsafeBufferPointer { pi in
                    try outs.withUnsafeBufferPointer { pout in
                        var m = mq_writer_model()
                        m.tensors = pt.baseAddress
                        m.num_tensors = 3
                        m.ops = po.baseAddress
                        m.num_ops = 2
                        m.inputs = pi.baseAddress
                        m.num_inputs = 1
                        m.outputs = pout.baseAddress
                        m.num_outputs = 2
                        m.arena_size = 112
                        m.arena_lower_bound = 112
                        XCTAssertEqual(mq_writer_write(&m, nil, 0, &size, &diag), MQ_OK)
                        var b = [UInt8](repeating: 0, count: size)
                        let st = b.withUnsafeMutableBytes { mq_writer_write(&m, $0.baseAddress, size, &size, &diag) }
                        guard st == MQ_OK else { throw SimulationError.inputMismatch(input: "writer", reason: statusText(Int(st.rawValue))) }
                        return b
                    }
                }
            }
        }
        let model = try PackedModel(bytes: blob)
        XCTAssertEqual(model.layers().map(\.kind), [.maxPool, .averagePool])
        XCTAssertEqual(model.layers().map(\.k), [4, 6])
        XCTAssertEqual(model.opBuildList(), ["AVERAGE_POOL", "MAX_POOL"])
        let got = try model.run(codes: [x])
        // reference: max over the valid taps; average of the valid taps rounded half away from zero
        func v(_ b: UInt8) -> Int { Int(Int8(bitPattern: b)) }
        var mx = [Int](repeating: 0, count: 2 * 3 * 3)
        for oy in 0..<2 { for ox in 0..<3 { for c in 0..<3 {
            var m = Int.min
            for ky in 0..<2 { for kx in 0..<2 {
                let iy = oy * 2 + ky, ix = ox * 2 + kx
                if iy < 4 && ix < 5 { m = max(m, v(x[(iy * 5 + ix) * 3 + c])) }
            } }
            mx[(oy * 3 + ox) * 3 + c] = m
        } } }
        XCTAssertEqual(got[0].map(v), mx)
        let avg = (0..<3).map { c -> Int in
            let s = (0..<6).reduce(0) { $0 + mx[$1 * 3 + c] }
            return s >= 0 ? (s + 3) / 6 : -((-s + 3) / 6)
        }
        XCTAssertEqual(got[1].map(v), avg)
    }

    /// The writer names the op and the problem for a bad format-2 description.
    func testWriterDiagnosesConcatAxis() {
        var t = mq_writer_tensor()
        t.dtype = MQ_DTYPE_INT8
        t.rank = 2
        t.dims = (2, 3, 0, 0)
        t.scale = 0.1
        let tensors = [t, t]
        let xs: [Int32] = [0]
        let op = xs.withUnsafeBufferPointer { mq_writer_op_concat($0.baseAddress, 1, 1, 2) }
        let ops = [op]
        let ins: [Int32] = [0], outs: [Int32] = [1]
        var size = 0
        var diag = mq_writer_diag()
        let st = tensors.withUnsafeBufferPointer { pt in
            ops.withUnsafeBufferPointer { po in
                ins.withUnsafeBufferPointer { pi in
                    outs.withUnsafeBufferPointer { pout -> mq_status in
                        var m = mq_writer_model()
                        m.tensors = pt.baseAddress
                        m.num_tensors = 2
                        m.ops = po.baseAddress
                        m.num_ops = 1
                        m.inputs = pi.baseAddress
                        m.num_inputs = 1
                        m.outputs = pout.baseAddress
                        m.num_outputs = 1
                        m.arena_size = 32
                        return mq_writer_write(&m, nil, 0, &size, &diag)
                    }
                }
            }
        }
        XCTAssertEqual(st, MQ_ERR_SHAPE)
        XCTAssertEqual(diag.op, 0)
        let msg = withUnsafeBytes(of: diag.message) { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        XCTAssertTrue(msg.contains("CONCAT axis"), msg)
    }
}
