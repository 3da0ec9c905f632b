import ArgumentParser
import Features
import Foundation
import Layers
import Numerics
import TKDCore
import Training
import TrainingLoop

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
