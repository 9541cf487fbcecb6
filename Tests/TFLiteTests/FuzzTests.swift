// A small self-contained mutation fuzzer for the TFLite reader: bit flips, truncation and edits of
// 4-byte words (offsets, lengths) in the MLPerf Tiny fixtures, with a fixed seed. Every mutant must
// either decode into a model whose cross-references are in range or be rejected with a
// TFLiteReadError; a trap fails the whole test run.
import Foundation
import Testing
@testable import MQTFLite
import MQPacking
import MQTFLiteImport

/// xorshift64*: deterministic, no Foundation randomness.
struct FuzzRNG {
    var state: UInt64
    init(seed: UInt64) { state = seed == 0 ? 0x9E3779B97F4A7C15 : seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12; state ^= state << 25; state ^= state >> 27
        return state &* 2685821657736338717
    }
    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
}

/// One mutation of `bytes`.
func mutate(_ bytes: [UInt8], _ rng: inout FuzzRNG) -> [UInt8] {
    var b = bytes
    guard !b.isEmpty else { return b }
    switch rng.below(6) {
    case 0:   // flip 1..8 random bits
        for _ in 0...rng.below(8) { b[rng.below(b.count)] ^= UInt8(1 << rng.below(8)) }
    case 1:   // truncate
        b.removeLast(1 + rng.below(b.count))
    case 2:   // an aligned word (most offsets, lengths, indices) set to a boundary value
        let w = rng.below(b.count / 4) * 4
        let values: [UInt32] = [0, 1, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, UInt32(b.count), UInt32(b.count - 4), 0xFFFF]
        let v = values[rng.below(values.count)]
        for i in 0..<4 where w + i < b.count { b[w + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
    case 3:   // an aligned word nudged by a small delta (an offset that lands nearby)
        let w = rng.below(b.count / 4) * 4
        guard w + 4 <= b.count else { break }
        var v = UInt32(b[w]) | UInt32(b[w + 1]) << 8 | UInt32(b[w + 2]) << 16 | UInt32(b[w + 3]) << 24
        v = v &+ UInt32(bitPattern: Int32(rng.below(33)) - 16)
        for i in 0..<4 { b[w + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
    case 4:   // a 16-bit vtable-sized edit
        let w = rng.below(b.count / 2) * 2
        let v = UInt16(truncatingIfNeeded: rng.below(70000))
        b[w] = UInt8(v & 0xFF); if w + 1 < b.count { b[w + 1] = UInt8(v >> 8) }
    default:  // copy a chunk over another place
        let n = 1 + rng.below(64), from = rng.below(b.count), to = rng.below(b.count)
        for i in 0..<n where from + i < b.count && to + i < b.count { b[to + i] = bytes[from + i] }
    }
    return b
}

/// The reader's promise for a model it accepts: every cross-reference is in range.
func checkInvariants(_ m: TFLiteModel) -> Bool {
    for g in m.subgraphs {
        let n = g.tensors.count
        guard g.inputs.allSatisfy({ (0..<n).contains($0) }), g.outputs.allSatisfy({ (0..<n).contains($0) }) else { return false }
        for t in g.tensors where !(t.buffer == 0 || t.buffer < m.buffers.count) { return false }
        for op in g.operators {
            guard op.opcodeIndex < m.operatorCodes.count,
                  op.inputs.allSatisfy({ $0 == -1 || (0..<n).contains($0) }),
                  op.outputs.allSatisfy({ (0..<n).contains($0) }) else { return false }
        }
    }
    return true
}

@Suite struct FuzzTests {
    @Test(arguments: [("kws_ref_model_int8", UInt64(0x5EED_0001)), ("ad01_int8", UInt64(0x5EED_0002))])
    func mutants(_ name: String, _ seed: UInt64) throws {
        let original = try fixtureBytes("mlperf/\(name).tflite")
        var rng = FuzzRNG(seed: seed)
        var rejected = 0, accepted = 0, imported = 0, packed = 0
        let iterations = 1000
        for i in 0..<iterations {
            var b = original
            for _ in 0...rng.below(3) { b = mutate(b, &rng) }
            do {
                let m = try TFLiteReader.read(b, file: "mutant\(i)")
                #expect(checkInvariants(m), "mutant \(i) decoded with an out-of-range index")
                accepted += 1
                // the importer, the planner and the packer must not trap on whatever decodes
                if let q = try? TFLiteImporter.importModel(m, file: "mutant\(i)", name: "m") {
                    imported += 1
                    let plan = MemoryPlanner.plan(q)
                    if (try? Packer.pack(q, plan: plan, metadata: PackMetadata(sourceName: "m", sourceSHA256: [], calibrationMethod: "fuzz"))) != nil {
                        packed += 1
                    }
                }
            } catch {
                #expect(!error.description.isEmpty)
                rejected += 1
            }
        }
        #expect(accepted + rejected == iterations)
        print("fuzz \(name): \(rejected) rejected by the reader, \(accepted) decoded, \(imported) imported, \(packed) packed")
        // Truncations alone are about a sixth of the mutations and always rejected.
        #expect(rejected >= iterations / 10, "only \(rejected) of \(iterations) mutants rejected")
    }
}
