// MQSimulation: does a packed model fit a board, and how long might it take there (an estimate).
//
// Flash = packed model bytes + firmware code (runtime + app) for the board's core, MEASURED from the
//         cross-compiled firmware by scripts/measure-runtime-size.sh into boards/runtime-size.json.
// RAM   = arena + input and output buffers + the stack reserve of the board's linker script
//         (board.json stack_size) + the firmware's other static data (measured, same table).
// Latency: per-layer instruction estimates from boards/cost-model.json (per-core coefficients per
//         MAC (k rounded up to the kernels' 16-wide chunks), per output and per element, fitted to the perf benchmark's measured counts where they
//         exist, documented with their source), cycles = instructions x CPI, at clock_hz. With
//         boards/cycle-model.json (docs/PERFORMANCE.md "Cycle model"): cycles = instructions x the core's
//         CPI (instruction-class mix x the core's instruction timings) + flash wait states of the data
//         reads from flash (board.json flash_wait_states per flash access of flash_read_bytes; which bytes
//         the kernels read, and how often: FlashReads below, docs/PERFORMANCE.md "Flash wait states").

import Foundation
import MicroQuantC

/// boards/runtime-size.json: code and data of the firmware for each core, measured from the build.
public struct RuntimeSizeTable: Codable, Sendable {
    public struct Entry: Codable, Sendable {
        /// Board whose firmware was measured.
        public let board: String
        /// text + data of the linked firmware minus the embedded model and inputs: runtime (loader,
        /// interpreter, kernels) + startup + app; what a model adds to on flash.
        public let firmware_code_bytes: Int
        /// text + data of the runtime library objects alone (libmicroquant.a, every op).
        public let runtime_library_bytes: Int
        /// .data + .bss of the firmware other than the arena and output buffer.
        public let static_ram_bytes: Int
    }
    public let generated_by: String
    public let compiler: String
    public let flags: String
    public let cores: [String: Entry]
}

/// boards/cost-model.json: per-core instruction coefficients (estimates, with their source).
public struct CostModel: Codable, Sendable {
    public struct Core: Codable, Sendable {
        public let fc_per_mac: Double
        /// Per output element of FC: requantization, epilogue, per-group set-up.
        public let fc_per_output: Double
        public let conv_per_mac: Double
        public let conv_per_output: Double
        public let lut_per_element: Double
        /// Extra cost per output of a LUT fused as GEMM/conv epilogue.
        public let lut_epilogue_per_output: Double
        public let add_per_element: Double
        public let softmax_per_element: Double
        public let transpose_per_element: Double
        public let copy_per_byte: Double
        public let per_op: Double
        /// Coefficients of the convolutional op set (format 2). Optional: a core without a measured value
        /// uses the stated stand-in: depthwise the conv coefficients, pools, MEAN, MUL and REQUANTIZE add_per_element, PAD and CONCAT copy_per_byte.
        /// Fixed instructions per FC / 1x1-conv kernel call (set-up); absent: 0.
        public let fc_per_call: Double?
        public let conv_per_call: Double?
        /// 1x1 convolution, per microkernel call and per DSP pair-loop group set-up (Conv1x1Features); absent: 0.
        public let conv_per_gemm_call: Double?
        public let conv_per_group_block: Double?
        /// The kernels' constants behind Conv1x1Features (not fitted): the DSP pair loop's lane buffer in words
        /// (MQ_DSP_PX_WORDS; absent: no pair loop) and the largest k the in-place 1x1 runs as one call writing over
        /// its input (MQ_GEMM_IN_PLACE; absent: 0, blocks of MQ_CONV1X1_INPLACE_BLOCK pixels copied).
        public let gemm_pair_block_words: Int?
        public let conv1x1_inplace_max_k: Int?
        /// ROW_STREAM: instructions per member output row beyond the members' whole-layer terms (the row's kernel
        /// call and its set-up, the split GEMM blocks, the schedule's checks; the ring copies are charged apart at
        /// copy_per_byte). Measured, not fitted: (row-streamed - layer-by-layer instructions - ring copy bytes x
        /// copy_per_byte) / rows on the IC stand-in (bench-models.sh and simulate --qemu, 2026-12-05); absent:
        /// fc_per_call, else per_op.
        public let row_stream_per_row: Double?
        /// Pixel-streamed chain (STREAM_FC, docs/FORMAT.md "Pixel-streamed chain"). stream_per_pixel: the head's
        /// instructions per grid pixel beyond its MAC / output terms (the pixel's gather, the partial-sum
        /// accumulate call, the loop), MEASURED per function with cmcount on the streamed tinyconv: (mq_stream_gather
        /// + mq_stream_fc_s8_init / accumulate / finish - the head's MAC / output terms) / grid pixels.
        /// stream_per_pixel_member: a 1x1 member's instructions per grid pixel beyond its FC row's MAC / output /
        /// LUT terms (the prepared row's GEMM set-up, its LUT call, the member dispatch), MEASURED, not fitted:
        /// (streamed - layer-by-layer (--no-stream) instructions - (streamed estimate without this term -
        /// layer-by-layer estimate)) / (grid pixels x members) on tinyconv (bench-models.sh, 2026-12-05).
        /// Absent: 0, and a member pays fc_per_call per pixel.
        public let stream_per_pixel: Double?
        public let stream_per_pixel_member: Double?
        /// KxK convolution (im2col + GEMM); absent: the conv (1x1) coefficients.
        public let convk_per_mac: Double?
        public let convk_per_output: Double?
        /// KxK convolution's im2col: per output pixel (kernel rows, padding set-up) and per byte gathered
        /// (pixels x k, k = kernel_h x kernel_w x in_c); absent: 0.
        public let convk_per_pixel: Double?
        public let convk_per_im2col_byte: Double?
        /// The k bounds of the core's GEMM loops (docs/PERFORMANCE.md "Cost model per core"): range i holds
        /// gemm_k_bounds[i-1] < k <= gemm_k_bounds[i], the last range k > every bound.
        public let gemm_k_bounds: [Int]?
        /// Per-MAC cost of the 1x1 / KxK convolution's GEMM for each k range (gemm_k_bounds.count + 1 values);
        /// absent or short: conv_per_mac / convk_per_mac.
        public let conv_per_mac_by_k: [Double]?
        public let convk_per_mac_by_k: [Double]?
        /// Depthwise: per output pixel (outputs / channels); absent: 0.
        public let depthwise_per_pixel: Double?
        /// The interpreter's copy of the model's inputs in and outputs out, per byte (counted with the first
        /// layer); absent: 0.
        public let io_per_byte: Double?
        public let depthwise_per_mac: Double?
        public let depthwise_per_output: Double?
        /// Depthwise, the kernel's loop counts (DepthwiseFeatures; docs/PERFORMANCE.md "Cost model per core"): per
        /// pixel x channel group, per border pixel (a tap on the padding), per microkernel run, per run x channel
        /// group, per group set-up; absent: 0. depthwise_group_channels (4: DSP / v7m, 16: MVE) and
        /// depthwise_cached_groups (16: the DSP / v7m set-up cache, 0: none) are the kernels' constants, not fitted.
        public let depthwise_per_pixel_group: Double?
        public let depthwise_per_border_pixel: Double?
        public let depthwise_per_run: Double?
        public let depthwise_per_group_run: Double?
        public let depthwise_per_group_setup: Double?
        public let depthwise_group_channels: Int?
        public let depthwise_cached_groups: Int?
        /// Pools: per window tap of each output.
        public let pool_per_tap: Double?
        /// Pools: per output (the rounding division, clamp and store of each channel); absent: 0.
        public let pool_per_output: Double?
        /// MEAN: per input value.
        public let mean_per_element: Double?
        public let mul_per_element: Double?
        public let requantize_per_element: Double?
        public let cycles_per_instruction: Double
        /// Where these numbers come from.
        public let source: String

        /// Index of the k range of gemm_k_bounds that k falls in (0 without bounds).
        public func kRange(_ k: Int) -> Int {
            guard let b = gemm_k_bounds else { return 0 }
            return b.firstIndex(where: { k <= $0 }) ?? b.count
        }

        /// Per-MAC cost of a 1x1 (kxk false) or KxK convolution's GEMM with this k.
        public func convPerMAC(k: Int, kxk: Bool) -> Double {
            let plain = kxk ? (convk_per_mac ?? conv_per_mac) : conv_per_mac
            guard let v = kxk ? convk_per_mac_by_k : conv_per_mac_by_k else { return plain }
            let i = kRange(k)
            return i < v.count ? v[i] : plain
        }
    }
    public let note: String
    public let cores: [String: Core]
}

/// boards/cycle-model.json: from instructions to core cycles, per core (docs/PERFORMANCE.md "Cycle model").
public struct CycleModel: Codable, Sendable {
    public struct Core: Codable, Sendable {
        /// Cycles per executed instruction at zero wait states (measured instruction-class mix x the core's
        /// instruction timings, or a guess; `source` says which).
        public let cpi: Double
        /// Batch rows / pixels that share one pass over a layer's weights (2 for the DSP and v7m kernels'
        /// 2x2 blocks, 1 for MVE): weight bytes read per layer = n x k x ceil(rows / this).
        public let rows_per_weight_pass: Int
        /// CPI per layer kind (keys fully_connected, conv, depthwise, pool, other; docs/PERFORMANCE.md "Cycle
        /// model"): a layer's kernel instructions use its kind's CPI, its interpreter share (per_op) "other".
        /// Absent, or a kind absent: `cpi`.
        public let cpi_by_kind: [String: Double]?
        /// "dsp_n4k16": the flash reads follow the Armv7E-M DSP GEMM kernels' loops (FlashReads); absent: every
        /// pass of rows_per_weight_pass rows streams the layer's n x k weight bytes (nothing else counted).
        public let flash_read_pattern: String?
        public let source: String

        /// The cpi_by_kind key of a layer kind.
        public static func cpiKey(_ kind: LayerInfo.Kind) -> String {
            switch kind {
            case .fullyConnected, .fullyConnectedS16: return "fully_connected"
            case .conv1x1, .conv, .convS16: return "conv"
            case .depthwiseConv, .depthwiseConvS16: return "depthwise"
            case .averagePool, .maxPool, .mean, .averagePoolS16, .maxPoolS16: return "pool"
            default: return "other"
            }
        }

        /// CPI of a cpi_by_kind key (`cpi` when the file has none for it).
        public func cpi(forKey key: String) -> Double { cpi_by_kind?[key] ?? cpi }
    }
    public let note: String
    public let cores: [String: Core]
}

/// One layer's estimate.
public struct LayerEstimate: Sendable {
    public let layer: LayerInfo
    public let instructions: Double
    /// Core cycles: instructions x CPI (+ flash wait states of the weight reads with a cycle model).
    public var cycles: Double = 0
    /// Of which flash wait states (0 without a cycle model or without flash_wait_states in board.json).
    public var flashWaitCycles: Double = 0
    /// The same without the flash data cache (every re-read pays; the bound printed alongside).
    public var flashWaitCyclesNoCache: Double = 0
    public let microseconds: Double
}

/// Bytes one inference reads from flash, per layer, with the DSP kernels (Cortex-M4/M7/M33; the model runs in
/// place, so weights, the per-channel parameters and the op records are read from flash). Mirrors the loops of
/// csrc/src/gemm/mq_gemm_s8_n4k16_dsp.c, mq_conv.c and mq_conv1x1*.c (constants named after theirs); checked
/// against the data reads QEMU records in the first inference (scripts/flash-reads.py; docs/PERFORMANCE.md
/// "Flash wait states": AD, KWS, tinyconv within 10 %).
public enum FlashReads {
    /// Per output channel and pass: bias, multiplier, shift (int32 each; the GEMV tests each shift as it goes,
    /// no separate scan since branch adgemv).
    static let paramBytes = 12
    /// MQ_DSP_PX_WORDS: q15 lane words of a block of input pairs (pairs per block = this / k);
    /// MQ_DSP_PX_MAX_K: the largest k of the pair path for k % 16 == 0 (k % 4 == 0 takes it up to expandWords).
    static let pairWords = 1024, pairMaxK = 640
    /// k up to MQ_DSP_PXW_WORDS (expandWords) expands a pair of channels' weights once per block (else re-read per
    /// pair); mq_conv.c pads k to 4 only up to expandMaxK.
    static let expandMaxK = 128, expandWords = 288
    /// mq_conv_internal.h: im2col blocks of MQ_CONV_SCRATCH_TARGET / row bytes pixels, within [4, 32].
    static let convScratch = 2048, convMinRows = 4, convMaxRows = 32
    /// MQ_CONV1X1_INPLACE_BLOCK: pixels per GEMM call of an in-place 1x1 convolution.
    static let inplaceBlock = 32
    /// The interpreter's reads of the op and tensor records (op record 160 bytes, tensor records 48): measured
    /// 29-30 flash accesses of 8 bytes per op on AD, KWS and tinyconv.
    static let recordBytesPerOp = 240

    /// Bytes one GEMM call (m rows, n channels, k codes per row) reads from flash. cache: data cache bytes.
    public static func gemm(m: Int, n: Int, k: Int, cache: Int) -> Int {
        guard m > 0, n > 0, k > 0 else { return 0 }
        let kp = (k + 15) / 16 * 16, n4 = (n + 3) / 4 * 4       // N4K16 packing: groups of 4 channels x k16
        let once = n4 * kp + n * paramBytes
        let row = once                                          // one row: the GEMV (n >= 4) or the 1x4 loop
        if m == 1 { return row }
        if n >= 4, (k % 16 == 0 && k <= pairMaxK) || (k % 4 == 0 && k <= expandWords) {  // mq_dsp_pairs_blocked
            let pairs = m / 2, blocks = (pairs + pairWords / k - 1) / (pairWords / k)
            let expanded = k <= expandWords
            var b = expanded ? blocks * once : pairs * n4 * kp + blocks * n * paramBytes
            if m % 2 == 1 { b += row }                        // the odd last row
            return b
        }
        // mq_dsp_gemm_rows: per group of 4 channels, every pair of rows reads the group's 4 x k16 weights again,
        // unless the data cache keeps the group (one line of slack for alignment)
        if 4 * kp + 4 * paramBytes <= cache - 32 { return once }
        return (m + 1) / 2 * n4 * kp + n * paramBytes
    }

    /// Bytes a layer reads from flash (records included).
    public static func layer(_ l: LayerInfo, cache: Int) -> Int {
        let n = l.outputShape.last ?? 0
        guard n > 0 else { return recordBytesPerOp }
        let pixels = l.outputElements / n
        var b = 0
        switch l.kind {
        case .fullyConnected:
            b = gemm(m: pixels, n: n, k: l.k, cache: cache)
        case .conv1x1:
            let o = l.outputShape, i = l.inputShape
            if l.inPlace {
                b = pixels / inplaceBlock * gemm(m: inplaceBlock, n: n, k: l.k, cache: cache)
                    + gemm(m: pixels % inplaceBlock, n: n, k: l.k, cache: cache)
            } else if o.count == 4, i.count == 4, o[1] == i[1], o[2] == i[2] {
                b = gemm(m: pixels, n: n, k: l.k, cache: cache)  // unpadded stride 1: one call
            } else if o.count == 4, o[2] > 0 {
                b = pixels / o[2] * gemm(m: o[2], n: n, k: l.k, cache: cache)  // one call per output row
            } else {
                b = gemm(m: pixels, n: n, k: l.k, cache: cache)
            }
        case .conv:
            let kp = (l.k + 15) / 16 * 16                     // MQ_GEMM_K_PAD16: im2col rows of k16 codes
            let k4 = (l.k + 3) / 4 * 4                        // mq_conv.c hands the GEMM k rounded up to 4 when
            let kg = k4 <= expandMaxK ? k4 : kp               // that is <= MQ_DSP_PXW_WORDS, else k16
            let r = min(pixels, max(convMinRows, min(convMaxRows, convScratch / max(1, kp))))
            if r > 0 {
                b = pixels / r * gemm(m: r, n: n, k: kg, cache: cache) + gemm(m: pixels % r, n: n, k: kg, cache: cache)
            }
        case .depthwiseConv:
            b = n * (l.k + paramBytes)                        // weights and parameters once per layer
        default:
            break
        }
        return b + recordBytesPerOp
    }
}

/// The loop counts of a depthwise layer (8-bit, csrc/src/depthwise: the row driver mq_depthwise_conv.c /
/// mq_depthwise_conv_inplace.c and the core's microkernel mq_dw_s8_dsp.c / mq_dw_s8_v7m.c / mq_dw_s8_mve.c), the
/// features of boards/cost-model.json's depthwise terms; scripts/fit-cost-model.py dw_features computes the same.
public struct DepthwiseFeatures: Equatable, Sendable {
    /// Output pixels (per image x batch): the driver's tap pointers of each.
    public let pixels: Int
    /// Pixels x channel groups: the microkernel's group loop per pixel (bias, output stage, store).
    public let pixelGroups: Int
    /// Output pixels with a tap outside the input (the padding pixel: mq_dw_taps9_border / the border branch).
    public let border: Int
    /// Microkernel calls: runs of MQ_DW_TAP_BUFFER / taps pixels; in place one mq_depthwise_rows call per output
    /// row (out_h x ceil(out_w / run)), else runs span rows (ceil(pixels / run)); per image.
    public let runs: Int
    /// Runs x channel groups (each group's check and call per run).
    public let groupRuns: Int
    /// Group set-ups (requantization constants, 3x3 weights, bias): every group on the first run, then per later
    /// run the groups past the set-up cache (cachedGroups > 0: DSP / v7m), or every group every run (0: MVE).
    public let setups: Int

    /// MQ_DW_TAP_BUFFER (csrc/src/mq_microkernels.h): tap pointers per run.
    public static let tapBuffer = 144

    public init(pixels: Int, pixelGroups: Int, border: Int, runs: Int, groupRuns: Int, setups: Int) {
        self.pixels = pixels
        self.pixelGroups = pixelGroups
        self.border = border
        self.runs = runs
        self.groupRuns = groupRuns
        self.setups = setups
    }

    /// nil without the window block and rank-4 shapes. groupChannels: 4 (DSP / v7m: groups of 4 channels) or
    /// 16 (MVE: groups of 16, then one of 8, the rest one portable group).
    public init?(_ l: LayerInfo, groupChannels: Int, cachedGroups: Int) {
        let w = l.window, i = l.inputShape, o = l.outputShape
        guard w.count == 10, i.count == 4, o.count == 4 else { return nil }
        let (kh, kw, sh, sw, dh, dw) = (w[0], w[1], max(1, w[2]), max(1, w[3]), w[4], w[5])
        let (pt, pl) = (w[6], w[8])
        let batch = max(0, i[0]), inH = i[1], inW = i[2], outH = max(0, o[1]), outW = max(0, o[2]), c = max(0, o[3])
        let ntaps = max(1, kh * kw), chunk = max(1, Self.tapBuffer / ntaps)
        // outputs along one axis whose taps are all inside: ceil(pad / stride) ... (in - 1 - (k - 1) d + pad) / stride
        func inside(_ n: Int, _ pad: Int, _ stride: Int, _ k: Int, _ d: Int, _ len: Int) -> Int {
            let lo = (pad + stride - 1) / stride, last = len - 1 - (k - 1) * d + pad
            let hi = last >= 0 ? min(n - 1, last / stride) : -1
            return max(0, hi - lo + 1)
        }
        let px = outH * outW
        let interior = inside(outH, pt, sh, kh, dh, inH) * inside(outW, pl, sw, kw, dw, inW)
        let groups = groupChannels >= 16 ? c / 16 + (c % 16 >= 8 ? 1 : 0) + (c % 8 != 0 ? 1 : 0)
            : (c + max(1, groupChannels) - 1) / max(1, groupChannels)
        let r = (l.inPlace ? outH * ((outW + chunk - 1) / chunk) : (px + chunk - 1) / chunk) * batch
        pixels = px * batch
        pixelGroups = px * groups * batch
        border = (px - interior) * batch
        runs = r
        groupRuns = r * groups
        setups = cachedGroups > 0 ? groups + max(0, r - 1) * max(0, groups - cachedGroups) : r * groups
    }
}

/// A 1x1 convolution's microkernel calls and the DSP pair loop's group set-ups, from its shapes and the core's
/// kernel constants (docs/PERFORMANCE.md "1x1 convolution terms"; scripts/fit-cost-model.py conv1x1_features).
public struct Conv1x1Features: Equatable, Sendable {
    /// Microkernel calls: one over all pixels (stride 1, unpadded); in place one when the core's GEMM may write over
    /// its input (k <= inPlaceMaxK, n % 4 == 0, the DSP pair loop's k, MVE's row-outer path: no LUT), else one per
    /// MQ_CONV1X1_INPLACE_BLOCK pixels; strided (or padded) one per output row.
    public let calls: Int
    /// DSP (pairBlockWords > 0): per call the pair loop's blocks of pairBlockWords / k pairs x the 4-channel groups
    /// (each group set up once per block); 0 where the pair loop does not run.
    public let groupBlocks: Int

    /// MQ_CONV1X1_INPLACE_BLOCK (csrc/include/microquant/mq_kernels.h).
    public static let inPlaceBlock = 32

    public init(calls: Int, groupBlocks: Int) {
        self.calls = calls
        self.groupBlocks = groupBlocks
    }

    /// nil without rank-4 shapes.
    public init?(_ l: LayerInfo, pairBlockWords: Int, inPlaceMaxK: Int) {
        let i = l.inputShape, o = l.outputShape
        guard i.count == 4, o.count == 4 else { return nil }
        let b = max(0, i[0]), k = max(1, l.k), oh = max(0, o[1]), ow = max(0, o[2]), n = max(0, o[3])
        let px = b * oh * ow
        let pairK = (k % 16 == 0 && k <= 512) || (k % 4 == 0 && k <= 128)
        var rows: [Int]
        if oh != i[1] || ow != i[2] {
            rows = Array(repeating: ow, count: b * oh)
        } else if l.inPlace {
            let one = k <= inPlaceMaxK && n % 4 == 0 && (pairBlockWords > 0 ? pairK : !l.fusedLUT)
            rows = one ? [px] : stride(from: 0, to: px, by: Self.inPlaceBlock).map { min(Self.inPlaceBlock, px - $0) }
        } else {
            rows = [px]
        }
        calls = rows.count
        if pairBlockWords > 0 && pairK && n >= 4 {
            let perBlock = max(1, pairBlockWords / k)
            groupBlocks = rows.filter { $0 >= 2 }.reduce(0) { $0 + ($1 / 2 + perBlock - 1) / perBlock } * ((n + 3) / 4)
        } else {
            groupBlocks = 0
        }
    }
}

/// Where the firmware keeps the packed model, for the latency estimate (docs/PERFORMANCE.md "Latency per model
/// placement", docs/BOARDS.md "Where the model lives"):
/// - flash: read in place from flash in the board's factory read mode (board.json flash_wait_states,
///   flash_read_bytes, flash_data_cache_bytes): every flash data access stalls for the wait states;
/// - flash-single-bank: in place, in the board's other flash read mode (board.json flash_single_bank: on the
///   STM32L4+ the option bit DBANK = 0, 16-byte reads), which the user sets once with the option bytes;
/// - ram: the packed model copied to RAM (the firmware links it into .data, copied at start-up:
///   boards/CMakeLists.txt MQ_MODEL_IN_RAM), its reads at zero wait states; it costs its bytes of RAM.
/// Instruction fetches are modeled at zero wait states in every placement (the code runs from flash through the
/// instruction cache and prefetch, as before: the CPIs are the TRM's zero-wait timings).
public enum Placement: String, CaseIterable, Sendable {
    case flash
    case flashSingleBank = "flash-single-bank"
    case ram

    /// The placements a board supports: flash, flash-single-bank when board.json has the mode, ram.
    public static func supported(by board: BoardConfig) -> [Placement] {
        board.flash_single_bank == nil ? [.flash, .ram] : [.flash, .flashSingleBank, .ram]
    }
}

/// The fit report of a model on a board.
public struct FitReport: Sendable {
    public let board: BoardConfig
    public let modelBytes: Int
    public let firmwareCodeBytes: Int
    public let flashBytes: Int
    public let arenaBytes: Int
    public let ioBytes: Int
    public let stackBytes: Int
    public let staticRAMBytes: Int
    public let ramBytes: Int
    public let layers: [LayerEstimate]
    public let totalMicroseconds: Double
    public let costSource: String
    public let sizeSource: String
    /// The model has header flag MQ_MODEL_FLAG_ORT_FLOAT32 (calibrate --rounding onnxruntime): its GEMM ops run the
    /// portable loops, which the cost model does not describe (the estimate is then far too low).
    public let ortFloat32: Bool
    /// The core's cycle model, when boards/cycle-model.json has one (nil: cycles = instructions x
    /// cost-model.json's cycles_per_instruction).
    public let cycleModel: CycleModel.Core?
    /// Flash wait states per read and bytes per flash read used for the weight reads (0 when not modeled).
    public let flashWaitStates: Int
    public let flashReadBytes: Int
    /// Data cache bytes of the flash interface (board.json flash_data_cache_bytes; 0: none) and the read model.
    public let flashDataCacheBytes: Int
    public let flashReadPattern: String?
    /// Where the model is read from (the estimate's memory model) and the RAM the placement adds (ram: the packed
    /// model's bytes rounded up to its 16-byte alignment; else 0).
    public let placement: Placement
    public let modelRAMBytes: Int

    /// Whole-model cycles and, of which, flash wait states.
    public var totalCycles: Double { layers.reduce(0) { $0 + $1.cycles } }
    public var totalFlashWaitCycles: Double { layers.reduce(0) { $0 + $1.flashWaitCycles } }

    public var fitsFlash: Bool { flashBytes <= board.flash.size }
    public var fitsRAM: Bool { ramBytes <= board.ram.size }
    public var fits: Bool { fitsFlash && fitsRAM }

    /// Builds the report from the measured size table and the cost model.
    public init(model: PackedModel, board: BoardConfig, sizes: RuntimeSizeTable, costs: CostModel,
                cycles: CycleModel? = nil, placement: Placement = .flash) throws {
        self.board = board
        self.placement = placement
        if placement == .flashSingleBank && board.flash_single_bank == nil {
            throw BoardError.unsupportedPlacement(
                board: board.name, placement: placement.rawValue,
                reason: "has no single-bank flash read mode (board.json flash_single_bank); its placements: "
                    + Placement.supported(by: board).map(\.rawValue).joined(separator: ", "))
        }
        guard let size = sizes.cores[board.core] else {
            throw BoardError.invalidTable(path: "boards/runtime-size.json",
                                          reason: "no measurement for core \(board.core) (regenerate with scripts/measure-runtime-size.sh)")
        }
        guard let c = costs.cores[board.core] else {
            throw BoardError.invalidTable(path: "boards/cost-model.json", reason: "no coefficients for core \(board.core)")
        }
        modelBytes = model.bytes.count
        ortFloat32 = model.model.flags & UInt32(MQ_MODEL_FLAG_ORT_FLOAT32) != 0
        firmwareCodeBytes = size.firmware_code_bytes
        flashBytes = modelBytes + firmwareCodeBytes
        arenaBytes = model.arenaSize
        ioBytes = model.inputs.reduce(0) { $0 + $1.byteCount } + model.outputs.reduce(0) { $0 + $1.byteCount }
        stackBytes = board.stack_size
        staticRAMBytes = size.static_ram_bytes
        // ram: the model's bytes in .data (16-byte aligned); its load image stays in flash (flashBytes unchanged)
        modelRAMBytes = placement == .ram ? (modelBytes + 15) / 16 * 16 : 0
        ramBytes = arenaBytes + ioBytes + stackBytes + staticRAMBytes + modelRAMBytes
        let mhz = Double(board.clock_hz) / 1e6
        let cm = cycles?.cores[board.core]
        var ws = max(0, board.flash_wait_states ?? 0), line = max(0, board.flash_read_bytes ?? 0)
        var dcache = max(0, board.flash_data_cache_bytes ?? 0)
        switch placement {
        case .flash: break
        case .flashSingleBank:
            let mode = board.flash_single_bank!
            line = max(0, mode.flash_read_bytes)
            ws = max(0, mode.flash_wait_states ?? ws)
            dcache = max(0, mode.flash_data_cache_bytes ?? dcache)
        case .ram:
            ws = 0  // the model's reads (weights, parameters, records) hit SRAM at zero wait states
        }
        cycleModel = cm
        flashWaitStates = line > 0 ? ws : 0
        flashReadBytes = ws > 0 ? line : 0
        flashDataCacheBytes = dcache
        flashReadPattern = cm?.flash_read_pattern
        let ioCopy = Double(ioBytes) * (c.io_per_byte ?? 0)
        layers = model.layers().map { l in
            // the kernel's work (per grid pixel for a member of a pixel-streamed chain, below)
            var insns = 0.0
            // output pixels (GEMM rows): outputs / output channels
            let pixels = Double(l.outputElements / max(1, l.outputShape.last ?? 1))
            // The microkernels work in k-chunks of 16 (N4K16): a partial chunk costs about a full one.
            let chunkedMACs = Double(l.outputElements * ((l.k + 15) / 16 * 16))
            switch l.kind {
            case .fullyConnected:
                insns += chunkedMACs * c.fc_per_mac + Double(l.outputElements) * c.fc_per_output + (c.fc_per_call ?? 0)
                if l.fusedLUT { insns += Double(l.outputElements) * c.lut_epilogue_per_output }
            case .conv1x1 where l.repeats > 1:
                // a one-pixel member of a pixel-streamed chain runs as one prepared GEMM row per grid pixel (per
                // pixel, see below): the FC row's MAC and output terms, and instead of the whole layer's per-call
                // set-up (the streamed op prepares the member once per call) the row's own fixed cost,
                // stream_per_pixel_member (measured); a core without it: fc_per_call per pixel, as before
                insns += chunkedMACs * c.fc_per_mac + Double(l.outputElements) * c.fc_per_output
                    + (c.stream_per_pixel_member ?? c.fc_per_call ?? 0)
                if l.fusedLUT { insns += Double(l.outputElements) * c.lut_epilogue_per_output }
            case .conv1x1:
                insns += chunkedMACs * c.convPerMAC(k: l.k, kxk: false) + Double(l.outputElements) * c.conv_per_output
                    + (c.conv_per_call ?? 0)
                if let f = Conv1x1Features(l, pairBlockWords: c.gemm_pair_block_words ?? 0,
                                           inPlaceMaxK: c.conv1x1_inplace_max_k ?? 0) {
                    insns += Double(f.calls) * (c.conv_per_gemm_call ?? 0) + Double(f.groupBlocks) * (c.conv_per_group_block ?? 0)
                }
                if l.fusedLUT { insns += Double(l.outputElements) * c.lut_epilogue_per_output }
            case .conv:
                // im2col (pixels x k bytes gathered + per-pixel set-up), then the GEMM on the gathered rows
                insns += chunkedMACs * c.convPerMAC(k: l.k, kxk: true)
                    + Double(l.outputElements) * (c.convk_per_output ?? c.conv_per_output)
                    + pixels * (c.convk_per_pixel ?? 0) + pixels * Double(l.k) * (c.convk_per_im2col_byte ?? 0)
                if l.fusedLUT { insns += Double(l.outputElements) * c.lut_epilogue_per_output }
            case .depthwiseConv:
                insns += Double(l.macs) * (c.depthwise_per_mac ?? c.conv_per_mac)
                    + Double(l.outputElements) * (c.depthwise_per_output ?? c.conv_per_output)
                if let f = DepthwiseFeatures(l, groupChannels: c.depthwise_group_channels ?? 4,
                                             cachedGroups: c.depthwise_cached_groups ?? 0) {
                    insns += Double(f.pixels) * (c.depthwise_per_pixel ?? 0)
                        + Double(f.pixelGroups) * (c.depthwise_per_pixel_group ?? 0)
                        + Double(f.border) * (c.depthwise_per_border_pixel ?? 0)
                        + Double(f.runs) * (c.depthwise_per_run ?? 0)
                        + Double(f.groupRuns) * (c.depthwise_per_group_run ?? 0)
                        + Double(f.setups) * (c.depthwise_per_group_setup ?? 0)
                } else {
                    insns += pixels * (c.depthwise_per_pixel ?? 0)
                }
                if l.fusedLUT { insns += Double(l.outputElements) * c.lut_epilogue_per_output }
            case .averagePool, .maxPool:
                insns += Double(l.outputElements * l.k) * (c.pool_per_tap ?? c.add_per_element)
                    + Double(l.outputElements) * (c.pool_per_output ?? 0)
            case .mean: insns += Double(l.outputElements * l.k) * (c.mean_per_element ?? c.add_per_element)
            case .mul: insns += Double(l.outputElements) * (c.mul_per_element ?? c.add_per_element)
            case .requantize: insns += Double(l.outputElements) * (c.requantize_per_element ?? c.add_per_element)
            case .pad, .concat: insns += Double(l.outputElements) * c.copy_per_byte
            case .lut: insns += Double(l.outputElements) * c.lut_per_element
            case .add: insns += Double(l.outputElements) * c.add_per_element
            case .softmax, .softmaxTable: insns += Double(l.outputElements) * c.softmax_per_element
            case .transpose: insns += Double(l.outputElements) * c.transpose_per_element
            case .reshape: insns += l.copies ? Double(l.outputElements) * c.copy_per_byte : 0
            case .fullyConnectedS16, .convS16:
                // no 16x8 cost model yet: the 8-bit kernel's per-MAC cost (docs/PERFORMANCE.md has the measured ratio)
                insns += chunkedMACs * c.conv_per_mac + Double(l.outputElements) * c.conv_per_output
            case .depthwiseConvS16:
                insns += Double(l.macs) * (c.depthwise_per_mac ?? c.conv_per_mac)
                    + Double(l.outputElements) * (c.depthwise_per_output ?? c.conv_per_output)
            case .averagePoolS16, .maxPoolS16:
                insns += Double(l.outputElements * l.k) * (c.pool_per_tap ?? c.add_per_element)
            case .addS16, .mulS16, .quantizeS16, .requantizeS16To8, .rescaleS16:
                insns += Double(l.outputElements) * c.add_per_element
            case .lut16: insns += Double(l.outputElements) * c.lut_per_element
            case .softmaxS16: insns += Double(l.outputElements) * c.softmax_per_element
            case .streamFC, .streamFCS16:
                // no cost model for the pixel-streamed head's partial sums yet: the 1x1 kernel's per-MAC cost
                insns += chunkedMACs * c.conv_per_mac + Double(l.outputElements) * c.conv_per_output
                    + Double(l.streamGridPixels) * (c.stream_per_pixel ?? 0)
            case .rowStream:
                // the members are charged as their layers (the same kernel work on row views); the segment adds a
                // kernel call per member output row (the per-call set-up a whole layer pays once) and the rings'
                // double-write copies
                insns += Double(l.rowCalls) * (c.row_stream_per_row ?? c.fc_per_call ?? c.per_op)
                    + Double(l.ringCopyBytes) * c.copy_per_byte
            case .unknown: break
            }
            // a member of a pixel-streamed chain runs once per grid pixel; the interpreter's share (per_op: record and
            // parameter decode, the streamed op prepares each member once per call) once per layer, and the first
            // layer also carries the copies of the model's inputs and outputs
            insns = insns * Double(max(l.repeats, 1)) + c.per_op + (l.index == 0 ? ioCopy : 0)
            guard let cm else {
                let cyc = insns * c.cycles_per_instruction
                return LayerEstimate(layer: l, instructions: insns, cycles: cyc, microseconds: cyc / mhz)
            }
            // The model runs in place: its data are read from flash, each flash access (flash_read_bytes, no
            // prefetch on data reads) stalling the core for the wait states (docs/PERFORMANCE.md "Flash wait states").
            var wait = 0.0, waitNoCache = 0.0
            if ws > 0, line > 0 {
                if cm.flash_read_pattern == "dsp_n4k16" {
                    // the DSP kernels' reads (FlashReads), the data cache reusing what fits it
                    wait = Double((FlashReads.layer(l, cache: dcache) + line - 1) / line * ws)
                    waitNoCache = Double((FlashReads.layer(l, cache: 0) + line - 1) / line * ws)
                } else if (l.kind == .fullyConnected || l.kind == .conv1x1 || l.kind == .conv), let n = l.outputShape.last, n > 0 {
                    // every pass of rows_per_weight_pass rows streams the n x k weights (nothing else counted)
                    let rows = l.outputElements / n
                    let passes = (rows + max(1, cm.rows_per_weight_pass) - 1) / max(1, cm.rows_per_weight_pass)
                    wait = Double((n * l.k * passes + line - 1) / line * ws)
                    waitNoCache = wait
                }
            }
            // the kernel's instructions at its kind's CPI, the interpreter's share (per_op) at "other"'s
            let share = c.per_op + (l.index == 0 ? ioCopy : 0)
            let kernel = max(0, insns - share), interp = insns - kernel
            let cyc = kernel * cm.cpi(forKey: CycleModel.Core.cpiKey(l.kind)) + interp * cm.cpi(forKey: "other") + wait
            return LayerEstimate(layer: l, instructions: insns, cycles: cyc, flashWaitCycles: wait,
                                 flashWaitCyclesNoCache: waitNoCache, microseconds: cyc / mhz)
        }
        totalMicroseconds = layers.reduce(0) { $0 + $1.microseconds }
        costSource = c.source
        sizeSource = "\(sizes.generated_by) (\(sizes.compiler), \(sizes.flags), firmware for \(size.board))"
    }

    /// The report as text (the `simulate --board` output).
    public func render() -> String {
        func kib(_ n: Int) -> String { String(format: "%9d B (%8.1f KiB)", n, Double(n) / 1024) }
        func pct(_ a: Int, _ b: Int) -> String { String(format: "%5.1f%%", 100 * Double(a) / Double(b)) }
        var s = "board \(board.name): \(board.core)\(board.dsp ? " DSP" : "")\(board.mve ? " MVE" : ""), "
        s += "flash \(board.flash.size / 1024) KiB, RAM \(board.ram.size / 1024) KiB, \(board.clock_hz / 1_000_000) MHz\n"
        s += "flash  model        \(kib(modelBytes))\n"
        s += "       firmware     \(kib(firmwareCodeBytes))   runtime+app code, measured\n"
        s += "       total        \(kib(flashBytes))   \(pct(flashBytes, board.flash.size)) of \(board.flash.size / 1024) KiB: \(fitsFlash ? "fits" : "DOES NOT FIT")\n"
        s += "RAM    arena        \(kib(arenaBytes))\n"
        s += "       I/O buffers  \(kib(ioBytes))\n"
        s += "       stack        \(kib(stackBytes))   linker reserve (board.json stack_size)\n"
        s += "       static       \(kib(staticRAMBytes))   firmware .data/.bss, measured\n"
        if modelRAMBytes > 0 {
            s += "       model copy   \(kib(modelRAMBytes))   --placement ram: the packed model in .data\n"
        }
        s += "       total        \(kib(ramBytes))   \(pct(ramBytes, board.ram.size)) of \(board.ram.size / 1024) KiB: \(fitsRAM ? "fits" : "DOES NOT FIT")\n"
        s += "sizes measured by: \(sizeSource)\n"
        s += "latency ESTIMATE (\(board.core) at \(board.clock_hz / 1_000_000) MHz, placement \(placement.rawValue): "
            + "\(placementText); coefficients: \(costSource))\n"
        if ortFloat32 {
            s += "  NOT MODELED: this model uses --rounding onnxruntime, whose convolutions and FC run portable C loops with "
                + "the float32 output stage emulated (6-9x the instructions of the fast kernels on Cortex-M4, docs/IMPORT.md); "
                + "the figures below are the fast kernels' and far too low\n"
        }
        if let cm = cycleModel {
            let wait = layers.reduce(0) { $0 + $1.flashWaitCycles }
            let insns = layers.reduce(0) { $0 + $1.instructions }
            let busy = layers.reduce(0) { $0 + $1.cycles - $1.flashWaitCycles }
            // effective CPI of this model (= cpi without a per-kind table)
            s += String(format: "  cycle model: cycles = instructions x CPI %.3f", insns > 0 ? busy / insns : cm.cpi)
            if let by = cm.cpi_by_kind, !by.isEmpty {
                let parts = ["fully_connected", "conv", "depthwise", "pool", "other"].compactMap { k in
                    by[k].map { "\(k) " + String(format: "%.3f", $0) }
                }
                s += " (this model's mix of the per-kind CPIs: " + parts.joined(separator: ", ") + ")"
            }
            if flashWaitStates > 0 {
                let noCache = layers.reduce(0) { $0 + $1.flashWaitCyclesNoCache }
                s += " + \(flashWaitStates) flash wait states per \(flashReadBytes)-byte flash access (board.json): \(Int(wait)) wait cycles"
                if flashReadPattern == "dsp_n4k16" {
                    s += " (the DSP kernels' weight, parameter and op-record reads"
                    s += flashDataCacheBytes > 0
                        ? ", \(flashDataCacheBytes)-byte data cache; without its reuse \(Int(noCache)))\n"
                        : ", no data cache)\n"
                } else {
                    s += " (every pass streams the weights)\n"
                }
            } else if placement == .ram {
                s += " (model in RAM: its reads at zero wait states, +\(modelRAMBytes) B of RAM)\n"
            } else {
                s += " (board.json: no flash wait states, memory at zero wait states)\n"
            }
            s += "  CPI source: \(cm.source)\n"
        }
        s += "  #  op                  output             MACs     instructions       cycles       us\n"
        for e in layers {
            let l = e.layer
            let name = l.kind.rawValue + (l.fusedLUT ? "+lut" : "")
            let shape = "[" + l.outputShape.map(String.init).joined(separator: "x") + "]"
            func pad(_ t: String, _ n: Int) -> String { t.count >= n ? t : t + String(repeating: " ", count: n - t.count) }
            s += String(format: "%3d  ", l.index) + pad(name, 20) + pad(shape, 14)
            s += String(format: "%9d %16.0f %12.0f %8.1f\n", l.macs, e.instructions, e.cycles, e.microseconds)
        }
        s += String(format: "  total (estimate)  %.1f us = %.3f ms\n", totalMicroseconds, totalMicroseconds / 1000)
        s += fits ? "fit: the model fits \(board.name)\n" : "fit: the model does NOT fit \(board.name)\n"
        return s
    }

    /// What the placement means on this board (one line).
    public var placementText: String {
        switch placement {
        case .flash:
            return (board.flash_wait_states ?? 0) > 0
                ? "in place in flash, factory mode: \(board.flash_read_bytes ?? 0)-byte reads"
                : "in place in flash, no flash wait states on this board"
        case .flashSingleBank:
            let m = board.flash_single_bank!
            return "in place in flash, single-bank mode: \(m.flash_read_bytes)-byte reads; \(m.how)"
        case .ram:
            return "copied to RAM at start-up: +\(modelRAMBytes) B of RAM, read at zero wait states"
        }
    }

    /// One line per placement (the reports of one model on one board): latency, cycles, wait cycles, RAM and fit.
    /// `simulate --board` prints it; scripts/bench-models.sh parses the "  placement NAME ..." lines.
    public static func renderPlacements(_ reports: [FitReport]) -> String {
        guard let first = reports.first else { return "" }
        var s = "placements on \(first.board.name) (latency ESTIMATE by where the model is read from; "
        s += "--placement NAME prints that one's table and, with --qemu, builds it):\n"
        for r in reports {
            let name = r.placement.rawValue + String(repeating: " ", count: max(0, 18 - r.placement.rawValue.count))
            s += "  placement " + name
            s += String(format: "%9.3f ms %10.0f cycles %9.0f wait cycles  RAM %7d B %5.1f%%: ", r.totalMicroseconds / 1000,
                        r.totalCycles, r.totalFlashWaitCycles, r.ramBytes, 100 * Double(r.ramBytes) / Double(r.board.ram.size))
            s += (r.fits ? "fits" : "DOES NOT FIT") + "  (" + r.placementText + ")\n"
        }
        return s
    }
}
