import Foundation
import TKDCore
import TestSupport
import Testing

@testable import Deploy

/// tkd's runner on graphs built by hand: operator semantics where ONNX pins them down exactly (quantisation
/// rounding), and what it does with graphs it must refuse.
@Suite("GraphRunner")
struct GraphRunnerTests {
    static func model(
        _ nodes: [ONNXNode], initializers: [ONNXTensor] = [], inputs: [ONNXValueInfo], outputs: [String],
        opset: Int = 17
    ) -> ONNXModel {
        ONNXModel(
            irVersion: 8, opsets: [("", opset)], producerName: "test", producerVersion: "0", docString: "",
            graph: ONNXGraph(
                name: "g", nodes: nodes, initializers: initializers, inputs: inputs,
                outputs: outputs.map { ONNXValueInfo(name: $0, shape: []) }),
            metadata: [])
    }

    static let x = ONNXValueInfo(name: "x", shape: [.parameter("batch"), .value(5)])

    @Test("QuantizeLinear rounds half to even and saturates; DequantizeLinear inverts it per axis")
    func quantization() throws {
        let q = Self.model(
            [
                ONNXNode(name: "q", opType: "QuantizeLinear", inputs: ["x", "s", "z"], outputs: ["y"]),
                ONNXNode(name: "dq", opType: "DequantizeLinear", inputs: ["y", "s", "z"], outputs: ["back"]),
            ],
            initializers: [
                ONNXTensor(name: "s", floats: [0.25], dims: []), ONNXTensor(name: "z", uint8s: [128], dims: []),
            ],
            inputs: [Self.x], outputs: ["y", "back"])
        let r = try GraphRunner(model: q, path: "q")
        // x / 0.25 = 0.5, 1.5, −0.5, 2.5, 4000 → 0, 2, −0, 2, saturated.
        let out = try r.run(["x": TensorValue(shape: [1, 5], floats: [0.125, 0.375, -0.125, 0.625, 1000])])
        #expect(out["y"]!.storage == .uint8([128, 130, 128, 130, 255]))
        #expect(out["back"]!.floats == [0, 0.5, 0, 0.5, 31.75])

        let perAxis = Self.model(
            [
                ONNXNode(
                    name: "dq", opType: "DequantizeLinear", inputs: ["w", "s", "z"], outputs: ["y"],
                    attributes: [.int("axis", 1)])
            ],
            initializers: [
                ONNXTensor(name: "w", int8s: [-127, 0, 127, 5, -5, 1], dims: [2, 3]),
                ONNXTensor(name: "s", floats: [1, 0.5, 0.25], dims: [3]),
                ONNXTensor(name: "z", int8s: [0, 0, 0], dims: [3]),
            ],
            inputs: [], outputs: ["y"])
        let w = try GraphRunner(model: perAxis, path: "w").run([:])
        #expect(w["y"]!.floats == [-127, 0, 31.75, 5, -2.5, 0.25])
    }

    @Test("a model round-trips through tkd's protobuf writer and reader")
    func roundTrip() throws {
        let m = Self.model(
            [
                ONNXNode(
                    name: "n", opType: "Gemm", inputs: ["x", "w", "b"], outputs: ["y"],
                    attributes: [.float("alpha", 0.5), .ints("dummy_ints", [-3, 0, 1 << 40]), .string("s", "héllo")])
            ],
            initializers: [
                ONNXTensor(name: "w", floats: (0..<15).map { Float($0) - 7.5 }, dims: [5, 3]),
                ONNXTensor(name: "b", int64s: [Int64.min, -1, Int64.max], dims: [3]),
            ],
            inputs: [Self.x], outputs: ["y"])
        var withMetadata = m
        withMetadata.metadata = [("k", "v"), ("labels", "[\"a\"]")]
        let back = try ONNXModel.decode(withMetadata.serialized())
        #expect(back == withMetadata)
    }

    @Test("hostile graphs are refused with the node or value named, never a crash")
    func hostile() throws {
        func refuse(_ m: ONNXModel, _ words: String, run input: [String: TensorValue]? = nil) {
            do {
                let r = try GraphRunner(model: m, path: "m.onnx")
                if let input { _ = try r.run(input) }
                Issue.record("accepted; expected an error mentioning '\(words)'")
            } catch {
                #expect("\(error)".contains(words), "\(error)")
            }
        }
        let relu = ONNXNode(name: "r", opType: "Relu", inputs: ["nowhere"], outputs: ["y"])
        refuse(Self.model([relu], inputs: [Self.x], outputs: ["y"]), "reads 'nowhere' before anything defines it")
        let loop = ONNXNode(name: "l", opType: "Loop", inputs: ["x"], outputs: ["y"])
        refuse(Self.model([loop], inputs: [Self.x], outputs: ["y"]), "a Loop, which tkd's runner does not run")
        refuse(
            Self.model(
                [ONNXNode(name: "r", opType: "Relu", inputs: ["x"], outputs: ["y"])], inputs: [Self.x],
                outputs: ["y"], opset: 21), "opset 21")
        refuse(Self.model([], inputs: [Self.x], outputs: ["missing"]), "graph output 'missing' is never computed")
        let reshape = ONNXNode(name: "rs", opType: "Reshape", inputs: ["x", "shape"], outputs: ["y"])
        refuse(
            Self.model(
                [reshape], initializers: [ONNXTensor(name: "shape", int64s: [7], dims: [1])], inputs: [Self.x],
                outputs: ["y"]),
            "cannot become", run: ["x": TensorValue(shape: [1, 5], floats: [1, 2, 3, 4, 5])])
        let gather = ONNXNode(
            name: "g", opType: "Gather", inputs: ["x", "i"], outputs: ["y"], attributes: [.int("axis", 1)])
        refuse(
            Self.model(
                [gather], initializers: [ONNXTensor(name: "i", int64s: [5], dims: [])], inputs: [Self.x],
                outputs: ["y"]),
            "index 5 outside", run: ["x": TensorValue(shape: [1, 5], floats: [1, 2, 3, 4, 5])])
        let pad = ONNXNode(name: "p", opType: "Pad", inputs: ["x", "pads"], outputs: ["y"])
        refuse(
            Self.model(
                [pad], initializers: [ONNXTensor(name: "pads", int64s: [0, 1 << 30, 0, 1 << 30], dims: [4])],
                inputs: [Self.x], outputs: ["y"]),
            "too large", run: ["x": TensorValue(shape: [1, 5], floats: [1, 2, 3, 4, 5])])
        refuse(
            Self.model(
                [ONNXNode(name: "r", opType: "Relu", inputs: ["x"], outputs: ["y"])], inputs: [Self.x],
                outputs: ["y"]),
            "input 'x' has shape [1, 4]", run: ["x": TensorValue(shape: [1, 4], floats: [1, 2, 3, 4])])
    }

    @Test("bytes that are not a model: a one-line error, whatever the damage")
    func damagedBytes() throws {
        let good = Self.model(
            [ONNXNode(name: "r", opType: "Relu", inputs: ["x"], outputs: ["y"])],
            initializers: [ONNXTensor(name: "w", floats: [1, 2, 3, 4], dims: [2, 2])], inputs: [Self.x],
            outputs: ["y"]
        ).serialized()
        var rng = CounterRNG(seed: 3, key: ["damage"])
        for trial in 0..<200 {
            var bytes = good
            switch trial % 3 {
            case 0: bytes = Array(bytes.prefix(Int(rng.uniform(0, Double(bytes.count)))))
            case 1:
                let i = Int(rng.uniform(0, Double(bytes.count)))
                bytes[i] = UInt8(rng.uniform(0, 256))
            default: bytes = (0..<64).map { _ in UInt8(rng.uniform(0, 256)) }
            }
            do { _ = try GraphRunner(bytes: bytes, path: "d.onnx") } catch let e as DeployError {
                #expect("\(e)".hasPrefix("onnx: d.onnx: "), "\(e)")
            }
        }
        #expect(throws: DeployError.self) { try GraphRunner(bytes: [0x08, 0xFF], path: "v.onnx") }
    }
}
