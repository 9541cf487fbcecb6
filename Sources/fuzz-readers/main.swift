// `swift run fuzz-readers [--seconds S] [--seed N] [--batch K] [--crash-dir DIR] [--verbose]`
//
// Mutation fuzzer of the host's input readers (issue 13). Takes the committed files (ONNX fixtures and
// examples, .npy fixtures, packed models, .tflite fixtures), mutates them (bit flips, byte changes,
// truncation, extension, splicing with another file, length-field and header edits, huge / non-finite
// numbers; for .tflite also FlatBuffers edits: root / field uoffsets, vtable soffsets and entries, vector
// lengths, the file identifier) and feeds each mutant to its reader and, when it parses, through the rest
// of the pipeline in process (ONNX: import -> plan -> calibrate -> quantize -> pack -> load -> run; .npy:
// decode -> calibrate the matching model -> quantize -> pack -> run; packed model: load -> run; TFLite:
// read -> import in both rounding modes -> plan -> pack -> load -> run on random codes). A reader may
// throw; it may never trap.
//
// A trap cannot be caught in process, so the loop runs in a child process (this executable with --child):
// the parent starts a child per batch of K cases, each child writes every case to a file before running
// it, and when a child dies (a signal, or any status other than 0) the parent keeps that case in the crash
// directory, prints how to reproduce it (`fuzz-readers --replay FILE --reader NAME`) and exits 1. A child
// that runs longer than 120 s is killed and reported as a hang. Deterministic for a given seed.
//
// Add a reader: append a `Reader` to `readers` below with its corpus, a `run` closure and, optionally,
// format-specific mutations (`mutateFormat`).

import Foundation
import MQCalibration
import MQGraph
import MQNumPy
import MQONNX
import MQPacking
import MQQuantization
import MQSimulation
import MQTFLite
import MQTFLiteImport

// MARK: - readers

/// One input reader under test: its committed corpus and what to do with a (mutated) file.
struct Reader {
    let name: String
    /// Files of the checkout (relative paths); missing ones are skipped.
    let corpus: [String]
    /// Parses the bytes and, when they parse, runs the rest of the pipeline. Throwing is fine.
    let run: ([UInt8], inout SplitMix) throws -> Void
    /// Format-specific mutations, used for about half of the mutation steps (nil: generic ones only).
    var mutateFormat: (([UInt8], inout SplitMix) -> [UInt8])? = nil
}

let fixtureDir = "Tests/MicroQuantTests/Fixtures/onnx"

func listFiles(_ dir: String, suffix: String, excluding: [String] = []) -> [String] {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    return names.filter { $0.hasSuffix(suffix) && !excluding.contains(where: $0.contains) }.sorted().map { "\(dir)/\($0)" }
}

/// Calibrates, quantizes, packs, loads and runs a graph on `data` (a few samples), with an observer
/// and activation type drawn from the random stream.
func pipeline(_ graph: Graph, data: CalibrationData, rng: inout SplitMix) throws {
    let plan = try QuantizationPlan(graph: graph)
    let kind = ObserverKind.allCases[Int(rng.next() % UInt64(ObserverKind.allCases.count))]
    let dtype: ActivationDType = rng.next() & 1 == 0 ? .uint8 : .int8
    let observers = try Calibrator.run(graph: graph, plan: plan, data: data, kind: kind, extremes: SampleExtremes())
    let q = try Quantizer.quantize(graph: graph, plan: plan, observers: observers, dtype: dtype, observer: kind,
                                   weights: WeightOptions(method: rng.next() & 1 == 0 ? .minmax : .mse))
    let packed = try Packer.pack(q, plan: MemoryPlanner.plan(q), metadata: PackMetadata(sourceName: "fuzz", sourceSHA256: [], calibrationMethod: kind.rawValue))
    let model = try MQSimulation.PackedModel(bytes: packed)
    let sim = Simulator(model: model)
    let n = min(data.count, 2)
    let e = graph.inputs[0].elementCount
    _ = try sim.run(floats: [Array(data.inputs[0].prefix(n * e))], sampleCount: n)
}

/// Graphs small enough to calibrate quickly.
func small(_ g: Graph) -> Bool {
    g.inputs.count == 1 && g.inputs[0].elementCount <= 1 << 14 && g.nodes.count <= 64
        && g.nodes.allSatisfy { n in
            switch n.op {
            case .fullyConnected(let fc): return fc.weight.elementCount <= 1 << 20
            case .conv1x1(let c): return c.weight.elementCount <= 1 << 20
            default: return true
            }
        }
}

let readers: [Reader] = [
    Reader(name: "onnx",
           corpus: ["examples/tinyconv.onnx", "examples/autoencoder.onnx"] + listFiles(fixtureDir, suffix: ".onnx", excluding: ["err_external_data"]),
           run: { bytes, rng in
               let g = try ONNXImporter.importModel(data: Data(bytes), file: "<fuzz>")
               guard small(g) else { return }
               // a few samples of N(0, 2^k) data
               let e = g.inputs[0].elementCount, n = 3
               var x = [Float](repeating: 0, count: n * e)
               let scale = Float(1 << (rng.next() % 8))
               for i in x.indices { x[i] = rng.normal() * scale }
               try pipeline(g, data: CalibrationData(inputs: [x], count: n), rng: &rng)
           }),
    Reader(name: "npy",
           corpus: listFiles("Tests/MicroQuantTests/Fixtures/npy", suffix: ".npy") + listFiles(fixtureDir, suffix: "_input.npy"),
           run: { bytes, rng in
               let arr = try NumPy.decode(bytes, name: "<fuzz>")
               // calibrate the fixture model whose input this array fits (if any)
               for model in matchingModels {
                   guard let data = try? CalibrationData.single(graph: model, values: arr.floats(), shape: arr.shape) else { continue }
                   guard data.count <= 64 else { return }
                   try pipeline(model, data: data, rng: &rng)
                   return
               }
           }),
    Reader(name: "mqm",
           corpus: ["boards/common/demo.mqm", "csrc/tests/fixtures/model.mqm"],
           run: { bytes, _ in
               let m = try MQSimulation.PackedModel(bytes: bytes)
               guard m.arenaSize <= 1 << 24, m.inputs.allSatisfy({ $0.byteCount <= 1 << 20 }) else { return }
               _ = try m.run(codes: m.inputs.map { [UInt8](repeating: 0x5A, count: $0.byteCount) })
           }),
    Reader(name: "tflite",
           corpus: listFiles("Tests/TFLiteTests/Fixtures/mlperf", suffix: ".tflite") + listFiles("Tests/TFLiteTests/Fixtures/tflite", suffix: ".tflite"),
           run: { bytes, rng in
               let m = try TFLiteReader.read(bytes, file: "<fuzz>")
               for rounding in RequantizeRounding.allCases {
                   let q = try TFLiteImporter.importModel(m, file: "<fuzz>", name: "fuzz", rounding: rounding)
                   let packed = try Packer.pack(q, plan: MemoryPlanner.plan(q), metadata: PackMetadata(sourceName: "fuzz", sourceSHA256: [], calibrationMethod: "imported:tflite"))
                   let model = try MQSimulation.PackedModel(bytes: packed)
                   guard model.arenaSize <= 1 << 24, model.inputs.allSatisfy({ $0.byteCount <= 1 << 20 }) else { return }
                   _ = try model.run(codes: model.inputs.map { t in (0..<t.byteCount).map { _ in UInt8(truncatingIfNeeded: rng.next()) } })
               }
           },
           mutateFormat: mutateFlatBuffer),
]

/// MQ_FUZZ_SELFTEST=1 adds a reader that traps on purpose (any input whose first byte is odd), so the
/// test suite can check that a trap in a child is detected, reported and its input saved.
let selfTest = ProcessInfo.processInfo.environment["MQ_FUZZ_SELFTEST"] == "1"
let allReaders: [Reader] = selfTest
    ? [Reader(name: "selftest-trap", corpus: ["Tests/MicroQuantTests/Fixtures/npy/f32_v3.npy"], run: { bytes, _ in
        if let b = bytes.first, b & 1 == 1 { let zero = Int(bytes.count > 1_000_000_000 ? 1 : 0); _ = 1 / zero }
      })]
    : readers

/// The fixture models with input data (for the .npy reader's pipeline), imported once.
let matchingModels: [Graph] = listFiles(fixtureDir, suffix: "_input.npy").compactMap { npy in
    let onnx = String(npy.dropLast("_input.npy".count)) + ".onnx"
    guard let g = try? ONNXImporter.importModel(at: URL(fileURLWithPath: onnx)), small(g) else { return nil }
    return g
}

// MARK: - random numbers and mutations

/// SplitMix64: small, fast, deterministic.
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { n <= 0 ? 0 : Int(next() % UInt64(n)) }
    mutating func normal() -> Float {
        let u1 = max(Double(next() >> 11) / Double(1 << 53), 1e-300), u2 = Double(next() >> 11) / Double(1 << 53)
        return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2))
    }
}

/// Values that break numeric code: huge, tiny, non-finite, boundary integers.
let interestingFloats: [Float] = [0, -0.0, 1, -1, 1e37, -1e37, 3.4e38, -3.4e38, .infinity, -.infinity, .nan, Float(bitPattern: 0x0001_16C2) /* about 1e-40, subnormal */, Float(bitPattern: 1) /* the smallest subnormal */, 1e-30, 65504, 2147483648]
let interestingInts: [UInt64] = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
                                 0x7FFF_FFFF_FFFF_FFFF, 0x8000_0000_0000_0000, UInt64.max, 1 << 40, 16, 64, 4096]

/// One random mutation of `x` (the corpus is used for splicing).
func mutate(_ x: [UInt8], corpus: [[UInt8]], rng: inout SplitMix) -> [UInt8] {
    var b = x
    if b.isEmpty { b = [0] }
    switch rng.below(12) {
    case 0: // flip 1..8 bits
        for _ in 0...rng.below(8) { b[rng.below(b.count)] ^= UInt8(1 << rng.below(8)) }
    case 1: // set random bytes
        for _ in 0...rng.below(8) { b[rng.below(b.count)] = UInt8(truncatingIfNeeded: rng.next()) }
    case 2: // truncate
        b = Array(b.prefix(rng.below(b.count)))
    case 3: // extend with random bytes
        b += (0..<(1 + rng.below(64))).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    case 4: // splice: a chunk of another corpus file
        let other = corpus[rng.below(corpus.count)]
        if !other.isEmpty {
            let s = rng.below(other.count), len = 1 + rng.below(min(256, other.count - s))
            let at = rng.below(b.count)
            b.replaceSubrange(at..<min(b.count, at + len), with: other[s..<(s + len)])
        }
    case 5: // an interesting integer, little-endian, 1/2/4/8 bytes (length fields, counts, dims)
        let v = interestingInts[rng.below(interestingInts.count)]
        let w = [1, 2, 4, 8][rng.below(4)], at = rng.below(b.count)
        for i in 0..<w where at + i < b.count { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(i))) }
    case 6: // a protobuf varint of a huge / interesting value (length-delimited field sizes, dims)
        var v = interestingInts[rng.below(interestingInts.count)]
        var enc: [UInt8] = []
        repeat { enc.append(UInt8(v & 0x7F) | (v > 0x7F ? 0x80 : 0)); v >>= 7 } while v != 0
        let at = rng.below(b.count)
        b.replaceSubrange(at..<min(b.count, at + enc.count), with: enc)
    case 7: // huge / non-finite float32 values, aligned (data payloads)
        let n = 1 + rng.below(4)
        for _ in 0..<n {
            let at = rng.below(max(b.count / 4, 1)) * 4
            let bits = interestingFloats[rng.below(interestingFloats.count)].bitPattern
            for i in 0..<4 where at + i < b.count { b[at + i] = UInt8(truncatingIfNeeded: bits >> (8 * UInt32(i))) }
        }
    case 8: // scale a run of float32 values by a huge factor (a corrupted recording)
        let at = rng.below(max(b.count / 4, 1)) * 4
        let f: Float = [1e30, 1e37, -1e38, 1e-38][rng.below(4)]
        var i = at
        while i + 4 <= b.count && i < at + 64 {
            let v = Float(bitPattern: UInt32(b[i]) | UInt32(b[i + 1]) << 8 | UInt32(b[i + 2]) << 16 | UInt32(b[i + 3]) << 24) * f
            let bits = v.bitPattern
            for k in 0..<4 { b[i + k] = UInt8(truncatingIfNeeded: bits >> (8 * UInt32(k))) }
            i += 4
        }
    case 9: // text header edit (.npy): replace a digit run with a huge or zero number
        if let range = digitRun(in: b, rng: &rng) {
            let repl = ["0", "99999999999999999999", "4294967296", "1", "-1", "9223372036854775807"][rng.below(6)]
            b.replaceSubrange(range, with: Array(repl.utf8))
        } else {
            b[rng.below(b.count)] ^= 0xFF
        }
    case 10: // duplicate a chunk (repeated fields)
        let s = rng.below(b.count), len = 1 + rng.below(min(128, b.count - s))
        b.insert(contentsOf: b[s..<(s + len)], at: rng.below(b.count))
    default: // delete a chunk
        let s = rng.below(b.count), len = 1 + rng.below(min(64, b.count - s))
        b.removeSubrange(s..<(s + len))
    }
    return b
}

/// Little-endian 32-bit word at `at` (caller checks the range).
func word(_ b: [UInt8], _ at: Int) -> UInt32 {
    UInt32(b[at]) | UInt32(b[at + 1]) << 8 | UInt32(b[at + 2]) << 16 | UInt32(b[at + 3]) << 24
}

func setWord(_ b: inout [UInt8], _ at: Int, _ v: UInt32) {
    for i in 0..<4 where at + i < b.count { b[at + i] = UInt8(truncatingIfNeeded: v >> (8 * UInt32(i))) }
}

/// FlatBuffers mutations (.tflite): the root uoffset, the file identifier, uoffsets found by their
/// shape (an aligned word pointing forward inside the file), the vtable soffset of the table one points
/// to, vtable entries, and the vector length a uoffset points to, set to huge / negative / self-pointing
/// / just-out-of-range values.
func mutateFlatBuffer(_ x: [UInt8], rng: inout SplitMix) -> [UInt8] {
    var b = x
    guard b.count >= 8 else { return b }
    let n = b.count
    // boundary 32-bit values: huge, negative, self-pointing (0), one past the end, into the header
    func evil(_ at: Int) -> UInt32 {
        let vs: [UInt32] = [0, 4, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0xFFFF_FFFC, UInt32(truncatingIfNeeded: n - at),
                            UInt32(truncatingIfNeeded: n - at - 4), UInt32(truncatingIfNeeded: -at), UInt32(n), 0x3FFF_FFFF, 0x1000_0000]
        return vs[rng.below(vs.count)]
    }
    // uoffset-shaped words: aligned, value > 0, multiple of 4 and target in the file
    func offsets() -> [Int] {
        stride(from: 0, to: n - 3, by: 4).filter { p in
            let v = Int(word(b, p)); return v > 0 && v % 4 == 0 && p + v + 4 <= n
        }
    }
    switch rng.below(6) {
    case 0: // the root uoffset
        setWord(&b, 0, evil(0))
    case 1: // the file identifier
        let ids = ["TFL2", "TFL4", "\0\0\0\0", "tfl3", "XXXX"]
        let id = Array(ids[rng.below(ids.count)].utf8)
        if rng.below(4) == 0 { b[4 + rng.below(4)] ^= UInt8(1 << rng.below(8)) } else { b.replaceSubrange(4..<8, with: id) }
    case 2: // a uoffset field
        let o = offsets()
        guard !o.isEmpty else { break }
        let p = o[rng.below(o.count)]
        setWord(&b, p, evil(p))
    case 3: // the vector length (or table soffset) a uoffset points to: huge
        let o = offsets()
        guard !o.isEmpty else { break }
        let p = o[rng.below(o.count)], t = p + Int(word(b, p))
        let lens: [UInt32] = [0x7FFF_FFFF, 0xFFFF_FFFF, 0x4000_0000, UInt32(n), UInt32((n - t) / 4), UInt32((n - t) / 4 + 1), 0x0100_0000, 0]
        setWord(&b, t, lens[rng.below(lens.count)])
    case 4: // the vtable soffset of a table a uoffset points to: huge / negative / self (vtable = table)
        let o = offsets().filter { p in
            let t = p + Int(word(b, p)), vt = t - Int(Int32(bitPattern: word(b, t)))
            return vt >= 0 && vt + 4 <= n && Int(b[vt]) | Int(b[vt + 1]) << 8 >= 4
        }
        guard !o.isEmpty else { break }
        let p = o[rng.below(o.count)], t = p + Int(word(b, p))
        if rng.below(2) == 0 {
            setWord(&b, t, [0, 0x7FFF_FFFF, 0x8000_0000, UInt32(truncatingIfNeeded: t), UInt32(truncatingIfNeeded: t - n), 4][rng.below(6)])
        } else { // a vtable entry: vtable size, table size or a field offset
            let vt = t - Int(Int32(bitPattern: word(b, t)))
            let vsize = Int(b[vt]) | Int(b[vt + 1]) << 8
            let e = vt + 2 * rng.below(max(vsize / 2, 2))
            guard e + 2 <= n else { break }
            let v: UInt16 = [0xFFFF, 0x8000, 0, 1, 2, 3, UInt16(truncatingIfNeeded: vsize + 2), 0xFFFE][rng.below(8)]
            b[e] = UInt8(v & 0xFF); b[e + 1] = UInt8(v >> 8)
        }
    default: // one offset pointed at another's target (shared / cyclic structure)
        let o = offsets()
        guard o.count >= 2 else { break }
        let p = o[rng.below(o.count)], q = o[rng.below(o.count)]
        let t = q + Int(word(b, q))
        setWord(&b, p, UInt32(truncatingIfNeeded: t - p))
    }
    return b
}

/// A random run of ASCII digits in the first 256 bytes (the .npy header), if any.
func digitRun(in b: [UInt8], rng: inout SplitMix) -> Range<Int>? {
    var runs: [Range<Int>] = []
    var i = 0
    let end = min(b.count, 256)
    while i < end {
        if b[i] >= 0x30 && b[i] <= 0x39 {
            let s = i
            while i < end && b[i] >= 0x30 && b[i] <= 0x39 { i += 1 }
            runs.append(s..<i)
        } else { i += 1 }
    }
    return runs.isEmpty ? nil : runs[rng.below(runs.count)]
}

// MARK: - driver

struct Options {
    var seconds = 10.0
    var seed: UInt64 = 1
    var batch = 50
    var crashDir = "fuzz-crashes"
    var child = false
    var caseFile = ""
    var replay: String?
    var reader: String?
    var verbose = false
}

func parseOptions() -> Options {
    var o = Options()
    var args = Array(CommandLine.arguments.dropFirst())
    func value(_ flag: String) -> String {
        guard !args.isEmpty else { fail("\(flag) needs a value") }
        return args.removeFirst()
    }
    while !args.isEmpty {
        let a = args.removeFirst()
        switch a {
        case "--seconds":
            guard let v = Double(value(a)), v.isFinite, v > 0, v <= 86400 else { fail("--seconds must be a number in (0, 86400]") }
            o.seconds = v
        case "--seed":
            guard let v = UInt64(value(a)) else { fail("--seed must be a non-negative integer") }
            o.seed = v
        case "--batch":
            guard let v = Int(value(a)), v >= 1, v <= 1_000_000 else { fail("--batch must be an integer in [1, 1000000]") }
            o.batch = v
        case "--crash-dir": o.crashDir = value(a)
        case "--child": o.child = true
        case "--case-file": o.caseFile = value(a)
        case "--replay": o.replay = value(a)
        case "--reader": o.reader = value(a)
        case "--verbose": o.verbose = true
        case "-h", "--help":
            print("""
                usage: fuzz-readers [--seconds S (10)] [--seed N (1)] [--batch K (50)] [--crash-dir DIR (fuzz-crashes)] [--verbose]
                       fuzz-readers --replay FILE --reader NAME      (run one saved case in process)
                readers: \(allReaders.map(\.name).joined(separator: ", ")); run from the repository root.
                """)
            exit(0)
        default: fail("unknown argument '\(a)' (see --help)")
        }
    }
    return o
}

func fail(_ m: String) -> Never {
    FileHandle.standardError.write(Data("fuzz-readers: error: \(m)\n".utf8))
    exit(64)
}

/// The corpus of every reader, loaded once.
func loadCorpora() -> [[[UInt8]]] {
    allReaders.map { r in r.corpus.compactMap { FileManager.default.contents(atPath: $0).map { [UInt8]($0) } } }
}

/// Child: `batch` cases from `seed`; each case is written to the case file (reader name on the first
/// line of the .reader file) before it runs.
func runChild(_ o: Options) -> Never {
    let corpora = loadCorpora()
    var rng = SplitMix(state: o.seed)
    let active = allReaders.indices.filter { !corpora[$0].isEmpty && (o.reader == nil || allReaders[$0].name == o.reader) }
    guard !active.isEmpty else { fail("no corpus found (run from the repository root)") }
    var parsed = [Int](repeating: 0, count: allReaders.count), total = [Int](repeating: 0, count: allReaders.count)
    for _ in 0..<o.batch {
        let r = active[rng.below(active.count)]
        var x = corpora[r][rng.below(corpora[r].count)]
        for _ in 0...rng.below(3) {
            if let f = allReaders[r].mutateFormat, rng.below(2) == 0 { x = f(x, &rng) } else { x = mutate(x, corpus: corpora[r], rng: &rng) }
        }
        if !o.caseFile.isEmpty {
            _ = FileManager.default.createFile(atPath: o.caseFile, contents: Data(x))
            _ = FileManager.default.createFile(atPath: o.caseFile + ".reader", contents: Data(allReaders[r].name.utf8))
        }
        var caseRng = SplitMix(state: rng.next())
        total[r] += 1
        if (try? allReaders[r].run(x, &caseRng)) != nil { parsed[r] += 1 }
    }
    // per reader: cases run / cases that went through without an error
    print(allReaders.indices.map { "\(allReaders[$0].name) \(total[$0]) \(parsed[$0])" }.joined(separator: ";"))
    exit(0)
}

func replay(_ path: String, reader name: String?) -> Never {
    guard let name, let r = allReaders.first(where: { $0.name == name }) else {
        fail("--replay needs --reader NAME (\(allReaders.map(\.name).joined(separator: ", ")))")
    }
    guard let d = FileManager.default.contents(atPath: path) else { fail("cannot read \(path)") }
    var rng = SplitMix(state: 1)
    do { try r.run([UInt8](d), &rng); print("\(name): accepted") } catch { print("\(name): rejected: \(error)") }
    exit(0)
}

let options = parseOptions()
if let r = options.replay { replay(r, reader: options.reader) }
if options.child { runChild(options) }

// Parent: batches in child processes until the time is up.
let me = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
let work = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-readers-\(getpid())")
try? FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(at: work) }
let caseFile = work.appendingPathComponent("case").path
let start = Date()
var batchIndex: UInt64 = 0
var totals = [String: (Int, Int)]()
print("fuzz-readers: readers \(allReaders.map(\.name).joined(separator: ", ")); seed \(options.seed); \(options.seconds) s; batches of \(options.batch) in child processes")
while Date().timeIntervalSince(start) < options.seconds {
    let seed = options.seed &* 1_000_003 &+ batchIndex
    let p = Process()
    p.executableURL = me
    p.arguments = ["--child", "--seed", "\(seed)", "--batch", "\(options.batch)", "--case-file", caseFile] + (options.reader.map { ["--reader", $0] } ?? [])
    let summaryFile = work.appendingPathComponent("summary")
    _ = FileManager.default.createFile(atPath: summaryFile.path, contents: nil)
    guard let out = FileHandle(forWritingAtPath: summaryFile.path) else { fail("cannot write \(summaryFile.path)") }
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    let done = DispatchSemaphore(value: 0)
    p.terminationHandler = { _ in done.signal() }
    do { try p.run() } catch { fail("cannot start the child process \(me.path): \(error)") }
    var hung = false
    if done.wait(timeout: .now() + 120) == .timedOut {
        hung = true
        kill(p.processIdentifier, SIGKILL)
        done.wait()
    }
    p.waitUntilExit()
    try? out.close()
    let summary = FileManager.default.contents(atPath: summaryFile.path) ?? Data()
    let crashed = hung || p.terminationReason == .uncaughtSignal || p.terminationStatus != 0
    if crashed {
        let reader = (try? String(contentsOfFile: caseFile + ".reader", encoding: .utf8)) ?? "?"
        try? FileManager.default.createDirectory(atPath: options.crashDir, withIntermediateDirectories: true)
        let saved = "\(options.crashDir)/\(reader)-seed\(seed)-\(Int(Date().timeIntervalSince1970))"
        try? FileManager.default.removeItem(atPath: saved)
        try? FileManager.default.copyItem(atPath: caseFile, toPath: saved)
        let how = hung ? "hung (killed after 120 s)" : (p.terminationReason == .uncaughtSignal ? "died of signal \(p.terminationStatus)" : "exited with status \(p.terminationStatus)")
        print("fuzz-readers: FAILURE: the \(reader) reader \(how) on a mutated input (batch seed \(seed)); saved to \(saved)")
        print("  reproduce: swift run fuzz-readers --replay \(saved) --reader \(reader)")
        exit(1)
    }
    for part in String(decoding: summary, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ";") {
        let f = part.split(separator: " ")
        guard f.count == 3, let t = Int(f[1]), let a = Int(f[2]) else { continue }
        let old = totals[String(f[0])] ?? (0, 0)
        totals[String(f[0])] = (old.0 + t, old.1 + a)
    }
    batchIndex += 1
    if options.verbose { print("batch \(batchIndex): ok") }
}
let line = totals.keys.sorted().map { "\($0) \(totals[$0]!.0) cases (\(totals[$0]!.1) accepted)" }.joined(separator: ", ")
print(String(format: "fuzz-readers: no trap in %.0f s, %d batch(es): %@", Date().timeIntervalSince(start), Int(batchIndex), line))
