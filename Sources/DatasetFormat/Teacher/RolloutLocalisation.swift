import Foundation

/// How well rollout vectors find the keyword: over the examples with a keyword, the mean share of rollout
/// mass whose frame centre lies inside the recorded speech-active span, the share of examples whose peak
/// frame lies inside it, and the mean share of frames the span covers (what a uniform rollout would score
/// as mass). The one definition behind `cache.json`'s summary and `tkd verify`'s recomputation.
public struct RolloutLocalisation: Sendable, Equatable {
    public private(set) var examples = 0
    private var massSum = 0.0
    private var peaks = 0
    private var shareSum = 0.0

    public init() {}

    /// Adds one example: its rollout `vector` [T], the frames' centres in samples and the speech span
    /// `[onset, offset)` in samples. Empty vectors are ignored.
    public mutating func add(_ vector: [Float], centres: [Double], speechOnset: Int, speechOffset: Int) {
        add(vector, centres: centres, spans: [(speechOnset, speechOffset)])
    }

    /// Adds one example whose evidence lies in several spans `[onset, offset)` (a clip's sound events): a frame
    /// is inside when its centre is inside any of them.
    public mutating func add(_ vector: [Float], centres: [Double], spans: [(Int, Int)]) {
        guard !vector.isEmpty, centres.count == vector.count, !spans.isEmpty else { return }
        let inside = centres.indices.filter { j in
            spans.contains { centres[j] >= Double($0.0) && centres[j] < Double($0.1) }
        }
        examples += 1
        massSum += inside.reduce(0.0) { $0 + Double(vector[$1]) }
        shareSum += Double(inside.count) / Double(vector.count)
        let peak = vector.indices.max { vector[$0] < vector[$1] }!
        if inside.contains(peak) { peaks += 1 }
    }

    /// Mean share of rollout mass inside the speech span.
    public var massInSpeech: Double { examples > 0 ? massSum / Double(examples) : 0 }
    /// Share of examples whose rollout peak lies inside the span.
    public var peakInSpeech: Double { examples > 0 ? Double(peaks) / Double(examples) : 0 }
    /// Mean share of frames the span covers.
    public var spanShare: Double { examples > 0 ? shareSum / Double(examples) : 0 }
}
