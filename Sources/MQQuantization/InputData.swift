// Calibration / evaluation data for models with several inputs: one array per graph input, by name.

import MQGraph

extension CalibrationData {
    /// Builds the data from one array per graph input, keyed by input name (`values` row-major, `shape`
    /// [N, sample shape...]; the sample shape must equal the input's shape with or without its leading
    /// batch dimension of 1). `source` names where the arrays came from in messages. Every input needs an
    /// array, every array must name an input, and all arrays must have the same number of samples.
    /// A model with one input takes a single array under any name.
    public static func named(graph: Graph, arrays: [(name: String, values: [Float], shape: [Int])], source: String) throws -> CalibrationData {
        var byName: [String: (values: [Float], shape: [Int])] = [:]
        if graph.inputs.count == 1, arrays.count == 1 {
            byName[graph.inputs[0].name] = (arrays[0].values, arrays[0].shape)
        } else {
            let known = Set(graph.inputs.map(\.name))
            for a in arrays {
                guard known.contains(a.name) else {
                    throw QuantizationError.unsupported(node: graph.name, reason: "\(source) has an array '\(a.name)' but the model has no input of that name (inputs: \(graph.inputs.map(\.name).joined(separator: ", ")))")
                }
                guard byName[a.name] == nil else {
                    throw QuantizationError.unsupported(node: graph.name, reason: "\(source) gives input '\(a.name)' twice")
                }
                byName[a.name] = (a.values, a.shape)
            }
        }
        var inputs: [[Float]] = []
        var count: Int? = nil
        for info in graph.inputs {
            guard let a = byName[info.name] else {
                throw QuantizationError.unsupported(node: graph.name, reason: "no data for model input '\(info.name)' \(shapeString(info.shape)) in \(source) (give --data \(info.name)=FILE.npy, or an .npz with an array named '\(info.name)')")
            }
            let sample = info.shape.first == 1 ? Array(info.shape.dropFirst()) : info.shape
            guard let n = a.shape.first else { throw QuantizationError.shapeMismatch(input: info.name, expected: sample, got: a.shape) }
            let got = Array(a.shape.dropFirst())
            guard got == sample || got == info.shape else {
                throw QuantizationError.shapeMismatch(input: info.name, expected: sample, got: a.shape)
            }
            guard n > 0 else { throw QuantizationError.emptyDataSet("input '\(info.name)' has 0 samples (shape \(shapeString(a.shape)))") }
            if let c = count, c != n {
                throw QuantizationError.unsupported(node: graph.name, reason: "the inputs have different sample counts in \(source): \(c) for '\(graph.inputs[0].name)', \(n) for '\(info.name)'")
            }
            count = n
            inputs.append(a.values)
        }
        return CalibrationData(inputs: inputs, count: count ?? 0)
    }
}
