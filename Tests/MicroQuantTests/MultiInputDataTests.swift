// .npz reading (MQNumPy/NPZ.swift) and calibration data for models with several inputs.
import Foundation
import Testing
import MQGraph
import MQNumPy
import MQQuantization
@testable import MQONNX

@Suite struct MultiInputDataTests {
    @Test func npzMembersEqualTheNpyFiles() throws {
        let members = try NumPy.readNPZ(contentsOf: convFixture("two_inputs_two_outputs_inputs.npz"))
        #expect(members.map(\.name) == ["image", "mask"])
        for (m, suffix) in zip(members, ["", "_1"]) {
            let npy = try NumPy.read(contentsOf: convFixture("two_inputs_two_outputs_input\(suffix).npy"))
            #expect(m.array.shape == npy.shape && m.array.floats() == npy.floats(), "\(m.name)")
        }
    }

    @Test func compressedAndCorruptNpzAreErrors() throws {
        do {
            _ = try NumPy.readNPZ(contentsOf: convFixture("npz_compressed.npz"))
            Issue.record("a compressed npz must be rejected")
        } catch let e as NPYError {
            #expect("\(e)".contains("np.savez (not np.savez_compressed)"), "\(e)")
        }
        #expect(throws: NPYError.self) { _ = try NumPy.readNPZ(contentsOf: convFixture("npz_truncated.npz")) }
        // Every truncation and a sweep of single-byte corruptions: an error or a result, never a crash.
        let good = [UInt8](try Data(contentsOf: convFixture("two_inputs_two_outputs_inputs.npz")))
        for n in stride(from: 0, to: good.count, by: 7) { _ = try? NumPy.decodeNPZ(Array(good[..<n]), name: "t") }
        for i in stride(from: 0, to: good.count, by: 3) {
            var b = good
            b[i] ^= 0xFF
            _ = try? NumPy.decodeNPZ(b, name: "c")
        }
    }

    @Test func calibrationDataByInputName() throws {
        let g = try importConvFixture("two_inputs_two_outputs")
        let members = try NumPy.readNPZ(contentsOf: convFixture("two_inputs_two_outputs_inputs.npz"))
        // Given in reverse order: matched by name.
        let arrays = members.reversed().map { (name: $0.name, values: $0.array.floats(), shape: $0.array.shape) }
        let d = try CalibrationData.named(graph: g, arrays: arrays, source: "test")
        #expect(d.count == 4 && d.inputs[0] == members[0].array.floats() && d.inputs[1] == members[1].array.floats())
        // A missing input, an unknown name, different sample counts: errors naming the input.
        do {
            _ = try CalibrationData.named(graph: g, arrays: [arrays[1]], source: "test")
            Issue.record("missing input")
        } catch { #expect("\(error)".contains("no data for model input 'mask'"), "\(error)") }
        do {
            _ = try CalibrationData.named(graph: g, arrays: arrays + [(name: "depth", values: [0], shape: [1])], source: "test")
            Issue.record("unknown input")
        } catch { #expect("\(error)".contains("'depth'"), "\(error)") }
        do {
            let short = (name: "mask", values: Array(members[1].array.floats().prefix(16)), shape: [1, 1, 4, 4])
            _ = try CalibrationData.named(graph: g, arrays: [arrays[1], short], source: "test")
            Issue.record("different counts")
        } catch { #expect("\(error)".contains("different sample counts"), "\(error)") }
    }
}
