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

/// scripts/make_tflite_fixtures.py's manifest.
struct FixtureManifest: Decodable {
    struct Case: Decodable { var name: String; var ops: [String]; var inputs: Int; var float_io: Bool }
    struct ErrorCase: Decodable { var name: String; var ops: [String] }
    var cases: [Case]
    var errors: [ErrorCase]
}

/// The int8-I/O per-op fixtures (empty when the manifest is unreadable: fixturesImport then fails).
func perOpFixtureNames() -> [String] {
    ((try? manifest())?.cases ?? []).filter { !$0.float_io }.map { $0.name }
}

func manifest() throws -> FixtureManifest {
    try JSONDecoder().decode(FixtureManifest.self, from: Data(try fixtureBytes("tflite/manifest.json")))
}

/// Result of one per-op fixture in one rounding mode: samples identical with the reference (`suffix` "output":
/// ai-edge-litert; "tflm_output": TensorFlow Lite Micro), of `samples`.
func runFixture(_ name: String, rounding: RequantizeRounding, reference suffix: String = "output") throws -> (identical: Int, samples: Int, differentBytes: Int) {
    let (_, m) = try packFixture("tflite/\(name).tflite", rounding: rounding)
    let x = try NumPy.decode(try fixtureBytes("tflite/\(name)_input.npy"), name: name)
    let y = try NumPy.decode(try fixtureBytes("tflite/\(name)_\(suffix).npy"), name: name)
    let out = try runAll(m, x)
    let a = agreement(out, y.bytes, samples: x.shape[0])
    return (a.identicalSamples, x.shape[0], a.differentBytes)
}

extension TFLiteImportTests {
    /// Mode 2 (TFLite's own rounding): byte-identical with ai-edge-litert on AD, for the two inputs of
    /// the shared reference file and 300 random inputs.
    @Test func adMatchesLiteRTInSingleRoundingMode() throws {
        let (q, m) = try packFixture("mlperf/ad01_int8.tflite", rounding: .single)
        #expect(q.rounding == .single)
        let ref = try npz("mlperf/tflm_reference_outputs.npz")
        let x0 = try #require(ref["ad_inputs"]), y0 = try #require(ref["ad_litert_ref_outputs"])
        let a0 = agreement(try runAll(m, x0), y0.bytes, samples: x0.shape[0])
        #expect(a0.identicalSamples == 2 && a0.differentBytes == 0, "\(a0)")
        let r = try npz("mlperf/litert_random.npz")
        let x = try #require(r["ad_inputs"]), y = try #require(r["ad_outputs"])
        #expect(x.shape == [300, 640])
        let a = agreement(try runAll(m, x), y.bytes, samples: x.shape[0])
        #expect(a.identicalSamples == 300 && a.differentBytes == 0, "AD vs ai-edge-litert (single rounding): \(a)")
        // and mode 1 on the same inputs differs from ai-edge-litert (the modes are distinguishable)
        let (_, m1) = try packFixture("mlperf/ad01_int8.tflite")
        #expect(agreement(try runAll(m1, x), y.bytes, samples: x.shape[0]).differentBytes > 0)
    }

    /// Every per-op fixture imports; the error fixtures fail with the documented messages.
    @Test func fixturesImport() throws {
        let man = try manifest()
        #expect(man.cases.count >= 30)
        for c in man.cases {
            let q = try TFLiteImporter.importModel(bytes: try fixtureBytes("tflite/\(c.name).tflite"), file: c.name)
            #expect(!q.nodes.isEmpty, "\(c.name)")
            #expect(q.tensors.allSatisfy { $0.qparams.dtype == .int8 }, "\(c.name)")
        }
        let sub = try fixtureBytes("tflite/error_unsupported_sub.tflite")
        let float = try fixtureBytes("tflite/error_float_model.tflite")
        do throws(TFLiteImportError) {
            _ = try TFLiteImporter.importModel(bytes: sub, file: "sub.tflite")
            Issue.record("SUB imported")
        } catch {
            #expect(error == .unsupportedOps(file: "sub.tflite", ops: ["1 SUB"]))
            #expect(error.description.contains("operator 1 SUB"))
        }
        do throws(TFLiteImportError) {
            _ = try TFLiteImporter.importModel(bytes: float, file: "float.tflite")
            Issue.record("float model imported")
        } catch {
            guard case let .missingQuantization(_, op, opName, _, _, reason) = error else { Issue.record("\(error)"); return }
            #expect(op == 0 && opName == "FULLY_CONNECTED" && reason.contains("FLOAT32"), "\(error)")
        }
    }
}

extension TFLiteImportTests {
    /// Every per-op fixture, in TFLite's own rounding (mode 2): byte-identical with ai-edge-litert on all
    /// 50 inputs. In TFLite Micro's rounding (mode 1) the fixtures without FULLY_CONNECTED are identical too
    /// (ai-edge-litert rounds like TFLite Micro in every other kernel); with one, mode 1 may differ.
    @Test(arguments: perOpFixtureNames())
    func perOpFixture(_ name: String) throws {
        let c = try #require(try manifest().cases.first { $0.name == name })
        let single = try runFixture(name, rounding: .single)
        #expect(single.identical == single.samples && single.differentBytes == 0, "\(name) mode tflite: \(single)")
        // mode tflite-micro: byte-identical with TensorFlow Lite Micro (scripts/make_tflm_references.py)
        let micro = try runFixture(name, rounding: .double, reference: "tflm_output")
        #expect(micro.identical == micro.samples && micro.differentBytes == 0, "\(name) mode tflite-micro vs TFLite Micro: \(micro)")
        let double = try runFixture(name, rounding: .double)
        if !c.ops.contains("FULLY_CONNECTED") && !c.ops.contains("LOGISTIC") && !c.ops.contains("TANH") {
            #expect(double.identical == double.samples && double.differentBytes == 0, "\(name) mode tflite-micro: \(double)")
        }
        print("FIXTURE \(name) \(c.ops.joined(separator: "+")): tflite vs litert \(single.identical)/\(single.samples), tflite-micro vs TFLM \(micro.identical)/\(micro.samples), tflite-micro vs litert \(double.identical)/\(double.samples)")
    }

    /// Float model I/O: boundary QUANTIZE / DEQUANTIZE removed; the host quantizes as TFLite's QUANTIZE
    /// (zp + round half away from zero of x / s) and dequantizes (q - zp) * s.
    @Test func floatIOFixture() throws {
        let (q, m) = try packFixture("tflite/float_io.tflite", rounding: .single)
        #expect(q.nodes.map(\.op.kind) == ["fully_connected", "fully_connected"])
        let x = try NumPy.decode(try fixtureBytes("tflite/float_io_input.npy"), name: "x").floats()
        let y = try NumPy.decode(try fixtureBytes("tflite/float_io_output.npy"), name: "y").floats()
        let qi = q.tensors[q.inputs[0]].qparams, qo = q.tensors[q.outputs[0]].qparams
        let k = q.tensors[q.inputs[0]].byteCount, n = q.tensors[q.outputs[0]].byteCount
        var same = 0
        for s in 0..<(x.count / k) {
            let codes = x[(s * k)..<((s + 1) * k)].map { v -> UInt8 in
                let c = Double(qi.zeroPoint) + (Double(v) / Double(qi.scale)).rounded(.toNearestOrAwayFromZero)
                return UInt8(bitPattern: Int8(max(-128, min(127, c))))
            }
            let out = try m.run([codes])[0]
            let deq = out.map { Float(Int32(Int8(bitPattern: $0)) - qo.zeroPoint) * qo.scale }
            if deq == Array(y[(s * n)..<((s + 1) * n)]) { same += 1 }
        }
        #expect(same == x.count / k, "float I/O: \(same) of \(x.count / k) samples identical")
    }
}

extension TFLiteImportTests {
    @Test func kwsImports() throws {
        let (q, m) = try packFixture("mlperf/kws_ref_model_int8.tflite")
        #expect(q.nodes.map(\.op.kind) == ["conv", "depthwise_conv", "conv_1x1", "depthwise_conv", "conv_1x1", "depthwise_conv",
                                            "conv_1x1", "depthwise_conv", "conv_1x1", "average_pool", "reshape", "fully_connected", "softmax"])
        // the first conv: 10x4 kernel, stride 2, SAME padding = 4 rows before, 5 after, 1 column each side
        guard case .conv(let c0) = q.nodes[0].op else { Issue.record("op 0"); return }
        #expect(c0.window == QWindow(kernelH: 10, kernelW: 4, strideH: 2, strideW: 2, padTop: 4, padBottom: 5, padLeft: 1, padRight: 1))
        #expect(m.arenaSize > 0)
    }

    /// Mode 1: byte-identical with TensorFlow Lite Micro + CMSIS-NN on both shared KWS inputs (the
    /// MLPerf sample input and a pseudo-random one).
    @Test func kwsMatchesTFLiteMicro() throws {
        let ref = try npz("mlperf/tflm_reference_outputs.npz")
        let x = try #require(ref["kws_inputs"]), y = try #require(ref["kws_tflm_outputs"])
        let sample = try NumPy.decode(try fixtureBytes("mlperf/kws_sample_inputs_int8.npy"), name: "kws sample")
        #expect(Array(x.bytes.prefix(490)) == sample.bytes)
        let (_, m) = try packFixture("mlperf/kws_ref_model_int8.tflite")
        let a = agreement(try runAll(m, x), y.bytes, samples: x.shape[0])
        #expect(a.identicalSamples == 2 && a.differentBytes == 0, "KWS vs TFLite Micro: \(a)")
    }

    /// Mode 2: byte-identical with ai-edge-litert on KWS (2 shared + 300 random inputs).
    @Test func kwsMatchesLiteRTInSingleRoundingMode() throws {
        let (_, m) = try packFixture("mlperf/kws_ref_model_int8.tflite", rounding: .single)
        let ref = try npz("mlperf/tflm_reference_outputs.npz")
        let x0 = try #require(ref["kws_inputs"]), y0 = try #require(ref["kws_litert_ref_outputs"])
        let a0 = agreement(try runAll(m, x0), y0.bytes, samples: x0.shape[0])
        #expect(a0.identicalSamples == 2 && a0.differentBytes == 0, "\(a0)")
        let r = try npz("mlperf/litert_random.npz")
        let x = try #require(r["kws_inputs"]), y = try #require(r["kws_outputs"])
        #expect(x.shape == [300, 49, 10, 1])
        let a = agreement(try runAll(m, x), y.bytes, samples: x.shape[0])
        #expect(a.identicalSamples == 300 && a.differentBytes == 0, "KWS vs ai-edge-litert: \(a)")
        let (_, m1) = try packFixture("mlperf/kws_ref_model_int8.tflite")
        let a1 = agreement(try runAll(m1, x), y.bytes, samples: x.shape[0])
        print("KWS mode tflite-micro vs ai-edge-litert on 300 random inputs: \(a1)")
    }

    /// Mode 1 on the 300 random inputs against TensorFlow Lite Micro's Python interpreter (PyPI tflite-micro
    /// 0.dev20261023, reference kernels; scripts/make_tflm_references.py). KWS: byte-identical. AD: that TFLM
    /// version forms the per-tensor FULLY_CONNECTED multiplier from the double product of the scales, the TFLM +
    /// CMSIS-NN build of shared/ (tflm_reference_outputs.npz, which mode 1 reproduces) from the float32 product
    /// (scripts/tflm_fc_multiplier_probe.py: an int64 simulation of AD with the double product gives the pip
    /// TFLM's bytes, with the float32 product ours). That moves 2 of AD's 192,000 output bytes by one code.
    @Test(arguments: ["kws", "ad"])
    func matchesTFLiteMicroOnRandomInputs(_ key: String) throws {
        let (_, m) = try packFixture(key == "kws" ? "mlperf/kws_ref_model_int8.tflite" : "mlperf/ad01_int8.tflite")
        let x = try #require(try npz("mlperf/litert_random.npz")["\(key)_inputs"])
        let y = try #require(try npz("mlperf/tflm_random.npz")["\(key)_outputs"])
        let out = try runAll(m, x)
        let a = agreement(out, y.bytes, samples: x.shape[0])
        #expect(x.shape[0] == 300)
        if key == "kws" {
            #expect(a.identicalSamples == 300 && a.differentBytes == 0, "KWS vs TFLite Micro: \(a)")
        } else {
            let worst = zip(out, y.bytes).map { abs(Int(Int8(bitPattern: $0)) - Int(Int8(bitPattern: $1))) }.max() ?? 0
            #expect(a.differentBytes <= 2 && worst <= 1, "AD vs TFLite Micro (pip): \(a), largest difference \(worst)")
        }
        print("\(key) mode tflite-micro vs TFLite Micro (pip) on 300 random inputs: \(a.identicalSamples)/300 identical, \(a.differentBytes) bytes differ")
    }
}
