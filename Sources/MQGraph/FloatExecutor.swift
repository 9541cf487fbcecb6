// The float reference executor: runs an MQGraph on float32 samples (one or a batch) and
// reports every tensor it computes, so calibration observers can watch each tensor that
// will be quantized. Single-threaded, allocation per tensor per batch, tight loops over
// unsafe buffers.

/// A tensor computed by the executor, handed to the observer callback.
/// `values` is only valid during the callback (copy it if you need to keep it).
public struct TensorValues {
    /// Tensor name (graph input or node output).
    public let name: String
    /// Per-sample shape (batch dimension = 1), as in `Graph.shapes`.
    public let shape: [Int]
    /// Number of samples in the batch.
    public let batch: Int
    /// batch * product(shape) values: the samples one after another, each row-major.
    public let values: UnsafeBufferPointer<Float>
    /// The node that produced the tensor, or nil for a graph input.
    public let node: Node?
}

/// Runs a graph in float32. Create once, call `run` for every batch.
public struct FloatExecutor: Sendable {
    /// The graph being executed (validated at init).
    public let graph: Graph
    /// For every tensor, the index of the last node that reads it (graph outputs: Int.max),
    /// so buffers are released as soon as they are dead.
    private let lastUse: [String: Int]

    /// Validates `graph` (throws `GraphError` if it is malformed).
    public init(graph: Graph) throws {
        try graph.validate()
        self.graph = graph
        var last: [String: Int] = [:]
        for (i, n) in graph.nodes.enumerated() {
            for t in n.inputs { last[t] = i }
        }
        for o in graph.outputs { last[o.name] = Int.max }
        self.lastUse = last
    }

    /// Runs `batch` samples.
    /// - Parameters:
    ///   - inputs: one array per graph input (in `graph.inputs` order), each holding
    ///     `batch * inputs[i].elementCount` floats: the samples one after another, in the
    ///     input's ONNX layout (row-major).
    ///   - batch: number of samples (>= 1).
    ///   - observe: called once per tensor, in execution order: first each graph input,
    ///     then each node output, with all samples of the batch.
    /// - Returns: one array per graph output (in `graph.outputs` order), `batch * elementCount` floats each.
    /// - Throws: `GraphError.input` when an input has the wrong size or batch < 1.
    public func run(_ inputs: [[Float]], batch: Int,
                    observe: ((TensorValues) -> Void)? = nil) throws -> [[Float]] {
        guard batch >= 1 else { throw GraphError.input("batch must be >= 1, got \(batch)") }
        guard inputs.count == graph.inputs.count else {
            throw GraphError.input("graph '\(graph.name)' has \(graph.inputs.count) input(s), got \(inputs.count)")
        }
        var env: [String: [Float]] = [:]
        for (info, data) in zip(graph.inputs, inputs) {
            let want = batch * info.elementCount
            guard data.count == want else {
                throw GraphError.input("input '\(info.name)' \(shapeString(info.shape)) x \(batch) sample(s) needs \(want) floats, got \(data.count)")
            }
            if let i = data.firstIndex(where: { !$0.isFinite }) {
                throw GraphError.input("input '\(info.name)' sample \(i / max(info.elementCount, 1)) contains a non-finite value (\(data[i]))")
            }
            env[info.name] = data
            if let observe {
                data.withUnsafeBufferPointer { observe(TensorValues(name: info.name, shape: info.shape, batch: batch, values: $0, node: nil)) }
            }
        }
        for (index, node) in graph.nodes.enumerated() {
            let inShapes = node.inputs.map { graph.shapes[$0]! }
            let outShape = graph.shapes[node.output]!
            let x = env[node.inputs[0]]!
            var y: [Float]
            switch node.op {
            case .reshape, .identity:
                y = x
            case .add:
                let b = env[node.inputs[1]]!
                y = [Float](unsafeUninitializedCapacity: x.count) { buf, n in
                    x.withUnsafeBufferPointer { xp in
                        b.withUnsafeBufferPointer { bp in
                            for i in 0..<xp.count { buf[i] = xp[i] + bp[i] }
                        }
                    }
                    n = x.count
                }
            case .fullyConnected(let fc):
                let k = fc.inFeatures
                let rows = x.count / k
                y = Self.gemm(x, rows: rows, weight: fc.weight.data, bias: fc.bias?.data, n: fc.outFeatures, k: k)
            case .conv1x1(let c):
                y = Self.conv1x1(x, inShape: inShapes[0], outShape: outShape, batch: batch, c)
            case .transpose(let perm):
                y = Self.transpose(x, shape: inShapes[0], perm: perm, batch: batch)
            case .softmax(let axis):
                y = Self.softmax(x, shape: inShapes[0], axis: axis, batch: batch)
            case .relu, .clip, .sigmoid, .silu, .hardSigmoid, .hardSwish, .tanh, .gelu:
                y = x
                let op = node.op
                y.withUnsafeMutableBufferPointer { p in applyActivation(op, p) }
            case .conv(let c):
                y = Self.conv(x, inShape: inShapes[0], outShape: outShape, batch: batch, c)
            case .averagePool(let p):
                y = Self.pool(x, inShape: inShapes[0], outShape: outShape, batch: batch, p, isMax: false)
            case .maxPool(let p):
                y = Self.pool(x, inShape: inShapes[0], outShape: outShape, batch: batch, p, isMax: true)
            case .mean(let axes):
                y = Self.mean(x, shape: inShapes[0], axes: axes, batch: batch)
            case let .pad(before, after, value):
                y = Self.pad(x, shape: inShapes[0], before: before, after: after, value: value, batch: batch)
            case .concat(let axis):
                y = Self.concat(node.inputs.map { env[$0]! }, shapes: inShapes, axis: axis, batch: batch)
            case .mul:
                y = Self.mul(x, env[node.inputs[1]]!, aShape: inShapes[0], bShape: inShapes[1], batch: batch)
            case let .affine(scale, shift):
                y = Self.affine(x, shape: inShapes[0], scale: scale, shift: shift)
            }
            precondition(y.count == batch * outShape.reduce(1, *), "executor bug: \(node.name) produced \(y.count) values")
            // Release dead inputs before storing the output (keeps peak memory low).
            for t in node.inputs where (lastUse[t] ?? -1) <= index { env[t] = nil }
            if let observe {
                y.withUnsafeBufferPointer { observe(TensorValues(name: node.output, shape: outShape, batch: batch, values: $0, node: node)) }
            }
            env[node.output] = y
        }
        return graph.outputs.map { env[$0.name]! }
    }

    /// Runs one sample: one array per graph input (its elementCount floats), returns one array per output.
    public func run(sample inputs: [[Float]]) throws -> [[Float]] {
        try run(inputs, batch: 1)
    }

    // MARK: kernels

    /// y[r, o] = bias[o] + sum_i x[r, i] * w[o, i]; x [rows, k], w [n, k], y [rows, n].
    static func gemm(_ x: [Float], rows: Int, weight: [Float], bias: [Float]?, n: Int, k: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: rows * n) { out, count in
            x.withUnsafeBufferPointer { xp in
                weight.withUnsafeBufferPointer { wp in
                    let xb = xp.baseAddress!, wb = wp.baseAddress!, ob = out.baseAddress!
                    for r in 0..<rows {
                        gemmRow(xb + r * k, wb, bias, ob + r * n, n: n, k: k)
                    }
                }
            }
            count = rows * n
        }
    }

    /// One output row: out[o] = bias[o] + dot(x, w[o]) for o in 0..<n, 4 partial sums per dot product.
    @inline(__always)
    static func gemmRow(_ x: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ bias: [Float]?,
                        _ out: UnsafeMutablePointer<Float>, n: Int, k: Int) {
        let k4 = k & ~3
        for o in 0..<n {
            let wr = w + o * k
            var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
            var i = 0
            while i < k4 {
                s0 += x[i] * wr[i]
                s1 += x[i + 1] * wr[i + 1]
                s2 += x[i + 2] * wr[i + 2]
                s3 += x[i + 3] * wr[i + 3]
                i += 4
            }
            while i < k {
                s0 += x[i] * wr[i]
                i += 1
            }
            out[o] = (s0 + s1) + (s2 + s3) + (bias?[o] ?? 0)
        }
    }

    /// NHWC pointwise conv; positions outside the input (zero padding) give the bias only.
    static func conv1x1(_ x: [Float], inShape: [Int], outShape: [Int], batch: Int, _ c: Conv1x1) -> [Float] {
        let images = batch * inShape[0]
        let (h, w, k) = (inShape[1], inShape[2], inShape[3])
        let (oh, ow, n) = (outShape[1], outShape[2], outShape[3])
        let total = images * oh * ow * n
        return [Float](unsafeUninitializedCapacity: total) { out, count in
            x.withUnsafeBufferPointer { xp in
                c.weight.data.withUnsafeBufferPointer { wp in
                    let xb = xp.baseAddress!, wb = wp.baseAddress!, ob = out.baseAddress!
                    for img in 0..<images {
                        for oy in 0..<oh {
                            let iy = oy * c.strideH - c.padTop
                            for ox in 0..<ow {
                                let ix = ox * c.strideW - c.padLeft
                                let o = ob + ((img * oh + oy) * ow + ox) * n
                                if iy < 0 || iy >= h || ix < 0 || ix >= w {
                                    for j in 0..<n { o[j] = c.bias?.data[j] ?? 0 }
                                } else {
                                    gemmRow(xb + ((img * h + iy) * w + ix) * k, wb, c.bias?.data, o, n: n, k: k)
                                }
                            }
                        }
                    }
                }
            }
            count = total
        }
    }

    /// Per-sample transpose: out dim i = in dim perm[i].
    static func transpose(_ x: [Float], shape: [Int], perm: [Int], batch: Int) -> [Float] {
        let rank = shape.count
        let per = shape.reduce(1, *)
        var inStrides = [Int](repeating: 1, count: rank)
        if rank > 1 { for d in stride(from: rank - 2, through: 0, by: -1) { inStrides[d] = inStrides[d + 1] * shape[d + 1] } }
        let outDims = perm.map { shape[$0] }
        let srcStride = perm.map { inStrides[$0] }  // input stride of each output dim
        return [Float](unsafeUninitializedCapacity: x.count) { out, count in
            x.withUnsafeBufferPointer { xp in
                var idx = [Int](repeating: 0, count: rank)
                for b in 0..<batch {
                    let src = xp.baseAddress! + b * per
                    let dst = out.baseAddress! + b * per
                    for d in 0..<rank { idx[d] = 0 }
                    var off = 0
                    for i in 0..<per {
                        dst[i] = src[off]
                        // increment the output multi-index (last dim fastest), tracking the source offset
                        var d = rank - 1
                        while d >= 0 {
                            idx[d] += 1
                            off += srcStride[d]
                            if idx[d] < outDims[d] { break }
                            off -= srcStride[d] * outDims[d]
                            idx[d] = 0
                            d -= 1
                        }
                    }
                }
            }
            count = x.count
        }
    }

    /// Softmax along `axis` of each sample (max-subtracted, sum in Double).
    static func softmax(_ x: [Float], shape: [Int], axis: Int, batch: Int) -> [Float] {
        let outer = batch * shape[..<axis].reduce(1, *)
        let size = shape[axis]
        let inner = shape[(axis + 1)...].reduce(1, *)
        return [Float](unsafeUninitializedCapacity: x.count) { out, count in
            x.withUnsafeBufferPointer { xp in
                for o in 0..<outer {
                    for i in 0..<inner {
                        let base = o * size * inner + i
                        var m = -Float.infinity
                        for a in 0..<size { m = max(m, xp[base + a * inner]) }
                        var sum = 0.0
                        for a in 0..<size {
                            let e = mqExp(Double(xp[base + a * inner] - m))
                            out[base + a * inner] = Float(e)
                            sum += e
                        }
                        for a in 0..<size { out[base + a * inner] = Float(Double(out[base + a * inner]) / sum) }
                    }
                }
            }
            count = x.count
        }
    }
}
