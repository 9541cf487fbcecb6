// The TFLite importer: MLPerf Tiny models and per-op fixtures, imported, packed and run through the C
// runtime (the device code), compared byte for byte with TensorFlow Lite Micro's outputs
// (shared/models/mlperf-tiny/tflm_reference_outputs.npz, copied into Fixtures/mlperf) and with
// ai-edge-litert's BUILTIN_REF outputs (scripts/make_tflite_fixtures.py, scripts/make_tflite_references.py).
import Foundation
import Testing
import MQNumPy
import MQPacking
import MQQuantization
@testable import MQTFLite
@testable import MQTFLiteImport

/// Imports, plans and packs a fixture model; returns the loaded packed model.
func packFixture(_ path: String, rounding: RequantizeRounding = .double) throws -> (QuantizedModel, PackedModel) {
    let q = try TFLiteImporter.importModel(bytes: try fixtureBytes(path), file: path, rounding: rounding)
    let plan = MemoryPlanner.plan(q)
    let blob = try Packer.pack(q, plan: plan, metadata: PackMetadata(sourceName: path, sourceSHA256: [], calibrationMethod: "imported:tflite"))
    return (q, try PackedModel(bytes: blob))
}

/// Runs every sample of `inputs` ([N, ...] int8) and returns [N * output bytes].
func runAll(_ m: PackedModel, _ inputs: NPYArray) throws -> [UInt8] {
    let n = inputs.shape.first ?? 0
    let per = inputs.bytes.count / max(n, 1)
    var out: [UInt8] = []
    for i in 0..<n { out += try m.run([Array(inputs.bytes[(i * per)..<((i + 1) * per)])])[0] }
    return out
}

/// Samples whose output bytes all agree, and the count of differing bytes.
func agreement(_ a: [UInt8], _ b: [UInt8], samples: Int) -> (identicalSamples: Int, differentBytes: Int) {
    guard a.count == b.count, samples > 0 else { return (0, max(a.count, b.count)) }
    let per = a.count / samples
    var same = 0, diff = 0
    for s in 0..<samples {
        let d = (0..<per).filter { a[s * per + $0] != b[s * per + $0] }.count
        if d == 0 { same += 1 }
        diff += d
    }
    return (same, diff)
}

func npz(_ path: String) throws -> [String: NPYArray] {
    Dictionary(uniqueKeysWithValues: try NumPy.decodeArchive(try fixtureBytes(path), name: path).map { ($0.name, $0.array) })
}

@Suite struct TFLiteImportTests {
    @Test func adImports() throws {
        let (q, _) = try packFixture("mlperf/ad01_int8.tflite")
        #expect(q.nodes.map(\.op.kind) == Array(repeating: "fully_connected", count: 10))
        #expect(q.importedFrom == "tflite" && q.rounding == .double)
        // The documented trap: AD's last layer multiplier from the float32 product of the scales.
        guard case .fullyConnected(let g) = q.nodes[9].op else { Issue.record("last op"); return }
        #expect(Set(g.multipliers) == [1462485078])
    }

    /// Mode 1 (double rounding): byte-identical with TensorFlow Lite Micro + CMSIS-NN.
    @Test func adMatchesTFLiteMicro() throws {
        let ref = try npz("mlperf/tflm_reference_outputs.npz")
        let x = try #require(ref["ad_inputs"]), y = try #require(ref["ad_tflm_outputs"])
        let (_, m) = try packFixture("mlperf/ad01_int8.tflite")
        let out = try runAll(m, x)
        let a = agreement(out, y.bytes, samples: x.shape[0])
        #expect(a.identicalSamples == x.shape[0] && a.differentBytes == 0, "AD vs TFLite Micro: \(a)")
        // and the single-rounding reference differs (so this comparison can tell the modes apart)
        let l = try #require(ref["ad_litert_ref_outputs"])
        #expect(agreement(out, l.bytes, samples: x.shape[0]).differentBytes > 0)
    }
}
