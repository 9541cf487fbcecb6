// MQSimulation: the ops of a loaded model, read from its validated op and tensor tables, for the
// per-layer latency estimate. Record layouts mirror csrc/src/mq_format.h (docs/FORMAT.md):
//   tensor record 48 bytes: dtype u8 @0, rank u8 @1, storage u8 @2, dims 4 x u32 @4, zero point @20,
//                           scale bits @24, offset @28, byte size @32
//   op record 160 bytes (format 2): type u8 @0, #inputs u8 @1, #outputs u8 @2, flags u8 @3 (2.1: bit 0 the
//                           output runs in place over input 0), inputs 8 x u16 @4,
//                           outputs 2 x u16 @20, reserved @24..31, params 32 x u32 @32
//                           (FC/conv: n p0, k p1, LUT ref p15/p16; window block: kernel_h, kernel_w,
//                           stride_h, stride_w, dilation_h, dilation_w, pads at p17 (CONV), p16 (DEPTHWISE), p0 (pools))

import Foundation
import MicroQuantC

/// One op of a packed model and the work it does.
public struct LayerInfo: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case fullyConnected = "fully_connected", conv1x1 = "conv_1x1", lut, add, reshape, softmax, transpose
        case conv, depthwiseConv = "depthwise_conv", averagePool = "average_pool", maxPool = "max_pool", mean, pad
        case concat, mul, requantize
        case softmaxTable = "softmax_table"
        // 16x8 ops (format 2.1)
        case fullyConnectedS16 = "fully_connected_s16", convS16 = "conv_s16", depthwiseConvS16 = "depthwise_conv_s16"
        case addS16 = "add_s16", mulS16 = "mul_s16", averagePoolS16 = "average_pool_s16", maxPoolS16 = "max_pool_s16"
        case lut16, quantizeS16 = "quantize_s16", requantizeS16To8 = "requantize_s16_to_8", softmaxS16 = "softmax_s16"
        case rescaleS16 = "rescale_s16"
        // pixel-streamed chain (format 2.1): the head; its members follow with op flag bit 3
        case streamFC = "stream_fc", streamFCS16 = "stream_fc_s16"
        // row-streamed segment (format 2.1): the header; its members follow with op flag bit 4
        case rowStream = "row_stream"
        case unknown

        /// The packed format's op type (mq_op_type), nil for .unknown.
        public var opType: Int? {
            switch self {
            case .fullyConnected: return Int(MQ_OP_FULLY_CONNECTED.rawValue)
            case .conv1x1: return Int(MQ_OP_CONV_1X1.rawValue)
            case .lut: return Int(MQ_OP_LUT.rawValue)
            case .add: return Int(MQ_OP_ADD.rawValue)
            case .reshape: return Int(MQ_OP_RESHAPE.rawValue)
            case .softmax: return Int(MQ_OP_SOFTMAX.rawValue)
            case .transpose: return Int(MQ_OP_TRANSPOSE.rawValue)
            case .conv: return Int(MQ_OP_CONV.rawValue)
            case .depthwiseConv: return Int(MQ_OP_DEPTHWISE_CONV.rawValue)
            case .averagePool: return Int(MQ_OP_AVERAGE_POOL.rawValue)
            case .maxPool: return Int(MQ_OP_MAX_POOL.rawValue)
            case .mean: return Int(MQ_OP_MEAN.rawValue)
            case .pad: return Int(MQ_OP_PAD.rawValue)
            case .concat: return Int(MQ_OP_CONCAT.rawValue)
            case .mul: return Int(MQ_OP_MUL.rawValue)
            case .requantize: return Int(MQ_OP_REQUANTIZE.rawValue)
            case .softmaxTable: return Int(MQ_OP_SOFTMAX_TABLE.rawValue)
            case .fullyConnectedS16: return Int(MQ_OP_FULLY_CONNECTED_S16.rawValue)
            case .convS16: return Int(MQ_OP_CONV_S16.rawValue)
            case .depthwiseConvS16: return Int(MQ_OP_DEPTHWISE_CONV_S16.rawValue)
            case .addS16: return Int(MQ_OP_ADD_S16.rawValue)
            case .mulS16: return Int(MQ_OP_MUL_S16.rawValue)
            case .averagePoolS16: return Int(MQ_OP_AVERAGE_POOL_S16.rawValue)
            case .maxPoolS16: return Int(MQ_OP_MAX_POOL_S16.rawValue)
            case .lut16: return Int(MQ_OP_LUT16.rawValue)
            case .quantizeS16: return Int(MQ_OP_QUANTIZE_S16.rawValue)
            case .requantizeS16To8: return Int(MQ_OP_REQUANTIZE_S16_TO_8.rawValue)
            case .softmaxS16: return Int(MQ_OP_SOFTMAX_S16.rawValue)
            case .rescaleS16: return Int(MQ_OP_RESCALE_S16.rawValue)
            case .streamFC: return Int(MQ_OP_STREAM_FC.rawValue)
            case .streamFCS16: return Int(MQ_OP_STREAM_FC_S16.rawValue)
            case .rowStream: return Int(MQ_OP_ROW_STREAM.rawValue)
            case .unknown: return nil
            }
        }

        /// The op's name in the C build list: MQ_OP_<buildName>_ENABLED (csrc/src/mq_format.h).
        public var buildName: String? {
            switch self {
            case .fullyConnected: return "FULLY_CONNECTED"
            case .conv1x1: return "CONV_1X1"
            case .lut: return "LUT"
            case .add: return "ADD"
            case .reshape: return "RESHAPE"
            case .softmax: return "SOFTMAX"
            case .transpose: return "TRANSPOSE"
            case .conv: return "CONV"
            case .depthwiseConv: return "DEPTHWISE_CONV"
            case .averagePool: return "AVERAGE_POOL"
            case .maxPool: return "MAX_POOL"
            case .mean: return "MEAN"
            case .pad: return "PAD"
            case .concat: return "CONCAT"
            case .mul: return "MUL"
            case .requantize: return "REQUANTIZE"
            case .softmaxTable: return "SOFTMAX_TABLE"
            case .fullyConnectedS16: return "FULLY_CONNECTED_S16"
            case .convS16: return "CONV_S16"
            case .depthwiseConvS16: return "DEPTHWISE_CONV_S16"
            case .addS16: return "ADD_S16"
            case .mulS16: return "MUL_S16"
            case .averagePoolS16: return "AVERAGE_POOL_S16"
            case .maxPoolS16: return "MAX_POOL_S16"
            case .lut16: return "LUT16"
            case .quantizeS16: return "QUANTIZE_S16"
            case .requantizeS16To8: return "REQUANTIZE_S16_TO_8"
            case .softmaxS16: return "SOFTMAX_S16"
            case .rescaleS16: return "RESCALE_S16"
            case .streamFC: return "STREAM_FC"
            case .streamFCS16: return "STREAM_FC_S16"
            case .rowStream: return "ROW_STREAM"
            case .unknown: return nil
            }
        }

        init(opType: Int) {
            self = Kind.allCases.first { $0.opType == opType } ?? .unknown
        }
    }
    public let index: Int
    public let kind: Kind
    /// Shape of the op's first output.
    public let outputShape: [Int]
    /// Elements of the first output.
    public let outputElements: Int
    /// Multiply-accumulates: FC and convolutions output elements x k, depthwise output elements x taps; 0 for the others.
    public let macs: Int
    /// FC and convolutions: input values per output (k = kernel_h x kernel_w x channels); depthwise and
    /// pools: window taps per output (kernel_h x kernel_w); MEAN: values per output (h x w); 0 for the others.
    public let k: Int
    /// RESHAPE: true when the output is not at the input's arena offset (the runtime copies).
    public let copies: Bool
    /// FC / conv / depthwise: a LUT activation is fused as epilogue.
    public let fusedLUT: Bool
    /// The op record's in-place flag (format 2.1, bit 0 of byte 3): the output was planned over input 0.
    public let inPlace: Bool
    /// Shape of the op's first input (the flash-read model tells a one-call 1x1 convolution from a per-row one).
    public var inputShape: [Int] = []
    /// Runs per inference: the grid pixels for a member of a pixel-streamed chain (op flag bit 3), else 1.
    public var repeats: Int = 1
    /// The window block (docs/FORMAT.md) of CONV, DEPTHWISE_CONV and the 8-bit pools: kernel_h, kernel_w, stride_h,
    /// stride_w, dilation_h, dilation_w, pad_top, pad_bottom, pad_left, pad_right; empty for the others.
    public var window: [Int] = []
    /// ROW_STREAM: kernel calls the segment makes (one per member output row) and the bytes its rings' double writes
    /// copy; 0 for the others.
    public var rowCalls: Int = 0
    public var ringCopyBytes: Int = 0
    /// STREAM_FC / STREAM_FC_S16 (the head of a pixel-streamed chain): the grid pixels it gathers and accumulates
    /// (out_h x out_w); 0 for the others.
    public var streamGridPixels: Int = 0

    public init(index: Int, kind: Kind, outputShape: [Int], outputElements: Int, macs: Int, k: Int, copies: Bool = false,
                fusedLUT: Bool = false, inPlace: Bool = false, inputShape: [Int] = [], repeats: Int = 1,
                window: [Int] = []) {
        self.index = index
        self.kind = kind
        self.outputShape = outputShape
        self.outputElements = outputElements
        self.macs = macs
        self.k = k
        self.copies = copies
        self.fusedLUT = fusedLUT
        self.inPlace = inPlace
        self.inputShape = inputShape
        self.repeats = repeats
        self.window = window
    }
}

private let tensorRecordSize = 48
private let opRecordSize = 160
private let opParams = 32
private let opOutputs = 20

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
        var streamLeft = 0, streamPixels = 1  // members of a pixel-streamed chain run once per grid pixel
        for i in 0..<opCount {
            let r = op + i * opRecordSize
            func param(_ w: Int) -> Int { rd32(r, opParams + 4 * w) }
            let kind = LayerInfo.Kind(opType: Int(r[0]))
            let out = tensor(rd16(r, opOutputs))
            let elements = out.shape.reduce(1, *)
            var macs = 0
            var kk = 0
            var copies = false
            var fused = false
            switch kind {
            case .fullyConnected, .conv1x1, .conv:
                kk = param(1)
                macs = elements * kk
                fused = param(16) != 0  // LUT (offset, size): size != 0
            case .depthwiseConv:
                kk = param(16) * param(17)  // window block at p16: kernel_h, kernel_w
                macs = elements * kk
                fused = param(15) != 0
            case .averagePool, .maxPool, .averagePoolS16, .maxPoolS16:
                kk = param(0) * param(1)
            case .fullyConnectedS16, .convS16, .streamFC, .streamFCS16:
                kk = param(1)
                macs = elements * kk
            case .depthwiseConvS16:
                kk = param(12) * param(13)  // window block at p12
                macs = elements * kk
            case .mean:
                let inp = tensor(rd16(r, 4))
                kk = inp.shape.count == 4 ? inp.shape[1] * inp.shape[2] : 0
            case .reshape:
                let inp = tensor(rd16(r, 4))
                copies = !(inp.storage == out.storage && inp.offset == out.offset)
            default:
                break
            }
            let windowAt: Int? = kind == .depthwiseConv ? 16 : kind == .conv ? 17
                : (kind == .averagePool || kind == .maxPool) ? 0 : nil
            var repeats = 1
            if r[3] & 8 != 0, streamLeft > 0 {
                macs *= streamPixels
                repeats = streamPixels
                streamLeft -= 1
            }
            if kind == .streamFC || kind == .streamFCS16 {
                streamLeft = param(20)
                streamPixels = max(param(21) * param(22), 1)
            }
            var info = LayerInfo(index: i, kind: kind, outputShape: out.shape, outputElements: elements,
                                 macs: macs, k: kk, copies: copies, fusedLUT: fused, inPlace: r[3] & 1 != 0,
                                 inputShape: r[1] > 0 ? tensor(rd16(r, 4)).shape : [], repeats: repeats,
                                 window: windowAt.map { w in (0..<10).map { param(w + $0) } } ?? [])
            if kind == .streamFC || kind == .streamFCS16 { info.streamGridPixels = streamPixels }
            if kind == .rowStream {
                // the members (next p0 records) run row by row: one kernel call per output row, and each ring row
                // y with y % R < R - 1 copied once more (the double write)
                let members = min(param(0), 8, opCount - 1 - i)
                for j in 0..<max(members, 0) {
                    let mr = op + (i + 1 + j) * opRecordSize
                    let o = tensor(rd16(mr, opOutputs))
                    let rows = o.shape.count == 4 ? o.shape[1] : 1
                    info.rowCalls += rows
                    let ring = j + 1 < members ? param(2 + 2 * j) : 0
                    if ring > 1 {
                        let rowBytes = o.shape.reduce(1, *) / max(rows, 1)
                        info.ringCopyBytes += (0..<rows).filter { $0 % ring < ring - 1 }.count * rowBytes
                    }
                }
            }
            result.append(info)
        }
        return result
    }

    /// The ops this model uses, as the C build list names them (MQ_OP_<NAME>_ENABLED), in op-type order:
    /// a firmware built with only these (boards/CMakeLists.txt -DMQ_OPS=...) runs the model.
    /// Then the GEMM kernel variants the model's FULLY_CONNECTED / CONV_1X1 / CONV ops take (gemmVariantList()),
    /// so a firmware compiles only those fast paths (csrc/src/mq_kernel_select.h).
    public func opBuildList() -> [String] {
        let kinds = Set(layers().map(\.kind))
        // ORT_FLOAT32: onnxruntime's float32 output stage (calibrate --rounding onnxruntime), else rejected at load
        let ort = model.flags & UInt32(MQ_MODEL_FLAG_ORT_FLOAT32) != 0 ? ["ORT_FLOAT32"] : []
        return LayerInfo.Kind.allCases.filter { kinds.contains($0) }.compactMap(\.buildName) + gemmVariantList() + ort
    }

    /// The GEMM fast paths (csrc/src/mq_kernel_select.h names) this model's 8-bit GEMM ops use: GEMM_BATCHED plus
    /// the input dtype (GEMM_UINT8 / GEMM_INT8) for calls with two or more input rows (FULLY_CONNECTED with
    /// batch > 1; CONV_1X1 and CONV always), GEMM_PER_CHANNEL / GEMM_PER_TENSOR (the op's p2) for the batch-1 GEMV
    /// loop (FULLY_CONNECTED with batch 1; CONV_1X1 and CONV always, their edge calls may have one row);
    /// GEMM_SINGLE_ROUNDING for FULLY_CONNECTED in a model with the single-rounding header flag (without it the
    /// firmware rejects such a model at load).
    /// Empty when the model has no such op. Calls a firmware built without a variant run the compact kernel:
    /// the same bytes, slower.
    public func gemmVariantList() -> [String] {
        guard let tp = model.tensors, let op = model.ops else { return [] }
        func rd16(_ p: UnsafePointer<UInt8>, _ o: Int) -> Int { Int(p[o]) | Int(p[o + 1]) << 8 }
        func rd32(_ p: UnsafePointer<UInt8>, _ o: Int) -> Int {
            Int(UInt32(p[o]) | UInt32(p[o + 1]) << 8 | UInt32(p[o + 2]) << 16 | UInt32(p[o + 3]) << 24)
        }
        var names = Set<String>()
        for i in 0..<opCount {
            let r = op + i * opRecordSize
            let kind = LayerInfo.Kind(opType: Int(r[0]))
            guard kind == .fullyConnected || kind == .conv1x1 || kind == .conv else { continue }
            let x = tp + rd16(r, 4) * tensorRecordSize
            let dims = (0..<min(Int(x[1]), 4)).map { rd32(x, 4 + 4 * $0) }
            let k = rd32(r, opParams + 4)
            let rows = k > 0 ? dims.reduce(1, *) / k : 0
            let batched = kind != .fullyConnected || rows != 1
            if batched {
                names.insert("GEMM_BATCHED")
                names.insert(Int(x[0]) == Int(MQ_DTYPE_UINT8.rawValue) ? "GEMM_UINT8" : "GEMM_INT8")
            }
            if kind != .fullyConnected || rows == 1 {
                names.insert(rd32(r, opParams + 8) != 0 ? "GEMM_PER_CHANNEL" : "GEMM_PER_TENSOR")
            }
        }
        if model.flags & UInt32(MQ_MODEL_FLAG_SINGLE_ROUNDING_FC) != 0, layers().contains(where: { $0.kind == .fullyConnected }) {
            names.insert("GEMM_SINGLE_ROUNDING")
        }
        return ["GEMM_BATCHED", "GEMM_UINT8", "GEMM_INT8", "GEMM_PER_CHANNEL", "GEMM_PER_TENSOR", "GEMM_SINGLE_ROUNDING"]
            .filter { names.contains($0) }
    }
}
