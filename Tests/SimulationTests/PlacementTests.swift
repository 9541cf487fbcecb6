// Model placements in the latency estimate (simulate --board B --placement flash | flash-single-bank | ram):
// the flash wait states per placement, hand-counted for the demo model (boards/common/demo.mqm) from its layer
// shapes and the DSP kernels' read pattern documented in docs/PERFORMANCE.md "Flash wait states", and the RAM
// each placement costs.

import Foundation
import MQSimulation
import Testing

@Suite struct PlacementTests {
    let catalog = BoardCatalog(directory: repoRoot.appendingPathComponent("boards"))

    func demo() throws -> PackedModel {
        try PackedModel(contentsOf: repoRoot.appendingPathComponent("boards/common/demo.mqm"))
    }

    func report(_ board: BoardConfig, _ placement: Placement) throws -> FitReport {
        try FitReport(model: try demo(), board: board, sizes: try catalog.runtimeSizes(), costs: try catalog.costModel(),
                      cycles: try catalog.cycleModel(), placement: placement)
    }

    /// Bytes the demo's layers read from flash, counted by hand (docs/PERFORMANCE.md "Flash wait states"):
    /// every op reads 240 bytes of op and tensor records;
    /// 0: FC 32 -> 24, one row (the GEMV): 24 x 32 weights + 24 channels x 12 parameter bytes (bias, multiplier,
    ///    shift) = 1056, + 240 = 1296;
    /// 1: FC 24 -> 24, one row: 24 x 32 (k = 24 padded to 16s) + 24 x 12 = 1056, + 240 = 1296;
    /// 2-6: ADD, RESHAPE, SOFTMAX, TRANSPOSE, LUT: records only, 240 each;
    /// 7: 1x1 conv, input 5x5x8, output 3x3x12 (stride 2): one GEMM call per output row (3 rows of 3 pixels, k = 8,
    ///    n = 12): the pair block (k % 4 == 0, 1 pair) reads the expanded weights once, 12 x 16 + 12 x 12 parameters
    ///    = 336, then the odd third row as a GEMV, 12 x 16 + 12 x 12 = 336: 672 per row, 3 x 672 + 240 = 2256.
    static let demoBytes = [1296, 1296, 240, 240, 240, 240, 240, 2256]

    @Test func flashWaitStatesPerPlacementMatchTheHandCount() throws {
        let board = try catalog.board(named: "nucleo-l4r5zi")
        // board.json: 5 wait states, factory dual-bank mode 8-byte reads, single-bank mode 16-byte reads, 256-byte
        // data cache in both (docs/PERFORMANCE.md "Flash wait states": 8 lines of 4 x 64 or 2 x 128 bits)
        #expect(board.flash_wait_states == 5)
        #expect(board.flash_read_bytes == 8)
        #expect(board.flash_single_bank?.flash_read_bytes == 16)
        #expect(board.flash_single_bank?.flash_data_cache_bytes == 256)
        #expect(Placement.supported(by: board) == [.flash, .flashSingleBank, .ram])

        let flash = try report(board, .flash), single = try report(board, .flashSingleBank), ram = try report(board, .ram)
        #expect(flash.layers.count == Self.demoBytes.count)
        for (i, bytes) in Self.demoBytes.enumerated() {
            // accesses = bytes / read width (rounded up), 5 wait states each
            #expect(flash.layers[i].flashWaitCycles == Double((bytes + 7) / 8 * 5), "layer \(i), 8-byte reads")
            #expect(single.layers[i].flashWaitCycles == Double((bytes + 15) / 16 * 5), "layer \(i), 16-byte reads")
            #expect(ram.layers[i].flashWaitCycles == 0, "layer \(i), model in RAM")
        }
        // whole model: 756 accesses of 8 bytes (3,780 wait cycles), 378 of 16 bytes (1,890), none from RAM
        #expect(flash.totalFlashWaitCycles == 3780)
        #expect(single.totalFlashWaitCycles == 1890)
        #expect(ram.totalFlashWaitCycles == 0)
        // the instructions and the busy cycles are the same in every placement: only the wait states differ
        for r in [single, ram] {
            for (a, b) in zip(flash.layers, r.layers) {
                #expect(a.instructions == b.instructions)
                #expect(abs((a.cycles - a.flashWaitCycles) - (b.cycles - b.flashWaitCycles)) < 1e-6)
            }
        }
        #expect(abs(flash.totalCycles - single.totalCycles - (3780 - 1890)) < 1e-6)
        #expect(abs(flash.totalCycles - ram.totalCycles - 3780) < 1e-6)
        #expect(abs(ram.totalMicroseconds - ram.totalCycles / 120) < 1e-6)
    }

    @Test func ramPlacementCostsTheModelsBytesOfRAM() throws {
        let board = try catalog.board(named: "nucleo-l4r5zi")
        let flash = try report(board, .flash), ram = try report(board, .ram)
        // the demo model is 4,768 bytes (a multiple of 16): RAM grows by exactly that, flash does not change
        #expect(try demo().bytes.count == 4768)
        #expect(ram.modelRAMBytes == 4768)
        #expect(ram.ramBytes == flash.ramBytes + 4768)
        #expect(ram.flashBytes == flash.flashBytes)
        #expect(flash.modelRAMBytes == 0)
        #expect(ram.render().contains("model copy"))
        #expect(ram.render().contains("placement ram"))

        // a board whose RAM holds the firmware but not the model too: the ram placement does not fit
        let url = repoRoot.appendingPathComponent("boards/nucleo-l4r5zi/board.json")
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        var region = json["ram"] as! [String: Any]
        region["size"] = flash.ramBytes + 100
        json["ram"] = region
        let small = try JSONDecoder().decode(BoardConfig.self, from: JSONSerialization.data(withJSONObject: json))
        let f = try report(small, .flash), r = try report(small, .ram)
        #expect(f.fits)
        #expect(!r.fits)
        let table = FitReport.renderPlacements([f, r])
        let lines = table.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("  placement flash ") && $0.contains(": fits") })
        #expect(lines.contains { $0.hasPrefix("  placement ram ") && $0.contains("DOES NOT FIT") })
    }

    @Test func singleBankNeedsABoardWithThatMode() throws {
        let qemu = try catalog.board(named: "mps2-an386")
        #expect(qemu.flash_single_bank == nil)
        #expect(Placement.supported(by: qemu) == [.flash, .ram])
        #expect(throws: BoardError.self) { try report(qemu, .flashSingleBank) }
        do {
            _ = try report(qemu, .flashSingleBank)
        } catch {
            #expect("\(error)".contains("board mps2-an386 has no single-bank flash read mode"))
        }
        // a board without wait states: every placement has the same latency, ram costs the model's RAM
        let f = try report(qemu, .flash), r = try report(qemu, .ram)
        #expect(f.totalFlashWaitCycles == 0 && r.totalFlashWaitCycles == 0)
        #expect(abs(f.totalCycles - r.totalCycles) < 1e-9)
        #expect(r.ramBytes - f.ramBytes == 4768)
    }

    @Test func placementNamesAreTheCLIValues() {
        #expect(Placement.allCases.map(\.rawValue) == ["flash", "flash-single-bank", "ram"])
        #expect(Placement(rawValue: "sram") == nil)
    }
}
