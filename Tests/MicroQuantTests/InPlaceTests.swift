// In-place execution (packed op flag bit 0): the planner's in-place plan must give exactly the bytes of the
// out-of-place plan (`MemoryPlanner.plan(inPlace: false)`) through the C runtime, on every quantizable conv
// fixture and on the MLPerf Tiny KWS DS-CNN, and the plan must respect the rules the loader checks.
import Foundation
import Testing
import MQCalibration
import MQGraph
import MQNumPy
import MQPacking
import MQQuantization
import MQSimulation
@testable import MQONNX


/// Input code samples: the fixture's inputs quantized, then pseudo-random codes (every byte value reachable).
private func samples(_ qm: QuantizedModel, input: NPYArray, extra: Int, seed: UInt64) throws -> [[UInt8]] {
    let t = qm.tensors[qm.inputs[0]], e = t.byteCount
    let values = try input.floats()
    var out: [[UInt8]] = []
    for s in 0..<(values.count / max(e, 1)) {
        out.append(values[(s * e)..<((s + 1) * e)].map { UInt8(truncatingIfNeeded: t.qparams.quantize($0)) })
    }
    var x = seed
    for _ in 0..<extra {
        out.append((0..<e).map { _ in
            x = x &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: x >> 56)
        })
    }
    return out
}

/// Packs `qm` with and without in-place convolutions, runs both on `inputs`, expects identical bytes.
/// Returns both plans.
@discardableResult
private func compareInPlace(_ qm: QuantizedModel, inputs: [[UInt8]], label: String) throws -> (MemoryPlan, MemoryPlan) {
    let meta = PackMetadata(sourceName: label, sourceSHA256: [], calibrationMethod: "test")
    let ip = MemoryPlanner.plan(qm), plain = MemoryPlanner.plan(qm, inPlace: false)
    let a = try PackedModel(bytes: try Packer.pack(qm, plan: ip, metadata: meta))
    let b = try PackedModel(bytes: try Packer.pack(qm, plan: plain, metadata: meta))
    for (s, x) in inputs.enumerated() {
        let ya = try a.run([x]), yb = try b.run([x])
        #expect(ya == yb, "\(label): sample \(s): in-place outputs differ from out of place")
    }
    // Planner rules: an in-place node's output starts at input 0's offset, input 0 is read by no later node
    // and is not a model output; the lower bound of the in-place plan never exceeds the plain one.
    for i in ip.inPlaceNodes {
        let n = qm.nodes[i]
        #expect(ip.tensorOffsets[n.output] == ip.tensorOffsets[n.inputs[0]], "\(label): node \(i)")
        #expect(!qm.outputs.contains(n.inputs[0]))
        for later in qm.nodes[(i + 1)...] {
            #expect(!later.inputs.contains(n.inputs[0]), "\(label): node \(i)'s input is read later")
        }
    }
    #expect(ip.lowerBound <= ip.plainLowerBound && plain.plainLowerBound == plain.lowerBound)
    #expect(plain.inPlaceNodes.allSatisfy { i in
        switch qm.nodes[i].op { case .conv1x1, .depthwiseConv: return false; default: return true }
    })
    return (ip, plain)
}

@Suite struct InPlaceTests {
    @Test(arguments: convQuantizableFixtures)
    func inPlaceGivesTheSameBytes(name: String) throws {
        let g = try importConvFixture(name)
        let input = try NumPy.read(contentsOf: convFixture(name + "_input.npy"))
        for dtype in [ActivationDType.int8, .uint8] {
            let qm = try minmaxQuantized(g, input, dtype: dtype)
            try compareInPlace(qm, inputs: try samples(qm, input: input, extra: 3, seed: 7), label: "\(name) \(dtype)")
        }
    }

    /// Some fixtures must actually run convolutions in place (else the comparison above proves nothing).
    @Test func fixturesExerciseBothKernels() throws {
        var kinds = Set<String>()
        for name in convQuantizableFixtures {
            let g = try importConvFixture(name)
            let qm = try minmaxQuantized(g, try NumPy.read(contentsOf: convFixture(name + "_input.npy")), dtype: .int8)
            for i in MemoryPlanner.plan(qm).inPlaceNodes { kinds.insert(qm.nodes[i].op.kind) }
        }
        #expect(kinds.contains("conv_1x1") && kinds.contains("depthwise_conv"), "\(kinds)")
    }

    /// KWS DS-CNN: the 4 depthwise and 4 pointwise layers run in place; the arena drops from the plain lower
    /// bound (16,064 B: 8,000 B in + 8,000 B out + 64 B padding pixel) to 10,048 B; outputs unchanged.
    @Test func kwsInPlace() throws {
        guard let dir = mlperfTinyDir() else { Issue.record("shared/models/mlperf-tiny not found"); return }
        let g = try ONNXImporter.importModel(at: dir.appendingPathComponent("kws_ref_model_float.onnx"))
        let input = try NumPy.read(contentsOf: convFixture("kws_ref_model_float_input.npy"))
        let qm = try minmaxQuantized(g, input, dtype: .uint8)
        let (ip, plain) = try compareInPlace(qm, inputs: try samples(qm, input: input, extra: 4, seed: 11), label: "kws")
        let convs = ip.inPlaceNodes.filter { i in
            switch qm.nodes[i].op { case .conv1x1, .depthwiseConv: return true; default: return false }
        }
        #expect(convs.count == 8, "\(ip.inPlaceNodes.sorted())")
        #expect(plain.arenaSize == 16064 && plain.largestPairBound == 16000 && ip.plainLowerBound == 16064)
        #expect(ip.arenaSize == 10048, "arena \(ip.arenaSize)")
    }
}
