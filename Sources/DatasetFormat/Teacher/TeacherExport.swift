import Foundation

/// A teacher's outputs for one audio file, as `tkd teacher attentions` writes them and `tkd teacher cache
/// --import` reads them from any framework (contract): a safetensors file with `logits` [labels] (when the
/// teacher has a classification head), `layer.<i>` [heads, T, T] per layer (rows are queries) and/or a ready
/// `rollout` [T]. An import folder holds one `<id>.safetensors` per manifest example and optionally
/// `import.json` (`ImportInfo`; its `rollout_row` says which row ready rollouts hold).
public enum TeacherExport {
    /// The `format` in the file's metadata.
    public static let format = "tkd-teacher-attentions/1"
    public static let logits = "logits"
    public static let rollout = "rollout"

    /// The attention maps of layer `i` (first layer 0).
    public static func layer(_ i: Int) -> String { "layer.\(i)" }

    /// The export of example `id` in an import folder.
    public static func fileName(id: String) -> String { "\(id).safetensors" }

    /// `import.json`: the teacher's frame grid and class names, when they are not wav2vec 2.0's defaults.
    public struct ImportInfo: Codable, Equatable, Sendable {
        public static let fileName = "import.json"
        /// wav2vec 2.0's feature encoder: a frame every 320 samples, 400 samples wide (centre at 200).
        public static let defaultFrameHop = 320
        public static let defaultFrameCentreOffset = 200.0

        public var frameHop: Int?
        public var frameCentreOffset: Double?
        /// Class names in logit order.
        public var labels: [String]?
        /// The row the teacher's head reads (`first` for a first-frame classifier, `mean` for a mean-pooled
        /// one): the row `query: auto` takes from exported attentions, and the row exported `rollout` vectors
        /// hold (required when they are ready rollouts). Without it, attentions roll out as a mean-pooled head.
        public var rolloutRow: Rollout.Row?

        enum CodingKeys: String, CodingKey {
            case labels
            case frameHop = "frame_hop", frameCentreOffset = "frame_centre_offset", rolloutRow = "rollout_row"
        }

        /// Why the values cannot describe a 16-kHz teacher's frame grid, or nil: `frame_hop` 1…16000 samples,
        /// `frame_centre_offset` finite and 0…160000, `labels` 1…10000 unique names.
        public var problem: String? {
            if let h = frameHop, !(1...16_000).contains(h) {
                return "'frame_hop' is \(h); expected 1…16000 samples (at most one second at 16 kHz)"
            }
            if let c = frameCentreOffset, !c.isFinite || !(0...160_000).contains(c) {
                return "'frame_centre_offset' is \(c); expected 0…160000 samples"
            }
            if let l = labels, !(1...10_000).contains(l.count) || Set(l).count != l.count {
                return "'labels' has \(l.count) names\(Set(l).count != l.count ? " with repeats" : ""); "
                    + "expected 1…10000 unique names"
            }
            return nil
        }

        public init(
            frameHop: Int? = nil, frameCentreOffset: Double? = nil, labels: [String]? = nil,
            rolloutRow: Rollout.Row? = nil
        ) {
            self.frameHop = frameHop
            self.frameCentreOffset = frameCentreOffset
            self.labels = labels
            self.rolloutRow = rolloutRow
        }
    }
}
