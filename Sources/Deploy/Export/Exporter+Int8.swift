import DatasetFormat
import Foundation
import Layers
import TKDCore
import Training

extension Exporter {
    /// What stays float32 in an int8 export, as `deploy.json` lists it.
    static func floatParts(_ ck: DeployableCheckpoint, audio: Bool) -> [String] {
        var parts: [String] = []
        if audio { parts.append("front end (DFT basis convolution, mel, log, DCT): spectral dynamic range") }
        if ck.model.layers.contains(where: { $0 is GRULayer }) {
            parts.append("GRU layers: ONNX Runtime runs no int8 GRU under QDQ")
        }
        if ck.model.layers.contains(where: { $0 is PeepholeLSTMLayer }) {
            parts.append("LSTM-P's unrolled recurrence (input projection, cells, projection)")
        }
        if ck.model.layers.contains(where: { $0 is QueryAttentionLayer }) {
            parts.append("attention scores and pooling: products of two activations")
        }
        parts.append("the KD head, softmax / sigmoid")
        return parts
    }

    /// The int8 QDQ form of `graph`, calibrated by running the float model on `examples` training examples of
    /// `calibration` (their stored features).
    static func quantize(
        _ graph: ONNXGraph, checkpoint ck: DeployableCheckpoint, localisation: StudentGraph.Localisation?,
        calibration: URL, examples: Int
    ) throws -> (graph: ONNXGraph, description: DeployManifest.Quantization) {
        let f = ck.facts
        let d = ck.info.details
        let data = try TrainingData(
            dataset: calibration, preset: f.preset, featureCount: d.student.featureCount, student: d.student.rawValue,
            minimumFrames: d.student.minimumFrames, required: [.training])
        func bad(_ reason: String) -> DeployError { .calibration(path: calibration.path, reason: reason) }
        guard data.labels == f.labels else {
            throw bad(
                "labels \(data.labels.joined(separator: ",")) differ from the checkpoint's "
                    + "\(f.labels.joined(separator: ",")); expected the same label map")
        }
        guard data.storeConfig.frontEnd == f.frontEnd else {
            throw bad(
                "its '\(f.preset)' features were made at \(data.storeConfig.frontEnd.sampleRate) Hz with another "
                    + "front end than the checkpoint's (\(f.frontEnd.sampleRate) Hz); expected the same front end")
        }
        guard data.frames == f.frames else {
            throw bad("examples have \(data.frames) frames; the checkpoint's window has \(f.frames)")
        }
        guard examples >= 1 else { throw DeployError.export(field: "calibration-examples", reason: "must be ≥ 1") }
        let all = data.splits[.training] ?? []
        let count = min(examples, all.count)
        let ids = (0..<count).map { all[$0 * all.count / count] }

        // Ranges of every quantised node's activation input, from the features graph.
        var excluded: Set<String> = ["front_end", "kd_head", "own_attention"]
        for l in ck.model.layers where l is PeepholeLSTMLayer { excluded.insert(l.name) }
        let targets = Quantizer.targets(graph, excludedScopes: excluded)
        let watch = Set(targets.values)
        let featuresGraph =
            graph.inputs.first?.name == "features"
            ? graph : try build(ck, input: .features, localisation: localisation).graph
        let runner = try GraphRunner(
            model: onnxModel(featuresGraph, checkpoint: ck, input: .features, precision: .float32),
            path: "calibration graph")
        final class Ranges: @unchecked Sendable { var values: [String: (Float, Float)] = [:] }
        let ranges = Ranges()
        func record(_ name: String, _ v: TensorValue) {
            guard watch.contains(name) else { return }
            let x = v.floats
            guard let lo = x.min(), let hi = x.max() else { return }
            let old = ranges.values[name] ?? (lo, hi)
            ranges.values[name] = (min(old.0, lo), max(old.1, hi))
        }
        for start in stride(from: 0, to: ids.count, by: 32) {
            let group = Array(ids[start..<min(ids.count, start + 32)])
            let x = try data.batch(group)
            let input = TensorValue(shape: x.shape, floats: x.data)
            record("features", input)
            _ = try runner.run(["features": input]) { node, outs in
                for (name, v) in zip(node.outputs, outs) { record(name, v) }
            }
        }
        let missing = watch.subtracting(ranges.values.keys)
        guard missing.isEmpty else {
            throw DeployError.export(
                field: "int8",
                reason: "no calibration range for \(missing.sorted().first!) (a tkd bug: please report it)")
        }
        let q = Quantizer.rewrite(graph, targets: targets, ranges: ranges.values)
        let description = DeployManifest.Quantization(
            method: Quantizer.method,
            weights: "int8 symmetric per output channel (Conv, Gemm, MatMul with constant weights); biases int32",
            activations: "uint8 asymmetric per tensor, min-max over the calibration examples (range includes 0)",
            float: floatParts(ck, audio: graph.inputs.first?.name == "audio"),
            calibration: .init(
                dataset: data.info.name, manifestsSHA256: data.manifestsSHA256, split: Split.training.rawValue,
                examples: ids.count, idsSHA256: SHA256.hex(ids.joined(separator: "\n"))))
        return (q, description)
    }
}
