import ArgumentParser
import DatasetFormat
import Features
import Foundation
import Layers
import Numerics
import TKDCore
import Teacher
import Training
import TrainingLoop

/// `tkd bench …`: in-process throughput measurements (see BENCHMARKS.md and Benchmarks/).
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure throughput (used by Benchmarks/*.sh beside the Python peers).",
        subcommands: [BenchFeaturesCommand.self, BenchTrainCommand.self, BenchTeacherCommand.self])
}

/// `tkd bench features --preset P [--clips N] [--long-seconds S] [--jobs J]`
struct BenchFeaturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "features",
        abstract: "Front-end throughput on N one-second clips and on one long clip, in audio-seconds per CPU-second.",
        discussion: """
            The signals are deterministic noise (content does not change the work). Prints one JSON object per \
            workload: audio seconds, wall and CPU seconds (process CPU time), audio-s per CPU-second and per \
            wall-second.
            """)

    @Option(help: "Front-end preset.")
    var preset: FrontEndPreset = .torchaudioMelspec

    @Option(help: "Number of one-second clips.")
    var clips: Int = 1000

    @Option(help: "Length of the long clip in seconds.")
    var longSeconds: Int = 60

    @Option(name: .customLong("repeat"), help: "Repetitions; the fastest is reported.")
    var repetitions: Int = 3

    @Option(name: .shortAndLong, help: "Worker threads.")
    var jobs: Int = 1

    func run() throws {
        let frontEnd = try FrontEnd(preset.config())
        let rate = frontEnd.config.sampleRate
        var rng = CounterRNG(seed: 1, key: ["bench-features"])
        let short = (0..<clips).map { _ in (0..<rate).map { _ in Float(0.1 * rng.normal()) } }
        let long = [(0..<(rate * longSeconds)).map { _ in Float(0.1 * rng.normal()) }]
        for (name, inputs) in [("clips-1s", short), ("clip-\(longSeconds)s", long)] {
            var best: (wall: Double, cpu: Double) = (.infinity, .infinity)
            for _ in 0..<max(1, repetitions) {
                let (w0, c0) = (Self.wallClock(), Self.cpuClock())
                try WorkPool(jobs: jobs).forEach(inputs.count) { i in _ = frontEnd.features(inputs[i]) }
                let (w1, c1) = (Self.wallClock(), Self.cpuClock())
                if w1 - w0 < best.wall { best = (w1 - w0, c1 - c0) }
            }
            let audio = Double(inputs.reduce(0) { $0 + $1.count }) / Double(rate)
            let fields = [
                "\"tool\":\"tkd\"", "\"preset\":\"\(preset.rawValue)\"", "\"workload\":\"\(name)\"", "\"jobs\":\(jobs)",
                "\"audio_seconds\":\(audio)", String(format: "\"wall_seconds\":%.4f", best.wall),
                String(format: "\"cpu_seconds\":%.4f", best.cpu),
                String(format: "\"audio_s_per_cpu_s\":%.0f", audio / best.cpu),
                String(format: "\"audio_s_per_wall_s\":%.0f", audio / best.wall),
            ]
            say("{" + fields.joined(separator: ",") + "}")
        }
    }

    static func wallClock() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    static func cpuClock() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }
}

/// `tkd bench train --student S --frames T [--batch 100] [--steps 20] [--warmup 3] [--jobs J]`
struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training-step throughput of a student on synthetic batches, in examples per second.",
        discussion: """
            Mirrors Benchmarks/peers/train_peer.py: random normal features and random labels (a few distinct batches, \
            made before timing), W warm-up steps, then S timed steps of forward, cross-entropy, backward and the \
            paper's optimiser update. Prints one JSON object.
            """)

    @Option(help: "lstm-p, tc-resnet, crnn, att-rnn or mhatt-rnn.")
    var student: Student = .tcResNet

    @Option(help: "Frames per example (99 for 2 s, 399 for 8 s).")
    var frames: Int = 99

    @Option(help: "Batch size.")
    var batch: Int = 100

    @Option(help: "Timed steps.")
    var steps: Int = 20

    @Option(help: "Warm-up steps (not timed).")
    var warmup: Int = 3

    @Option(help: "Examples per parallel chunk.")
    var chunk: Int = 25

    @Option(help: "λ of the attention-distillation term (0 = cross-entropy only, like the peer).")
    var kdLambda: Float = 0

    @Option(name: .shortAndLong, help: "Worker threads.")
    var jobs: Int = 1

    func run() throws {
        reuseLargeAllocations()
        let model = StudentModel(student: student, classes: 12)
        model.initialize(seed: 0)
        var config = TrainConfig(name: "bench", student: student)
        config.kd.lambda = kdLambda
        var optimizer = OptimizerState(config.optimizer)
        var rng = CounterRNG(seed: 0, key: ["bench-train"])
        let f = student.featureCount, steps = student.contextSteps(frames: frames)
        let batches = (0..<4).map { _ in
            (
                Tensor(shape: [batch, frames, f], data: (0..<(batch * frames * f)).map { _ in Float(rng.normal()) }),
                (0..<batch).map { _ in rng.uniformInt(0..<12) }
            )
        }
        let targets = [Float](repeating: 1 / Float(steps), count: batch * steps)
        var (w0, c0) = (0.0, 0.0)
        for s in 0..<(warmup + self.steps) {
            if s == warmup { (w0, c0) = (BenchFeaturesCommand.wallClock(), BenchFeaturesCommand.cpuClock()) }
            let (x, y) = batches[s % batches.count]
            let run = RunContext(mode: .training, jobs: jobs, chunkSize: chunk, seed: 0, step: s + 1)
            _ = try TrainingStep.run(
                model, optimizer: &optimizer, input: x, labels: y, targets: kdLambda > 0 ? targets : nil,
                objective: config.objective, learningRate: 1e-3, clipNorm: nil, run: run)
        }
        let (w1, c1) = (BenchFeaturesCommand.wallClock(), BenchFeaturesCommand.cpuClock())
        let examples = Double(self.steps * batch)
        let fields = [
            "\"tool\":\"tkd\"", "\"model\":\"\(student.rawValue)\"", "\"frames\":\(frames)", "\"batch\":\(batch)",
            "\"threads\":\(jobs)", "\"steps\":\(self.steps)", String(format: "\"seconds\":%.4f", w1 - w0),
            String(format: "\"cpu_seconds\":%.4f", c1 - c0),
            String(format: "\"examples_per_second\":%.2f", examples / (w1 - w0)),
            "\"parameters\":\(student.trainableParameters(classes: 12))", "\"openblas_core\":\"\(BLAS.coreName)\"",
        ]
        say("{" + fields.joined(separator: ",") + "}")
    }
}

/// `tkd bench teacher --teacher DIR [--seconds S] [--clips N] [--repeat R] [--jobs J]`
struct BenchTeacherCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "teacher",
        abstract:
            "wav2vec 2.0 forward throughput (logits and attentions) on N clips of S seconds, as a real-time factor.",
        discussion: """
            Mirrors Benchmarks/peers/teacher_peer.py: deterministic noise clips, one warm-up forward, then R timed \\
            passes over the N clips as one batch (linear layers over the stacked frames, convolutions and attention \
            per \\
            clip, on --jobs threads); the fastest pass is reported as one \\
            JSON object with the real-time factor (processing seconds per audio second) and clips per second.
            """)

    @Option(help: "A Hugging Face wav2vec 2.0 model folder.")
    var teacher: String

    @Option(help: "Clip length in seconds.")
    var seconds: Double = 2

    @Option(help: "Clips per pass.")
    var clips: Int = 4

    @Option(name: .customLong("repeat"), help: "Timed passes; the fastest is reported.")
    var repetitions: Int = 3

    @Option(name: .shortAndLong, help: "Worker threads.")
    var jobs: Int = 1

    func run() throws {
        reuseLargeAllocations()
        let model = try Wav2Vec2Model(folder: URL(fileURLWithPath: teacher))
        var rng = CounterRNG(seed: 2, key: ["bench-teacher"])
        let n = Int(seconds * 16_000)
        let inputs = (0..<clips).map { _ in (0..<n).map { _ in Float(0.1 * rng.normal()) } }
        let pool = WorkPool(jobs: jobs)
        _ = try model.forward(inputs[0])
        var best = (wall: Double.infinity, cpu: Double.infinity)
        for _ in 0..<max(1, repetitions) {
            let (w0, c0) = (BenchFeaturesCommand.wallClock(), BenchFeaturesCommand.cpuClock())
            _ = try model.forward(batch: inputs, pool: pool)
            let (w1, c1) = (BenchFeaturesCommand.wallClock(), BenchFeaturesCommand.cpuClock())
            if w1 - w0 < best.wall { best = (w1 - w0, c1 - c0) }
        }
        let audio = Double(clips) * seconds
        let fields = [
            "\"tool\":\"tkd\"", "\"seconds\":\(seconds)", "\"clips\":\(clips)", "\"threads\":\(jobs)",
            String(format: "\"wall_seconds\":%.4f", best.wall), String(format: "\"cpu_seconds\":%.4f", best.cpu),
            String(format: "\"real_time_factor\":%.5f", best.wall / audio),
            String(format: "\"clips_per_second\":%.3f", Double(clips) / best.wall),
            "\"openblas_core\":\"\(BLAS.coreName)\"",
        ]
        say("{" + fields.joined(separator: ",") + "}")
    }
}
