// Board configs, fit report, device output parsing, C array emission, error statistics.

import Foundation
import MicroQuantC
import MQSimulation
import XCTest

final class BoardTests: XCTestCase {
    let catalog = BoardCatalog(directory: repoRoot.appendingPathComponent("boards"))

    func testEveryBoardConfigMatchesItsLinkerScript() throws {
        let names = catalog.names()
        XCTAssertEqual(names, ["mps2-an385", "mps2-an386", "mps2-an500", "mps3-an547",
                               "nrf52840-dk", "nucleo-l4r5zi", "rpi-pico", "stm32f746g-disco"])
        for name in names {
            let b = try catalog.board(named: name)
            let ld = try String(contentsOf: catalog.directory.appendingPathComponent(name).appendingPathComponent(b.linker_script), encoding: .utf8)
            func region(_ r: String) -> (UInt64, Int)? {
                guard let line = ld.split(separator: "\n").first(where: {
                    $0.trimmingCharacters(in: .whitespaces).hasPrefix(r + " ") && $0.contains("ORIGIN")
                }) else { return nil }
                let f = line.replacingOccurrences(of: ",", with: " ").split(separator: " ")
                guard let o = f.firstIndex(of: "ORIGIN"), let l = f.firstIndex(of: "LENGTH") else { return nil }
                let origin = UInt64(f[o + 2].dropFirst(2), radix: 16)!
                let len = f[l + 2]
                let mult = len.hasSuffix("M") ? 1 << 20 : (len.hasSuffix("K") ? 1 << 10 : 1)
                return (origin, Int(len.dropLast())! * mult)
            }
            let flash = try XCTUnwrap(region("FLASH"), name), ram = try XCTUnwrap(region("RAM"), name)
            XCTAssertEqual(flash.0, b.flash.base, name)
            XCTAssertEqual(flash.1, b.flash.size, name)
            XCTAssertEqual(ram.0, b.ram.base, name)
            XCTAssertEqual(ram.1, b.ram.size, name)
            XCTAssertTrue(ld.contains("__mq_stack_size = \(b.stack_size / 1024)K"), name)
            XCTAssertTrue(FileManager.default.fileExists(atPath: catalog.directory.appendingPathComponent(name).appendingPathComponent(b.startup).path))
            XCTAssertEqual(b.mve, b.core == "cortex-m55", name)
            XCTAssertEqual(b.dsp, !["cortex-m0plus", "cortex-m3"].contains(b.core), name)
        }
        let emulated = try names.filter { try catalog.board(named: $0).qemu_machine != nil }
        XCTAssertEqual(emulated, ["mps2-an385", "mps2-an386", "mps2-an500", "mps3-an547"])
        XCTAssertThrowsError(try catalog.board(named: "nope")) { e in
            XCTAssertTrue("\(e)".contains("unknown board 'nope'"))
        }
    }

    func testEveryBoardCoreHasSizesAndCosts() throws {
        let sizes = try catalog.runtimeSizes(), costs = try catalog.costModel()
        for name in catalog.names() {
            let b = try catalog.board(named: name)
            let s = try XCTUnwrap(sizes.cores[b.core], "no runtime size for \(b.core)")
            XCTAssertGreaterThan(s.firmware_code_bytes, 1000)
            XCTAssertGreaterThan(s.runtime_library_bytes, 1000)
            XCTAssertNotNil(costs.cores[b.core], "no cost model for \(b.core)")
        }
    }

    func testFitReportArithmetic() throws {
        let model = try PackedModel(contentsOf: repoRoot.appendingPathComponent("boards/common/demo.mqm"))
        let board = try catalog.board(named: "nucleo-l4r5zi")
        let sizes = try catalog.runtimeSizes(), costs = try catalog.costModel()
        let r = try FitReport(model: model, board: board, sizes: sizes, costs: costs)
        let s = sizes.cores["cortex-m4"]!
        XCTAssertEqual(r.flashBytes, model.bytes.count + s.firmware_code_bytes)
        let io = model.inputs.reduce(0) { $0 + $1.byteCount } + model.outputs.reduce(0) { $0 + $1.byteCount }
        XCTAssertEqual(io, 32 + 200 + 24 + 24 + 108)
        XCTAssertEqual(r.ramBytes, model.arenaSize + io + board.stack_size + s.static_ram_bytes)
        XCTAssertTrue(r.fits)
        // latency: FC 32->24 = 768 MACs, 24 outputs with a fused LUT, at the M4's coefficients, plus the per-op cost
        // and (first layer) the interpreter's copy of the model's input and output bytes
        let c = costs.cores["cortex-m4"]!
        XCTAssertEqual(r.layers[0].instructions,
                       768 * c.fc_per_mac + 24 * (c.fc_per_output + c.lut_epilogue_per_output) + (c.fc_per_call ?? 0) + c.per_op
                       + Double(io) * (c.io_per_byte ?? 0), accuracy: 1e-9)
        // FC 24->24: k = 24 is counted as two 16-wide chunks (32) per output
        XCTAssertEqual(r.layers[1].instructions, 24 * 32 * c.fc_per_mac + 24 * c.fc_per_output + (c.fc_per_call ?? 0) + c.per_op,
                       accuracy: 1e-9)
        XCTAssertEqual(r.layers[6].instructions, 24 * c.lut_per_element + c.per_op, accuracy: 1e-9)
        XCTAssertEqual(r.layers[0].microseconds, r.layers[0].instructions * c.cycles_per_instruction / 120, accuracy: 1e-9)
        XCTAssertEqual(r.totalMicroseconds, r.layers.reduce(0) { $0 + $1.microseconds }, accuracy: 1e-9)
        XCTAssertTrue(r.render().contains("ESTIMATE"))
        // the same model against a board with too little flash
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(board)) as! [String: Any]
        json["flash"] = ["base": 0, "size": r.flashBytes - 1, "what": "tiny"]
        let tiny = try JSONDecoder().decode(BoardConfig.self, from: JSONSerialization.data(withJSONObject: json))
        let t = try FitReport(model: model, board: tiny, sizes: sizes, costs: costs)
        XCTAssertFalse(t.fitsFlash)
        XCTAssertTrue(t.fitsRAM)
        XCTAssertTrue(t.render().contains("DOES NOT FIT"))
    }

    /// The KxK convolution's im2col terms, the GEMM k ranges, the depthwise per-pixel term and the I/O copy of
    /// boards/cost-model.json (docs/PERFORMANCE.md "Cost model per core"), on convnet.mqm: layer 1 is a 3x3 conv,
    /// 3 -> 8 channels, 5x5 output pixels (k = 27, 200 outputs), layer 2 a 3x3 depthwise, 16 channels, 5x5 pixels.
    func testKxKConvCostModelTerms() throws {
        let model = try PackedModel(contentsOf: repoRoot.appendingPathComponent("csrc/tests/fixtures/convnet.mqm"))
        let board = try catalog.board(named: "mps2-an386")
        let sizes = try catalog.runtimeSizes(), costs = try catalog.costModel()
        let base = try JSONSerialization.jsonObject(with: JSONEncoder().encode(costs.cores["cortex-m4"]!)) as! [String: Any]
        func report(_ change: [String: Any]) throws -> FitReport {
            let table: [String: Any] = ["note": costs.note, "cores": ["cortex-m4": base.merging(change) { $1 }]]
            let changed = try JSONDecoder().decode(CostModel.self, from: JSONSerialization.data(withJSONObject: table))
            return try FitReport(model: model, board: board, sizes: sizes, costs: changed)
        }
        let c = costs.cores["cortex-m4"]!
        let r = try report([:])
        let conv = r.layers[1], dw = r.layers[2]
        XCTAssertEqual(conv.layer.kind, .conv)
        XCTAssertEqual(conv.layer.k, 27)
        XCTAssertEqual(conv.layer.outputElements, 200)
        XCTAssertEqual(dw.layer.kind, .depthwiseConv)
        // the formula: per chunked MAC of the k range (27 <= 288: the first) + per output + per pixel + per im2col byte
        let byK = try XCTUnwrap(c.convk_per_mac_by_k, "the fitted cores have per-k-range GEMM costs")
        // the k bounds are the DSP GEMM's loop bounds, read from the kernel source: expanded-weight pairs up to
        // MQ_DSP_PXW_WORDS, lane pairs up to MQ_DSP_PX_MAX_K
        let dsp = try String(contentsOf: repoRoot.appendingPathComponent("csrc/src/gemm/mq_gemm_s8_n4k16_dsp.c"), encoding: .utf8)
        func define(_ name: String) -> Int? {
            for line in dsp.split(separator: "\n") {
                let f = line.split(separator: " ")
                if f.count >= 3, f[0] == "#define", f[1] == name { return Int(f[2]) }
            }
            return nil
        }
        let pxw = try XCTUnwrap(define("MQ_DSP_PXW_WORDS")), pxMax = try XCTUnwrap(define("MQ_DSP_PX_MAX_K"))
        XCTAssertEqual(c.gemm_k_bounds, [pxw, pxMax])
        XCTAssertEqual(conv.instructions, c.per_op + 200 * 32 * byK[0] + 200 * (c.convk_per_output ?? 0)
                       + 25 * (c.convk_per_pixel ?? 0) + 25 * 27 * (c.convk_per_im2col_byte ?? 0), accuracy: 1e-6)
        XCTAssertGreaterThan(c.convk_per_im2col_byte ?? 0, 0)
        // each new coefficient moves the KxK estimate by its feature, and only the KxK layer
        func delta(_ change: [String: Any], layer: Int) throws -> Double {
            try report(change).layers[layer].instructions - r.layers[layer].instructions
        }
        let im2col = (c.convk_per_im2col_byte ?? 0) + 1, pixel = (c.convk_per_pixel ?? 0) + 2
        XCTAssertEqual(try delta(["convk_per_im2col_byte": im2col], layer: 1), 25 * 27, accuracy: 1e-6)
        XCTAssertEqual(try delta(["convk_per_im2col_byte": im2col], layer: 2), 0)
        XCTAssertEqual(try delta(["convk_per_pixel": pixel], layer: 1), 25 * 2, accuracy: 1e-6)
        XCTAssertEqual(try delta(["convk_per_mac_by_k": [byK[0] + 1, byK[1], byK[2]]], layer: 1), 200 * 32, accuracy: 1e-6)
        XCTAssertEqual(try delta(["convk_per_mac_by_k": [byK[0], byK[1] + 1, byK[2]]], layer: 1), 0)
        // k = 27 above a bound of 16: the second range's cost
        XCTAssertEqual(try delta(["gemm_k_bounds": [16], "convk_per_mac_by_k": [byK[0], byK[0] + 1]], layer: 1),
                       200 * 32, accuracy: 1e-6)
        // a list shorter than the ranges, or none: the plain convk_per_mac (never a trap)
        let plain = c.convk_per_mac ?? c.conv_per_mac
        XCTAssertEqual(try delta(["gemm_k_bounds": [1, 2, 3], "convk_per_mac_by_k": [byK[0]]], layer: 1),
                       200 * 32 * (plain - byK[0]), accuracy: 1e-6)
        XCTAssertEqual(try delta(["convk_per_mac_by_k": NSNull()], layer: 1), 200 * 32 * (plain - byK[0]), accuracy: 1e-6)
        // depthwise per pixel: 25 pixels of 16 channels
        XCTAssertEqual(try delta(["depthwise_per_pixel": (c.depthwise_per_pixel ?? 0) + 1], layer: 2), 25, accuracy: 1e-6)
        // the depthwise loop terms (3x3, dilation 2, pads 2, 5x5 -> 5x5x16, not in place): 24 border pixels (only the
        // centre has every tap inside), runs of 16 pixels -> 2, 4 groups of 4 channels (M4) -> 100 pixel groups, 8
        // group runs, 4 set-ups (all 4 groups cached)
        XCTAssertEqual(dw.layer.window, [3, 3, 1, 1, 2, 2, 2, 2, 2, 2])
        XCTAssertEqual(c.depthwise_group_channels, 4)
        XCTAssertEqual(c.depthwise_cached_groups, 16)
        for (key, feature) in [("depthwise_per_pixel_group", 100.0), ("depthwise_per_border_pixel", 24),
                               ("depthwise_per_run", 2), ("depthwise_per_group_run", 8), ("depthwise_per_group_setup", 4)] {
            let v = ((base[key] as? Double) ?? 0) + 3
            XCTAssertEqual(try delta([key: v], layer: 2), 3 * feature, accuracy: 1e-6, key)
            XCTAssertEqual(try delta([key: v], layer: 1), 0, key)
        }
        // the groups are the core's: 16 channels as one MVE group of 16, no cache (set up every run: 2)
        XCTAssertEqual(try delta(["depthwise_group_channels": 16, "depthwise_cached_groups": 0,
                                  "depthwise_per_group_setup": (c.depthwise_per_group_setup ?? 0) + 1], layer: 2),
                       // pixel groups 100 -> 25, group runs 8 -> 2, set-ups 4 -> 2 (at the coefficient + 1)
                       -75 * (c.depthwise_per_pixel_group ?? 0) - 6 * (c.depthwise_per_group_run ?? 0)
                           + 2 * ((c.depthwise_per_group_setup ?? 0) + 1) - 4 * (c.depthwise_per_group_setup ?? 0),
                       accuracy: 1e-6)
        // pools: per output (the rounding division and store per channel) next to per tap
        let pool = r.layers[3]
        XCTAssertTrue([.averagePool, .maxPool].contains(pool.layer.kind))
        XCTAssertEqual(try delta(["pool_per_output": (c.pool_per_output ?? 0) + 1], layer: 3),
                       Double(pool.layer.outputElements), accuracy: 1e-6)
        XCTAssertEqual(try delta(["pool_per_output": (c.pool_per_output ?? 0) + 1], layer: 2), 0)
        // the model's input and output bytes (216 + 36 + 16 + 216), copied by the interpreter, with the first layer
        XCTAssertEqual(r.ioBytes, 484)
        XCTAssertEqual(try delta(["io_per_byte": (c.io_per_byte ?? 0) + 1], layer: 0), 484, accuracy: 1e-6)
        XCTAssertEqual(try delta(["io_per_byte": (c.io_per_byte ?? 0) + 1], layer: 1), 0)
        // a core without the new keys (cortex-m0plus: older form) still estimates every layer
        let old = try FitReport(model: model, board: try catalog.board(named: "rpi-pico"), sizes: sizes, costs: costs)
        XCTAssertTrue(old.layers.allSatisfy { $0.instructions.isFinite && $0.instructions > 0 })
    }

    func testConv1x1FeaturesFollowTheKernelCalls() throws {
        // KWS's 1x1 layers: 125 pixels x 64 -> 64, in place
        let kws = LayerInfo(index: 2, kind: .conv1x1, outputShape: [1, 25, 5, 64], outputElements: 8000, macs: 512000,
                            k: 64, inPlace: true, inputShape: [1, 25, 5, 64])
        // DSP: one call writing over the input; the pair loop's blocks of 1024 / 64 = 16 pairs: ceil(62 / 16) = 4
        // blocks x 16 groups of 4 channels
        XCTAssertEqual(Conv1x1Features(kws, pairBlockWords: 1024, inPlaceMaxK: 512), Conv1x1Features(calls: 1, groupBlocks: 64))
        // Armv7-M (no pair-block constant, no direct in-place path): one call per 32 pixels, copied
        XCTAssertEqual(Conv1x1Features(kws, pairBlockWords: 0, inPlaceMaxK: 0), Conv1x1Features(calls: 4, groupBlocks: 0))
        // MVE: one call for k <= 64 without a LUT; with a fused LUT (the group-outer loops) blocks of 32
        XCTAssertEqual(Conv1x1Features(kws, pairBlockWords: 0, inPlaceMaxK: 64)?.calls, 1)
        let lut = LayerInfo(index: 2, kind: .conv1x1, outputShape: [1, 25, 5, 64], outputElements: 8000, macs: 512000,
                            k: 64, fusedLUT: true, inPlace: true, inputShape: [1, 25, 5, 64])
        XCTAssertEqual(Conv1x1Features(lut, pairBlockWords: 0, inPlaceMaxK: 64)?.calls, 4)
        // not in place: one call over all pixels; DSP blocks ceil(62 / 16) = 4 (the odd last row: the GEMV loop)
        let moved = LayerInfo(index: 2, kind: .conv1x1, outputShape: [1, 25, 5, 64], outputElements: 8000, macs: 512000,
                              k: 64, inputShape: [1, 25, 5, 64])
        XCTAssertEqual(Conv1x1Features(moved, pairBlockWords: 1024, inPlaceMaxK: 512), Conv1x1Features(calls: 1, groupBlocks: 64))
        // IC's stride-2 shortcut 32x32x16 -> 16x16x32: one call per output row of 16 pixels (8 pairs, one block), 8 groups
        let ic = LayerInfo(index: 6, kind: .conv1x1, outputShape: [1, 16, 16, 32], outputElements: 8192, macs: 131072,
                           k: 16, inputShape: [1, 32, 32, 16])
        XCTAssertEqual(Conv1x1Features(ic, pairBlockWords: 1024, inPlaceMaxK: 512), Conv1x1Features(calls: 16, groupBlocks: 128))
        // k = 3 (not a multiple of 4): no pair loop
        let k3 = LayerInfo(index: 1, kind: .conv1x1, outputShape: [1, 4, 4, 16], outputElements: 256, macs: 768, k: 3,
                           inputShape: [1, 8, 8, 3])
        XCTAssertEqual(Conv1x1Features(k3, pairBlockWords: 1024, inPlaceMaxK: 512), Conv1x1Features(calls: 4, groupBlocks: 0))
        // no shapes: no features
        XCTAssertNil(Conv1x1Features(LayerInfo(index: 0, kind: .conv1x1, outputShape: [64], outputElements: 64, macs: 4096,
                                               k: 64), pairBlockWords: 1024, inPlaceMaxK: 512))
    }

    func testDepthwiseFeaturesFollowTheKernelLoops() throws {
        // KWS's depthwise layers: 3x3 stride 1 "same" on 25x5x64, in place (one run per output row of 5 pixels)
        let kws = LayerInfo(index: 1, kind: .depthwiseConv, outputShape: [1, 25, 5, 64], outputElements: 8000,
                            macs: 72000, k: 9, inPlace: true, inputShape: [1, 25, 5, 64],
                            window: [3, 3, 1, 1, 1, 1, 1, 1, 1, 1])
        let f = try XCTUnwrap(DepthwiseFeatures(kws, groupChannels: 4, cachedGroups: 16))
        // 125 pixels, of which 23 x 3 have every tap inside; 25 runs x 16 groups; 16 set-ups (all cached)
        XCTAssertEqual(f, DepthwiseFeatures(pixels: 125, pixelGroups: 2000, border: 56, runs: 25, groupRuns: 400,
                                            setups: 16))
        // not in place: runs of 16 pixels span the rows (ceil(125 / 16) = 8)
        let moved = LayerInfo(index: 1, kind: .depthwiseConv, outputShape: [1, 25, 5, 64], outputElements: 8000,
                          macs: 72000, k: 9, inPlace: false, inputShape: [1, 25, 5, 64], window: kws.window)
        XCTAssertEqual(DepthwiseFeatures(moved, groupChannels: 4, cachedGroups: 16)?.runs, 8)
        // VWW's 3x3x256: 64 groups of 4, 48 past the cache set up again on each of the 2 later runs; MVE: 16 groups
        // of 16, every group every run
        let vww = LayerInfo(index: 25, kind: .depthwiseConv, outputShape: [1, 3, 3, 256], outputElements: 2304,
                            macs: 20736, k: 9, inPlace: true, inputShape: [1, 3, 3, 256],
                            window: [3, 3, 1, 1, 1, 1, 1, 1, 1, 1])
        XCTAssertEqual(DepthwiseFeatures(vww, groupChannels: 4, cachedGroups: 16)?.setups, 64 + 2 * 48)
        XCTAssertEqual(DepthwiseFeatures(vww, groupChannels: 4, cachedGroups: 16)?.border, 8)
        XCTAssertEqual(DepthwiseFeatures(vww, groupChannels: 16, cachedGroups: 0)?.setups, 3 * 16)
        // stride 2 on an even input ("same": pads 0 top/left, 1 bottom/right): only the last row and column border
        let s2 = LayerInfo(index: 3, kind: .depthwiseConv, outputShape: [1, 24, 24, 16], outputElements: 9216,
                           macs: 82944, k: 9, inPlace: true, inputShape: [1, 48, 48, 16],
                           window: [3, 3, 2, 2, 1, 1, 0, 1, 0, 1])
        XCTAssertEqual(DepthwiseFeatures(s2, groupChannels: 4, cachedGroups: 16)?.border, 24 + 24 - 1)
        // stride 2 with pad 1 (5x5 -> 3x3): the first inside column is ceil(1 / 2) = 1, the last (5 - 3 + 1) / 2 = 1
        let p1 = LayerInfo(index: 0, kind: .depthwiseConv, outputShape: [1, 3, 3, 8], outputElements: 72, macs: 648,
                           k: 9, inputShape: [1, 5, 5, 8], window: [3, 3, 2, 2, 1, 1, 1, 1, 1, 1])
        XCTAssertEqual(DepthwiseFeatures(p1, groupChannels: 4, cachedGroups: 16)?.border, 8)
        // MVE groups: 40 channels = 2 of 16 + 1 of 8; 44 = that + the portable tail
        func mve(_ c: Int) -> Int? {
            DepthwiseFeatures(LayerInfo(index: 0, kind: .depthwiseConv, outputShape: [1, 1, 1, c], outputElements: c,
                                        macs: 9 * c, k: 9, inputShape: [1, 3, 3, c], window: [3, 3, 1, 1, 1, 1, 0, 0, 0, 0]),
                              groupChannels: 16, cachedGroups: 0)?.pixelGroups
        }
        XCTAssertEqual(mve(40), 3)
        XCTAssertEqual(mve(44), 4)
        // no window block (a layer read before the geometry was recorded): nil, the estimate keeps per pixel alone
        XCTAssertNil(DepthwiseFeatures(LayerInfo(index: 0, kind: .depthwiseConv, outputShape: [1, 1, 1, 4],
                                                 outputElements: 4, macs: 36, k: 9), groupChannels: 4, cachedGroups: 16))
    }

    func testCycleModelArithmetic() throws {
        // the demo model: layer 0 is FC 32 -> 24, batch 1, LUT fused; layer 6 a standalone LUT
        let model = try PackedModel(contentsOf: repoRoot.appendingPathComponent("boards/common/demo.mqm"))
        let board = try catalog.board(named: "nucleo-l4r5zi")
        let sizes = try catalog.runtimeSizes(), costs = try catalog.costModel()
        let cycles = try XCTUnwrap(try catalog.cycleModel(), "boards/cycle-model.json missing")
        let cm = try XCTUnwrap(cycles.cores["cortex-m4"])
        XCTAssertEqual(board.flash_wait_states, 5)
        XCTAssertEqual(board.flash_read_bytes, 8)
        XCTAssertEqual(board.flash_data_cache_bytes, 256)
        XCTAssertEqual(cm.flash_read_pattern, "dsp_n4k16")
        let r = try FitReport(model: model, board: board, sizes: sizes, costs: costs, cycles: cycles)
        // layer 0: FC 32 -> 24, one row (GEMV, one pass): 24 x 32 weight bytes + 24 x 12 parameter bytes (bias,
        // multiplier, shift; each shift tested as the loop goes) + 240 op-record bytes = 1296 bytes = 162 flash
        // accesses of 8 bytes, 5 wait states each
        XCTAssertEqual(r.layers[0].flashWaitCycles, 162 * 5, accuracy: 1e-9)
        // kernel instructions at the FC CPI, the interpreter's per_op share at "other"'s (docs/PERFORMANCE.md)
        let perOp = try XCTUnwrap(costs.cores["cortex-m4"]).per_op
        // the first layer's interpreter share also holds the copies of the model's inputs and outputs ("other" CPI)
        let share0 = perOp + Double(r.ioBytes) * (costs.cores["cortex-m4"]?.io_per_byte ?? 0)
        let cpiFC = cm.cpi_by_kind?["fully_connected"] ?? cm.cpi, cpiOther = cm.cpi_by_kind?["other"] ?? cm.cpi
        XCTAssertEqual(r.layers[0].cycles, (r.layers[0].instructions - share0) * cpiFC + share0 * cpiOther + 162 * 5,
                       accuracy: 1e-6)
        XCTAssertEqual(r.layers[0].microseconds, r.layers[0].cycles / 120, accuracy: 1e-9)
        // ops without weights read only their op and tensor records: 240 bytes = 30 accesses
        XCTAssertEqual(r.layers[6].flashWaitCycles, 30 * 5)
        XCTAssertTrue(r.render().contains("flash wait states per 8-byte flash access"))
        // every core of every board has a cycle model entry
        for name in catalog.names() {
            XCTAssertNotNil(cycles.cores[try catalog.board(named: name).core], "no cycle model for \(name)")
        }
        // the report's CPI is this model's effective one: cycles without wait states / instructions
        let insns = r.layers.reduce(0) { $0 + $1.instructions }
        let busy = r.layers.reduce(0) { $0 + $1.cycles - $1.flashWaitCycles }
        XCTAssertTrue(r.render().contains("CPI \(String(format: "%.3f", busy / insns))"))
        if let by = cm.cpi_by_kind {
            XCTAssertTrue(r.render().contains("depthwise \(String(format: "%.3f", by["depthwise"] ?? 0))"), "per-kind CPIs listed")
        }
        // a board without wait states: cycles = instructions x CPI
        let q = try FitReport(model: model, board: try catalog.board(named: "mps2-an386"), sizes: sizes, costs: costs, cycles: cycles)
        XCTAssertEqual(q.layers[0].cycles, (q.layers[0].instructions - share0) * cpiFC + share0 * cpiOther, accuracy: 1e-6)
        // a layer without kernel (reshape view) or another kind: all at "other"; a depthwise layer at its own CPI
        for e in q.layers where e.layer.kind == .lut {
            XCTAssertEqual(e.cycles, e.instructions * cpiOther, accuracy: 1e-6)
        }
        XCTAssertEqual(q.layers.reduce(0) { $0 + $1.flashWaitCycles }, 0)
    }

    func testFlashReadsFollowTheDSPKernelLoops() {
        // bytes one GEMM call reads from flash, by hand from the loops of mq_gemm_s8_n4k16_dsp.c (per pass: the
        // channels' k16 weights, groups of 4 channels, + 12 parameter bytes per channel)
        // one row: the GEMV (12 parameter bytes per channel, each shift tested as the loop goes), one pass; n = 1
        // (the 1x4 loop, 12 bytes) still reads a whole group of 4 packed channels
        XCTAssertEqual(FlashReads.gemm(m: 1, n: 24, k: 32, cache: 0), 24 * 32 + 24 * 12)
        XCTAssertEqual(FlashReads.gemm(m: 1, n: 1, k: 256, cache: 256), 4 * 256 + 12)
        XCTAssertEqual(FlashReads.gemm(m: 1, n: 16, k: 8, cache: 0), 16 * 16 + 16 * 12)
        // k % 4 == 0, k <= 128: pairs in blocks of 1024 / k, weights and parameters once per block
        // (32 rows, k = 64: 16 pairs, 16 per block: 1 block; 29 rows: 14 pairs: 1 block + the odd row;
        // 80 rows, k = 64: 40 pairs: 3 blocks)
        XCTAssertEqual(FlashReads.gemm(m: 32, n: 64, k: 64, cache: 256), 64 * 64 + 64 * 12)
        XCTAssertEqual(FlashReads.gemm(m: 29, n: 64, k: 64, cache: 256), 64 * 64 + 64 * 12 + 64 * 64 + 64 * 12)
        XCTAssertEqual(FlashReads.gemm(m: 80, n: 64, k: 64, cache: 256), 3 * (64 * 64 + 64 * 12))
        XCTAssertEqual(FlashReads.gemm(m: 64, n: 64, k: 48, cache: 0), 2 * (64 * 48 + 64 * 12))  // 32 pairs, 21 per block
        // k = 40 (k % 4 == 0, <= 128: the pair path; the packed rows are k16 = 48 bytes): 32 pairs, 25 per block
        XCTAssertEqual(FlashReads.gemm(m: 64, n: 16, k: 40, cache: 256), 2 * (16 * 48 + 16 * 12))
        // 128 < k <= 288: weights expanded once per block too (2 pairs at k = 256: 1 block)
        XCTAssertEqual(FlashReads.gemm(m: 4, n: 8, k: 256, cache: 256), 8 * 256 + 8 * 12)
        // k > 288 (<= 1024): a pair of channels' weights again for every pair of rows, parameters once per block
        // (k = 320: 3 pairs per block; k = 576: 1 pair per block, 2 blocks)
        XCTAssertEqual(FlashReads.gemm(m: 4, n: 8, k: 320, cache: 256), 2 * 8 * 320 + 8 * 12)
        XCTAssertEqual(FlashReads.gemm(m: 4, n: 8, k: 576, cache: 256), 2 * 8 * 576 + 2 * 8 * 12)
        // other k: per group of 4 channels every pair of rows reads the group again, unless the data cache keeps it
        // (group 4 x 16 + 4 x 12 = 112 bytes <= 256 - 32)
        XCTAssertEqual(FlashReads.gemm(m: 64, n: 16, k: 3, cache: 0), 32 * 16 * 16 + 16 * 12)
        XCTAssertEqual(FlashReads.gemm(m: 64, n: 16, k: 3, cache: 256), 16 * 16 + 16 * 12)
        XCTAssertEqual(FlashReads.gemm(m: 64, n: 16, k: 42, cache: 256), 32 * 16 * 48 + 16 * 12)  // 4 x 48 + 48 > 224
        XCTAssertEqual(FlashReads.gemm(m: 0, n: 16, k: 16, cache: 256), 0)
    }

    func testDeviceOutputParsing() throws {
        let model = try PackedModel(contentsOf: repoRoot.appendingPathComponent("csrc/tests/fixtures/model.mqm"))
        let n0 = model.outputs[0].byteCount, n1 = model.outputs[1].byteCount
        let h0 = String(repeating: "0a", count: n0), h1 = String(repeating: "Ff", count: n1)
        let good = "noise\nMQ-MODEL bytes=1 arena=2 inputs=1 outputs=2\nMQ-SAMPLES 1\nMQ-TICKS 0 625\nMQ-OUT 0 0 \(h0)\nMQ-OUT 0 1 \(h1)\nMQ-STACK 1234\nMQ-DONE 0 ok\n"
        let p = try QEMURunner.parse(good, board: "b", model: model, sampleCount: 1, exitCode: 0)
        XCTAssertEqual(p.codes[0], [UInt8](repeating: 0x0a, count: n0))
        XCTAssertEqual(p.codes[1], [UInt8](repeating: 0xff, count: n1))
        XCTAssertEqual(p.stack, 1234)
        XCTAssertEqual(p.ticks, [625])
        func expectError(_ text: String, exit: Int = 0, _ check: (DeviceError) -> Bool) {
            XCTAssertThrowsError(try QEMURunner.parse(text, board: "b", model: model, sampleCount: 1, exitCode: exit)) { e in
                XCTAssertTrue(check(e as! DeviceError), "\(e)")
            }
        }
        expectError(good.replacingOccurrences(of: "MQ-DONE 0 ok", with: "")) {
            if case .protocolError = $0 { return true }; return false
        }
        expectError(good.replacingOccurrences(of: "MQ-DONE 0 ok", with: "MQ-DONE 19 model CRC-32 mismatch"), exit: 19) {
            if case .deviceStatus(_, 19, let t) = $0 { return t.contains("CRC") }; return false
        }
        expectError("MQ-FAULT icsr=00000003\n", exit: 99) {
            if case .emulatorFailed(_, 99, _) = $0 { return true }; return false
        }
        expectError(good.replacingOccurrences(of: "MQ-OUT 0 1 \(h1)", with: "MQ-OUT 0 1 zz")) {
            if case .protocolError = $0 { return true }; return false
        }
        expectError(good.replacingOccurrences(of: "MQ-OUT 0 1 \(h1)\n", with: "")) {
            if case .protocolError(_, let r, _) = $0 { return r.contains("no output 1") }; return false
        }
        XCTAssertNil(firstDifference(host: p.codes, device: p.codes, outputs: model.outputs))
        var other = p.codes
        other[1][3] ^= 1
        XCTAssertEqual(firstDifference(host: p.codes, device: other, outputs: model.outputs),
                       "output 1, sample 0, byte 3: host 0xff, device 0xfe")
    }

    func testCArrayRoundTrip() throws {
        let bytes: [UInt8] = (0..<37).map { UInt8(($0 * 73 + 5) & 0xFF) }
        let src = try CArray.source(bytes: bytes, symbol: "mq_fw_model", sourceName: "x.mqm")
        XCTAssertTrue(src.contains("const uint8_t mq_fw_model[] __attribute__((aligned(16))) = {"))
        XCTAssertTrue(src.contains("const uint32_t mq_fw_model_size = 37u;"))
        let body = src.components(separatedBy: "= {")[1].components(separatedBy: "};")[0]
        let parsed = body.split(whereSeparator: { ", \n".contains($0) }).map { UInt8($0.dropFirst(2), radix: 16)! }
        XCTAssertEqual(parsed, bytes)
        XCTAssertThrowsError(try CArray.source(bytes: bytes, symbol: "1bad", sourceName: "x"))
        XCTAssertThrowsError(try CArray.source(bytes: bytes, symbol: "a-b", sourceName: "x"))
    }

    func testErrorStats() {
        let ref: [Float] = [1, 2, 3, 4, 0, 0, 1, 0]
        let test: [Float] = [1, 2, 3, 5, 0, 1, 0, 0]
        let s = ErrorStats(reference: ref, test: test, samples: 2)
        // signal 1+4+9+16+1 = 31, noise 1+1+1 = 3
        XCTAssertEqual(s.sqnrDB, 10 * log10(31.0 / 3.0), accuracy: 1e-12)
        XCTAssertEqual(s.maxAbsError, 1)
        XCTAssertEqual(s.meanAbsError, 3.0 / 8.0, accuracy: 1e-12)
        XCTAssertEqual(s.top1Agreement, 0.5)  // sample 0: argmax 3 vs 3; sample 1: argmax 2 vs 1
        XCTAssertEqual(ErrorStats(reference: ref, test: ref, samples: 1).sqnrDB, .infinity)
    }
}
