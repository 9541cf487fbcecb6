// MQSimulation: board configurations (boards/NAME/board.json) and where the boards/ folder is.

import Foundation

/// A memory region of a board.
public struct MemoryRegion: Codable, Sendable, Equatable {
    public let base: UInt64
    public let size: Int
    /// What the region physically is (e.g. "internal flash", "DTCM").
    public let what: String
}

/// One board: boards/NAME/board.json (docs/BOARDS.md describes every field).
public struct BoardConfig: Codable, Sendable, Equatable {
    public let name: String
    public let description: String
    /// GCC -mcpu name: cortex-m0plus, cortex-m3, cortex-m4, cortex-m7, cortex-m33, cortex-m55.
    public let core: String
    public let arch: String
    /// FPU name, nil when the core has none.
    public let fpu: String?
    public let dsp: Bool
    public let mve: Bool
    public let flash: MemoryRegion
    public let ram: MemoryRegion
    public let clock_hz: Int
    /// QEMU machine emulating this board, nil for boards that are only cross-compiled.
    public let qemu_machine: String?
    /// Stack reserved by the linker script (the fit report's stack estimate).
    public let stack_size: Int
    public let linker_script: String
    public let startup: String
    public let build: String
    public let flash_instructions: String
    public let run_instructions: String
    public let tested_here: String
    public let notes: String
    /// Flash wait states at clock_hz for a data read that misses the flash accelerator, and the bytes one
    /// flash read delivers (the cycle model's weight-read cost; absent = not modeled, zero wait states).
    public let flash_wait_states: Int?
    public let flash_read_bytes: Int?
    /// Bytes of the flash interface's data cache that the firmware runs with (STM32L4+ ART: 8 lines of 32 bytes,
    /// DCEN = 1 at reset; docs/PERFORMANCE.md "Flash wait states"); absent = no data cache (every re-read pays).
    public let flash_data_cache_bytes: Int?
    /// The flash interface's other read mode that the user can select (STM32L4+: option bit DBANK = 0, single bank,
    /// 128-bit reads; docs/PERFORMANCE.md "Flash wait states"), for `simulate --placement flash-single-bank`; absent:
    /// the board has no such mode.
    public let flash_single_bank: FlashReadMode?
}

/// A flash read mode of a board other than its factory one (board.json `flash_single_bank`).
public struct FlashReadMode: Codable, Sendable, Equatable {
    /// Bytes one flash data read delivers in this mode (16 with DBANK = 0 on the STM32L4+).
    public let flash_read_bytes: Int
    /// Wait states per access in this mode; absent: the board's flash_wait_states.
    public let flash_wait_states: Int?
    /// Data cache bytes in this mode; absent: the board's flash_data_cache_bytes.
    public let flash_data_cache_bytes: Int?
    /// How the user selects the mode (printed by the report).
    public let how: String
}

/// Errors finding or reading boards.
public enum BoardError: Error, CustomStringConvertible, Equatable {
    case boardsDirectoryNotFound(searched: [String])
    case unknownBoard(name: String, available: [String], directory: String)
    case invalidConfig(path: String, reason: String)
    case invalidTable(path: String, reason: String)
    case unsupportedPlacement(board: String, placement: String, reason: String)

    public var description: String {
        switch self {
        case let .boardsDirectoryNotFound(searched):
            return "cannot find the boards/ directory (looked in: \(searched.joined(separator: ", "))); pass --boards-dir or set MICROQUANT_BOARDS"
        case let .unknownBoard(name, available, directory):
            return "unknown board '\(name)' (no \(directory)/\(name)/board.json); available: \(available.joined(separator: ", "))"
        case let .invalidConfig(path, reason):
            return "\(path): invalid board config: \(reason)"
        case let .invalidTable(path, reason):
            return "\(path): invalid table: \(reason)"
        case let .unsupportedPlacement(board, placement, reason):
            return "--placement \(placement): board \(board) \(reason)"
        }
    }
}

/// The boards/ directory of a MicroQuant checkout.
public struct BoardCatalog: Sendable {
    public let directory: URL

    public init(directory: URL) { self.directory = directory }

    /// Finds boards/: `explicit` if given, else $MICROQUANT_BOARDS, else the nearest `boards/` with a
    /// CMakeLists.txt in the current directory or its parents, else the one next to this source file.
    public static func locate(explicit: String? = nil) throws -> BoardCatalog {
        var searched: [String] = []
        func ok(_ u: URL) -> Bool {
            searched.append(u.path)
            return FileManager.default.fileExists(atPath: u.appendingPathComponent("CMakeLists.txt").path)
        }
        if let e = explicit {
            let u = URL(fileURLWithPath: e)
            if ok(u) { return BoardCatalog(directory: u) }
            throw BoardError.boardsDirectoryNotFound(searched: searched)
        }
        if let env = ProcessInfo.processInfo.environment["MICROQUANT_BOARDS"], !env.isEmpty {
            let u = URL(fileURLWithPath: env)
            if ok(u) { return BoardCatalog(directory: u) }
        }
        var dir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        for _ in 0..<8 {
            let u = dir.appendingPathComponent("boards")
            if ok(u) { return BoardCatalog(directory: u) }
            let parent = dir.deletingLastPathComponent()
            if parent.path == dir.path { break }
            dir = parent
        }
        // Sources/MQSimulation/Board.swift -> ../../boards
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let u = here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("boards")
        if ok(u) { return BoardCatalog(directory: u) }
        throw BoardError.boardsDirectoryNotFound(searched: searched)
    }

    /// The repository root (parent of boards/).
    public var root: URL { directory.deletingLastPathComponent() }

    /// Names of every board folder with a board.json, sorted.
    public func names() -> [String] {
        let items = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return items.filter {
            FileManager.default.fileExists(atPath: directory.appendingPathComponent($0).appendingPathComponent("board.json").path)
        }.sorted()
    }

    /// Reads boards/NAME/board.json.
    public func board(named name: String) throws -> BoardConfig {
        let url = directory.appendingPathComponent(name).appendingPathComponent("board.json")
        guard !name.contains("/"), FileManager.default.fileExists(atPath: url.path) else {
            throw BoardError.unknownBoard(name: name, available: names(), directory: directory.path)
        }
        do {
            let cfg = try JSONDecoder().decode(BoardConfig.self, from: Data(contentsOf: url))
            guard cfg.name == name else {
                throw BoardError.invalidConfig(path: url.path, reason: "name '\(cfg.name)' differs from its folder '\(name)'")
            }
            return cfg
        } catch let e as BoardError {
            throw e
        } catch {
            throw BoardError.invalidConfig(path: url.path, reason: "\(error)")
        }
    }

    /// boards/runtime-size.json (measured by scripts/measure-runtime-size.sh).
    public func runtimeSizes() throws -> RuntimeSizeTable {
        let url = directory.appendingPathComponent("runtime-size.json")
        do {
            return try JSONDecoder().decode(RuntimeSizeTable.self, from: Data(contentsOf: url))
        } catch {
            throw BoardError.invalidTable(path: url.path, reason: "\(error) (regenerate it with scripts/measure-runtime-size.sh)")
        }
    }

    /// boards/cycle-model.json (per-core CPI and weight-pass sharing), nil when the file is absent.
    public func cycleModel() throws -> CycleModel? {
        let url = directory.appendingPathComponent("cycle-model.json")
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            return try JSONDecoder().decode(CycleModel.self, from: Data(contentsOf: url))
        } catch {
            throw BoardError.invalidTable(path: url.path, reason: "\(error)")
        }
    }

    /// boards/cost-model.json (per-core instruction coefficients).
    public func costModel() throws -> CostModel {
        let url = directory.appendingPathComponent("cost-model.json")
        do {
            return try JSONDecoder().decode(CostModel.self, from: Data(contentsOf: url))
        } catch {
            throw BoardError.invalidTable(path: url.path, reason: "\(error)")
        }
    }
}
