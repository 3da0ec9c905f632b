import Foundation

/// A scalar distribution in a recipe, in Scaper's spirit:
///
/// ```yaml
/// snr_db: 5                                   # const
/// snr_db: {type: const, value: 5}
/// snr_db: {type: uniform, min: -5, max: 10}
/// snr_db: {type: normal, mean: 5, std: 3, min: -5, max: 15}   # min/max optional: truncation by rejection
/// snr_db: {type: choice, values: [0, 5, 10], weights: [1, 2, 1]}   # weights optional
/// ```
public enum Distribution: Sendable, Equatable, Codable {
    case const(Double)
    case uniform(min: Double, max: Double)
    case normal(mean: Double, std: Double, min: Double?, max: Double?)
    case choice(values: [Double], weights: [Double]?)

    /// Draws one value.
    public func sample(_ rng: inout CounterRNG) -> Double {
        switch self {
        case let .const(v):
            return v
        case let .uniform(lo, hi):
            return lo == hi ? lo : rng.uniform(lo, hi)
        case let .normal(mean, std, lo, hi):
            // Truncation by rejection; the bounds were checked to leave positive mass.
            for _ in 0..<10_000 {
                let v = rng.normal(mean: mean, std: std)
                if (lo.map { v >= $0 } ?? true) && (hi.map { v <= $0 } ?? true) { return v }
            }
            return min(max(mean, lo ?? mean), hi ?? mean)
        case let .choice(values, weights):
            guard let weights else { return values[rng.uniformInt(0..<values.count)] }
            let total = weights.reduce(0, +)
            var u = rng.uniform() * total
            for (v, w) in zip(values, weights) {
                if u < w { return v }
                u -= w
            }
            return values[values.count - 1]
        }
    }

    /// The smallest and largest values it can produce.
    public var bounds: ClosedRange<Double> {
        switch self {
        case let .const(v): return v...v
        case let .uniform(lo, hi): return lo...hi
        case let .normal(_, _, lo, hi): return (lo ?? -.infinity)...(hi ?? .infinity)
        case let .choice(values, _): return values.min()!...values.max()!
        }
    }

    /// Reads a distribution: a bare number (const) or a `{type: …}` mapping.
    /// - Parameter domain: values every outcome must lie in (checked against `bounds`).
    public static func read(
        _ v: YAMLValue, domain: ClosedRange<Double> = -.infinity ... .infinity
    ) throws -> Distribution {
        let d: Distribution
        if !v.isMapping {
            d = .const(try v.double())
        } else {
            let m = try v.mapping(
                allowed: ["type", "value", "min", "max", "mean", "std", "values", "weights"], required: ["type"])
            let type = try m["type"]!.choice(["const", "uniform", "normal", "choice"])
            func need(_ k: String) throws -> YAMLValue {
                guard let x = m[k], !x.isNull else { throw v.fail("type \(type) needs '\(k)'") }
                return x
            }
            func refuse(_ keys: [String]) throws {
                for k in keys where m[k] != nil { throw m[k]!.fail("not used by type \(type)") }
            }
            switch type {
            case "const":
                try refuse(["min", "max", "mean", "std", "values", "weights"])
                d = .const(try need("value").double())
            case "uniform":
                try refuse(["value", "mean", "std", "values", "weights"])
                let lo = try need("min").double(), hi = try need("max").double()
                guard lo <= hi else { throw v.fail("min \(lo) is greater than max \(hi)") }
                d = .uniform(min: lo, max: hi)
            case "normal":
                try refuse(["value", "values", "weights"])
                let std = try need("std").double()
                guard std > 0 else { throw m["std"]!.fail("std must be positive; got \(std)") }
                let lo = try m["min"].map { try $0.double() }, hi = try m["max"].map { try $0.double() }
                if let lo, let hi, lo >= hi { throw v.fail("min \(lo) must be less than max \(hi)") }
                d = .normal(mean: try need("mean").double(), std: std, min: lo, max: hi)
            default:
                try refuse(["value", "min", "max", "mean", "std"])
                let values = try need("values").list().map { try $0.double() }
                guard !values.isEmpty else { throw m["values"]!.fail("needs at least one value") }
                var weights: [Double]?
                if let w = m["weights"] {
                    let ws = try w.list().map { try $0.double() }
                    guard ws.count == values.count else {
                        throw w.fail("needs \(values.count) weights, one per value; got \(ws.count)")
                    }
                    guard ws.allSatisfy({ $0 >= 0 }), ws.reduce(0, +) > 0 else {
                        throw w.fail("weights must be ≥ 0 with a positive sum")
                    }
                    weights = ws
                }
                d = .choice(values: values, weights: weights)
            }
        }
        let b = d.bounds
        guard domain.contains(b.lowerBound) || b.lowerBound == -.infinity && domain.lowerBound == -.infinity,
            domain.contains(b.upperBound) || b.upperBound == .infinity && domain.upperBound == .infinity
        else {
            throw v.fail(
                "values must lie in [\(domain.lowerBound), \(domain.upperBound)]; this distribution spans "
                    + "[\(b.lowerBound), \(b.upperBound)]"
            )
        }
        return d
    }

    // MARK: Codable (the resolved form written into dataset.json)

    enum CodingKeys: String, CodingKey { case type, value, min, max, mean, std, values, weights }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case let .const(v):
            try c.encode("const", forKey: .type)
            try c.encode(v, forKey: .value)
        case let .uniform(lo, hi):
            try c.encode("uniform", forKey: .type)
            try c.encode(lo, forKey: .min)
            try c.encode(hi, forKey: .max)
        case let .normal(mean, std, lo, hi):
            try c.encode("normal", forKey: .type)
            try c.encode(mean, forKey: .mean)
            try c.encode(std, forKey: .std)
            try c.encodeIfPresent(lo, forKey: .min)
            try c.encodeIfPresent(hi, forKey: .max)
        case let .choice(values, weights):
            try c.encode("choice", forKey: .type)
            try c.encode(values, forKey: .values)
            try c.encodeIfPresent(weights, forKey: .weights)
        }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(String.self, forKey: .type) {
        case "const": self = .const(try c.decode(Double.self, forKey: .value))
        case "uniform":
            self = .uniform(min: try c.decode(Double.self, forKey: .min), max: try c.decode(Double.self, forKey: .max))
        case "normal":
            self = .normal(
                mean: try c.decode(Double.self, forKey: .mean), std: try c.decode(Double.self, forKey: .std),
                min: try c.decodeIfPresent(Double.self, forKey: .min),
                max: try c.decodeIfPresent(Double.self, forKey: .max))
        case "choice":
            self = .choice(
                values: try c.decode([Double].self, forKey: .values),
                weights: try c.decodeIfPresent([Double].self, forKey: .weights))
        case let other:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: c, debugDescription: "unknown distribution type '\(other)'")
        }
    }
}
