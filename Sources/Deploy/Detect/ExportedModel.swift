import DatasetFormat
import Features
import Foundation
import TKDCore

/// An export folder opened to run (`tkd detect --model`, `tkd evaluate --model`): `deploy.json` checked field by
/// field, `model.onnx` checked against the SHA-256 it records and decoded, and the graph's inputs and outputs
/// checked against what the manifest says, so that a folder whose files disagree is refused before it scores
/// anything.
public final class ExportedModel: @unchecked Sendable {  // immutable after init
    public let folder: URL
    public let manifest: DeployManifest
    public let runner: GraphRunner
    /// The front end for a `features`-input model (computed by tkd before the graph).
    public let frontEnd: FrontEnd

    /// - Throws: `DatasetFormatError` for `deploy.json`, `DeployError.model` for `model.onnx`.
    public init(_ folder: URL) throws {
        self.folder = folder
        let manifest = try DeployManifest.load(folder)
        self.manifest = manifest
        let url = folder.appendingPathComponent(DeployManifest.modelFileName)
        let bytes = try GraphRunner.readModelBytes(url)
        let sha = SHA256.digest(bytes).hexString
        guard sha == manifest.model.sha256 else {
            throw DeployError.model(
                path: url.path,
                reason: "SHA-256 \(sha.prefix(12))…; deploy.json records \(manifest.model.sha256.prefix(12))… "
                    + "(the files do not belong together); expected the model tkd export wrote")
        }
        runner = try GraphRunner(bytes: bytes, path: url.path)
        frontEnd = try FrontEnd(manifest.features.frontEnd)
        let g = runner.model.graph
        let inputs = g.inputs.filter { i in !g.initializers.contains { $0.name == i.name } }
        let m = manifest
        let expectedInput: [ONNXValueInfo.Dimension] =
            m.model.input == "audio"
            ? [.parameter("batch"), .value(m.window.samples)]
            : [.parameter("batch"), .value(m.window.frames), .value(m.features.coefficients)]
        guard inputs.count == 1, inputs[0].name == m.model.input, inputs[0].elementType == .float,
            inputs[0].shape.count == expectedInput.count, inputs[0].shape.dropFirst() == expectedInput.dropFirst()
        else {
            throw DeployError.model(
                path: url.path,
                reason: "the graph's inputs \(inputs.map { "\($0.name) \($0.shape)" }) do not match deploy.json's "
                    + "'\(m.model.input)' \(expectedInput)")
        }
        let outputs = Dictionary(g.outputs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        guard let p = outputs["probabilities"], p.shape.last == .value(m.labels.count) else {
            throw DeployError.model(
                path: url.path, reason: "no output 'probabilities' [batch, \(m.labels.count)] for deploy.json's labels")
        }
        if let l = m.localisation {
            guard let a = outputs[l.output], a.shape.last == .value(l.steps) else {
                throw DeployError.model(
                    path: url.path,
                    reason: "no output '\(l.output)' [batch, \(l.steps)] as deploy.json's localisation says")
            }
        }
    }

    /// Runs a batch of windows (each `window.samples` long) through the graph.
    public func scores(_ windows: [[Float]]) throws -> (probabilities: [Float], attention: [Float]?) {
        let r = try outputs(windows)
        return (r.probabilities, r.attention)
    }

    /// Logits and probabilities [B, labels] and the attention [B, steps] of a batch of windows.
    public func outputs(_ windows: [[Float]]) throws -> (logits: [Float], probabilities: [Float], attention: [Float]?) {
        let m = manifest
        if m.model.input == "audio" {
            return try outputs(TensorValue(shape: [windows.count, m.window.samples], floats: windows.flatMap { $0 }))
        }
        var data = [Float]()
        for w in windows { data += frontEnd.features(w) }
        return try outputs(TensorValue(shape: [windows.count, m.window.frames, m.features.coefficients], floats: data))
    }

    /// The same for the graph's own input (audio, or features for a `features` model).
    func outputs(_ input: TensorValue) throws -> (logits: [Float], probabilities: [Float], attention: [Float]?) {
        let m = manifest
        let out = try runner.run([m.model.input: input])
        guard let p = out["probabilities"]?.floats, p.count == input.shape[0] * m.labels.count else {
            throw DeployError.model(path: runner.path, reason: "the graph gave no probabilities for the batch")
        }
        let logits = out["logits"]?.floats ?? []
        return (logits.count == p.count ? logits : p, p, m.localisation.flatMap { out[$0.output]?.floats })
    }
}
