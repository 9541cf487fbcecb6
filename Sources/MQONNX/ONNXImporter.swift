// ONNX ModelProto -> MQGraph.
//
// Pipeline:
//  1. Parse the protobuf (onnx-subset.pb.swift); reject external data; read initializers and
//     Constant nodes into constants; read graph inputs (dynamic batch dimension -> 1).
//  2. Rewrite ONNX-level patterns: Mul(x, Sigmoid(x)) -> SiLU; x * 0.5 * (1 + Erf(x / sqrt 2))
//     (any association of the products, Div by sqrt 2 or Mul by 1/sqrt 2) -> Gelu.
//  3. Convert node by node. Every ONNX activation value is represented lazily as an IR tensor
//     t plus a pending permutation pi (value = transpose(t, pi)): Conv produces NHWC tensors
//     (pi = [0, 3, 1, 2]), ONNX Transpose only updates pi, Softmax and elementwise ops work on t
//     with a remapped axis, and an explicit IR transpose is emitted only where an op needs a
//     particular layout (Conv input NHWC; Gemm/MatMul/Reshape/Flatten input and graph outputs
//     in the ONNX layout). BatchNormalization and constant Adds fold into the preceding
//     fully connected / 1x1 conv layer.
//  4. Simplify: compose chains of transposes, fold a transpose feeding Flatten/Reshape -> Gemm
//     into the Gemm's weight columns, turn transposes that only move size-1 dimensions into
//     reshapes, merge reshape chains, drop no-op nodes and dead nodes.

import Foundation
import MQGraph
import SwiftProtobuf

/// Imports ONNX models into the MQGraph IR.
public enum ONNXImporter {
    /// Reads and imports an `.onnx` file. The graph is named after the ONNX graph name (or the file stem).
    /// - Throws: `ImportError` naming the file, node and op on any problem.
    public static func importModel(at url: URL) throws -> Graph {
        var isDir: ObjCBool = false
        guard !url.path.isEmpty, FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir) else {
            throw ImportError.unreadable(file: url.path, reason: "no such file")
        }
        guard !isDir.boolValue else { throw ImportError.unreadable(file: url.path, reason: "is a directory, expected an .onnx file") }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            let ns = error as NSError
            let posix = (ns.userInfo[NSUnderlyingErrorKey] as? NSError).flatMap { $0.domain == NSPOSIXErrorDomain ? $0.code : nil }
            throw ImportError.unreadable(file: url.path, reason: posix.map { String(cString: strerror(Int32($0))) } ?? (FileManager.default.isReadableFile(atPath: url.path) ? "read error" : "permission denied"))
        }
        return try importModel(data: data, file: url.path, defaultName: url.deletingPathExtension().lastPathComponent)
    }

    /// Imports a serialized ONNX ModelProto. `file` is used in messages; `defaultName` names the graph
    /// when the ONNX graph has no name.
    public static func importModel(data: Data, file: String = "<memory>", defaultName: String = "model") throws -> Graph {
        let model: Onnx_ModelProto
        do {
            model = try Onnx_ModelProto(serializedBytes: data)
        } catch {
            throw ImportError.corrupt(file: file, reason: "protobuf decoding failed (\(error)); the file may be truncated or not an ONNX model")
        }
        guard model.hasGraph, !model.graph.node.isEmpty || !model.graph.output.isEmpty else {
            throw ImportError.corrupt(file: file, reason: "the ModelProto has no graph (empty or truncated file?)")
        }
        var opset = 0
        for o in model.opsetImport where o.domain.isEmpty || o.domain == "ai.onnx" {
            opset = Int(o.version)
        }
        if opset == 0 { opset = model.opsetImport.isEmpty ? 1 : 13 }
        var converter = Converter(file: file, opset: opset)
        let g = model.graph
        return try converter.run(g, name: g.name.isEmpty ? defaultName : g.name)
    }
}

// MARK: - internal representation

/// A constant (initializer, Constant node or folded value); numbers as Double (exact for float32 and
/// integers below 2^53), row-major.
struct Const {
    var shape: [Int]
    var values: [Double]
    /// ONNX TensorProto data type when read from a tensor (2 = UINT8, 3 = INT8, ...), 0 otherwise.
    var elemType: Int32 = 0
    var count: Int { values.count }
    var floats: [Float] { values.map { Float($0) } }
}

/// An ONNX node after parsing (attributes by name).
struct ONode {
    var name: String
    var opType: String
    var domain: String
    var inputs: [String]
    var outputs: [String]
    var attrs: [String: Onnx_AttributeProto]

    func int(_ key: String, _ def: Int) -> Int {
        guard let a = attrs[key] else { return def }
        return Int(a.i)
    }
    func float(_ key: String, _ def: Float) -> Float {
        guard let a = attrs[key] else { return def }
        return a.f
    }
    func ints(_ key: String) -> [Int]? {
        guard let a = attrs[key] else { return nil }
        return a.ints.map { Int($0) }
    }
    func string(_ key: String) -> String? {
        guard let a = attrs[key] else { return nil }
        return String(decoding: a.s, as: UTF8.self)
    }
    /// Input i, or nil if absent or the empty name (ONNX optional input).
    func input(_ i: Int) -> String? {
        i < inputs.count && !inputs[i].isEmpty ? inputs[i] : nil
    }
}

/// Lazy layout: ONNX value = transpose(tensor, perm).
struct Repr: Hashable {
    var tensor: String
    var perm: [Int]
}

func identityPerm(_ n: Int) -> [Int] { Array(0..<n) }

/// Largest element count of any tensor the importer accepts (1 GiB of float32): far above any
/// microcontroller model, and it keeps every size computation free of overflow.
let maxElements = 1 << 28

/// Product of dimensions, or nil if a dimension is negative or the product exceeds `maxElements`.
func checkedProduct<S: Sequence>(_ dims: S) -> Int? where S.Element == Int {
    var p = 1
    for d in dims {
        guard d >= 0, d <= maxElements else { return nil }
        p *= d
        guard p <= maxElements else { return nil }
    }
    return p
}

/// An integer stored in a Double constant, or nil if it is not finite / out of the exact range.
/// The name of an ONNX TensorProto.DataType, with its number: "int64 (ONNX element type 7)".
func onnxElementTypeName(_ t: Int32) -> String {
    let names: [Int32: String] = [0: "undefined", 1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32",
                                  7: "int64", 8: "string", 9: "bool", 10: "float16", 11: "float64", 12: "uint32",
                                  13: "uint64", 14: "complex64", 15: "complex128", 16: "bfloat16"]
    return "\(names[t] ?? "of an unknown element type") (ONNX element type \(t))"
}

func exactInt(_ d: Double) -> Int? {
    guard d.isFinite, abs(d) <= 9.0e15 else { return nil }
    return Int(d)
}
func invert(_ p: [Int]) -> [Int] {
    var inv = [Int](repeating: 0, count: p.count)
    for (i, v) in p.enumerated() { inv[v] = i }
    return inv
}
/// NHWC tensor t holds the NCHW value transpose(t, nhwcToNchw).
let nhwcToNchw = [0, 3, 1, 2]

struct Converter {
    let file: String
    let opset: Int

    var consts: [String: Const] = [:]
    var shapes: [String: [Int]] = [:]          // ONNX shape of every activation value (batch = 1)
    var reprs: [String: Repr] = [:]            // ONNX activation value -> IR representation
    var irShapes: [String: [Int]] = [:]        // IR tensor shapes
    var nodes: [Node] = []
    var used: Set<String> = []
    var cache: [String: String] = [:]          // "value|perm" -> materialized IR tensor
    var consumers: [String: Int] = [:]         // ONNX consumer count (+1 for graph outputs)
    var graphOutputs: Set<String> = []
    var qdqWeightScales: [String: [Double]] = [:]   // value -> scales of the DequantizeLinear of an int8 constant
    var qdqAnnotations: [String: TensorQuantization] = [:]   // IR tensor -> qparams of a QuantizeLinear (QDQImport.swift)
    var quantizedValues: [String: TensorQuantization] = [:]  // ONNX value -> qparams, for QuantizeLinear outputs
    var quantizeLinearInputs = Set<String>()   // ONNX values a QuantizeLinear quantizes (QDQImport.swift)
    var isQDQ = false                          // the graph has QuantizeLinear / DequantizeLinear nodes
    var inputViews: [String: String] = [:]     // QDQ: graph input and its float data-movement views -> the input

    init(file: String, opset: Int) {
        self.file = file
        self.opset = opset
    }

    // MARK: driver

    mutating func run(_ g: Onnx_GraphProto, name: String) throws -> Graph {
        for t in g.initializer {
            consts[t.name] = try parseTensor(t)
        }
        var onodes: [ONode] = []
        for n in g.node {
            var attrs: [String: Onnx_AttributeProto] = [:]
            for a in n.attribute { attrs[a.name] = a }
            let name = n.name.isEmpty ? (n.output.first ?? n.opType) : n.name
            guard let first = n.output.first, !first.isEmpty else {
                throw ImportError.corrupt(file: file, reason: "node '\(name)' (\(n.opType)) has no output")
            }
            let o = ONode(name: name, opType: n.opType, domain: n.domain, inputs: n.input, outputs: n.output, attrs: attrs)
            if o.opType == "Constant" && (o.domain.isEmpty || o.domain == "ai.onnx") {
                guard let out = o.outputs.first else { throw ImportError.corrupt(file: file, reason: "Constant node '\(name)' has no output") }
                consts[out] = try constantNode(o)
            } else {
                onodes.append(o)
            }
        }
        // Graph inputs (initializers listed as inputs by old exporters are constants, not inputs).
        var inputs: [TensorInfo] = []
        for vi in g.input where consts[vi.name] == nil {
            let shape = try inputShape(vi)
            inputs.append(TensorInfo(name: vi.name, shape: shape))
            shapes[vi.name] = shape
            reprs[vi.name] = Repr(tensor: vi.name, perm: identityPerm(shape.count))
            irShapes[vi.name] = shape
            used.insert(vi.name)
        }
        guard !inputs.isEmpty else { throw ImportError.invalidModel("'\(file)': the graph has no (non-constant) input") }
        graphOutputs = Set(g.output.map(\.name))

        onodes = try rewritePatterns(onodes, outputs: graphOutputs)
        isQDQ = onodes.contains { $0.opType == "QuantizeLinear" || $0.opType == "DequantizeLinear" }
        if isQDQ { for i in inputs { inputViews[i.name] = i.name } }
        for o in onodes { for i in o.inputs where !i.isEmpty { consumers[i, default: 0] += 1 } }
        for o in graphOutputs { consumers[o, default: 0] += 1 }

        for o in onodes {
            try convert(o)
        }

        var outputs: [TensorInfo] = []
        for vi in g.output {
            guard let shape = shapes[vi.name] else {
                if consts[vi.name] != nil {
                    throw ImportError.invalidModel("graph output '\(vi.name)' is a constant; outputs must be computed from the inputs")
                }
                throw ImportError.invalidModel("graph output '\(vi.name)' is not produced by any node")
            }
            var t = try materialize(vi.name, as: identityPerm(shape.count), preferredName: vi.name)
            if t != vi.name {
                guard !used.contains(vi.name) else {
                    throw ImportError.invalidModel("graph output name '\(vi.name)' collides with an internal tensor")
                }
                t = try emit(name: vi.name, op: .identity, inputs: [t], output: vi.name)
            }
            outputs.append(TensorInfo(name: vi.name, shape: shape))
        }
        var result = nodes
        simplify(&result, outputs: Set(outputs.map(\.name)))
        do {
            var graph = try Graph(name: name, inputs: inputs, outputs: outputs, nodes: result)
            try foldTransposeIntoFullyConnected(&graph)
            try transposesToReshapes(&graph)
            graph.quantization = qdqAnnotations.filter { graph.shapes[$0.key] != nil }
            graph.weightScales = qdqLayerWeightScales(onodes, graph)
            return graph
        } catch let e as GraphError {
            throw ImportError.graph(e)
        }
    }

    // MARK: parsing helpers

    func parseTensor(_ t: Onnx_TensorProto) throws -> Const {
        if t.dataLocation == .external || !t.externalData.isEmpty {
            let loc = t.externalData.first { $0.key == "location" }?.value ?? "?"
            throw ImportError.externalData(file: file, tensor: t.name, location: loc)
        }
        let shape = t.dims.map { Int($0) }
        guard let n = checkedProduct(shape) else {
            throw ImportError.corrupt(file: file, reason: "tensor '\(t.name)' has a negative or too large dimension \(shape) (at most \(maxElements) elements)")
        }
        func bad(_ why: String) -> ImportError {
            .corrupt(file: file, reason: "tensor '\(t.name)' \(shapeString(shape)): \(why)")
        }
        let raw = t.rawData
        var values: [Double]
        func fromRaw<T>(_ type: T.Type, _ conv: (T) -> Double) throws -> [Double] {
            let size = MemoryLayout<T>.size
            guard raw.count == n * size else { throw bad("raw_data has \(raw.count) bytes, expected \(n * size)") }
            return raw.withUnsafeBytes { b in
                (0..<n).map { conv(b.loadUnaligned(fromByteOffset: $0 * size, as: T.self)) }
            }
        }
        switch t.dataType {
        case 1:  // FLOAT
            if !raw.isEmpty {
                values = try fromRaw(UInt32.self) { Double(Float(bitPattern: UInt32(littleEndian: $0))) }
            } else { values = t.floatData.map(Double.init) }
        case 11: // DOUBLE
            if !raw.isEmpty {
                values = try fromRaw(UInt64.self) { Double(bitPattern: UInt64(littleEndian: $0)) }
            } else { values = t.doubleData }
        case 7:  // INT64
            if !raw.isEmpty {
                values = try fromRaw(Int64.self) { Double(Int64(littleEndian: $0)) }
            } else { values = t.int64Data.map(Double.init) }
        case 6, 5, 3, 2, 4, 9: // INT32, INT16, INT8, UINT8, UINT16, BOOL: int32_data or raw
            if !raw.isEmpty {
                switch t.dataType {
                case 6: values = try fromRaw(Int32.self) { Double(Int32(littleEndian: $0)) }
                case 5: values = try fromRaw(Int16.self) { Double(Int16(littleEndian: $0)) }
                case 4: values = try fromRaw(UInt16.self) { Double(UInt16(littleEndian: $0)) }
                case 3: values = try fromRaw(Int8.self) { Double($0) }
                default: values = try fromRaw(UInt8.self) { Double($0) }
                }
            } else { values = t.int32Data.map(Double.init) }
        default:
            throw bad("data type \(t.dataType) is not supported (float32, float64 and integer tensors are)")
        }
        guard values.count == n else { throw bad("has \(values.count) values, expected \(n)") }
        return Const(shape: shape, values: values, elemType: Int32(t.dataType))
    }

    func constantNode(_ o: ONode) throws -> Const {
        if let a = o.attrs["value"] { return try parseTensor(a.t) }
        if let a = o.attrs["value_float"] { return Const(shape: [], values: [Double(a.f)]) }
        if let a = o.attrs["value_floats"] { return Const(shape: [a.floats.count], values: a.floats.map(Double.init)) }
        if let a = o.attrs["value_int"] { return Const(shape: [], values: [Double(a.i)]) }
        if let a = o.attrs["value_ints"] { return Const(shape: [a.ints.count], values: a.ints.map(Double.init)) }
        throw ImportError.unsupported(opType: "Constant", node: o.name, reason: "only value, value_float(s) and value_int(s) attributes are supported")
    }

    func inputShape(_ vi: Onnx_ValueInfoProto) throws -> [Int] {
        guard vi.hasType, case .tensorType(let tt)? = vi.type.value else {
            throw ImportError.invalidModel("graph input '\(vi.name)' is not a tensor")
        }
        guard tt.elemType == 1 else {
            throw ImportError.invalidModel("graph input '\(vi.name)' is \(onnxElementTypeName(tt.elemType)); only float32 inputs are supported (integer inputs such as token ids or image bytes are not: export the model with a float32 input)")
        }
        guard tt.hasShape else { throw ImportError.invalidModel("graph input '\(vi.name)' has no shape") }
        var shape: [Int] = []
        for (i, d) in tt.shape.dim.enumerated() {
            switch d.value {
            case .dimValue(let v)? where v > 0:
                shape.append(Int(v))
            case .dimValue(let v)? where v <= 0 && i > 0:
                throw ImportError.invalidModel("graph input '\(vi.name)' has a \(v == 0 ? "zero-sized" : "negative") dimension (\(v)) at axis \(i): a sample of this input would hold no values")
            default:
                guard i == 0 else {
                    let what: String
                    if case .dimParam(let p)? = d.value { what = "'\(p)'" } else { what = "unknown" }
                    throw ImportError.invalidModel("graph input '\(vi.name)' has a dynamic dimension \(what) at axis \(i); only the batch dimension (axis 0) may be dynamic")
                }
                shape.append(1)  // dynamic batch -> one sample
            }
        }
        guard checkedProduct(shape) != nil else {
            throw ImportError.invalidModel("graph input '\(vi.name)' \(shapeString(shape)) is too large (at most \(maxElements) elements)")
        }
        return shape
    }

    // MARK: pattern rewriting (ONNX level)

    func rewritePatterns(_ input: [ONode], outputs: Set<String>) throws -> [ONode] {
        var ns: [ONode?] = input
        func producerIndex(_ v: String) -> Int? { ns.firstIndex { $0?.outputs.contains(v) == true } }
        func consumerIndices(_ v: String) -> [Int] {
            ns.indices.filter { ns[$0]?.inputs.contains(v) == true }
        }
        func single(_ v: String) -> Int? {
            guard !outputs.contains(v) else { return nil }
            let c = consumerIndices(v)
            return c.count == 1 ? c[0] : nil
        }
        func isConst(_ v: String, _ x: Double, tol: Double = 1e-4) -> Bool {
            guard let c = consts[v], c.count == 1 else { return false }
            return abs(c.values[0] - x) <= tol * max(1, abs(x))
        }
        func other(_ n: ONode, _ v: String) -> String? {
            guard n.inputs.count == 2 else { return nil }
            if n.inputs[0] == v { return n.inputs[1] }
            if n.inputs[1] == v { return n.inputs[0] }
            return nil
        }
        // GELU: Erf(x / sqrt2) or Erf(x * (1/sqrt2)), + 1, then * x and * 0.5 in any order.
        for ei in ns.indices {
            guard let e = ns[ei], e.opType == "Erf", let d = e.input(0), let di = producerIndex(d), let dn = ns[di],
                  single(d) == ei else { continue }
            var x: String?
            if dn.opType == "Div", dn.inputs.count == 2, isConst(dn.inputs[1], 2.0.squareRoot()) { x = dn.inputs[0] }
            if dn.opType == "Mul", dn.inputs.count == 2 {
                if isConst(dn.inputs[1], 1 / 2.0.squareRoot()) { x = dn.inputs[0] }
                if isConst(dn.inputs[0], 1 / 2.0.squareRoot()) { x = dn.inputs[1] }
            }
            guard let x, consts[x] == nil else { continue }
            guard let ai = single(e.outputs[0]), let an = ns[ai], an.opType == "Add",
                  let one = other(an, e.outputs[0]), isConst(one, 1) else { continue }
            guard let m1i = single(an.outputs[0]), let m1 = ns[m1i], m1.opType == "Mul",
                  let p = other(m1, an.outputs[0]) else { continue }
            var removed = [di, ei, ai, m1i]
            var last = m1i
            var y: String?
            if p == x || isConst(p, 0.5) {
                // (x * a) * 0.5  or  (a * 0.5) * x
                if let m2i = single(m1.outputs[0]), let m2 = ns[m2i], m2.opType == "Mul", let q = other(m2, m1.outputs[0]),
                   p == x ? isConst(q, 0.5) : q == x {
                    removed.append(m2i); last = m2i; y = m2.outputs[0]
                }
            } else if let hi = producerIndex(p), let h = ns[hi], h.opType == "Mul", single(p) == m1i,
                      let q = other(h, x), isConst(q, 0.5) {
                // (x * 0.5) * a
                removed.append(hi); y = m1.outputs[0]
            }
            guard let y else { continue }
            let gelu = ONode(name: ns[last]!.name, opType: "Gelu", domain: "", inputs: [x], outputs: [y], attrs: [:])
            for r in removed { ns[r] = nil }
            ns[last] = gelu
        }
        // HardSwish: Mul(x, HardSigmoid(x)) with alpha 1/6, beta 0.5 (torch before opset 14).
        for mi in ns.indices {
            guard let m = ns[mi], m.opType == "Mul", m.inputs.count == 2 else { continue }
            for (a, b) in [(m.inputs[0], m.inputs[1]), (m.inputs[1], m.inputs[0])] {
                guard let si = producerIndex(b), let s = ns[si], s.opType == "HardSigmoid", s.input(0) == a,
                      abs(s.float("alpha", 0.2) - 1 / 6) < 1e-6, abs(s.float("beta", 0.5) - 0.5) < 1e-6 else { continue }
                ns[mi] = ONode(name: m.name, opType: "HardSwish", domain: "", inputs: [a], outputs: m.outputs, attrs: [:])
                if single(b) == mi { ns[si] = nil }
                break
            }
        }
        // SiLU: Mul(x, Sigmoid(x)).
        for mi in ns.indices {
            guard let m = ns[mi], m.opType == "Mul", m.inputs.count == 2 else { continue }
            for (a, b) in [(m.inputs[0], m.inputs[1]), (m.inputs[1], m.inputs[0])] {
                guard let si = producerIndex(b), let s = ns[si], s.opType == "Sigmoid", s.input(0) == a else { continue }
                ns[mi] = ONode(name: m.name, opType: "SiLU", domain: "", inputs: [a], outputs: m.outputs, attrs: [:])
                if single(b) == mi { ns[si] = nil }
                break
            }
        }
        return ns.compactMap { $0 }
    }

    // MARK: IR emission

    /// A fresh IR tensor name derived from `base`.
    mutating func fresh(_ base: String) -> String {
        var n = base, k = 1
        while used.contains(n) { n = "\(base)_\(k)"; k += 1 }
        used.insert(n)
        return n
    }

    /// IR tensor name for an ONNX value held with pending permutation `perm`.
    mutating func irName(_ value: String, _ perm: [Int]) -> String {
        if perm == identityPerm(perm.count) { return fresh(value) }
        if perm == nhwcToNchw { return fresh(value + ".nhwc") }
        return fresh(value + ".t")
    }

    /// Appends an IR node; `output` must come from `fresh`/`irName`.
    @discardableResult
    mutating func emit(name: String, op: Op, inputs: [String], output: String) throws -> String {
        let ins = inputs.map { irShapes[$0]! }
        let shape: [Int]
        do {
            shape = try op.outputShape(inputs: ins, node: name)
        } catch let e as GraphError {
            throw ImportError.graph(e)
        }
        guard checkedProduct(shape) != nil else {
            throw ImportError.invalidModel("node '\(name)' would produce a tensor of shape \(shapeString(shape)), above the limit of \(maxElements) elements")
        }
        irShapes[output] = shape
        used.insert(output)
        nodes.append(Node(name: name, op: op, inputs: inputs, output: output))
        return output
    }

    /// An IR tensor s with value = transpose(s, target).
    mutating func materialize(_ value: String, as target: [Int], preferredName: String? = nil) throws -> String {
        guard let r = reprs[value] else {
            throw ImportError.invalidModel("tensor '\(value)' is used before it is defined")
        }
        let tinv = invert(target)
        let rho = tinv.map { r.perm[$0] }
        if rho == identityPerm(rho.count) { return r.tensor }
        let key = "\(value)|\(target)"
        if let c = cache[key] { return c }
        let out = preferredName.flatMap { used.contains($0) ? nil : fresh($0) } ?? irName(value, target)
        try emit(name: "\(value).layout", op: .transpose(perm: rho), inputs: [r.tensor], output: out)
        cache[key] = out
        return out
    }

    mutating func plain(_ value: String) throws -> String {
        try materialize(value, as: identityPerm(shapes[value]!.count))
    }

    // MARK: node conversion

    func unsupported(_ o: ONode, _ why: String) -> ImportError {
        .unsupported(opType: o.opType, node: o.name, reason: why)
    }

    /// The ONNX value name of activation input i (error if missing or constant).
    func act(_ o: ONode, _ i: Int) throws -> String {
        guard let v = o.input(i) else { throw unsupported(o, "missing input \(i)") }
        if consts[v] != nil { throw unsupported(o, "input \(i) ('\(v)') is a constant; expected an activation computed from the graph input") }
        guard shapes[v] != nil else { throw ImportError.invalidModel("node '\(o.name)' (\(o.opType)) reads '\(v)' which is not defined before it") }
        return v
    }

    func const(_ o: ONode, _ i: Int, _ what: String) throws -> Const {
        guard let v = o.input(i) else { throw unsupported(o, "missing \(what) (input \(i))") }
        guard let c = consts[v] else { throw unsupported(o, "\(what) ('\(v)') must be a constant (initializer or Constant node)") }
        try checkFinite(c, name: v, o, what)
        return c
    }

    /// Throws `nonFinite` naming the constant and the flat index of its first value that is NaN, infinite
    /// or beyond float32's range (it becomes infinite as a float32 weight).
    func checkFinite(_ c: Const, name: String, _ o: ONode, _ what: String) throws {
        if let i = c.values.firstIndex(where: { !Float($0).isFinite }) {
            throw ImportError.nonFinite(file: file, tensor: name, node: o.name, what: what, index: i, value: c.values[i])
        }
    }

    mutating func define(_ value: String, shape: [Int], repr: Repr) {
        shapes[value] = shape
        reprs[value] = repr
    }

    /// Output of a unary elementwise IR op on the representation of `x` (layout kept).
    mutating func unary(_ o: ONode, _ op: Op) throws {
        let x = try act(o, 0)
        let r = reprs[x]!
        let out = irName(o.outputs[0], r.perm)
        try emit(name: o.name, op: op, inputs: [r.tensor], output: out)
        define(o.outputs[0], shape: shapes[x]!, repr: Repr(tensor: out, perm: r.perm))
    }

    func normAxis(_ o: ONode, _ axis: Int, rank: Int, inclusiveEnd: Bool = false) throws -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard a >= 0, inclusiveEnd ? a <= rank : a < rank else { throw unsupported(o, "axis \(axis) out of range for rank \(rank)") }
        return a
    }

    mutating func convert(_ o: ONode) throws {
        guard o.domain.isEmpty || o.domain == "ai.onnx" else {
            throw ImportError.unsupportedOp(opType: "\(o.domain).\(o.opType)", node: o.name, supported: ImportError.supportedOps)
        }
        guard !o.outputs.isEmpty else { throw ImportError.corrupt(file: file, reason: "node '\(o.name)' has no output") }
        if isQDQ, let v = o.inputs.first(where: { inputViews[$0] != nil }), let root = inputViews[v] {
            try checkBeforeQuantize(o, input: root)
        }
        // Constant folding for shape-only ops on constants.
        let firstIsConst = o.input(0).map { consts[$0] != nil } ?? false
        if firstIsConst, o.inputs.allSatisfy({ $0.isEmpty || consts[$0] != nil }),
           ["Identity", "Reshape", "Transpose", "Flatten", "Dropout"].contains(o.opType) {
            consts[o.outputs[0]] = try foldConstant(o)
            return
        }
        if ["Unsqueeze", "Squeeze", "Concat"].contains(o.opType), o.inputs.indices.contains(where: { i in o.input(i).map { shapes[$0] != nil } ?? false }) {
            switch o.opType {
            case "Concat": try convertConcat(o)
            default: try convertSqueezeActivation(o)
            }
            return
        }
        if ["Gather", "Unsqueeze", "Squeeze", "Concat", "Cast"].contains(o.opType) {
            guard firstIsConst, o.inputs.allSatisfy({ $0.isEmpty || consts[$0] != nil }) else {
                throw unsupported(o, "\(o.opType) is supported only on constants (shape computations such as x.view(x.size(0), -1))")
            }
            consts[o.outputs[0]] = try foldShapeOp(o)
            return
        }
        switch o.opType {
        case "Shape":
            // Static per-sample shape (batch = 1), as torch's x.size(0) on one sample.
            let x = try act(o, 0)
            let s = shapes[x]!
            var start = o.int("start", 0), end = o.int("end", s.count)
            if start < 0 { start += s.count }
            if end < 0 { end += s.count }
            start = min(max(start, 0), s.count)
            end = min(max(end, start), s.count)
            consts[o.outputs[0]] = Const(shape: [end - start], values: s[start..<end].map(Double.init))
        case "Identity", "Dropout":
            let x = try act(o, 0)
            if o.outputs.count > 1, !o.outputs[1].isEmpty, (consumers[o.outputs[1]] ?? 0) > 0 {
                throw unsupported(o, "the dropout mask output is not supported")
            }
            define(o.outputs[0], shape: shapes[x]!, repr: reprs[x]!)
        case "Relu": try unary(o, .relu)
        case "Sigmoid": try unary(o, .sigmoid)
        case "SiLU": try unary(o, .silu)
        case "Tanh": try unary(o, .tanh)
        case "HardSwish": try unary(o, .hardSwish)
        case "HardSigmoid": try unary(o, .hardSigmoid(alpha: o.float("alpha", 0.2), beta: o.float("beta", 0.5)))
        case "Gelu":
            if let a = o.string("approximate"), a != "none" {
                throw unsupported(o, "approximate='\(a)' is not supported (only the exact erf form)")
            }
            try unary(o, .gelu)
        case "Clip": try convertClip(o)
        case "Softmax": try convertSoftmax(o)
        case "Transpose":
            let x = try act(o, 0)
            let s = shapes[x]!
            let p = o.ints("perm") ?? Array((0..<s.count).reversed())
            guard p.count == s.count, p.sorted() == identityPerm(s.count) else { throw unsupported(o, "perm \(p) is not a permutation of the \(s.count) axes") }
            let r = reprs[x]!
            define(o.outputs[0], shape: p.map { s[$0] }, repr: Repr(tensor: r.tensor, perm: p.map { r.perm[$0] }))
        case "Reshape":
            let x = try act(o, 0)
            let target = try resolveReshape(o, input: shapes[x]!, spec: try ints(o, const(o, 1, "shape"), "shape"))
            try reshape(o, x, target)
        case "Flatten":
            let x = try act(o, 0)
            let s = shapes[x]!
            let a = try normAxis(o, o.int("axis", 1), rank: s.count, inclusiveEnd: true)
            try reshape(o, x, [s[..<a].reduce(1, *), s[a...].reduce(1, *)])
        case "Gemm": try convertGemm(o)
        case "MatMul": try convertMatMul(o)
        case "Conv": try convertConvAny(o)
        case "AveragePool": try convertPool(o, isMax: false)
        case "MaxPool": try convertPool(o, isMax: true)
        case "GlobalAveragePool": try convertGlobalPool(o, isMax: false)
        case "GlobalMaxPool": try convertGlobalPool(o, isMax: true)
        case "ReduceMean": try convertReduceMean(o)
        case "Pad": try convertPad(o)
        case "QuantizeLinear": try convertQuantizeLinear(o)
        case "DequantizeLinear": try convertDequantizeLinear(o)
        case "BatchNormalization": try convertBatchNorm(o)
        case "Add": try convertAdd(o)
        case "Mul", "Div", "Sub":
            try convertConstantAffine(o)
        case "Erf":
            throw unsupported(o, "Erf is supported only inside the GELU pattern x * 0.5 * (1 + Erf(x / sqrt(2)))")
        default:
            throw ImportError.unsupportedOp(opType: o.opType, node: o.name, supported: ImportError.supportedOps)
        }
    }

    /// The values of an integer constant (shape, axes), each exactly representable.
    func ints(_ o: ONode, _ c: Const, _ what: String) throws -> [Int] {
        try c.values.map { v in
            guard let i = exactInt(v) else { throw unsupported(o, "\(what) value \(v) is not an integer") }
            return i
        }
    }

    func resolveReshape(_ o: ONode, input: [Int], spec: [Int]) throws -> [Int] {
        let allowZero = o.int("allowzero", 0) != 0
        var out: [Int] = []
        var infer: Int?
        for (i, d) in spec.enumerated() {
            if d == 0 && !allowZero {
                guard i < input.count else { throw unsupported(o, "shape \(spec): 0 at axis \(i) but the input has rank \(input.count)") }
                out.append(input[i])
            } else if d == -1 {
                guard infer == nil else { throw unsupported(o, "shape \(spec) has more than one -1") }
                infer = i
                out.append(1)
            } else if d > 0 && d <= maxElements {
                out.append(d)
            } else {
                throw unsupported(o, "shape \(spec) has an invalid dimension \(d)")
            }
        }
        let n = input.reduce(1, *)
        guard let rest = checkedProduct(out) else { throw unsupported(o, "shape \(spec) is too large") }
        if let i = infer {
            guard rest > 0, n % rest == 0 else { throw unsupported(o, "cannot reshape \(shapeString(input)) to \(spec)") }
            out[i] = n / rest
        }
        guard out.reduce(1, *) == n else { throw unsupported(o, "cannot reshape \(shapeString(input)) (\(n) elements) to \(spec)") }
        return out
    }

    /// Defines `value` (default: the node's first output) as `x` reshaped to `target` (ONNX layout).
    mutating func reshape(_ o: ONode, _ x: String, _ target: [Int], name: String? = nil, value: String? = nil) throws {
        let t = try plain(x)
        let v = value ?? o.outputs[0]
        let out = irName(v, identityPerm(target.count))
        try emit(name: name ?? o.name, op: .reshape(shape: target), inputs: [t], output: out)
        define(v, shape: target, repr: Repr(tensor: out, perm: identityPerm(target.count)))
    }

    func foldConstant(_ o: ONode) throws -> Const {
        let c = consts[o.inputs[0]]!
        switch o.opType {
        case "Identity", "Dropout": return c
        case "Reshape":
            let spec = try ints(o, const(o, 1, "shape"), "shape")
            return Const(shape: try resolveReshape(o, input: c.shape, spec: spec), values: c.values)
        case "Flatten":
            let a = try normAxis(o, o.int("axis", 1), rank: c.shape.count, inclusiveEnd: true)
            return Const(shape: [c.shape[..<a].reduce(1, *), c.shape[a...].reduce(1, *)], values: c.values)
        default: // Transpose
            let p = o.ints("perm") ?? Array((0..<c.shape.count).reversed())
            guard p.sorted() == identityPerm(c.shape.count) else { throw unsupported(o, "bad perm \(p)") }
            return transposeConst(c, p)
        }
    }

    /// Constant folding of the shape-computation ops torch emits for x.view(x.size(0), -1):
    /// Gather, Unsqueeze, Squeeze, Concat, Cast (to float or integer types).
    func foldShapeOp(_ o: ONode) throws -> Const {
        let c = consts[o.inputs[0]]!
        switch o.opType {
        case "Gather":
            let idx = try const(o, 1, "indices")
            let r = c.shape.count
            guard r >= 1 else { throw unsupported(o, "Gather on a scalar") }
            let axis = try normAxis(o, o.int("axis", 0), rank: r)
            let outer = c.shape[..<axis].reduce(1, *), n = c.shape[axis], inner = c.shape[(axis + 1)...].reduce(1, *)
            var values: [Double] = []
            for a in 0..<outer {
                for iv in idx.values {
                    guard var i = exactInt(iv) else { throw unsupported(o, "index \(iv) is not an integer") }
                    if i < 0 { i += n }
                    guard i >= 0, i < n else { throw unsupported(o, "index \(iv) out of range for axis size \(n)") }
                    for b in 0..<inner { values.append(c.values[(a * n + i) * inner + b]) }
                }
            }
            return Const(shape: Array(c.shape[..<axis]) + idx.shape + Array(c.shape[(axis + 1)...]), values: values)
        case "Unsqueeze", "Squeeze":
            var axes: [Int]
            if let a = o.ints("axes") { axes = a } else if o.input(1) != nil { axes = try ints(o, const(o, 1, "axes"), "axes") } else { axes = [] }
            if o.opType == "Unsqueeze" {
                let r = c.shape.count + axes.count
                let norm = try axes.map { try normAxis(o, $0, rank: r) }.sorted()
                var shape = c.shape
                for a in norm { shape.insert(1, at: a) }
                return Const(shape: shape, values: c.values)
            }
            let norm = try Set(axes.map { try normAxis(o, $0, rank: c.shape.count) })
            let shape = c.shape.enumerated().filter { norm.isEmpty ? $0.element != 1 : !norm.contains($0.offset) }.map(\.element)
            return Const(shape: shape, values: c.values)
        case "Concat":
            let parts = try o.inputs.indices.map { try const(o, $0, "input \($0)") }
            guard let first = parts.first, parts.allSatisfy({ $0.shape.count == first.shape.count }) else { throw unsupported(o, "inputs of different ranks") }
            let axis = try normAxis(o, o.int("axis", 0), rank: first.shape.count)
            for p in parts {
                for d in first.shape.indices where d != axis && p.shape[d] != first.shape[d] {
                    throw unsupported(o, "inputs \(shapeString(first.shape)) and \(shapeString(p.shape)) differ outside axis \(axis)")
                }
            }
            let outer = first.shape[..<axis].reduce(1, *)
            var values: [Double] = [], total = 0
            for p in parts { total += p.shape[axis] }
            for a in 0..<outer {
                for p in parts {
                    let chunk = p.shape[axis...].reduce(1, *)
                    values += p.values[(a * chunk)..<((a + 1) * chunk)]
                }
            }
            var shape = first.shape
            shape[axis] = total
            return Const(shape: shape, values: values)
        default: // Cast
            let to = o.int("to", 1)
            let isFloat = [1, 10, 11, 16].contains(to)
            return Const(shape: c.shape, values: isFloat ? c.values : c.values.map { $0.rounded(.towardZero) })
        }
    }

    func transposeConst(_ c: Const, _ p: [Int]) -> Const {
        let r = c.shape.count
        var strides = [Int](repeating: 1, count: r)
        if r > 1 { for d in stride(from: r - 2, through: 0, by: -1) { strides[d] = strides[d + 1] * c.shape[d + 1] } }
        let outShape = p.map { c.shape[$0] }
        var out = [Double](repeating: 0, count: c.count)
        var idx = [Int](repeating: 0, count: r)
        for i in 0..<c.count {
            var off = 0
            for d in 0..<r { off += idx[d] * strides[p[d]] }
            out[i] = c.values[off]
            var d = r - 1
            while d >= 0 { idx[d] += 1; if idx[d] < outShape[d] { break }; idx[d] = 0; d -= 1 }
        }
        return Const(shape: outShape, values: out)
    }

    mutating func convertClip(_ o: ONode) throws {
        var lo = -Float.infinity, hi = Float.infinity
        if opset >= 11 {
            for (i, isMin) in [(1, true), (2, false)] {
                guard let v = o.input(i) else { continue }
                guard let c = consts[v], c.count == 1 else { throw unsupported(o, "\(isMin ? "min" : "max") ('\(v)') must be a constant scalar") }
                if isMin { lo = Float(c.values[0]) } else { hi = Float(c.values[0]) }
            }
        } else {
            lo = o.float("min", -Float.greatestFiniteMagnitude)
            hi = o.float("max", Float.greatestFiniteMagnitude)
        }
        guard lo <= hi else { throw unsupported(o, "min \(lo) > max \(hi)") }
        let x = try act(o, 0)
        if lo <= -Float.greatestFiniteMagnitude && hi >= Float.greatestFiniteMagnitude {
            define(o.outputs[0], shape: shapes[x]!, repr: reprs[x]!)   // no-op clip
        } else if lo == 0 && hi >= Float.greatestFiniteMagnitude {
            try unary(o, .relu)
        } else {
            try unary(o, .clip(min: lo, max: hi))
        }
    }

    mutating func convertSoftmax(_ o: ONode) throws {
        let x = try act(o, 0)
        let s = shapes[x]!
        let a = try normAxis(o, o.int("axis", opset >= 13 ? -1 : 1), rank: s.count)
        if opset < 13 && s[(a + 1)...].contains(where: { $0 != 1 }) {
            throw unsupported(o, "opset \(opset) Softmax normalizes over the flattened axes \(a)... of \(shapeString(s)); only a single axis is supported (export with opset >= 13)")
        }
        let r = reprs[x]!
        let out = irName(o.outputs[0], r.perm)
        try emit(name: o.name, op: .softmax(axis: r.perm[a]), inputs: [r.tensor], output: out)
        define(o.outputs[0], shape: s, repr: Repr(tensor: out, perm: r.perm))
    }

    /// Per-column vector of length n from a bias constant broadcastable along `channelAxis` of `shape`.
    func channelVector(_ c: Const, shape: [Int], channelAxis: Int, n: Int) -> [Float]? {
        guard c.shape.count <= shape.count else { return nil }
        let aligned = [Int](repeating: 1, count: shape.count - c.shape.count) + c.shape
        for (d, v) in aligned.enumerated() where d != channelAxis && v != 1 { return nil }
        if c.count == 1 { return [Float](repeating: Float(c.values[0]), count: n) }
        guard aligned[channelAxis] == n else { return nil }
        return c.floats
    }

    mutating func convertGemm(_ o: ONode) throws {
        var x = try act(o, 0)
        let w = try const(o, 1, "B (weights)")
        guard shapes[x]!.count == 2, w.shape.count == 2 else { throw unsupported(o, "A and B must be matrices (A \(shapeString(shapes[x]!)), B \(shapeString(w.shape)))") }
        if o.int("transA", 0) != 0 {
            let r = reprs[x]!
            let tv = x + ".T"
            define(tv, shape: shapes[x]!.reversed(), repr: Repr(tensor: r.tensor, perm: [r.perm[1], r.perm[0]]))
            x = tv
        }
        let weight = o.int("transB", 0) != 0 ? w : transposeConst(w, [1, 0])  // [N, K]
        let alpha = Double(o.float("alpha", 1)), beta = o.float("beta", 1)
        let (n, k) = (weight.shape[0], weight.shape[1])
        guard shapes[x]![1] == k else { throw unsupported(o, "A is \(shapeString(shapes[x]!)) but B gives K = \(k)") }
        var bias: ConstantTensor?
        if o.input(2) != nil {
            let c = try const(o, 2, "C (bias)")
            guard let v = channelVector(c, shape: [shapes[x]![0], n], channelAxis: 1, n: n) else {
                throw unsupported(o, "C \(shapeString(c.shape)) must broadcast as a per-column bias of length \(n)")
            }
            bias = ConstantTensor(shape: [n], data: v.map { $0 * beta })
        }
        let wt = ConstantTensor(shape: [n, k], data: weight.values.map { Float($0 * alpha) })
        try layer(o, input: try plain(x), op: .fullyConnected(FullyConnected(weight: wt, bias: bias)),
                  shape: [shapes[x]![0], n], perm: [0, 1])
    }

    mutating func convertMatMul(_ o: ONode) throws {
        let x = try act(o, 0)
        let b = try const(o, 1, "B (weights)")
        let s = shapes[x]!
        guard b.shape.count == 2, let k = s.last, b.shape[0] == k else {
            throw unsupported(o, "B must be a constant [K, N] matrix matching A \(shapeString(s)); got B \(shapeString(b.shape))")
        }
        let n = b.shape[1]
        let wt = transposeConst(b, [1, 0])
        try layer(o, input: try plain(x), op: .fullyConnected(FullyConnected(weight: ConstantTensor(shape: [n, k], data: wt.floats), bias: nil)),
                  shape: Array(s.dropLast()) + [n], perm: identityPerm(s.count))
    }

    mutating func layer(_ o: ONode, input: String, op: Op, shape: [Int], perm: [Int]) throws {
        let out = irName(o.outputs[0], perm)
        try emit(name: o.name, op: op, inputs: [input], output: out)
        define(o.outputs[0], shape: shape, repr: Repr(tensor: out, perm: perm))
    }

    mutating func convertConv(_ o: ONode) throws {
        let x = try act(o, 0)
        let w = try const(o, 1, "W (weights)")
        let s = shapes[x]!
        guard w.shape.count == 4, s.count == 4 else {
            throw unsupported(o, "only 2-D convolutions are supported (input \(shapeString(s)), weights \(shapeString(w.shape)))")
        }
        if let ks = o.ints("kernel_shape"), ks != [1, 1] { throw ImportError.convKernel(node: o.name, kernel: ks) }
        guard w.shape[2] == 1, w.shape[3] == 1 else { throw ImportError.convKernel(node: o.name, kernel: [w.shape[2], w.shape[3]]) }
        let group = o.int("group", 1)
        guard group == 1 else { throw unsupported(o, "group = \(group); only group = 1 is supported (no depthwise/grouped convolution)") }
        let (m, c) = (w.shape[0], w.shape[1])
        guard s[1] == c else { throw unsupported(o, "input has \(s[1]) channels but the weights expect \(c)") }
        let strides = o.ints("strides") ?? [1, 1]
        guard strides.count == 2, strides.allSatisfy({ $0 >= 1 && $0 <= 1 << 16 }) else { throw unsupported(o, "bad strides \(strides)") }
        var pads = o.ints("pads") ?? [0, 0, 0, 0]
        let autoPad = o.string("auto_pad") ?? "NOTSET"
        if autoPad != "NOTSET" && !autoPad.isEmpty { pads = [0, 0, 0, 0] }  // k = 1: SAME/VALID need no padding
        guard pads.count == 4, pads.allSatisfy({ $0 >= 0 && $0 <= 1 << 16 }) else { throw unsupported(o, "bad pads \(pads)") }
        var bias: ConstantTensor?
        if o.input(2) != nil {
            let b = try const(o, 2, "B (bias)")
            guard b.count == m else { throw unsupported(o, "bias has \(b.count) values, expected \(m)") }
            bias = ConstantTensor(shape: [m], data: b.floats)
        }
        let conv = Conv1x1(weight: ConstantTensor(shape: [m, c], data: w.floats), bias: bias,
                           strideH: strides[0], strideW: strides[1],
                           padTop: pads[0], padLeft: pads[1], padBottom: pads[2], padRight: pads[3])
        guard let os = conv.outputSize(h: s[2], w: s[3]) else { throw unsupported(o, "output would be empty for input \(shapeString(s))") }
        try layer(o, input: try materialize(x, as: nhwcToNchw), op: .conv1x1(conv),
                  shape: [s[0], m, os.h, os.w], perm: nhwcToNchw)
    }

    /// Index of the IR node producing the representation of `value` if it is a fully connected or
    /// conv layer whose output nobody else reads (so its parameters can absorb a following affine op).
    func foldableLayer(_ value: String) -> Int? {
        guard (consumers[value] ?? 0) == 1, !graphOutputs.contains(value), let r = reprs[value],
              let i = nodes.lastIndex(where: { $0.output == r.tensor }) else { return nil }
        guard !nodes.contains(where: { $0.inputs.contains(r.tensor) }) else { return nil }
        switch nodes[i].op {
        case .fullyConnected, .conv1x1, .conv: return i
        default: return nil
        }
    }

    /// Applies y = x * scale[c] + shift[c] per output channel to the layer at node index i and
    /// names its output after the ONNX value `newValue`.
    mutating func foldAffine(node i: Int, scale: [Float]?, shift: [Float], from value: String, into newValue: String) {
        func apply(_ w: inout ConstantTensor, _ b: inout ConstantTensor?) {
            let n = w.shape[0], k = w.shape.dropFirst().reduce(1, *)
            var bias = b?.data ?? [Float](repeating: 0, count: n)
            for o in 0..<n {
                if let scale {
                    for j in 0..<k { w.data[o * k + j] *= scale[o] }
                    bias[o] *= scale[o]
                }
                bias[o] += shift[o]
            }
            b = ConstantTensor(shape: [n], data: bias)
        }
        switch nodes[i].op {
        case .fullyConnected(var fc):
            apply(&fc.weight, &fc.bias)
            nodes[i].op = .fullyConnected(fc)
        case .conv1x1(var c):
            apply(&c.weight, &c.bias)
            nodes[i].op = .conv1x1(c)
        case .conv(var c):
            apply(&c.weight, &c.bias)
            nodes[i].op = .conv(c)
        default:
            preconditionFailure("foldAffine on a non-layer node")
        }
        let r = reprs[value]!
        let newName = irName(newValue, r.perm)
        irShapes[newName] = irShapes[r.tensor]
        nodes[i].output = newName
        define(newValue, shape: shapes[value]!, repr: Repr(tensor: newName, perm: r.perm))
    }

    /// Channel axis (in the ONNX shape) and channel count of the layer at node index i.
    func layerChannels(_ i: Int, valueShape: [Int]) -> (axis: Int, n: Int) {
        switch nodes[i].op {
        case .conv1x1(let c): return (1, c.outChannels)
        case .conv(let c): return (1, c.outChannels)
        case .fullyConnected(let fc): return (valueShape.count - 1, fc.outFeatures)
        default: return (0, 0)
        }
    }

    mutating func convertBatchNorm(_ o: ONode) throws {
        let x = try act(o, 0)
        let gamma = try const(o, 1, "scale"), beta = try const(o, 2, "B"), mean = try const(o, 3, "mean"), vars = try const(o, 4, "var")
        let eps = Double(o.float("epsilon", 1e-5))
        if o.outputs.count > 1, o.outputs[1...].contains(where: { !$0.isEmpty && (consumers[$0] ?? 0) > 0 }) {
            throw unsupported(o, "training-mode outputs (running mean/var) are not supported")
        }
        let xs = shapes[x]!
        guard xs.count >= 2 else { throw unsupported(o, "input \(shapeString(xs)) has no channel axis") }
        let foldInto = foldableLayer(x).flatMap { i in layerChannels(i, valueShape: xs).axis == 1 ? i : nil }
        let n = xs[1]
        guard [gamma, beta, mean, vars].allSatisfy({ $0.count == n }) else { throw unsupported(o, "parameters must have \(n) values (one per channel)") }
        guard eps.isFinite, eps >= 0 else { throw unsupported(o, "epsilon \(eps) must be a finite number >= 0") }
        var scale = [Float](), shift = [Float]()
        for c in 0..<n {
            guard vars.values[c] + eps > 0 else {
                throw unsupported(o, "var '\(o.input(4) ?? "")'[\(c)] + epsilon = \(vars.values[c] + eps) is not positive (cannot fold 1/sqrt(var + epsilon))")
            }
            let sc = gamma.values[c] / (vars.values[c] + eps).squareRoot()
            guard Float(sc).isFinite, Float(beta.values[c] - mean.values[c] * sc).isFinite else {
                throw unsupported(o, "channel \(c): the folded scale \(sc) or shift is not a finite float32")
            }
            scale.append(Float(sc))
            shift.append(Float(beta.values[c] - mean.values[c] * sc))
        }
        guard let i = foldInto else {
            // No layer to fold into (e.g. after a residual Add or on the input): a per-channel affine op.
            let cs = [n] + [Int](repeating: 1, count: xs.count - 2)
            try emitAffine(o, x, scale: Const(shape: cs, values: scale.map(Double.init)), shift: Const(shape: cs, values: shift.map(Double.init)))
            return
        }
        foldAffine(node: i, scale: scale, shift: shift, from: x, into: o.outputs[0])
    }

    /// Mul / Div / Sub with a per-channel or scalar constant: folded into the preceding layer when
    /// possible (x * c, x / c, x - c), else an `affine` op (also c - x). Mul of two activations: `mul`.
    mutating func convertConstantAffine(_ o: ONode) throws {
        guard o.inputs.count == 2 else { throw unsupported(o, "needs two inputs") }
        let c0 = consts[o.inputs[0]], c1 = consts[o.inputs[1]]
        if c0 == nil && c1 == nil {
            if o.opType == "Mul" { try convertMulActivations(o); return }
            throw unsupported(o, "\(o.opType) of two activations is not supported (only with a constant operand, or inside the GELU/Erf pattern)")
        }
        if let c = c0 ?? c1 { try checkFinite(c, name: c0 != nil ? o.inputs[0] : o.inputs[1], o, "constant operand") }
        guard (c0 == nil) != (c1 == nil), let c = c0 ?? c1 else {
            throw unsupported(o, "\(o.opType) of two constants is not supported")
        }
        if o.opType == "Div" && c1 == nil { throw unsupported(o, "a constant divided by an activation is not supported") }
        let x = try act(o, c0 == nil ? 0 : 1)
        let fold: (Int, Int, [Float])? = foldableLayer(x).flatMap { i in
            let (axis, n) = layerChannels(i, valueShape: shapes[x]!)
            return channelVector(c, shape: shapes[x]!, channelAxis: axis, n: n).map { (i, n, $0) }
        }
        guard let (i, n, v) = fold, o.opType != "Sub" || c1 != nil else {
            // Not after a layer: y = x * scale + shift per channel or scalar.
            switch o.opType {
            case "Mul": try emitAffine(o, x, scale: c, shift: nil)
            case "Div":
                guard !c.values.contains(0) else { throw unsupported(o, "division by zero") }
                try emitAffine(o, x, scale: Const(shape: c.shape, values: c.values.map { 1 / $0 }), shift: nil)
            default:  // Sub: x - c, or c - x
                if c1 != nil { try emitAffine(o, x, scale: nil, shift: Const(shape: c.shape, values: c.values.map { -$0 })) }
                else { try emitAffine(o, x, scale: nil, shift: c, negate: true) }
            }
            return
        }
        switch o.opType {
        case "Mul": foldAffine(node: i, scale: v, shift: [Float](repeating: 0, count: n), from: x, into: o.outputs[0])
        case "Div":
            guard !v.contains(0) else { throw unsupported(o, "division by zero") }
            foldAffine(node: i, scale: v.map { 1 / $0 }, shift: [Float](repeating: 0, count: n), from: x, into: o.outputs[0])
        default: foldAffine(node: i, scale: nil, shift: v.map { -$0 }, from: x, into: o.outputs[0])
        }
    }

    mutating func convertAdd(_ o: ONode) throws {
        guard o.inputs.count == 2 else { throw unsupported(o, "needs two inputs") }
        let c0 = consts[o.inputs[0]], c1 = consts[o.inputs[1]]
        if c0 != nil && c1 != nil { throw unsupported(o, "adding two constants is not supported") }
        if let c = c0 ?? c1 {
            try checkFinite(c, name: c0 != nil ? o.inputs[0] : o.inputs[1], o, "bias")
            let x = try act(o, c0 == nil ? 0 : 1)
            if let i = foldableLayer(x) {
                let (axis, n) = layerChannels(i, valueShape: shapes[x]!)
                if let v = channelVector(c, shape: shapes[x]!, channelAxis: axis, n: n) {
                    foldAffine(node: i, scale: nil, shift: v, from: x, into: o.outputs[0])
                    return
                }
            }
            try emitAffine(o, x, scale: nil, shift: c)
            return
        }
        let a = try act(o, 0), b = try act(o, 1)
        guard shapes[a]! == shapes[b]! else {
            throw unsupported(o, "operands have different shapes \(shapeString(shapes[a]!)) and \(shapeString(shapes[b]!)); broadcasting between activations is not supported")
        }
        let ra = reprs[a]!
        let tb = try materialize(b, as: ra.perm)
        let out = irName(o.outputs[0], ra.perm)
        try emit(name: o.name, op: .add, inputs: [ra.tensor, tb], output: out)
        define(o.outputs[0], shape: shapes[a]!, repr: Repr(tensor: out, perm: ra.perm))
    }
}

// MARK: - IR simplification

/// Composes transpose chains, replaces transposes that keep the order of non-unit dimensions by
/// reshapes, merges reshape chains, removes identity transposes/reshapes and dead nodes.
/// Graph outputs keep their names (a no-op producing an output becomes `.identity`).
func simplify(_ nodes: inout [Node], outputs: Set<String>) {
    var changed = true
    while changed {
        changed = false
        var producer: [String: Int] = [:]
        var uses: [String: Int] = [:]
        for (i, n) in nodes.enumerated() {
            producer[n.output] = i
            for t in n.inputs { uses[t, default: 0] += 1 }
        }
        func rename(_ from: String, to: String) {
            for j in nodes.indices { nodes[j].inputs = nodes[j].inputs.map { $0 == from ? to : $0 } }
        }
        for i in nodes.indices {
            let n = nodes[i]
            guard n.inputs.count == 1, let pi = producer[n.inputs[0]], !outputs.contains(nodes[pi].output),
                  uses[n.inputs[0]] == 1 else { continue }
            let p = nodes[pi]
            switch (p.op, n.op) {
            case (.transpose(let p1), .transpose(let p2)):
                nodes[i].op = .transpose(perm: p2.map { p1[$0] })
                nodes[i].inputs = p.inputs
                nodes[pi].inputs = []  // dead, removed below
                changed = true
            case (.reshape, .reshape):
                nodes[i].inputs = p.inputs
                nodes[pi].inputs = []
                changed = true
            default: break
            }
            if changed { break }
        }
        if changed { nodes.removeAll { $0.inputs.isEmpty }; continue }
        // No-op transposes/reshapes.
        for i in nodes.indices {
            if case .transpose(let p) = nodes[i].op, p == identityPerm(p.count) {
                if outputs.contains(nodes[i].output) { nodes[i].op = .identity; continue }
                rename(nodes[i].output, to: nodes[i].inputs[0])
                nodes.remove(at: i)
                changed = true
                break
            }
        }
        if changed { continue }
        // Dead nodes.
        let before = nodes.count
        var live = outputs
        for n in nodes.reversed() where live.contains(n.output) {
            for t in n.inputs { live.insert(t) }
        }
        nodes.removeAll { !live.contains($0.output) }
        if nodes.count != before { changed = true }
    }
}

/// Transposes that keep the relative order of the non-unit dimensions are reshapes; reshapes to
/// the input shape are no-ops. Needs the shapes, so it runs on a built graph.
func transposesToReshapes(_ g: inout Graph) throws {
    var changed = false
    for i in g.nodes.indices {
        guard case .transpose(let p) = g.nodes[i].op, let s = g.shapes[g.nodes[i].inputs[0]] else { continue }
        let moved = p.filter { s[$0] != 1 }
        if moved == moved.sorted() {
            g.nodes[i].op = .reshape(shape: p.map { s[$0] })
            changed = true
        }
    }
    guard changed else { return }
    var outs = Set(g.outputs.map(\.name))
    simplify(&g.nodes, outputs: outs)
    // Reshapes that do not change the shape.
    var again = true
    while again {
        again = false
        try g.inferShapes()
        for i in g.nodes.indices {
            guard case .reshape(let t) = g.nodes[i].op, g.shapes[g.nodes[i].inputs[0]] == t else { continue }
            let (from, to) = (g.nodes[i].output, g.nodes[i].inputs[0])
            if outs.contains(from) { g.nodes[i].op = .identity; continue }
            g.nodes.remove(at: i)
            for j in g.nodes.indices { g.nodes[j].inputs = g.nodes[j].inputs.map { $0 == from ? to : $0 } }
            again = true
            break
        }
    }
    outs = Set(g.outputs.map(\.name))
    simplify(&g.nodes, outputs: outs)
    try g.inferShapes()
}

/// transpose(perm) -> reshape to [1, ..., 1, K] -> fullyConnected becomes reshape -> fullyConnected
/// with the weight columns permuted, so a Flatten of an NHWC conv output needs no transpose on the
/// device: W'[o, flat_t(idx)] = W[o, flat_u(perm applied to idx)] where t is the transpose input
/// and u its output. Only when the transpose and reshape outputs have a single reader and are not
/// graph outputs.
func foldTransposeIntoFullyConnected(_ g: inout Graph) throws {
    let outs = Set(g.outputs.map(\.name))
    var changed = true
    while changed {
        changed = false
        for ti in g.nodes.indices {
            guard case .transpose(let perm) = g.nodes[ti].op, !outs.contains(g.nodes[ti].output) else { continue }
            let t = g.nodes[ti].inputs[0], u = g.nodes[ti].output
            let readersU = g.nodes.indices.filter { g.nodes[$0].inputs.contains(u) }
            guard readersU.count == 1, case .reshape(let r) = g.nodes[readersU[0]].op,
                  r.dropLast().allSatisfy({ $0 == 1 }), !outs.contains(g.nodes[readersU[0]].output) else { continue }
            let ri = readersU[0]
            let readersR = g.nodes.indices.filter { g.nodes[$0].inputs.contains(g.nodes[ri].output) }
            guard readersR.count == 1, case .fullyConnected(var fc) = g.nodes[readersR[0]].op,
                  let s = g.shapes[t] else { continue }
            let k = fc.inFeatures
            guard k == s.reduce(1, *) else { continue }
            // u multi-index o has o[i] = idx[perm[i]] for t multi-index idx.
            let us = perm.map { s[$0] }
            var uStrides = [Int](repeating: 1, count: us.count)
            if us.count > 1 { for d in stride(from: us.count - 2, through: 0, by: -1) { uStrides[d] = uStrides[d + 1] * us[d + 1] } }
            var strideOfTDim = [Int](repeating: 0, count: s.count)   // u-stride of each t dimension
            for (i, p) in perm.enumerated() { strideOfTDim[p] = uStrides[i] }
            var src = [Int](repeating: 0, count: k)                   // src[flat_t] = flat_u
            var idx = [Int](repeating: 0, count: s.count)
            for j in 0..<k {
                var f = 0
                for d in 0..<s.count { f += idx[d] * strideOfTDim[d] }
                src[j] = f
                var d = s.count - 1
                while d >= 0 { idx[d] += 1; if idx[d] < s[d] { break }; idx[d] = 0; d -= 1 }
            }
            let old = fc.weight.data
            for o in 0..<fc.outFeatures {
                for j in 0..<k { fc.weight.data[o * k + j] = old[o * k + src[j]] }
            }
            let fi = readersR[0]
            g.nodes[fi].op = .fullyConnected(fc)
            g.nodes[ri].inputs = [t]
            g.nodes.remove(at: ti)
            try g.inferShapes()
            changed = true
            break
        }
    }
}
