import DatasetFormat
import Foundation
import Layers
import TKDCore
import TestSupport
import Testing
import TrainingLoop

@testable import Training

@Suite("Training step")
struct TrainingStepTests {
    @Test("clip_norm bounds the global gradient norm; dropout and the RNG make the step depend only on (seed, step)")
    func clipping() throws {
        let model = StudentModel(student: .tcResNet, classes: 12)
        model.initialize(seed: 1)
        let x = Tensor(
            shape: [2, 30, 40], data: TestValues.uniform(2 * 30 * 40, seed: 21, scale: 3, key: "training-test"))
        var optimizer = OptimizerState(.momentum(0.9))
        let run = RunContext(mode: .training, jobs: 1, chunkSize: 1, seed: 4, step: 1)
        let before = model.parameters.map(\.value)
        _ = try TrainingStep.run(
            model, optimizer: &optimizer, input: x, labels: [3, 7], targets: nil, objective: Objective(),
            learningRate: 0, clipNorm: 1e-3, run: run)
        let norm = model.trainableParameters.reduce(0.0) {
            $0 + $1.gradient.reduce(0.0) { $0 + Double($1) * Double($1) }
        }.squareRoot()
        #expect(abs(norm - 1e-3) < 1e-6, "clipped norm \(norm)")
        // Learning rate 0: weights unchanged (batch-norm statistics do move in training mode).
        for (p, v) in zip(model.parameters, before) where p.trainable { #expect(p.value == v, "\(p.name)") }
    }
}
