// Packing round trip: pack with mq_writer, load with mq_model_load, run with mq_model_run, and
// compare every op's output with a float64 reference of the quantized op written here.
import Foundation
import Testing
import MicroQuantC
@testable import MQCalibration
@testable import MQGraph
@testable import MQPacking
@testable import MQQuantization

private func codeValue(_ b: UInt8, _ q: QParams) -> Double {
    Double((q.dtype == .uint8 ? Int32(b) : Int32(Int8(bitPattern: b))) - q.zeroPoint) * Double(q.scale)
}
private func toCode(_ v: Double, _ q: QParams, lo: Int32? = nil, hi: Int32? = nil) -> Int32 {
    let c = (v / Double(q.scale)).rounded(.toNearestOrEven) + Double(q.zeroPoint)
    return Int32(min(max(c, Double(lo ?? q.dtype.qmin)), Double(hi ?? q.dtype.qmax)))
}
private func signedCode(_ b: UInt8, _ dt: ActivationDType) -> Int32 { dt == .uint8 ? Int32(b) : Int32(Int8(bitPattern: b)) }

/// Float64 reference of one quantized op from its input codes (independent of the C kernels).
/// Each element is an exact code, except after a fused LUT epilogue: there the reference's
/// pre-activation code may differ by one from the kernel's (double rounding), so the element is
/// encoded as the range of f over pre-1...pre+1 (see `referenceRanges`).
private func referenceRanges(_ node: QNode, _ qm: QuantizedModel, _ graph: Graph, _ ins: [[UInt8]]) -> [(Int32, Int32)] {
    let outT = qm.tensors[node.output], oq = outT.qparams
    let inQ = qm.tensors[node.inputs[0]].qparams
    func act(_ name: String?) -> ((Double) -> Double)? {
        guard let name else { return nil }
        switch name {
        case "sigmoid": return { 1 / (1 + exp(-$0)) }
        case "silu": return { $0 / (1 + exp(-$0)) }
        case "tanh": return { tanh($0) }
        case "relu": return { max($0, 0) }
        default: return nil
        }
    }
    func gemmOut(_ g: QGemm, _ acc: Double, _ c: Int) -> (Int32, Int32) {
        // requantize to the gemm's output qparams (the LUT input when fused), clamp, then the activation
        let preQ = QParams(scale: g.outScale, zeroPoint: g.outZeroPoint, dtype: g.outDType)
        let pre = toCode(acc, preQ, lo: g.actMin, hi: g.actMax)
        guard let f = act(g.lutName) else { return (pre - 1, pre + 1) }
        let vals = [pre - 1, pre, pre + 1].map { min(max($0, g.actMin), g.actMax) }
            .map { toCode(f(Double($0 - g.outZeroPoint) * Double(g.outScale)), oq) }
        return (vals.min()!, vals.max()!)
    }
    func exact(_ v: Int32) -> (Int32, Int32) { (v, v) }
    func near(_ v: Int32) -> (Int32, Int32) { (v - 1, v + 1) }
    switch node.op {
    case .fullyConnected(let g):
        let x = ins[0].map { codeValue($0, inQ) }
        let rows = x.count / g.k
        var out: [(Int32, Int32)] = []
        for r in 0..<rows { for c in 0..<g.n {
            var acc = Double(g.bias[c]) * Double(inQ.scale) * Double(g.weightScales[c])
            for j in 0..<g.k { acc += x[r * g.k + j] * Double(g.weights[c * g.k + j]) * Double(g.weightScales[c]) }
            out.append(gemmOut(g, acc, c))
        } }
        return out
    case .conv1x1(let g):
        let s = qm.tensors[node.inputs[0]].shape, o = outT.shape
        let x = ins[0].map { codeValue($0, inQ) }
        var out: [(Int32, Int32)] = []
        for oy in 0..<o[1] { for ox in 0..<o[2] { for c in 0..<g.n {
            let iy = oy * g.strideH - g.padTop, ix = ox * g.strideW - g.padLeft
            var acc = Double(g.bias[c]) * Double(inQ.scale) * Double(g.weightScales[c])
            if iy >= 0 && iy < s[1] && ix >= 0 && ix < s[2] {
                for j in 0..<g.k { acc += x[(iy * s[2] + ix) * g.k + j] * Double(g.weights[c * g.k + j]) * Double(g.weightScales[c]) }
            }
            out.append(gemmOut(g, acc, c))
        } } }
        return out
    case .lut(_, let name):
        return ins[0].map { exact(toCode(act(name)!(codeValue($0, inQ)), oq)) }
    case .add(let p):
        let bq = qm.tensors[node.inputs[1]].qparams
        return zip(ins[0], ins[1]).map { near(toCode(codeValue($0, inQ) + codeValue($1, bq), oq, lo: p.act_min, hi: p.act_max)) }
    case .reshape:
        return ins[0].map { exact(signedCode($0, inQ.dtype)) }
    case .transpose(let perm):
        let s = qm.tensors[node.inputs[0]].shape
        var strides = [Int](repeating: 1, count: s.count)
        for i in stride(from: s.count - 2, through: 0, by: -1) { strides[i] = strides[i + 1] * s[i + 1] }
        let os = perm.map { s[$0] }
        var out: [(Int32, Int32)] = []
        var idx = [Int](repeating: 0, count: os.count)
        for _ in 0..<os.reduce(1, *) {
            var src = 0
            for d in 0..<os.count { src += idx[d] * strides[perm[d]] }
            out.append(exact(signedCode(ins[0][src], inQ.dtype)))
            var d = os.count - 1
            while d >= 0 { idx[d] += 1; if idx[d] < os[d] { break }; idx[d] = 0; d -= 1 }
        }
        return out
    case .softmax(let axis, _, _, _):
        let s = qm.tensors[node.inputs[0]].shape
        let inner = s[(axis + 1)...].reduce(1, *), n = s[axis], outer = s[..<axis].reduce(1, *)
        let x = ins[0].map { codeValue($0, inQ) }
        var out = [(Int32, Int32)](repeating: (0, 0), count: x.count)
        for o in 0..<outer { for i in 0..<inner {
            let ids = (0..<n).map { (o * n + $0) * inner + i }
            let m = ids.map { x[$0] }.max()!
            let e = ids.map { exp(x[$0] - m) }
            let sum = e.reduce(0, +)
            for (k, id) in ids.enumerated() { out[id] = near(toCode(e[k] / sum, oq)) }
        } }
        return out
    case .softmaxTable(let axis, _, let m, let sh):
        // float64 softmax times the op's output reciprocal (m * 2^-sh), rounded: within one code
        let s = qm.tensors[node.inputs[0]].shape
        let inner = s[(axis + 1)...].reduce(1, *), n = s[axis], outer = s[..<axis].reduce(1, *)
        let x = ins[0].map { codeValue($0, inQ) }
        let r = Double(m) * pow(2, -Double(sh))
        var out = [(Int32, Int32)](repeating: (0, 0), count: x.count)
        for o in 0..<outer { for i in 0..<inner {
            let ids = (0..<n).map { (o * n + $0) * inner + i }
            let mx = ids.map { x[$0] }.max()!
            let e = ids.map { exp(Double(x[$0] - mx)) }
            let sum = e.reduce(0, +)
            for (k, id) in ids.enumerated() {
                let c = Int32(max(min((e[k] / sum * r).rounded() + Double(oq.zeroPoint), Double(oq.dtype.qmax)), Double(oq.dtype.qmin)))
                out[id] = near(c)
            }
        } }
        return out
    case .conv, .depthwiseConv, .averagePool, .maxPool, .mean, .pad, .concat, .mul, .requantize:
        // the calibrated ONNX path does not produce these yet (the TFLite importer's tests cover them)
        return []
    case .fullyConnectedS16, .convS16, .depthwiseConvS16, .addS16, .mulS16, .averagePoolS16, .maxPoolS16, .lut16,
         .quantizeS16, .requantizeS16To8, .softmaxS16:
        // 8-bit models only here (PrecisionTests covers the int16 ops)
        return []
    }
}

@Suite struct PackingTests {
    func roundTrip(_ g: Graph, dtype: ActivationDType) throws {
        let (_, _, qm, data) = try calibrate(g, dtype: dtype)
        let plan = MemoryPlanner.plan(qm)
        let meta = PackMetadata(sourceName: "\(g.name).onnx", sourceSHA256: sha256(Array("model".utf8)), calibrationMethod: "minmax")
        let bytes = try Packer.pack(qm, plan: plan, metadata: meta)
        #expect(try Packer.pack(qm, plan: plan, metadata: meta) == bytes, "packing is deterministic")
        let model = try PackedModel(bytes: bytes)
        #expect(model.arenaSize == plan.arenaSize && model.arenaLowerBound == plan.lowerBound)
        #expect(String(decoding: model.metadata(MQ_META_SOURCE_NAME), as: UTF8.self) == "\(g.name).onnx")
        #expect(model.metadata(MQ_META_SOURCE_HASH) == sha256(Array("model".utf8)))
        #expect(String(decoding: model.metadata(MQ_META_PRODUCER), as: UTF8.self) == microquantProducer)
        let debugPlan = MemoryPlanner.plan(qm, keepAllAlive: true)
        let debug = try PackedModel(bytes: try Packer.pack(qm, plan: debugPlan, metadata: meta, outputs: Array(qm.tensors.indices)))
        var worst: [String: Int32] = [:]   // codes outside the reference's allowed range
        for s in 0..<8 {
            let x = data.slice(s, 1, graph: g)[0]
            let inQ = qm.tensors[qm.inputs[0]].qparams
            let codes = x.map { UInt8(truncatingIfNeeded: inQ.quantize($0)) }
            let all = try debug.run([codes])
            // the planned (aliased, in-place) model gives exactly the debug model's outputs
            let outs = try model.run([codes])
            for (j, t) in qm.outputs.enumerated() { #expect(outs[j] == all[t], "output \(j) sample \(s)") }
            for node in qm.nodes {
                let ref = referenceRanges(node, qm, g, node.inputs.map { all[$0] })
                let got = all[node.output].map { signedCode($0, qm.tensors[node.output].qparams.dtype) }
                #expect(ref.count == got.count)
                let d = zip(ref, got).map { r, v in v < r.0 ? r.0 - v : (v > r.1 ? v - r.1 : 0) }.max() ?? 0
                worst[node.name] = max(worst[node.name] ?? 0, d)
            }
        }
        for (name, d) in worst {
            // requantization (double rounding) and softmax agree with float64 within one code, tables exactly
            #expect(d == 0, "\(g.name) \(dtype) node \(name): max code difference \(d)")
        }
    }

    @Test func mlpRoundTripUInt8() throws { try roundTrip(try makeMLP(), dtype: .uint8) }
    @Test func mlpRoundTripInt8() throws { try roundTrip(try makeMLP(), dtype: .int8) }
    @Test func convNetRoundTripUInt8() throws { try roundTrip(try makeConvNet(), dtype: .uint8) }
    @Test func convNetRoundTripInt8() throws { try roundTrip(try makeConvNet(), dtype: .int8) }

    @Test func corruptBlobIsRejected() throws {
        let (_, _, qm, _) = try calibrate(try makeMLP())
        var bytes = try Packer.pack(qm, plan: MemoryPlanner.plan(qm), metadata: PackMetadata(sourceName: "m", sourceSHA256: [], calibrationMethod: "minmax"))
        bytes[bytes.count - 1] ^= 0x55
        #expect(throws: PackingError.self) { _ = try PackedModel(bytes: bytes) }
        #expect(throws: PackingError.self) { _ = try PackedModel(bytes: Array(bytes.prefix(20))) }
    }

    @Test func sha256KnownVectors() {
        // FIPS 180-4 examples
        #expect(hexString(sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hexString(sha256([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hexString(sha256(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }
}
