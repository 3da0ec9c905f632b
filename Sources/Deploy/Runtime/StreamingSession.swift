import DatasetFormat
import Features
import Foundation

/// Runs a streaming graph (`tkd export --graph streaming`) call by call, carrying its states: `reset()` sets
/// them to zeros, `feed(_:)` takes audio one hop at a time. For a `features`-input graph the frames are computed
/// here, one per hop once a whole frame of audio has arrived (the front end is frame-local wherever a graph can
/// stream). `windowScores` is kws_streaming's reset1: each window from zeros, its hops in order, the last
/// call's probabilities.
public final class StreamingSession {
    let runner: GraphRunner
    public let streaming: DeployManifest.Streaming
    let input: String
    let frontEnd: FrontEnd
    let labels: Int
    private var states: [String: TensorValue] = [:]
    private var batch = 1
    /// `features` input: the audio the next frame shares with this one.
    private var pending: [[Float]] = []

    public init(
        runner: GraphRunner, streaming: DeployManifest.Streaming, input: String, frontEnd: FrontEnd, labels: Int
    ) {
        self.runner = runner
        self.streaming = streaming
        self.input = input
        self.frontEnd = frontEnd
        self.labels = labels
        reset(batch: 1)
    }

    /// The session of an exported streaming model.
    public convenience init(_ model: ExportedModel) throws {
        guard let s = model.manifest.streaming else {
            throw DeployError.model(
                path: model.folder.path, reason: "deploy.json has no 'streaming'; expected a --graph streaming export")
        }
        self.init(
            runner: model.runner, streaming: s, input: model.manifest.model.input, frontEnd: model.frontEnd,
            labels: model.manifest.labels.count)
    }

    /// Every state to zeros, for `batch` parallel streams.
    public func reset(batch: Int = 1) {
        self.batch = batch
        states = Dictionary(
            uniqueKeysWithValues: streaming.states.map {
                (
                    $0.name,
                    TensorValue(
                        shape: [batch] + $0.shape, floats: [Float](repeating: 0, count: batch * $0.shape.reduce(1, *)))
                )
            })
        pending = Array(repeating: [], count: batch)
    }

    /// One stream's states to zeros, the others' kept: row `row` of every state, and its pending audio.
    public func reset(row: Int) {
        precondition(row >= 0 && row < batch, "row \(row) of \(batch)")
        for s in streaming.states {
            let n = s.shape.reduce(1, *)
            guard let v = states[s.name] else { continue }
            var f = v.floats
            for i in (row * n)..<((row + 1) * n) { f[i] = 0 }
            states[s.name] = TensorValue(shape: v.shape, floats: f)
        }
        pending[row] = []
    }

    /// One call of the graph on `x` (a hop of audio [B, hop], or a frame [B, coefficients]); the states move on.
    /// Returns the logits and probabilities [B, labels].
    public func step(_ x: TensorValue) throws -> (logits: [Float], probabilities: [Float]) {
        var feed = states
        feed[input] = x
        let out = try runner.run(feed)
        for s in streaming.states {
            guard let v = out[s.output], v.shape == [batch] + s.shape else {
                throw DeployError.model(
                    path: runner.path, reason: "the graph gave no '\(s.output)' \([batch] + s.shape)")
            }
            states[s.name] = v
        }
        guard let p = out["probabilities"]?.floats, p.count == batch * labels, let l = out["logits"]?.floats,
            l.count == p.count
        else {
            throw DeployError.model(
                path: runner.path, reason: "the graph gave no logits and probabilities [\(batch), \(labels)]")
        }
        return (l, p)
    }

    /// One hop of audio per stream (`hop_samples` each); the probabilities after it, or nil while a
    /// `features`-input session has not yet heard a whole frame.
    public func feed(_ hops: [[Float]]) throws -> (logits: [Float], probabilities: [Float])? {
        let hop = streaming.hopSamples
        precondition(hops.count == batch && hops.allSatisfy { $0.count == hop }, "one hop per stream")
        if input == "audio" {
            return try step(TensorValue(shape: [batch, hop], floats: hops.flatMap { $0 }))
        }
        let frame = frontEnd.config.frameLength
        var frames: [Float] = []
        for e in 0..<batch {
            pending[e] += hops[e]
            if pending[e].count < frame { continue }
            frames += frontEnd.features(Array(pending[e].prefix(frame)))
            pending[e].removeFirst(pending[e].count - (frame - hop))
        }
        guard frames.count == batch * frontEnd.config.featureCount else { return nil }
        return try step(TensorValue(shape: [batch, frontEnd.config.featureCount], floats: frames))
    }

    /// reset1: the logits and probabilities [B, labels] of each window, each streamed from zeros.
    public func windowScores(_ windows: [[Float]]) throws -> (logits: [Float], probabilities: [Float]) {
        reset(batch: windows.count)
        let hop = streaming.hopSamples
        var last: (logits: [Float], probabilities: [Float])?
        var k = 0
        while last == nil || k < streaming.windowSteps + (input == "audio" ? 0 : frontEnd.config.frameLength / hop - 1)
        {
            let hops = try windows.map { w -> [Float] in
                guard (k + 1) * hop <= w.count else {
                    throw DeployError.input(
                        path: runner.path, reason: "a window of \(w.count) samples ends before call \(k + 1)")
                }
                return Array(w[(k * hop)..<((k + 1) * hop)])
            }
            if let p = try feed(hops) { last = p }
            k += 1
        }
        return last!
    }
}
