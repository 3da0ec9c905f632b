import DatasetFormat
import Foundation
import TKDCore

/// tkd's own executor for the ONNX graphs it writes: the `ai.onnx` operators `tkd export` emits, at opsets
/// 13…17, in float32 with int8/uint8 `QuantizeLinear`/`DequantizeLinear`. It is what `tkd detect --model`,
/// `tkd evaluate --model` and int8 calibration run, and what the export's own check compares with the native
/// model; ONNX Runtime is the reference it is held to (`Scripts/reference/onnx_parity.py`,
/// `Tests/DeployTests`). It is not a general ONNX runtime: any other operator, attribute value or domain is
/// refused when the model is loaded or the node runs, naming the node.
///
/// Graphs are treated as possibly hostile: every input must be defined before a node reads it, every shape
/// and index is checked before use, and no value may exceed `maximumElements`.
public final class GraphRunner: @unchecked Sendable {  // immutable after init
    public let model: ONNXModel
    public let path: String
    /// The initializers, and the outputs of every node whose inputs are all constants (computed once here).
    let initializers: [String: TensorValue]
    /// Nodes folded into `initializers` when the model was loaded.
    let folded: Set<Int>
    /// For each node, the values whose last reader it is (freed after it runs).
    let releases: [[String]]
    let graphInputs: [String: ONNXValueInfo]

    /// The largest tensor a node may produce (2²⁸ elements: 1 GiB of float32).
    public static let maximumElements = 1 << 28
    /// The largest model file read (2 GiB, protobuf's own limit).
    public static let maximumFileBytes = Int(Int32.max)

    public static let operators: Set<String> = [
        "Add", "Sub", "Mul", "Div", "Max", "Relu", "Sigmoid", "Tanh", "Sqrt", "Log", "Identity", "Transpose",
        "Reshape", "Unsqueeze", "Squeeze", "Concat", "Slice", "Split", "Gather", "Pad", "ReduceSum", "ReduceMean",
        "ReduceMax", "Softmax", "MatMul", "Gemm", "Conv", "GRU", "QuantizeLinear", "DequantizeLinear", "Cast",
        "Cos", "Sin", "Mod",
    ]
    public static let opsets = 13...17

    /// Reads and checks a model file.
    /// - Throws: `DeployError.model` naming the file and what is wrong with it.
    public static func load(_ url: URL) throws -> GraphRunner {
        let bytes = try readModelBytes(url)
        return try GraphRunner(bytes: bytes, path: url.path)
    }

    /// A regular file of at most `maximumFileBytes`.
    static func readModelBytes(_ url: URL) throws -> [UInt8] {
        switch RegularFile.kind(url) {
        case .regular: break
        case .missing:
            throw DeployError.model(
                path: url.path, reason: "no such file; expected an ONNX model written by tkd export")
        case let .other(what): throw DeployError.model(path: url.path, reason: "is \(what); expected a regular file")
        }
        let size = ((try? FileManager.default.attributesOfItem(atPath: url.path))?[.size] as? NSNumber)?.intValue ?? 0
        guard size > 0, size <= maximumFileBytes else {
            throw DeployError.model(path: url.path, reason: "\(size) bytes; expected 1…\(maximumFileBytes)")
        }
        guard let data = try RegularFile.contents(url) else {
            throw DeployError.model(path: url.path, reason: "vanished while it was read")
        }
        return [UInt8](data)
    }

    public convenience init(bytes: [UInt8], path: String) throws {
        let model: ONNXModel
        do { model = try ONNXModel.decode(bytes) } catch let e as ProtoError {
            throw DeployError.model(path: path, reason: "not a readable ONNX model (\(e.description))")
        }
        try self.init(model: model, path: path)
    }

    public init(model: ONNXModel, path: String) throws {
        self.model = model
        self.path = path
        func bad(_ reason: String) -> DeployError { .model(path: path, reason: reason) }
        guard Self.opsets.contains(model.opset) else {
            throw bad(
                "imports ai.onnx opset \(model.opset); tkd runs opsets "
                    + "\(Self.opsets.lowerBound)…\(Self.opsets.upperBound)"
            )
        }
        if let other = model.opsets.first(where: { !($0.domain.isEmpty || $0.domain == "ai.onnx") }) {
            throw bad("imports the '\(other.domain)' domain; tkd runs the standard ai.onnx domain only")
        }
        var inits: [String: TensorValue] = [:]
        for t in model.graph.initializers {
            guard !t.name.isEmpty, inits[t.name] == nil else {
                throw bad("initializer '\(t.name)' is unnamed or repeated")
            }
            guard t.count <= Self.maximumElements else { throw bad("initializer '\(t.name)' is too large") }
            inits[t.name] = TensorValue(t)
        }
        var defined = Set(inits.keys)
        var inputs: [String: ONNXValueInfo] = [:]
        for v in model.graph.inputs where inits[v.name] == nil {
            guard !v.name.isEmpty, inputs[v.name] == nil else {
                throw bad("graph input '\(v.name)' is unnamed or repeated")
            }
            inputs[v.name] = v
            defined.insert(v.name)
        }
        graphInputs = inputs
        var lastUse: [String: Int] = [:]
        for (i, n) in model.graph.nodes.enumerated() {
            guard n.domain.isEmpty || n.domain == "ai.onnx" else {
                throw bad("node '\(n.name)' is in domain '\(n.domain)'; tkd runs ai.onnx only")
            }
            guard Self.operators.contains(n.opType) else {
                throw bad("node '\(n.name)' is a \(n.opType), which tkd's runner does not run")
            }
            for input in n.inputs where !input.isEmpty {
                guard defined.contains(input) else {
                    throw bad("node '\(n.name)' reads '\(input)' before anything defines it")
                }
                lastUse[input] = i
            }
            for output in n.outputs where !output.isEmpty {
                guard !defined.contains(output) else { throw bad("value '\(output)' is defined twice") }
                defined.insert(output)
            }
        }
        for o in model.graph.outputs {
            guard defined.contains(o.name) else { throw bad("graph output '\(o.name)' is never computed") }
            lastUse[o.name] = model.graph.nodes.count
        }
        var releases = [[String]](repeating: [], count: model.graph.nodes.count)
        for (name, i) in lastUse where i < model.graph.nodes.count && inits[name] == nil { releases[i].append(name) }
        self.releases = releases
        // Constant folding: a node whose inputs are all constants runs once, now (the in-graph DFT basis, the
        // dequantised weights of an int8 model).
        var constants = inits
        var folded = Set<Int>()
        for (i, n) in model.graph.nodes.enumerated() {
            let inputs = n.inputs.filter { !$0.isEmpty }
            guard !inputs.isEmpty, inputs.allSatisfy({ constants[$0] != nil }) else { continue }
            let outs = try Self.execute(n, n.inputs.map { $0.isEmpty ? nil : constants[$0] })
            for (name, v) in zip(n.outputs, outs) where !name.isEmpty {
                guard v.count <= Self.maximumElements else { throw bad("node '\(n.name)' makes a constant too large") }
                constants[name] = v
            }
            folded.insert(i)
        }
        initializers = constants
        self.folded = folded
    }

    /// The graph's outputs, in order.
    public var outputNames: [String] { model.graph.outputs.map(\.name) }

    /// Runs the graph on `inputs` (by graph input name); returns every graph output. `observe` sees each
    /// node's outputs as they are made (int8 calibration records activation ranges with it).
    public func run(
        _ inputs: [String: TensorValue], observe: ((ONNXNode, [TensorValue]) -> Void)? = nil
    ) throws -> [String: TensorValue] {
        var values: [String: TensorValue] = [:]
        for (name, info) in graphInputs {
            guard let v = inputs[name] else {
                throw DeployError.model(path: path, reason: "graph input '\(name)' was not given")
            }
            guard v.elementType == info.elementType, v.shape.count == info.shape.count else {
                throw DeployError.model(
                    path: path,
                    reason: "input '\(name)' is \(v.elementType.name) \(v.shape); the graph declares "
                        + "\(info.elementType.name) of rank \(info.shape.count)")
            }
            for (d, want) in zip(v.shape, info.shape) {
                if case let .value(n) = want, n != d {
                    throw DeployError.model(
                        path: path, reason: "input '\(name)' has shape \(v.shape); the graph declares \(info.shape)")
                }
            }
            values[name] = v
        }
        for (i, node) in model.graph.nodes.enumerated() where !folded.contains(i) {
            let args = try node.inputs.map { name -> TensorValue? in
                if name.isEmpty { return nil }
                if let v = values[name] ?? initializers[name] { return v }
                throw DeployError.node(name: node.name, op: node.opType, reason: "input '\(name)' has no value")
            }
            let outs = try Self.execute(node, args)
            guard outs.count >= node.outputs.filter({ !$0.isEmpty }).count else {
                throw DeployError.node(name: node.name, op: node.opType, reason: "produced too few outputs")
            }
            for (name, v) in zip(node.outputs, outs) where !name.isEmpty {
                guard v.count <= Self.maximumElements else {
                    throw DeployError.node(name: node.name, op: node.opType, reason: "output of \(v.count) elements")
                }
                values[name] = v
            }
            observe?(node, outs)
            for name in releases[i] { values[name] = nil }
        }
        var result: [String: TensorValue] = [:]
        for o in model.graph.outputs { result[o.name] = values[o.name] ?? initializers[o.name] }
        return result
    }

    /// Runs one node.
    static func execute(_ n: ONNXNode, _ x: [TensorValue?]) throws -> [TensorValue] {
        let op = Op(node: n, inputs: x)
        switch n.opType {
        case "Add", "Sub", "Mul", "Div", "Max": return [try op.binary()]
        case "Relu", "Sigmoid", "Tanh", "Sqrt", "Log", "Identity", "Cos", "Sin": return [try op.unary()]
        case "Mod": return [try op.binary()]
        case "Cast": return [try op.cast()]
        case "Transpose": return [try op.transpose()]
        case "Reshape": return [try op.reshape()]
        case "Unsqueeze": return [try op.unsqueeze()]
        case "Squeeze": return [try op.squeeze()]
        case "Concat": return [try op.concat()]
        case "Slice": return [try op.slice()]
        case "Split": return try op.split()
        case "Gather": return [try op.gather()]
        case "Pad": return [try op.pad()]
        case "ReduceSum", "ReduceMean", "ReduceMax": return [try op.reduce()]
        case "Softmax": return [try op.softmax()]
        case "MatMul": return [try op.matmul()]
        case "Gemm": return [try op.gemm()]
        case "Conv": return [try op.conv()]
        case "GRU": return try op.gru()
        case "QuantizeLinear": return [try op.quantize()]
        case "DequantizeLinear": return [try op.dequantize()]
        default: throw DeployError.node(name: n.name, op: n.opType, reason: "not supported")
        }
    }
}

/// One node's inputs and attributes, with checked accessors; the operators are its methods.
struct Op {
    let node: ONNXNode
    let inputs: [TensorValue?]

    init(node: ONNXNode, inputs: [TensorValue?]) {
        self.node = node
        self.inputs = inputs
    }

    func fail(_ reason: String) -> DeployError { .node(name: node.name, op: node.opType, reason: reason) }

    func input(_ i: Int) throws -> TensorValue {
        guard i < inputs.count, let v = inputs[i] else { throw fail("input \(i) is missing") }
        return v
    }

    func optionalInput(_ i: Int) -> TensorValue? { i < inputs.count ? inputs[i] : nil }

    /// A float input's shape and values.
    func floats(_ i: Int) throws -> (shape: [Int], values: [Float]) {
        let v = try input(i)
        guard case let .float(f) = v.storage else {
            throw fail("input \(i) is \(v.elementType.name); expected float32")
        }
        return (v.shape, f)
    }

    /// An integer input's values (a shape, axes, indices).
    func integers(_ i: Int) throws -> [Int] {
        let v = try input(i)
        guard let ints = v.integers, v.elementType == .int64 || v.elementType == .int32 else {
            throw fail("input \(i) is \(v.elementType.name); expected int64")
        }
        return ints
    }

    func int(_ name: String, _ fallback: Int) throws -> Int {
        switch node.attribute(name) {
        case nil: return fallback
        case let .int(v)?:
            guard let i = Int(exactly: v), abs(i) < 1 << 40 else { throw fail("attribute '\(name)' is \(v)") }
            return i
        default: throw fail("attribute '\(name)' is not an integer")
        }
    }

    func ints(_ name: String) throws -> [Int]? {
        switch node.attribute(name) {
        case nil: return nil
        case let .ints(v)?:
            return try v.map { x in
                guard let i = Int(exactly: x), abs(i) < 1 << 40 else { throw fail("attribute '\(name)' holds \(x)") }
                return i
            }
        default: throw fail("attribute '\(name)' is not a list of integers")
        }
    }

    func float(_ name: String, _ fallback: Float) throws -> Float {
        switch node.attribute(name) {
        case nil: return fallback
        case let .float(v)?: return v
        default: throw fail("attribute '\(name)' is not a float")
        }
    }

    func string(_ name: String, _ fallback: String) throws -> String {
        switch node.attribute(name) {
        case nil: return fallback
        case let .string(v)?: return v
        default: throw fail("attribute '\(name)' is not a string")
        }
    }

    /// `axis` in −rank…rank−1 as a non-negative axis.
    func axis(_ a: Int, rank: Int) throws -> Int {
        guard a >= -rank, a < rank else { throw fail("axis \(a) for rank \(rank)") }
        return a < 0 ? a + rank : a
    }

    /// The element count of `shape`, checked against `GraphRunner.maximumElements`.
    func count(_ shape: [Int]) throws -> Int {
        var n = 1
        for d in shape {
            guard d >= 0 else { throw fail("a negative dimension in \(shape)") }
            let (p, o) = n.multipliedReportingOverflow(by: d)
            guard !o, p <= GraphRunner.maximumElements else { throw fail("shape \(shape) is too large") }
            n = p
        }
        return n
    }
}
