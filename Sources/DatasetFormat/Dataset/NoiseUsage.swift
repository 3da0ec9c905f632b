import Foundation

/// How much distinct noise one split's examples use (`dataset.json`'s `noise_usage`, per split): whether
/// model selection and testing rest on varied noise or on a few seconds seen over and over.
public struct NoiseUsage: Sendable, Equatable, Codable {
    /// Examples of the split (each has noise; `_silence_` examples are noise only).
    public var examples: Int
    /// Seconds of source noise (at the dataset's rate) that at least one example uses: the union of every
    /// segment's source span, summed over files.
    public var distinctSeconds: Double
    /// The share of examples whose noise loops: more than one segment, because the split's region of the
    /// file drawn is shorter than the example.
    public var loopedShare: Double
    /// The largest number of examples that share one noise sample (an example that loops over a sample
    /// counts once).
    public var maxExamplesPerSample: Int

    enum CodingKeys: String, CodingKey {
        case examples
        case distinctSeconds = "distinct_seconds", loopedShare = "looped_share"
        case maxExamplesPerSample = "max_examples_per_sample"
    }

    public init(examples: Int, distinctSeconds: Double, loopedShare: Double, maxExamplesPerSample: Int) {
        self.examples = examples
        self.distinctSeconds = distinctSeconds
        self.loopedShare = loopedShare
        self.maxExamplesPerSample = maxExamplesPerSample
    }

    /// The usage of every split of `records` (splits without examples are left out). Deterministic: a
    /// sweep over each file's source spans in sorted order.
    public static func measure(_ records: [ExampleRecord], sampleRate: Int) -> [String: NoiseUsage] {
        var out: [String: NoiseUsage] = [:]
        for split in Split.allCases {
            let rs = records.filter { $0.split == split }
            guard !rs.isEmpty else { continue }
            // Per file, each example's source spans merged (+1 at a span's start, −1 at its end).
            var events: [String: [(Int, Int)]] = [:]
            var looped = 0
            for r in rs {
                if r.noise.count > 1 { looped += 1 }
                var spans: [String: [(Int, Int)]] = [:]
                for s in r.noise where s.numSamples > 0 {
                    spans[s.source, default: []].append((s.sourceStartSample, s.sourceStartSample + s.numSamples))
                }
                for (source, list) in spans {
                    for (start, end) in merged(list) {
                        events[source, default: []].append((start, 1))
                        events[source, default: []].append((end, -1))
                    }
                }
            }
            var covered = 0, most = 0
            for source in events.keys.sorted() {
                // Ends before starts at the same position: half-open spans that only touch do not overlap.
                let sorted = events[source]!.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
                var depth = 0, last = 0
                for (position, delta) in sorted {
                    if depth > 0 { covered += position - last }
                    depth += delta
                    most = max(most, depth)
                    last = position
                }
            }
            out[split.rawValue] = NoiseUsage(
                examples: rs.count, distinctSeconds: Double(covered) / Double(sampleRate),
                loopedShare: Double(looped) / Double(rs.count), maxExamplesPerSample: most)
        }
        return out
    }

    /// Half-open spans merged where they overlap or touch, in order.
    public static func merged(_ spans: [(Int, Int)]) -> [(Int, Int)] {
        var out: [(Int, Int)] = []
        for (start, end) in spans.sorted(by: { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }) {
            if let lastSpan = out.last, start <= lastSpan.1 {
                out[out.count - 1].1 = max(lastSpan.1, end)
            } else {
                out.append((start, end))
            }
        }
        return out
    }
}
