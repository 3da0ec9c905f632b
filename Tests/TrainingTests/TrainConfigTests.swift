import DatasetFormat
import Foundation
import Layers
import TKDCore
import TestSupport
import Testing
import TrainingLoop

@testable import Training

@Suite("Training config")
struct TrainConfigTests {
    func load(_ text: String) throws -> TrainConfig {
        let url = TestFolder.path("config").appendingPathExtension("yaml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: url) }
        return try TrainConfig.load(url)
    }

    @Test("the committed configs load, with the paper's optimisers and schedules")
    func committed() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        for student in Student.allCases {
            let c = try TrainConfig.load(root.appendingPathComponent("Recipes/train/\(student.rawValue).yaml"))
            #expect(
                c.student == student && c.name == student.rawValue && c.steps == 80_000 && c.batchSize == 100
                    && c.evalEvery == 400)
            #expect(c.features == student.preset)
            if student == .tcResNet {
                #expect(
                    c.optimizer == .momentum(0.9)
                        && c.schedule == .exponential(initial: 0.1, final: 0.01, steps: 80_000))
            } else {
                #expect(
                    c.optimizer == .adam(epsilon: 1e-8)
                        && c.schedule == .exponential(initial: 1e-3, final: 2e-5, steps: 80_000))
            }
            #expect(c.specAugment == SpecAugment())
            // kws_streaming's ±100 ms time shift, the targets moved with it (issue 14, point 6).
            #expect(c.timeShiftFrames == 5 && c.kd.interpolation == .centers)
            let demo = try TrainConfig.load(root.appendingPathComponent("Recipes/train/demo/\(student.rawValue).yaml"))
            #expect(demo.name == "demo-\(student.rawValue)" && demo.steps < 1_000)
        }
    }

    @Test("a typo, a wrong type, a bad target and a misplaced field are one error naming file, line and key")
    func errors() throws {
        func message(_ text: String) -> String {
            do {
                _ = try load(text)
                return "no error"
            } catch { return "\(error)" }
        }
        #expect(message("student: tc-resnet\nstpes: 10\n").contains("stpes"))
        #expect(message("student: tc-resnet\nsteps: ten\n").contains("steps"))
        #expect(message("student: tc-resnet\nkd: {target: teacher:xyz}\n").contains("kd.target"))
        #expect(message("student: tcresnet\n").contains("student"))
        #expect(
            message("student: tc-resnet\nschedule: {kind: exp, initial: 0.1, final: 0.01, warmup: 5}\n").contains(
                "schedule.warmup"))
        #expect(message("student: lstm-p\noptimizer: {kind: adam, momentum: 0.9}\n").contains("optimizer.momentum"))
        #expect(message("student: lstm-p\nbatch_size: 0\n").contains("batch_size"))
        let line = message("student: lstm-p\nseed: 1\nkd:\n  lambda: -1\n")
        #expect(line.contains(":4") && line.contains("kd.lambda"), "\(line)")
    }

    @Test("spec_augment.length_scaling: width, count or none; another word names the key")
    func lengthScaling() throws {
        #expect(
            try load("student: tc-resnet\nspec_augment: {length_scaling: count}\n").specAugment?.lengthScaling == .count
        )
        #expect(try load("student: tc-resnet\nspec_augment: {length_scaling: none}\n").specAugment == SpecAugment())
        do {
            _ = try load("student: tc-resnet\nspec_augment: {length_scaling: wide}\n")
            Issue.record("length_scaling: wide was accepted")
        } catch { #expect("\(error)".contains("spec_augment.length_scaling"), "\(error)") }
    }

    @Test("kd.head: own for the students with attention (τ 1), separate by default; others named")
    func kdHead() throws {
        #expect(try load("student: att-rnn\nkd: {head: own}\n").objective.ownAttention == true)
        #expect(try load("student: mhatt-rnn\nkd: {head: separate}\n").kd.head == nil)
        #expect(try load("student: crnn\n").objective.ownAttention == nil)
        for (text, mention) in [
            ("student: tc-resnet\nkd: {head: own}\n", "kd.head"),
            ("student: att-rnn\nkd: {head: own, temperature: 2}\n", "kd.temperature"),
            ("student: att-rnn\nkd: {head: both}\n", "kd.head"),
        ] {
            do {
                _ = try load(text)
                Issue.record("accepted: \(text)")
            } catch { #expect("\(error)".contains(mention), "\(error)") }
        }
    }

    @Test("steps override re-spreads the schedule; defaults follow the student")
    func defaults() throws {
        let c = try load("student: att-rnn\nsteps: 500\nspec_augment: null\n")
        #expect(c.schedule == .exponential(initial: 1e-3, final: 2e-5, steps: 500))
        #expect(c.specAugment == nil && c.kd.lambda == 0 && c.kd.target == .oracle && c.chunk == 25)
    }
}
