import Foundation

/// Post-training static int8 quantisation in QDQ form (`QuantizeLinear` → `DequantizeLinear` pairs the
/// runtime fuses into integer kernels), as ONNX Runtime's own quantiser writes it:
///
/// - weights of `Conv`, `Gemm` and `MatMul` (with a constant right-hand side): int8, symmetric, per output
///   channel (scale = max|w| / 127, zero point 0);
/// - their biases: int32 with scale = activation scale × weight scale, zero point 0;
/// - the activation each of them reads: uint8, asymmetric, per tensor, over the range the calibration data
///   gave (min-max: the range always includes 0; scale = (max − min) / 255, zero point round(−min / scale)).
///
/// What stays float32: the front end (the DFT basis convolution, mel, log, DCT — the spectral dynamic range
/// does not survive 8 bits), recurrent layers (ONNX Runtime does not run `GRU` in int8 under QDQ; LSTM-P's
/// unrolled cells are left as the recurrence they are), products of two activations (attention scores and
/// pooling), the KD head, and the softmax / sigmoid outputs.
enum Quantizer {
    /// How activation ranges were found (`deploy.json` `quantization.method`).
    static let method = "minmax"

    /// Which nodes are quantised: a `Conv`, `Gemm` or `MatMul` whose weights are a float initializer, outside
    /// the scopes (the name before `/`) in `excludedScopes`. Returns, per node index, its activation input.
    static func targets(_ graph: ONNXGraph, excludedScopes: Set<String>) -> [Int: String] {
        let constants = Set(graph.initializers.filter { $0.dataType == .float }.map(\.name))
        var out: [Int: String] = [:]
        for (i, n) in graph.nodes.enumerated() where ["Conv", "Gemm", "MatMul"].contains(n.opType) {
            let scope = String(n.name.split(separator: "/").first ?? "")
            guard !excludedScopes.contains(scope), n.inputs.count >= 2, constants.contains(n.inputs[1]),
                !constants.contains(n.inputs[0])
            else { continue }
            if n.opType == "Gemm", n.attribute("transB") != nil || n.attribute("transA") != nil { continue }
            out[i] = n.inputs[0]
        }
        return out
    }

    /// (scale, zero point) of a uint8 asymmetric quantisation of [lo, hi].
    static func activationParameters(lo: Float, hi: Float) -> (scale: Float, zeroPoint: UInt8) {
        let a = min(lo, 0), b = max(hi, 0)
        let scale = b > a ? (b - a) / 255 : 1
        let z = (-a / scale).rounded(.toNearestOrEven)
        return (scale, UInt8(min(max(z, 0), 255)))
    }

    /// Per-channel symmetric int8 weights: channel `c` holds the elements whose index along `axis` is c.
    static func quantizeWeights(_ w: ONNXTensor, axis: Int) -> (values: [Int8], scales: [Float]) {
        let values = w.floats
        let channels = w.dims[axis]
        let inner = w.dims[(axis + 1)...].reduce(1, *)
        var maxAbs = [Float](repeating: 0, count: channels)
        for i in values.indices {
            let c = (i / inner) % channels
            maxAbs[c] = max(maxAbs[c], abs(values[i]))
        }
        let scales = maxAbs.map { $0 > 0 ? $0 / 127 : 1 }
        let q = values.indices.map { i -> Int8 in
            let c = (i / inner) % channels
            return Int8(min(max((values[i] / scales[c]).rounded(.toNearestOrEven), -127), 127))
        }
        return (q, scales)
    }

    /// The graph with Q/DQ pairs on every target's activation and int8 weights and int32 biases.
    /// - Parameter ranges: the calibrated (min, max) of every target's activation input, by value name.
    static func rewrite(_ graph: ONNXGraph, targets: [Int: String], ranges: [String: (Float, Float)]) -> ONNXGraph {
        var initializers = Dictionary(uniqueKeysWithValues: graph.initializers.map { ($0.name, $0) })
        var order = graph.initializers.map(\.name)
        var removed = Set<String>()
        func addConstant(_ t: ONNXTensor) {
            initializers[t.name] = t
            order.append(t.name)
        }
        var nodes: [ONNXNode] = []
        var dequantized: [String: String] = [:]  // activation → its DQ output
        var activationScale: [String: Float] = [:]
        var quantizedWeights: [String: (name: String, scales: [Float])] = [:]
        for (i, node) in graph.nodes.enumerated() {
            guard let act = targets[i], let range = ranges[act] else {
                nodes.append(node)
                continue
            }
            var n = node
            if dequantized[act] == nil {
                let (scale, zero) = activationParameters(lo: range.0, hi: range.1)
                let s = "\(act)/scale", z = "\(act)/zero_point"
                addConstant(ONNXTensor(name: s, floats: [scale], dims: []))
                addConstant(ONNXTensor(name: z, uint8s: [zero], dims: []))
                nodes.append(
                    ONNXNode(
                        name: "\(act)/QuantizeLinear", opType: "QuantizeLinear", inputs: [act, s, z],
                        outputs: ["\(act)/quantized"]))
                nodes.append(
                    ONNXNode(
                        name: "\(act)/DequantizeLinear", opType: "DequantizeLinear",
                        inputs: ["\(act)/quantized", s, z],
                        outputs: ["\(act)/dequantized"]))
                dequantized[act] = "\(act)/dequantized"
                activationScale[act] = scale
            }
            n.inputs[0] = dequantized[act]!
            let wName = node.inputs[1]
            let axis = node.opType == "Conv" ? 0 : 1
            if quantizedWeights[wName] == nil {
                let w = initializers[wName]!
                let (q, scales) = quantizeWeights(w, axis: axis)
                let qn = "\(wName)/quantized", s = "\(wName)/scale", z = "\(wName)/zero_point"
                addConstant(ONNXTensor(name: qn, int8s: q, dims: w.dims))
                addConstant(ONNXTensor(name: s, floats: scales, dims: [scales.count]))
                addConstant(ONNXTensor(name: z, int8s: [Int8](repeating: 0, count: scales.count), dims: [scales.count]))
                nodes.append(
                    ONNXNode(
                        name: "\(wName)/DequantizeLinear", opType: "DequantizeLinear", inputs: [qn, s, z],
                        outputs: ["\(wName)/dequantized"], attributes: [.int("axis", axis)]))
                quantizedWeights[wName] = ("\(wName)/dequantized", scales)
                removed.insert(wName)
            }
            n.inputs[1] = quantizedWeights[wName]!.name
            if node.inputs.count > 2, let bias = initializers[node.inputs[2]], bias.dataType == .float {
                let scales = quantizedWeights[wName]!.scales.map { $0 * activationScale[act]! }
                let values = bias.floats
                let q = values.indices.map { c -> Int32 in
                    let v = (Double(values[c]) / Double(scales[c])).rounded(.toNearestOrEven)
                    return Int32(min(max(v, -2_147_483_647), 2_147_483_647))
                }
                let bName = "\(bias.name)/\(act)"
                let qn = "\(bName)/quantized", s = "\(bName)/scale", z = "\(bName)/zero_point"
                addConstant(ONNXTensor(name: qn, int32s: q, dims: bias.dims))
                addConstant(ONNXTensor(name: s, floats: scales, dims: [scales.count]))
                addConstant(
                    ONNXTensor(name: z, int32s: [Int32](repeating: 0, count: scales.count), dims: [scales.count]))
                nodes.append(
                    ONNXNode(
                        name: "\(bName)/DequantizeLinear", opType: "DequantizeLinear", inputs: [qn, s, z],
                        outputs: ["\(bName)/dequantized"], attributes: [.int("axis", 0)]))
                n.inputs[2] = "\(bName)/dequantized"
                removed.insert(bias.name)
            }
            nodes.append(n)
        }
        // Float weights and biases nothing reads any more are dropped.
        let read = Set(nodes.flatMap(\.inputs))
        let kept = order.filter { !removed.contains($0) || read.contains($0) }.map { initializers[$0]! }
        var g = graph
        g.nodes = nodes
        g.initializers = kept
        return g
    }
}
