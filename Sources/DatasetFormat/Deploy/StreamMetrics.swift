import Foundation
import TKDCore

/// Detection metrics of one label, or pooled over the watched labels, over the threshold sweep.
public struct DetectionCurve: Codable, Equatable, Sendable {
    public var targets: Int
    /// Per threshold of the sweep: false-reject rate (missed targets / targets) and false accepts per hour.
    public var frr: [Double]
    public var faPerHour: [Double]
    /// The least FRR at or below 0.5 and 1 false accepts per hour (1 when no threshold gets there; nil for a label
    /// without targets), and the lowest threshold that reaches it.
    public var frrAt05FAPerHour: Double?
    public var frrAt1FAPerHour: Double?
    public var thresholdAt05FAPerHour: Double?
    public var thresholdAt1FAPerHour: Double?
    /// The area under recall (1 − FRR) against false accepts per hour from 0 to 2, divided by 2: each FA/hr level's
    /// best recall over the thresholds at or below it (the step envelope, starting from never firing); nil for a
    /// label without targets.
    public var aucTo2FAPerHour: Double?

    enum CodingKeys: String, CodingKey {
        case targets, frr
        case faPerHour = "fa_per_hour"
        case frrAt05FAPerHour = "frr_at_0.5_fa_per_hour", frrAt1FAPerHour = "frr_at_1_fa_per_hour"
        case thresholdAt05FAPerHour = "threshold_at_0.5_fa_per_hour"
        case thresholdAt1FAPerHour = "threshold_at_1_fa_per_hour"
        case aucTo2FAPerHour = "auc_to_2_fa_per_hour"
    }

    public init(
        targets: Int, frr: [Double], faPerHour: [Double], frrAt05FAPerHour: Double?, frrAt1FAPerHour: Double?,
        thresholdAt05FAPerHour: Double?, thresholdAt1FAPerHour: Double?, aucTo2FAPerHour: Double?
    ) {
        self.targets = targets
        self.frr = frr
        self.faPerHour = faPerHour
        self.frrAt05FAPerHour = frrAt05FAPerHour
        self.frrAt1FAPerHour = frrAt1FAPerHour
        self.thresholdAt05FAPerHour = thresholdAt05FAPerHour
        self.thresholdAt1FAPerHour = thresholdAt1FAPerHour
        self.aucTo2FAPerHour = aucTo2FAPerHour
    }
}

/// Latency and localisation of the hits at one threshold.
public struct HitSummary: Codable, Equatable, Sendable {
    public var threshold: Double
    public var hits: Int
    /// Detection time (the firing window's end) minus the keyword's speech offset, in seconds.
    public var latencyMedianSeconds: Double?
    public var latencyP90Seconds: Double?
    /// Every hit's latency, for the report's histogram.
    public var latenciesSeconds: [Double]
    /// Models that localise: the share of hits whose firing window's attention peak lies inside the keyword's speech
    /// span, its median distance from the span (0 inside), and what a uniformly random peak in the window would
    /// score (the span's share of the window, averaged).
    public var peakInSpan: Double?
    public var peakDistanceMedianSeconds: Double?
    public var uniformPeakInSpan: Double?
    /// Which targets were hit: one bit per counted target (a target of a watched label), streams in manifest
    /// order and each stream's events in its order (`HexBits`), so two runs on the same streams can be compared
    /// event by event (the study's paired statistics). Absent from files written before it.
    public var targetsHit: String?

    enum CodingKeys: String, CodingKey {
        case threshold, hits
        case targetsHit = "targets_hit"
        case latencyMedianSeconds = "latency_median_seconds", latencyP90Seconds = "latency_p90_seconds"
        case latenciesSeconds = "latencies_seconds"
        case peakInSpan = "peak_in_span", peakDistanceMedianSeconds = "peak_distance_median_seconds"
        case uniformPeakInSpan = "uniform_peak_in_span"
    }

    public init(
        threshold: Double, hits: Int, latencyMedianSeconds: Double?, latencyP90Seconds: Double?,
        latenciesSeconds: [Double], peakInSpan: Double?, peakDistanceMedianSeconds: Double?, uniformPeakInSpan: Double?,
        targetsHit: String? = nil
    ) {
        self.targetsHit = targetsHit
        self.threshold = threshold
        self.hits = hits
        self.latencyMedianSeconds = latencyMedianSeconds
        self.latencyP90Seconds = latencyP90Seconds
        self.latenciesSeconds = latenciesSeconds
        self.peakInSpan = peakInSpan
        self.peakDistanceMedianSeconds = peakDistanceMedianSeconds
        self.uniformPeakInSpan = uniformPeakInSpan
    }
}

/// `stream-metrics.json`: a model run as a detector over every stream of a split (contract; `Docs/formats.md`).
public struct StreamMetrics: Codable, Equatable, Sendable {
    public static let currentFormat = "tkd-stream-metrics/1"
    public var format = StreamMetrics.currentFormat
    public var model: String
    public var dataset: String
    /// SHA-256 of the dataset's manifests (`ManifestFingerprint`).
    public var manifestsSHA256: String
    public var split: Split
    public var detector: DeployManifest.DetectorSettings
    /// How the scores were made: `window` (the model run over a sliding window, every hop) or `streaming` (a
    /// streaming export, every hop heard once and its states carried over the whole stream: kws_streaming's
    /// reset0). Absent from files written before the field: those slid the window.
    public var scoring: Scoring?
    /// `streaming` scoring with `--reset-every N`: the states restarted every N windows (two staggered copies);
    /// absent when they were carried over each whole stream (reset0) or the window slid.
    public var stateResetWindows: Int?
    /// A detection of label ℓ is a hit when its window ends between a target of ℓ's onset and its offset plus this.
    public var toleranceMs: Int
    public var streams: Int
    public var hours: Double
    public var negativeHours: Double
    public var windows: Int
    public var thresholds: [Double]
    public var pooled: DetectionCurve
    public var perLabel: [String: DetectionCurve]
    /// At the detector's threshold, and at the threshold that reaches 1 FA/hr (when one does).
    public var hitsAtThreshold: HitSummary
    public var hitsAt1FAPerHour: HitSummary?
    /// The first stream with a target, for the report's timeline: its smoothed scores and detections at the
    /// detector's threshold.
    public var timeline: StreamTimeline?

    public enum Scoring: String, Codable, Sendable {
        case window, streaming
    }

    enum CodingKeys: String, CodingKey {
        case format, model, dataset, split, detector, scoring, streams, hours, windows, thresholds, pooled, timeline
        case manifestsSHA256 = "manifests_sha256", toleranceMs = "tolerance_ms", negativeHours = "negative_hours"
        case stateResetWindows = "state_reset_windows"
        case perLabel = "per_label", hitsAtThreshold = "hits_at_threshold", hitsAt1FAPerHour = "hits_at_1_fa_per_hour"
    }

    public init(
        model: String, dataset: String, manifestsSHA256: String, split: Split,
        detector: DeployManifest.DetectorSettings, scoring: Scoring? = .window, stateResetWindows: Int? = nil,
        toleranceMs: Int, streams: Int,
        hours: Double, negativeHours: Double,
        windows: Int, thresholds: [Double], pooled: DetectionCurve, perLabel: [String: DetectionCurve],
        hitsAtThreshold: HitSummary, hitsAt1FAPerHour: HitSummary?, timeline: StreamTimeline?
    ) {
        self.model = model
        self.dataset = dataset
        self.manifestsSHA256 = manifestsSHA256
        self.split = split
        self.detector = detector
        self.scoring = scoring
        self.stateResetWindows = stateResetWindows
        self.toleranceMs = toleranceMs
        self.streams = streams
        self.hours = hours
        self.negativeHours = negativeHours
        self.windows = windows
        self.thresholds = thresholds
        self.pooled = pooled
        self.perLabel = perLabel
        self.hitsAtThreshold = hitsAtThreshold
        self.hitsAt1FAPerHour = hitsAt1FAPerHour
        self.timeline = timeline
    }
}

/// One stream as the detector saw it (`stream-metrics.json`'s `timeline`).
public struct StreamTimeline: Codable, Equatable, Sendable {
    public struct Detection: Codable, Equatable, Sendable {
        public var label: String
        public var timeSeconds: Double
        /// A hit on a target of its label (else a false accept).
        public var hit: Bool

        enum CodingKeys: String, CodingKey {
            case label, hit
            case timeSeconds = "time_seconds"
        }

        public init(label: String, timeSeconds: Double, hit: Bool) {
            self.label = label
            self.timeSeconds = timeSeconds
            self.hit = hit
        }
    }

    public var stream: String
    /// Every window's end, in seconds, and the highest smoothed probability of the watched labels there.
    public var windowEndsSeconds: [Double]
    public var maxScore: [Float]
    public var detections: [Detection]

    enum CodingKeys: String, CodingKey {
        case stream, detections
        case windowEndsSeconds = "window_ends_seconds", maxScore = "max_score"
    }

    public init(stream: String, windowEndsSeconds: [Double], maxScore: [Float], detections: [Detection]) {
        self.stream = stream
        self.windowEndsSeconds = windowEndsSeconds
        self.maxScore = maxScore
        self.detections = detections
    }
}
extension StreamMetrics: DescriptionFile {
    public static let madeBy = "a stream-metrics.json written by tkd evaluate --stream"

    /// Reads and checks a `stream-metrics.json`: its format, and every curve with one finite FRR in [0, 1] and one
    /// finite FA/hr ≥ 0 per threshold.
    /// - Throws: `DatasetFormatError` naming the file and the field.
    public static func load(_ url: URL) throws -> StreamMetrics {
        let m = try read(url)
        func fail(_ field: String, _ detail: String) -> DatasetFormatError {
            .invalidField(path: url.path, field: field, detail: detail)
        }
        guard m.format == currentFormat else { throw fail("format", "is '\(m.format)'; expected \(currentFormat)") }
        guard !m.thresholds.isEmpty, m.thresholds.allSatisfy({ $0 >= 0 && $0 <= 1 }) else {
            throw fail("thresholds", "holds \(m.thresholds.count) values; expected thresholds in [0, 1]")
        }
        guard m.hours.isFinite, m.hours > 0 else { throw fail("hours", "is \(m.hours); expected a positive number") }
        for (name, c) in [("pooled", m.pooled)]
            + m.perLabel.sorted(by: { $0.key < $1.key }).map({ ("per_label.\($0.key)", $0.value) })
        {
            guard c.frr.count == m.thresholds.count, c.faPerHour.count == m.thresholds.count else {
                throw fail(
                    "\(name).frr",
                    "has \(c.frr.count) FRR and \(c.faPerHour.count) FA/hr values; expected one per "
                        + "threshold (\(m.thresholds.count))")
            }
            if let bad = c.frr.first(where: { !($0 >= 0 && $0 <= 1) }) {
                throw fail("\(name).frr", "holds \(bad); expected rates in [0, 1]")
            }
            if let bad = c.faPerHour.first(where: { !($0 >= 0 && $0.isFinite) }) {
                throw fail("\(name).fa_per_hour", "holds \(bad); expected finite rates ≥ 0")
            }
        }
        for (name, h) in [("hits_at_threshold", m.hitsAtThreshold), ("hits_at_1_fa_per_hour", m.hitsAt1FAPerHour)] {
            guard let h, let text = h.targetsHit else { continue }
            guard let bits = HexBits.decode(text, count: m.pooled.targets) else {
                throw fail(
                    "\(name).targets_hit",
                    "holds \(text.count) hex digits; expected \((m.pooled.targets + 3) / 4), one bit per target "
                        + "(pooled.targets \(m.pooled.targets))")
            }
            let hit = bits.filter { $0 }.count
            guard hit == h.hits else {
                throw fail("\(name).targets_hit", "marks \(hit) targets hit; \(name).hits says \(h.hits)")
            }
        }
        if let t = m.timeline, t.windowEndsSeconds.count != t.maxScore.count {
            throw fail("timeline.max_score", "has \(t.maxScore.count) values for \(t.windowEndsSeconds.count) windows")
        }
        return m
    }
}
