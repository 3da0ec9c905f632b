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
        var expectedInput: [ONNXValueInfo.Dimension] =
            m.model.input == "audio"
            ? [.parameter("batch"), .value(m.window.samples)]
            : [.parameter("batch"), .value(m.window.frames), .value(m.features.coefficients)]
        if let st = m.streaming {
            expectedInput = [
                .parameter("batch"), .value(m.model.input == "audio" ? st.hopSamples : m.features.coefficients),
            ]
        }
        let stateInputs = (m.streaming?.states ?? []).map { s in
            (s.name, [ONNXValueInfo.Dimension.parameter("batch")] + s.shape.map { .value($0) })
        }
        let wanted = [(m.model.input, expectedInput)] + stateInputs
        guard inputs.count == wanted.count,
            zip(inputs, wanted).allSatisfy({ i, w in
                i.name == w.0 && i.elementType == .float && i.shape.count == w.1.count
                    && i.shape.dropFirst() == w.1.dropFirst()
            })
        else {
            throw DeployError.model(
                path: url.path,
                reason: "the graph's inputs \(inputs.map { "\($0.name) \($0.shape)" }) do not match deploy.json's "
                    + "\(wanted.map { "'\($0.0)' \($0.1)" }.joined(separator: ", "))")
        }
        let outputs = Dictionary(g.outputs.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        guard let p = outputs["probabilities"], p.shape.last == .value(m.labels.count) else {
            throw DeployError.model(
                path: url.path, reason: "no output 'probabilities' [batch, \(m.labels.count)] for deploy.json's labels")
        }
        for st in m.streaming?.states ?? []
        where outputs[st.output]?.shape.dropFirst() != st.shape.map({ .value($0) })[...] {
            throw DeployError.model(
                path: url.path, reason: "no output '\(st.output)' [batch, \(st.shape)] as deploy.json's streaming says")
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
    /// A streaming graph scores each window from reset states (kws_streaming's reset1), with no logits.
    public func outputs(_ windows: [[Float]]) throws -> (logits: [Float], probabilities: [Float], attention: [Float]?) {
        let m = manifest
        if m.streaming != nil {
            let r = try StreamingSession(self).windowScores(windows)
            return (r.logits, r.probabilities, nil)
        }
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
