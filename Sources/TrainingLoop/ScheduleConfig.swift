import Foundation
import Numerics
import TKDCore

extension LearningRateSchedule {
    /// A `schedule:` mapping (`kind: constant | exp | warmup-cosine` and its fields) spread over `steps`.
    /// - Throws: `ConfigError` naming the file, line and key.
    public static func read(_ v: YAMLValue, steps: Int) throws -> LearningRateSchedule {
        let m = try v.mapping(allowed: ["kind", "rate", "initial", "final", "peak", "warmup"], required: ["kind"])
        func rate(_ key: String) throws -> Double {
            guard let x = m[key], !x.isNull else { throw v.fail("schedule needs '\(key)'") }
            return try x.double(in: 1e-12...10)
        }
        let kind = try m["kind"]!.choice(["constant", "exp", "warmup-cosine"])
        let allowed: [String: Set<String>] = [
            "constant": ["kind", "rate"], "exp": ["kind", "initial", "final"],
            "warmup-cosine": ["kind", "peak", "final", "warmup"],
        ]
        if let extra = m.keys.sorted().first(where: { !allowed[kind]!.contains($0) }) {
            throw m[extra]!.fail(
                "not a field of schedule kind '\(kind)' (expected: \(allowed[kind]!.sorted().joined(separator: ", ")))")
        }
        switch kind {
        case "constant": return .constant(try rate("rate"))
        case "exp": return .exponential(initial: try rate("initial"), final: try rate("final"), steps: steps)
        default:
            return .warmupCosine(
                peak: try rate("peak"), final: try rate("final"),
                warmup: try m["warmup"]?.int(in: 0...100_000_000) ?? 0, steps: steps)
        }
    }

    /// The same schedule spread over `steps`.
    public func withSteps(_ steps: Int) -> LearningRateSchedule {
        switch self {
        case .constant: return self
        case let .exponential(a, b, _): return .exponential(initial: a, final: b, steps: steps)
        case let .warmupCosine(p, f, w, _): return .warmupCosine(peak: p, final: f, warmup: w, steps: steps)
        }
    }
}
