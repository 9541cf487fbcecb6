// `simulate --reference MODEL.onnx`: the float model through the host float executor, compared with
// the simulated int8 outputs (SQNR, max error, top-1 agreement).

import Foundation
import MQSimulation

extension Simulate {
    func compareWithReference(_ path: String, sim: Simulator, host: SimulationResult, count: Int) throws {
        throw Failure(message: "--reference \(path): the ONNX float reference is not wired in yet (needs the MQONNX importer)", code: 1)
    }
}
