import Foundation
import Testing
import TKDCore
@testable import Training
@testable import Synthesis

@Suite("Training config")
struct TrainConfigTests {
    func load(_ text: String) throws -> TrainConfig {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tkd-config-\(UUID().uuidString).yaml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        return try TrainConfig.load(url)
    }

    @Test("the committed configs load, with the paper's optimisers and schedules")
    func committed() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        for student in Student.allCases {
            let c = try TrainConfig.load(root.appendingPathComponent("Recipes/train/\(student.rawValue).yaml"))
            #expect(c.student == student && c.name == student.rawValue && c.steps == 80_000 && c.batchSize == 100 && c.evalEvery == 400)
            #expect(c.features == student.preset)
            if student == .tcResNet {
                #expect(c.optimizer == .momentum(0.9) && c.schedule == .exponential(initial: 0.1, final: 0.01, steps: 80_000))
            } else {
                #expect(c.optimizer == .adam(epsilon: 1e-8) && c.schedule == .exponential(initial: 1e-3, final: 2e-5, steps: 80_000))
            }
            #expect(c.specAugment == SpecAugment())
            let demo = try TrainConfig.load(root.appendingPathComponent("Recipes/train/demo/\(student.rawValue).yaml"))
            #expect(demo.name == "demo-\(student.rawValue)" && demo.steps < 1_000)
        }
    }

    @Test("a typo, a wrong type, a bad target and a misplaced field are one error naming file, line and key")
    func errors() throws {
        func message(_ text: String) -> String {
            do { _ = try load(text); return "no error" } catch { return "\(error)" }
        }
        #expect(message("student: tc-resnet\nstpes: 10\n").contains("stpes"))
        #expect(message("student: tc-resnet\nsteps: ten\n").contains("steps"))
        #expect(message("student: tc-resnet\nkd: {target: teacher:xyz}\n").contains("kd.target"))
        #expect(message("student: tcresnet\n").contains("student"))
        #expect(message("student: tc-resnet\nschedule: {kind: exp, initial: 0.1, final: 0.01, warmup: 5}\n").contains("schedule.warmup"))
        #expect(message("student: lstm-p\noptimizer: {kind: adam, momentum: 0.9}\n").contains("optimizer.momentum"))
        #expect(message("student: lstm-p\nbatch_size: 0\n").contains("batch_size"))
        let line = message("student: lstm-p\nseed: 1\nkd:\n  lambda: -1\n")
        #expect(line.contains(":4") && line.contains("kd.lambda"), "\(line)")
    }

    @Test("steps override re-spreads the schedule; defaults follow the student")
    func defaults() throws {
        let c = try load("student: att-rnn\nsteps: 500\nspec_augment: null\n")
        #expect(c.schedule == .exponential(initial: 1e-3, final: 2e-5, steps: 500))
        #expect(c.specAugment == nil && c.kd.lambda == 0 && c.kd.target == "oracle" && c.chunk == 25)
    }
}

@Suite("Distillation targets")
struct TargetTests {
    @Test("context step centres: same frame, TC-ResNet's stride 2, CRNN's 7-frame receptive field")
    func centres() {
        #expect(Student.attRNN.contextCentreFrame(step: 10, frames: 99) == 10)
        #expect(Student.tcResNet.contextSteps(frames: 99) == 50 && Student.tcResNet.contextCentreFrame(step: 10, frames: 99) == 20)
        #expect(Student.tcResNet.contextCentreFrame(step: 10, frames: 98) == 21)
        #expect(Student.crnn.contextSteps(frames: 99) == 93 && Student.crnn.contextCentreFrame(step: 0, frames: 99) == 3)
    }

    func record(onset: Int, offset: Int) -> ExampleRecord {
        ExampleRecord(id: "x", split: .training, label: "yes", labelIndex: 2, sampleRate: 16_000, numSamples: 32_000,
                      audio: "a.wav", audioSHA256: "", keyword: KeywordPlacement(
                        source: "s", sourceSHA256: "", sourceNumSamples: 16_000, word: "yes", speaker: "p",
                        onsetSample: onset, offsetSample: onset + 16_000, speechOnsetSample: onset + 2_000,
                        speechOffsetSample: offset, gainDB: 0),
                      noise: [], snrDB: nil, snrDBAchieved: nil, snrDefinition: nil, scale: 1)
    }

    @Test("oracle: uniform over the steps whose centres fall in the speech span; shifted with the features")
    func oracle() {
        // kws front end: frame j covers [320 j, 320 j + 640), centre 320 j + 320.
        let centre = { (j: Double) in 320 * j + 320 }
        let r = record(onset: 8_000, offset: 16_000)     // speech [10 000, 16 000)
        let a = AttentionTargets.oracle(r, centres: Student.attRNN.contextCentres(frames: 99, frameCentre: centre))
        let on = a.indices.filter { a[$0] > 0 }
        // Centres 320 j + 320 in [10 000, 16 000): j = 31 (10 240) … 48 (15 680); j = 49 (16 000) is outside.
        #expect(on == Array(31...48))
        #expect(abs(a.reduce(0, +) - 1) < 1e-6)
        let shifted = AttentionTargets.oracle(r, centres: Student.attRNN.contextCentres(frames: 99, frameCentre: centre), shift: 3 * 320)
        #expect(shifted.indices.filter { shifted[$0] > 0 } == Array(34...51))
        var silence = r
        silence.keyword = nil
        #expect(Set(AttentionTargets.oracle(silence, centres: Student.crnn.contextCentres(frames: 99, frameCentre: centre))) == [Float(1) / 93])
    }

    @Test("resampling: index grid (endpoints kept, linear between), centre grid, renormalised")
    func resample() {
        let v: [Float] = [0, 1, 2, 3, 4]
        let up = AttentionTargets.resample(v, to: 9, mode: .index)
        let raw = up.map { $0 * Float((0..<9).map { Double($0) / 2 }.reduce(0, +)) }
        for (j, x) in raw.enumerated() { #expect(abs(x - Float(j) / 2) < 1e-5) }
        let down = AttentionTargets.resample([1, 1, 1, 1, 5, 1, 1, 1, 1], to: 3, mode: .index)
        #expect(abs(down.reduce(0, +) - 1) < 1e-6 && down[1] > down[0])
        let c = AttentionTargets.resample(v, to: 2, mode: .centers, sourceTimes: [0, 1, 2, 3, 4], targetTimes: [0.5, 10])
        #expect(abs(c[0] - 0.5 / 4.5) < 1e-6 && abs(c[1] - 4 / 4.5) < 1e-6)
    }
}

@Suite("Metrics")
struct MetricsTests {
    @Test("accuracy, confusion, precision/recall and average precision by hand")
    func byHand() {
        // 3 classes, 4 examples.
        let scores: [Float] = [0.7, 0.2, 0.1,   0.3, 0.6, 0.1,   0.5, 0.4, 0.1,   0.1, 0.3, 0.6]
        let m = Metrics(split: "testing", labels: ["a", "b", "c"], scores: scores, truth: [0, 1, 1, 2], loss: 0)
        #expect(m.accuracy == 0.75)
        #expect(m.confusion == [[1, 0, 0], [1, 1, 0], [0, 0, 1]])
        #expect(m.perClass[0].precision == 0.5 && m.perClass[0].recall == 1)
        #expect(m.perClass[1].precision == 1 && m.perClass[1].recall == 0.5)
        // Class b ranked by score: ex1 0.6 (b), ex2 0.4 (b), ex3 0.3, ex0 0.2 → AP = (1/1 + 2/2)/2 = 1.
        #expect(m.perClass[1].averagePrecision == 1)
        // Class a: ex0 0.7 (a), ex2 0.5, ex1 0.3, ex3 0.1 → AP 1; class c: ex3 0.6 (c) → 1.
        #expect(m.meanAveragePrecision == 1)
        let worse = Metrics(split: "t", labels: ["a", "b"], scores: [0.4, 0.6, 0.9, 0.1], truth: [0, 1], loss: 0)
        // Class a ranking: ex1 (b) then ex0 (a): AP = 1/2.
        #expect(worse.perClass[0].averagePrecision == 0.5)
    }
}

@Suite("Objective")
struct ObjectiveTests {
    /// CE + λ·KL(a_T ‖ a_S) + w·T²·KL(p_T ‖ p_S): gradients for logits, context and query against central
    /// differences of the loss (Double loss, Float32 inputs: h = 1e-3, tolerance 2e-3 relative to max(1, |g|)).
    @Test("loss gradients (CE, attention KD, logit KD) against finite differences")
    func gradients() {
        let b = 3, k = 5, t = 7, d = 4
        let logits = Tensor(shape: [b, k], data: randomValues(b * k, seed: 11, scale: 2))
        let context = Tensor(shape: [b, t, d], data: randomValues(b * t * d, seed: 12))
        let teacher = randomValues(b * k, seed: 13, scale: 2)
        var target = randomValues(b * t, seed: 14).map { $0 * $0 + 0.05 }
        for i in 0..<b { let s = target[(i * t)..<((i + 1) * t)].reduce(0, +); for j in 0..<t { target[i * t + j] /= s } }
        let labels = [1, 4, 0]
        let objective = Objective(kdLambda: 0.7, kdTemperature: 1.5, logitWeight: 0.4, logitTemperature: 3)
        let query = Parameter("kd.query", shape: [d])
        query.value = randomValues(d, seed: 15)
        let r = objective.evaluate(logits: logits, labels: labels, context: context, query: query, targets: target, teacherLogits: teacher)
        #expect(r.logitKD > 0 && r.attentionKD > 0)
        #expect(abs(r.loss - (r.crossEntropy + 0.7 * r.attentionKD + 0.4 * r.logitKD)) < 1e-9)
        let dq = query.gradient
        func loss(_ z: [Float], _ c: [Float], _ q: [Float]) -> Double {
            let p = Parameter("kd.query", shape: [d]); p.value = q
            return objective.evaluate(logits: Tensor(shape: [b, k], data: z), labels: labels, context: Tensor(shape: [b, t, d], data: c),
                                      query: p, targets: target, teacherLogits: teacher).loss
        }
        let h: Float = 1e-3
        func check(_ name: String, _ values: [Float], _ grad: [Float], _ f: ([Float]) -> Double) {
            for i in values.indices {
                var p = values, m = values
                p[i] += h; m[i] -= h
                let fd = (f(p) - f(m)) / Double(2 * h)
                #expect(abs(fd - Double(grad[i])) <= 2e-3 * max(1, abs(Double(grad[i]))), "\(name)[\(i)]: \(fd) vs \(grad[i])")
            }
        }
        check("logits", logits.data, r.logitGradient.data) { loss($0, context.data, query.value) }
        check("context", context.data, r.contextGradient!.data) { loss(logits.data, $0, query.value) }
        check("query", query.value, dq) { loss(logits.data, context.data, $0) }
        // λ = 0 and w = 0: plain cross-entropy, no context gradient.
        let plain = Objective().evaluate(logits: logits, labels: labels, context: context, query: query, targets: nil, teacherLogits: nil)
        #expect(plain.contextGradient == nil && plain.loss == plain.crossEntropy)
    }
}

@Suite("Training step")
struct TrainingStepTests {
    @Test("clip_norm bounds the global gradient norm; dropout and the RNG make the step depend only on (seed, step)")
    func clipping() throws {
        let model = StudentModel(student: .tcResNet, classes: 12)
        model.initialize(seed: 1)
        let x = Tensor(shape: [2, 30, 40], data: randomValues(2 * 30 * 40, seed: 21, scale: 3))
        var optimizer = OptimizerState(.momentum(0.9))
        let run = RunContext(mode: .training, jobs: 1, chunkSize: 1, seed: 4, step: 1)
        let before = model.parameters.map(\.value)
        _ = try Trainer.step(model, optimizer: &optimizer, input: x, labels: [3, 7], targets: nil, objective: Objective(),
                             learningRate: 0, clipNorm: 1e-3, run: run)
        let norm = model.trainableParameters.reduce(0.0) { $0 + $1.gradient.reduce(0.0) { $0 + Double($1) * Double($1) } }.squareRoot()
        #expect(abs(norm - 1e-3) < 1e-6, "clipped norm \(norm)")
        // Learning rate 0: weights unchanged (batch-norm statistics do move in training mode).
        for (p, v) in zip(model.parameters, before) where p.trainable { #expect(p.value == v, "\(p.name)") }
    }
}

@Suite("Teacher label mapping")
struct TeacherLabelMapTests {
    @Test("by name (any order), by count, or not at all")
    func mapping() {
        let dataset = ["_silence_", "_unknown_", "yes", "no"]
        #expect(TeacherTargets.classMap(teacherLabels: ["no", "yes", "_unknown_", "_silence_", "extra"], datasetLabels: dataset, logits: nil)
                == [3, 2, 1, 0, -1])
        #expect(TeacherTargets.classMap(teacherLabels: ["a", "b", "c", "d"], datasetLabels: dataset, logits: nil) == [0, 1, 2, 3])
        #expect(TeacherTargets.classMap(teacherLabels: ["a", "b"], datasetLabels: dataset, logits: nil) == nil)
        #expect(TeacherTargets.classMap(teacherLabels: nil, datasetLabels: dataset, logits: 4) == [0, 1, 2, 3])
        #expect(TeacherTargets.classMap(teacherLabels: nil, datasetLabels: dataset, logits: 12) == nil)
    }
}
