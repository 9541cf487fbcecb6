// MQSimulation: the ops of a loaded model, read from its validated op and tensor tables, for the
// per-layer latency estimate. Record layouts mirror csrc/src/mq_format.h (docs/FORMAT.md):
//   tensor record 48 bytes: dtype u8 @0, rank u8 @1, storage u8 @2, dims 4 x u32 @4, zero point @20,
//                           scale bits @24, offset @28, byte size @32
//   op record 112 bytes:    type u8 @0, #inputs u8 @1, #outputs u8 @2, inputs 4 x u16 @4,
//                           outputs 2 x u16 @12, params 24 x u32 @16 (FC/conv: n @16, k @20)

import Foundation
import MicroQuantC

/// One op of a packed model and the work it does.
public struct LayerInfo: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case fullyConnected = "fully_connected", conv1x1 = "conv_1x1", lut, add, reshape, softmax, transpose, unknown
    }
    public let index: Int
    public let kind: Kind
    /// Shape of the op's first output.
    public let outputShape: [Int]
    /// Elements of the first output.
    public let outputElements: Int
    /// Multiply-accumulates (FC and conv: output elements x k), 0 for the others.
    public let macs: Int
    /// FC and conv: input features per output (k), 0 for the others.
    public let k: Int
    /// RESHAPE: true when the output is not at the input's arena offset (the runtime copies).
    public let copies: Bool
    /// FC / conv: a LUT activation is fused as epilogue.
    public let fusedLUT: Bool
}

private let tensorRecordSize = 48
private let opRecordSize = 112

extension PackedModel {
    /// Every op in execution order (from the tables mq_model_load validated).
    public func layers() -> [LayerInfo] {
        guard let tp = model.tensors, let op = model.ops else { return [] }
        func rd16(_ p: UnsafePointer<UInt8>, _ o: Int) -> Int { Int(p[o]) | Int(p[o + 1]) << 8 }
        func rd32(_ p: UnsafePointer<UInt8>, _ o: Int) -> Int {
            Int(UInt32(p[o]) | UInt32(p[o + 1]) << 8 | UInt32(p[o + 2]) << 16 | UInt32(p[o + 3]) << 24)
        }
        func tensor(_ id: Int) -> (shape: [Int], storage: Int, offset: Int) {
            let r = tp + id * tensorRecordSize
            let rank = min(Int(r[1]), 4)
            return ((0..<rank).map { rd32(r, 4 + 4 * $0) }, Int(r[2]), rd32(r, 28))
        }
        var result: [LayerInfo] = []
        for i in 0..<opCount {
            let r = op + i * opRecordSize
            let type = Int(r[0])
            let out = tensor(rd16(r, 12))
            let elements = out.shape.reduce(1, *)
            let kind: LayerInfo.Kind
            var macs = 0
            var kk = 0
            var copies = false
            var fused = false
            switch type {
            case Int(MQ_OP_FULLY_CONNECTED.rawValue), Int(MQ_OP_CONV_1X1.rawValue):
                kind = type == Int(MQ_OP_FULLY_CONNECTED.rawValue) ? .fullyConnected : .conv1x1
                let k = rd32(r, 16 + 4 * 1)
                macs = elements * k
                kk = k
                fused = rd32(r, 16 + 4 * 16) != 0  // LUT (offset, size): size != 0
            case Int(MQ_OP_LUT.rawValue): kind = .lut
            case Int(MQ_OP_ADD.rawValue): kind = .add
            case Int(MQ_OP_RESHAPE.rawValue):
                kind = .reshape
                let inp = tensor(rd16(r, 4))
                copies = !(inp.storage == out.storage && inp.offset == out.offset)
            case Int(MQ_OP_SOFTMAX.rawValue): kind = .softmax
            case Int(MQ_OP_TRANSPOSE.rawValue): kind = .transpose
            default: kind = .unknown
            }
            result.append(LayerInfo(index: i, kind: kind, outputShape: out.shape, outputElements: elements,
                                    macs: macs, k: kk, copies: copies, fusedLUT: fused))
        }
        return result
    }
}
