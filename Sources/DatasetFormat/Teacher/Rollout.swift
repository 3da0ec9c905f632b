import Foundation
import TKDCore

/// Attention-rollout settings (Abnar & Zuidema, 2020): how per-layer attention maps become one 1-D
/// distribution over the teacher's frames. Recorded in every teacher cache's `cache.json`; the computation
/// itself is `Rollout.vector` in the Teacher module.
public struct Rollout: Sendable, Equatable, Codable {
    /// How a layer's heads are fused into one T × T map.
    public enum Fusion: String, Sendable, Codable, CaseIterable, ChoiceOption { case mean, max, min }
    /// Which row of the joint map is returned: the first frame's, the mean over rows, or the one the
    /// checkpoint's pooling implies (`auto`: mean for mean pooling, first for the first-frame head).
    public enum Query: String, Sendable, Codable, CaseIterable, ChoiceOption { case first, mean, auto }
    /// The row a rollout vector is: the first frame's (what a first-frame head reads, the paper's Fig. 1) or
    /// the mean over rows (what a mean-pooled head reads).
    public enum Row: String, Sendable, Codable, CaseIterable, ChoiceOption { case first, mean }

    public var fusion = Fusion.mean
    /// w in Â = (1 − w)·A + w·I: the residual connection's share.
    public var residual: Float = 0.5
    /// Per row of the fused map, the share of the smallest entries set to zero before the residual is
    /// added (the diagonal is never discarded); 0 keeps everything.
    public var discard: Float = 0
    public var query = Query.auto

    /// The row `query` takes from a teacher whose head reads `head` (`auto` follows the head).
    public func row(head: Row) -> Row {
        switch query {
        case .first: .first
        case .mean: .mean
        case .auto: head
        }
    }

    public init(fusion: Fusion = .mean, residual: Float = 0.5, discard: Float = 0, query: Query = .auto) {
        self.fusion = fusion
        self.residual = residual
        self.discard = discard
        self.query = query
    }
}
