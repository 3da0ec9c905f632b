import Foundation
import Numerics
import TKDCore

/// A training config's keys that the loop itself uses — `seed`, `batch_size`, `steps`, `eval_every`, `chunk`,
/// `clip_norm`, `schedule` — read from YAML in one place, with one set of ranges, for the students' and the
/// teacher's configs alike.
public protocol LoopConfigurable {
    var seed: UInt64 { get set }
    var batchSize: Int { get set }
    var steps: Int { get set }
    var evalEvery: Int { get set }
    var chunk: Int { get set }
    /// Global gradient-norm clipping (nil = off).
    var clipNorm: Float? { get set }
    var schedule: LearningRateSchedule { get set }
    /// `sampling`: how minibatches are drawn (nil: `shuffle`, and the key is left out of `config.json`).
    var sampling: Sampling? { get set }
}

extension LoopConfigurable {
    /// The YAML keys `readLoopKeys` reads.
    public static var loopKeys: [String] {
        ["seed", "batch_size", "steps", "eval_every", "chunk", "clip_norm", "schedule", "sampling"]
    }

    /// Reads the loop's keys from a config mapping (null keeps the default; `clip_norm: null` turns clipping
    /// off) and spreads the schedule over the steps.
    /// - Throws: `ConfigError` naming the file, line and key.
    public mutating func readLoopKeys(_ m: [String: YAMLValue]) throws {
        if let v = m["seed"], !v.isNull { seed = UInt64(try v.int(in: 0...Int.max)) }
        if let v = m["batch_size"], !v.isNull { batchSize = try v.int(in: 1...100_000) }
        if let v = m["steps"], !v.isNull { steps = try v.int(in: 1...100_000_000) }
        if let v = m["eval_every"], !v.isNull { evalEvery = try v.int(in: 1...100_000_000) }
        if let v = m["chunk"], !v.isNull { chunk = try v.int(in: 1...100_000) }
        if let v = m["sampling"] {
            let choice = v.isNull ? Sampling.shuffle : try v.option(Sampling.self)
            sampling = choice == .shuffle ? nil : choice
        }
        if let v = m["clip_norm"] { clipNorm = v.isNull ? nil : Float(try v.double(in: 1e-12...1e12)) }
        if let v = m["schedule"] {
            schedule = try LearningRateSchedule.read(v, steps: steps)
        } else {
            schedule = schedule.withSteps(steps)
        }
    }

    /// `--steps N`: N steps, the schedule spread over them.
    public mutating func overrideSteps(_ n: Int) {
        steps = n
        schedule = schedule.withSteps(n)
    }
}
