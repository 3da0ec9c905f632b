import Foundation

/// Builds an ONNX graph node by node. It knows every value's static shape, with the batch as `GraphBuilder.batch`
/// (the graph's one symbolic dimension), so that each emitter can check what it is given and the graph's
/// outputs carry full shapes; and it counts multiply-accumulates per example as nodes are added.
final class GraphBuilder {
    /// The batch dimension in a tracked shape.
    static let batch = -1

    private(set) var nodes: [ONNXNode] = []
    private(set) var initializers: [ONNXTensor] = []
    private(set) var shapes: [String: [Int]] = [:]
    private var used: Set<String> = []
    /// Per stem, the last suffix used: names depend only on what was emitted under the same stem, so the
    /// model's values are named alike whether or not a front end comes before them.
    private var counters: [String: Int] = [:]
    /// Multiply-accumulates per example of everything added since the last `resetMACs`.
    var macs = 0
    /// Prefix of node and value names (the layer being emitted, e.g. `l4`).
    var scope = ""

    init() {}

    func shape(_ value: String) -> [Int] {
        guard let s = shapes[value] else { preconditionFailure("graph value '\(value)' has no known shape") }
        return s
    }

    /// A fresh name from `base` (in the current scope).
    func name(_ base: String) -> String {
        let stem = scope.isEmpty ? base : "\(scope)/\(base)"
        var candidate = stem
        while used.contains(candidate) {
            let next = (counters[stem] ?? 0) + 1
            counters[stem] = next
            candidate = "\(stem)_\(next)"
        }
        used.insert(candidate)
        return candidate
    }

    /// Declares a graph input's value (its `ValueInfo` is the exporter's).
    func input(_ name: String, shape: [Int]) {
        used.insert(name)
        shapes[name] = shape
    }

    // MARK: constants

    func floats(_ base: String, _ values: [Float], dims: [Int]) -> String {
        let n = name(base)
        initializers.append(ONNXTensor(name: n, floats: values, dims: dims))
        shapes[n] = dims
        return n
    }

    func int64s(_ base: String, _ values: [Int]) -> String {
        let n = name(base)
        initializers.append(ONNXTensor(name: n, int64s: values.map(Int64.init), dims: [values.count]))
        shapes[n] = [values.count]
        return n
    }

    func int64s(_ base: String, _ values: [Int], dims: [Int]) -> String {
        let n = name(base)
        initializers.append(ONNXTensor(name: n, int64s: values.map(Int64.init), dims: dims))
        shapes[n] = dims
        return n
    }

    /// A 0-d int64 (Gather's index).
    func scalarInt(_ base: String, _ value: Int) -> String {
        let n = name(base)
        initializers.append(ONNXTensor(name: n, int64s: [Int64(value)], dims: []))
        shapes[n] = []
        return n
    }

    // MARK: nodes

    /// Adds a node with one output of `shape`; returns the output's name.
    @discardableResult
    func node(
        _ op: String, _ inputs: [String], _ attributes: [ONNXAttribute] = [], shape: [Int], output: String? = nil,
        macs: Int = 0
    ) -> String {
        let out =
            output.map { n -> String in
                precondition(!used.contains(n), "duplicate graph name \(n)")
                used.insert(n)
                return n
            } ?? name(op)
        nodes.append(
            ONNXNode(name: name("\(op)_node"), opType: op, inputs: inputs, outputs: [out], attributes: attributes))
        shapes[out] = shape
        self.macs += macs
        return out
    }

    /// Adds a node with several outputs (GRU, Split); `shapes` per output, "" for an output left unnamed.
    func node(
        _ op: String, _ inputs: [String], _ attributes: [ONNXAttribute] = [], outputs shapes: [[Int]?], macs: Int = 0
    ) -> [String] {
        let outs = shapes.map { $0 == nil ? "" : name(op) }
        nodes.append(
            ONNXNode(name: name("\(op)_node"), opType: op, inputs: inputs, outputs: outs, attributes: attributes))
        for (o, s) in zip(outs, shapes) where !o.isEmpty { self.shapes[o] = s! }
        self.macs += macs
        return outs
    }

    // MARK: shaped helpers

    func transpose(_ x: String, _ perm: [Int]) -> String {
        let s = shape(x)
        precondition(perm.count == s.count, "transpose of \(s) by \(perm)")
        return node("Transpose", [x], [.ints("perm", perm)], shape: perm.map { s[$0] })
    }

    /// Reshape to `to`; the batch is written as 0 ("copy the input's dimension at this index"), so it must sit at
    /// the same index in both shapes.
    func reshape(_ x: String, _ to: [Int]) -> String {
        let s = shape(x)
        precondition(
            s.filter { $0 != Self.batch }.reduce(1, *) == to.filter { $0 != Self.batch }.reduce(1, *)
                && s.filter { $0 == Self.batch }.count == to.filter { $0 == Self.batch }.count
                && to.indices.allSatisfy { to[$0] != Self.batch || (s.indices.contains($0) && s[$0] == Self.batch) },
            "reshape of \(s) to \(to)")
        return node("Reshape", [x, int64s("shape", to.map { $0 == Self.batch ? 0 : $0 })], shape: to)
    }

    func unsqueeze(_ x: String, axes: [Int]) -> String {
        var s = shape(x)
        for a in axes.sorted() { s.insert(1, at: a) }
        return node("Unsqueeze", [x, int64s("axes", axes)], shape: s)
    }

    func squeeze(_ x: String, axes: [Int]) -> String {
        var s = shape(x)
        for a in axes.sorted(by: >) {
            precondition(s[a] == 1, "squeeze of axis \(a) of \(s)")
            s.remove(at: a)
        }
        return node("Squeeze", [x, int64s("axes", axes)], shape: s)
    }

    func unary(_ op: String, _ x: String) -> String { node(op, [x], shape: shape(x)) }

    /// An elementwise binary op with numpy broadcasting (the shapes are checked to broadcast).
    func binary(_ op: String, _ a: String, _ b: String) -> String {
        let sa = shape(a), sb = shape(b)
        let n = max(sa.count, sb.count)
        let pa = [Int](repeating: 1, count: n - sa.count) + sa, pb = [Int](repeating: 1, count: n - sb.count) + sb
        let out = zip(pa, pb).map { x, y -> Int in
            precondition(x == y || x == 1 || y == 1, "\(op) of \(sa) and \(sb) does not broadcast")
            return x == 1 ? y : x
        }
        return node(op, [a, b], shape: out)
    }

    /// Gemm: x [B, in] · W [in, out] + bias [out] (`transB` 0).
    func gemm(_ x: String, weights: String, bias: String) -> String {
        let s = shape(x), w = shape(weights)
        precondition(s.count == 2 && w.count == 2 && s[1] == w[0], "Gemm of \(s) and \(w)")
        return node("Gemm", [x, weights, bias], shape: [s[0], w[1]], macs: w[0] * w[1])
    }

    /// MatMul with numpy semantics for the cases the exporter emits: [..., M, K] · [K, N], [M, K] · [B, K, N]
    /// and batched [B, ..., M, K] · [B, ..., K, N].
    func matmul(_ a: String, _ b: String) -> String {
        let sa = shape(a), sb = shape(b)
        precondition(sa.count >= 2 && sb.count >= 2 && sa.last! == sb[sb.count - 2], "MatMul of \(sa) and \(sb)")
        let m = sa[sa.count - 2], k = sa.last!, n = sb.last!
        let batchA = Array(sa.dropLast(2)), batchB = Array(sb.dropLast(2))
        let batch = batchA.count >= batchB.count ? batchA : batchB
        let per = batch.filter { $0 != Self.batch }.reduce(1, *)
        return node("MatMul", [a, b], shape: batch + [m, n], macs: per * (m == Self.batch ? 1 : m) * k * n)
    }

    /// The graph's value for a model: nodes, initializers and the given inputs and outputs.
    func graph(name: String, inputs: [ONNXValueInfo], outputs: [ONNXValueInfo], doc: String) -> ONNXGraph {
        ONNXGraph(
            name: name, nodes: nodes, initializers: initializers, inputs: inputs, outputs: outputs, docString: doc)
    }

    /// A value-info for `value` with the batch symbolic.
    func valueInfo(_ value: String, elementType: ONNXDataType = .float) -> ONNXValueInfo {
        ONNXValueInfo(
            name: value, elementType: elementType,
            shape: shape(value).map { $0 == Self.batch ? .parameter("batch") : .value($0) })
    }
}
