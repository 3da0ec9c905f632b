import DatasetFormat
import Features
import Foundation
import Layers
import Numerics
import TKDCore
import Training
import TrainingLoop

/// What a model needs at deployment besides its weights: rate, window, task and front end.
public struct DeploymentFacts: Sendable, Equatable {
    public var sampleRate: Int
    public var windowSamples: Int
    public var frames: Int
    public var task: DatasetTask
    public var preset: String
    public var frontEnd: FrontEndConfig
    public var labels: [String]

    public var windowSeconds: Double { Double(windowSamples) / Double(sampleRate) }
}

/// A student checkpoint opened for deployment (`tkd export`, `tkd detect --checkpoint`, `tkd bench infer`):
/// the model with its KD head, every tensor checked finite, and the deployment facts — from the checkpoint,
/// or for a checkpoint written before it recorded them, from the dataset it was trained on.
public final class DeployableCheckpoint: @unchecked Sendable {  // immutable after init (inference only)
    public let url: URL
    public let info: CheckpointInfo
    public let model: StudentModel
    public let facts: DeploymentFacts
    public let frontEnd: FrontEnd
    /// SHA-256 of the checkpoint file.
    public let sha256: String
    /// The run's `metrics.json` when it describes this checkpoint (same step).
    public let metrics: RunMetrics?

    /// - Parameter dataset: the dataset the run was trained on, read only when the checkpoint lacks a fact.
    /// - Throws: `TrainingLoopError.checkpoint` / `DeployError.checkpoint` naming the file and the field or
    ///   tensor; `FeaturesError.unknownPreset` for a preset tkd does not know.
    public init(_ url: URL, dataset: URL? = nil) throws {
        self.url = url
        let (info, file) = try Checkpoint.open(url)
        self.info = info
        let model = try Checkpoint.model(from: info, file: file, includeTrainingOnly: true)
        for p in model.stateParameters {
            if let i = p.value.firstIndex(where: { !$0.isFinite }) {
                throw DeployError.checkpoint(
                    path: url.path,
                    reason: "tensor '\(p.name)' holds \(p.value[i]) at index \(i); expected finite values")
            }
        }
        self.model = model
        let d = info.details
        guard FrontEndPreset(rawValue: d.featurePreset) != nil else {
            throw FeaturesError.unknownPreset(name: d.featurePreset, available: FrontEndPreset.allCases.map(\.rawValue))
        }
        var rate = d.sampleRate, samples = d.windowSamples, task = d.task, frontEnd = d.frontEnd
        if rate == nil || samples == nil || task == nil || frontEnd == nil {
            guard let dataset else {
                throw DeployError.checkpoint(
                    path: url.path,
                    reason: "the checkpoint does not record its sample rate, window and front end (written before "
                        + "tkd recorded them); expected --dataset with the dataset it was trained on")
            }
            let data = try TrainingData(
                dataset: dataset, preset: d.featurePreset, featureCount: d.student.featureCount,
                student: d.student.rawValue, minimumFrames: d.student.minimumFrames, required: [])
            guard data.labels == d.labels else {
                throw DeployError.checkpoint(
                    path: url.path,
                    reason: "label map \(d.labels.joined(separator: ",")) differs from the dataset's "
                        + "\(data.labels.joined(separator: ",")) (\(dataset.path))")
            }
            guard data.frames == d.frames, let n = data.windowSamples else {
                throw DeployError.checkpoint(
                    path: url.path,
                    reason: "'frames' is \(d.frames); the dataset \(dataset.path) has \(data.frames) frames per example"
                        + (data.windowSamples == nil ? " and examples of several lengths" : ""))
            }
            rate = rate ?? data.storeConfig.frontEnd.sampleRate
            samples = samples ?? n
            task = task ?? data.info.task ?? .singleLabel
            frontEnd = frontEnd ?? data.storeConfig.frontEnd
        }
        let f = frontEnd!
        guard f.frameCount(samples: samples!) == d.frames, f.featureCount == d.student.featureCount else {
            throw DeployError.checkpoint(
                path: url.path,
                reason: "\(samples!) samples give \(f.frameCount(samples: samples!)) frames of \(f.featureCount) "
                    + "coefficients; the checkpoint has \(d.frames) frames and \(d.student.rawValue) reads "
                    + "\(d.student.featureCount)")
        }
        facts = DeploymentFacts(
            sampleRate: rate!, windowSamples: samples!, frames: d.frames, task: task!, preset: d.featurePreset,
            frontEnd: f, labels: d.labels)
        self.frontEnd = try FrontEnd(f)
        sha256 = try SHA256.hex(fileAt: url)
        let metricsURL = url.deletingLastPathComponent().appendingPathComponent("metrics.json")
        if let data = try RegularFile.contents(metricsURL) {
            do {
                let m = try JSONDecoder().decode(RunMetrics.self, from: data)
                metrics = m.bestStep == info.step && m.details.student == d.student ? m : nil
            } catch {
                throw DeployError.checkpoint(
                    path: metricsURL.path, reason: "unreadable run metrics (\(CanonicalJSON.describe(error)))")
            }
        } else {
            metrics = nil
        }
    }

    public var student: Student { info.details.student }
    public var multiLabel: Bool { facts.task == .multiLabel }

    /// The trainable parameters of the inference model (the KD query not counted).
    public var trainableParameters: Int { model.parameters.filter(\.trainable).reduce(0) { $0 + $1.count } }

    /// Features [B, T, F] of `windows` (each `facts.windowSamples` long), as the feature store computes them.
    public func features(_ windows: [[Float]]) -> Tensor {
        let size = facts.frames * facts.frontEnd.featureCount
        var data = [Float]()
        data.reserveCapacity(windows.count * size)
        for w in windows {
            precondition(w.count == facts.windowSamples, "a window of \(w.count) samples")
            data += frontEnd.features(w)
        }
        return Tensor(shape: [windows.count, facts.frames, facts.frontEnd.featureCount], data: data)
    }

    /// What the model says about a batch of features: logits and probabilities [B, classes] (softmax, or
    /// sigmoid for multi-label), and — with `localisation` — the attention [B, T′] the export's
    /// `attention` output gives (the KD head of a λ > 0 run, or the model's own).
    public func scores(_ features: Tensor, localisation: Bool = false, jobs: Int = 1) throws -> NativeScores {
        let run = RunContext(mode: .inference, jobs: jobs, chunkSize: info.details.config.chunk)
        let out = try model.forward(features, run)
        let k = model.classes
        let probabilities = (0..<features.batch).flatMap { i in
            Evaluator.probabilities(Array(out.logits.data[(i * k)..<((i + 1) * k)]), sigmoid: multiLabel)
        }
        var attention: [Float]?
        if localisation {
            if localisationHead == .own, let a = out.attention {
                attention = Objective.meanOverHeads(a)
            } else if let c = out.context {
                attention = TemporalAttentionKD.studentAttention(
                    context: c.data, batch: c.batch, steps: c.shape[1], width: c.shape[2],
                    query: model.kdQuery.value, temperature: info.details.kdTemperature)
            }
        }
        return NativeScores(logits: out.logits.data, probabilities: probabilities, attention: attention)
    }

    public enum LocalisationHead: String, Sendable { case kdHead = "kd_head", own }

    /// Which attention `--with-localisation` exports: the model's own for a run that distilled it
    /// (`kd.head: own`), else the training-only KD head.
    public var localisationHead: LocalisationHead { info.details.config.kd.head == .own ? .own : .kdHead }

    /// Why this checkpoint has no trained localisation, or nil: a λ = 0 run never trained its KD head.
    public var localisationProblem: String? {
        info.details.kdLambda > 0
            ? nil
            : "the run distilled nothing (kd_lambda 0), so its attention head was never trained; expected a "
                + "checkpoint trained with λ > 0"
    }

    /// The centres of the context steps from the window's start, in seconds.
    public var stepCentresSeconds: [Double] {
        student.contextCentres(frames: facts.frames, frameCentre: facts.frontEnd.frameCentre).map {
            $0 / Double(facts.sampleRate)
        }
    }
}

/// `DeployableCheckpoint.scores`: row-major [B, classes] and [B, T′].
public struct NativeScores: Sendable {
    public var logits: [Float]
    public var probabilities: [Float]
    public var attention: [Float]?
}
