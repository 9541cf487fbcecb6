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
//         CPI (instruction-class mix x the core's instruction timings) + flash wait states of the weight
//         reads (board.json flash_wait_states per flash_read_bytes read).

import Foundation

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
        /// KxK convolution (im2col + GEMM); absent: the conv (1x1) coefficients.
        public let convk_per_mac: Double?
        public let convk_per_output: Double?
        public let depthwise_per_mac: Double?
        public let depthwise_per_output: Double?
        /// Pools: per window tap of each output.
        public let pool_per_tap: Double?
        /// MEAN: per input value.
        public let mean_per_element: Double?
        public let mul_per_element: Double?
        public let requantize_per_element: Double?
        public let cycles_per_instruction: Double
        /// Where these numbers come from.
        public let source: String
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
        /// The DSP kernels' blocked pair path (mq_gemm_s8_n4k16_dsp.c mq_dsp_pairs_blocked), absent on the other
        /// cores: the weights of a layer are read once per block of pairs instead of once per pair.
        public let weight_pass_blocks: WeightPassBlocks?
        /// CPI per layer kind (keys fully_connected, conv, depthwise, pool, other; docs/PERFORMANCE.md "Cycle
        /// model"): a layer's kernel instructions use its kind's CPI, its interpreter share (per_op) "other".
        /// Absent, or a kind absent: `cpi`.
        public let cpi_by_kind: [String: Double]?
        public let source: String

        /// A GEMM call of m >= 2 rows with k % 4 == 0, k <= max_k and n >= 4 expands its rows into q15 lanes
        /// lane_words / k pairs at a time and reads each pair of channels' weights once per such block (expanded
        /// to lanes in RAM): floor(m / 2) pairs take ceil(pairs / (lane_words / k)) passes, an odd last row one
        /// more. The layers' calls: FC one call of all rows; 1x1 conv one call (in place: inplace_1x1_rows pixels
        /// per call, MQ_CONV1X1_INPLACE_BLOCK; strided or padded: one per output row); KxK conv one call per im2col block of clamp(im2col_scratch_bytes
        /// / k16, im2col_min_rows, im2col_max_rows) pixels with k16 = k rounded up to 16 (mq_conv_internal.h),
        /// the GEMM's k being k rounded up to 4 when that is <= max_k, else k16 (mq_conv.c).
        public struct WeightPassBlocks: Codable, Sendable {
            public let lane_words: Int
            public let max_k: Int
            public let inplace_1x1_rows: Int
            public let im2col_scratch_bytes: Int
            public let im2col_min_rows: Int
            public let im2col_max_rows: Int
        }

        /// Passes over the weights of a layer of `rows` GEMM rows (pixels or batch rows), n outputs and the
        /// GEMM's k (rounded to 16 for KxK convs), in calls of call_rows rows (docs/PERFORMANCE.md "Cycle model").
        public func weightPasses(rows: Int, n: Int, k: Int, callRows: Int) -> Int {
            let rpp = max(1, rows_per_weight_pass)
            let step = max(1, callRows)
            var passes = 0
            var left = max(0, rows)
            while left > 0 {
                let m = min(left, step)
                left -= m
                if let b = weight_pass_blocks, m >= 2, k > 0, k % 4 == 0, k <= b.max_k, n >= 4 {
                    let perBlock = max(1, b.lane_words / k)
                    passes += (m / 2 + perBlock - 1) / perBlock + m % 2
                } else {
                    passes += (m + rpp - 1) / rpp
                }
            }
            return passes
        }

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
    public let microseconds: Double
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
    /// The core's cycle model, when boards/cycle-model.json has one (nil: cycles = instructions x
    /// cost-model.json's cycles_per_instruction).
    public let cycleModel: CycleModel.Core?
    /// Flash wait states per read and bytes per flash read used for the weight reads (0 when not modeled).
    public let flashWaitStates: Int
    public let flashReadBytes: Int

    public var fitsFlash: Bool { flashBytes <= board.flash.size }
    public var fitsRAM: Bool { ramBytes <= board.ram.size }
    public var fits: Bool { fitsFlash && fitsRAM }

    /// Builds the report from the measured size table and the cost model.
    public init(model: PackedModel, board: BoardConfig, sizes: RuntimeSizeTable, costs: CostModel,
                cycles: CycleModel? = nil) throws {
        self.board = board
        guard let size = sizes.cores[board.core] else {
            throw BoardError.invalidTable(path: "boards/runtime-size.json",
                                          reason: "no measurement for core \(board.core) (regenerate with scripts/measure-runtime-size.sh)")
        }
        guard let c = costs.cores[board.core] else {
            throw BoardError.invalidTable(path: "boards/cost-model.json", reason: "no coefficients for core \(board.core)")
        }
        modelBytes = model.bytes.count
        firmwareCodeBytes = size.firmware_code_bytes
        flashBytes = modelBytes + firmwareCodeBytes
        arenaBytes = model.arenaSize
        ioBytes = model.inputs.reduce(0) { $0 + $1.byteCount } + model.outputs.reduce(0) { $0 + $1.byteCount }
        stackBytes = board.stack_size
        staticRAMBytes = size.static_ram_bytes
        ramBytes = arenaBytes + ioBytes + stackBytes + staticRAMBytes
        let mhz = Double(board.clock_hz) / 1e6
        let cm = cycles?.cores[board.core]
        let ws = max(0, board.flash_wait_states ?? 0), line = max(0, board.flash_read_bytes ?? 0)
        cycleModel = cm
        flashWaitStates = line > 0 ? ws : 0
        flashReadBytes = ws > 0 ? line : 0
        layers = model.layers().map { l in
            var insns = c.per_op
            // The microkernels work in k-chunks of 16 (N4K16): a partial chunk costs about a full one.
            let chunkedMACs = Double(l.outputElements * ((l.k + 15) / 16 * 16))
            switch l.kind {
            case .fullyConnected:
                insns += chunkedMACs * c.fc_per_mac + Double(l.outputElements) * c.fc_per_output + (c.fc_per_call ?? 0)
                if l.fusedLUT { insns += Double(l.outputElements) * c.lut_epilogue_per_output }
            case .conv1x1:
                insns += chunkedMACs * c.conv_per_mac + Double(l.outputElements) * c.conv_per_output + (c.conv_per_call ?? 0)
                if l.fusedLUT { insns += Double(l.outputElements) * c.lut_epilogue_per_output }
            case .conv:
                insns += chunkedMACs * (c.convk_per_mac ?? c.conv_per_mac)
                    + Double(l.outputElements) * (c.convk_per_output ?? c.conv_per_output)
                if l.fusedLUT { insns += Double(l.outputElements) * c.lut_epilogue_per_output }
            case .depthwiseConv:
                insns += Double(l.macs) * (c.depthwise_per_mac ?? c.conv_per_mac)
                    + Double(l.outputElements) * (c.depthwise_per_output ?? c.conv_per_output)
                if l.fusedLUT { insns += Double(l.outputElements) * c.lut_epilogue_per_output }
            case .averagePool, .maxPool:
                insns += Double(l.outputElements * l.k) * (c.pool_per_tap ?? c.add_per_element)
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
            case .unknown: break
            }
            guard let cm else {
                let cyc = insns * c.cycles_per_instruction
                return LayerEstimate(layer: l, instructions: insns, cycles: cyc, microseconds: cyc / mhz)
            }
            // Weights stream from flash (the model runs in place): one read of flash_read_bytes per
            // wait-state penalty, once per pass over the weights (rows_per_weight_pass rows share a pass).
            var wait = 0.0
            // (FC and 1x1 / KxK conv; depthwise weights, a few KB, are not modeled.)
            if (l.kind == .fullyConnected || l.kind == .conv1x1 || l.kind == .conv), ws > 0, line > 0, let n = l.outputShape.last, n > 0 {
                let rows = l.outputElements / n
                var kg = l.k, callRows = rows
                if let b = cm.weight_pass_blocks {
                    switch l.kind {
                    case .conv:
                        let k16 = (l.k + 15) / 16 * 16, k4 = (l.k + 3) / 4 * 4
                        kg = k4 <= b.max_k ? k4 : k16
                        callRows = min(max(b.im2col_scratch_bytes / max(1, k16), b.im2col_min_rows), b.im2col_max_rows)
                    case .conv1x1 where l.inPlace: callRows = b.inplace_1x1_rows
                    case .conv1x1 where l.rowwise1x1 && l.outputShape.count == 4:
                        callRows = l.outputShape[2]   // per output row (padded rows: up to 3 calls, counted as one)
                    default: break
                    }
                }
                let passes = cm.weightPasses(rows: rows, n: n, k: kg, callRows: callRows)
                let bytes = n * l.k * passes
                wait = Double((bytes + line - 1) / line * ws)
            }
            // the kernel's instructions at its kind's CPI, the interpreter's share (per_op) at "other"'s
            let kernel = max(0, insns - c.per_op), interp = insns - kernel
            let cyc = kernel * cm.cpi(forKey: CycleModel.Core.cpiKey(l.kind)) + interp * cm.cpi(forKey: "other") + wait
            return LayerEstimate(layer: l, instructions: insns, cycles: cyc, flashWaitCycles: wait, microseconds: cyc / mhz)
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
        s += "       total        \(kib(ramBytes))   \(pct(ramBytes, board.ram.size)) of \(board.ram.size / 1024) KiB: \(fitsRAM ? "fits" : "DOES NOT FIT")\n"
        s += "sizes measured by: \(sizeSource)\n"
        s += "latency ESTIMATE (\(board.core) at \(board.clock_hz / 1_000_000) MHz; coefficients: \(costSource))\n"
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
            s += flashWaitStates > 0
                ? " + \(flashWaitStates) flash wait states per \(flashReadBytes)-byte weight read (board.json): \(Int(wait)) wait cycles\n"
                : " (board.json: no flash wait states, memory at zero wait states)\n"
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
}
