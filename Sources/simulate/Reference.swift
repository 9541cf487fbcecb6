// `simulate --reference MODEL.onnx`: the float model through the host float executor (MQONNX importer +
// MQGraph FloatExecutor), compared with the simulated int8 outputs (dequantized): SQNR, max and mean
// absolute error per output, top-1 (argmax) agreement when an output has 2..100 values per sample
// (a classifier), and agreement of the 0.5 threshold when it has one (a sigmoid head).

import Foundation
import MQGraph
import MQONNX
import MQSimulation

extension Simulate {
    func compareWithReference(_ path: String, sim: Simulator, host: SimulationResult, inputs: [[Float]], count: Int) throws {
        let graph: Graph
        do {
            graph = try ONNXImporter.importModel(at: URL(fileURLWithPath: path))
        } catch {
            throw Failure(message: "--reference \(path): \(error)", code: 1)
        }
        let m = sim.model
        guard graph.inputs.count == m.inputs.count, graph.outputs.count == m.outputs.count else {
            throw Failure(message: "--reference \(path): the float model has \(graph.inputs.count) input(s) and \(graph.outputs.count) output(s), the packed model \(m.inputs.count) and \(m.outputs.count)", code: 1)
        }
        for (i, (g, q)) in zip(graph.inputs, m.inputs).enumerated() where g.elementCount != q.elementCount {
            throw Failure(message: "--reference \(path): input \(i) '\(g.name)' has \(g.elementCount) values per sample, the packed model's \(q.elementCount)", code: 1)
        }
        for (i, (g, q)) in zip(graph.outputs, m.outputs).enumerated() where g.elementCount != q.elementCount {
            throw Failure(message: "--reference \(path): output \(i) '\(g.name)' has \(g.elementCount) values per sample, the packed model's \(q.elementCount)", code: 1)
        }
        let exec = try FloatExecutor(graph: graph)
        var reference = graph.outputs.map { _ in [Float]() }
        let batch = 64
        var start = 0
        while start < count {
            let n = min(batch, count - start)
            let xs = zip(inputs, graph.inputs).map { x, info in
                Array(x[(start * info.elementCount)..<((start + n) * info.elementCount)])
            }
            let ys = try exec.run(xs, batch: n)
            for o in ys.indices { reference[o].append(contentsOf: ys[o]) }
            start += n
        }
        print("float reference \(path) (\(count) sample(s)); simulated int8 vs float:")
        for o in m.outputs.indices {
            let test = try host.floats(output: o)
            let s = ErrorStats(reference: reference[o], test: test, samples: count)
            var line = String(format: "  output %d %@: SQNR %.2f dB, max |error| %.6g, mean |error| %.6g",
                              o, (m.outputs[o].name.isEmpty ? "#\(o)" : m.outputs[o].name) as NSString,
                              s.sqnrDB, s.maxAbsError, s.meanAbsError)
            let task = OutputTask.of(valuesPerSample: m.outputs[o].elementCount)
            if let t = s.top1Agreement, task == .classification {
                // a classifier-sized output (2..100 values per sample): argmax agreement
                line += String(format: ", top-1 agreement %.2f%%", 100 * t)
            } else if task == .binary {
                // one value per sample (binary classifier head): agreement of the 0.5 threshold
                let agree = zip(reference[o], test).filter { ($0 > 0.5) == ($1 > 0.5) }.count
                line += String(format: ", >0.5 agreement %.2f%%", 100 * Double(agree) / Double(count))
            }
            print(line)
        }
    }
}
