import Foundation
import TKDCore
import TensorStore

/// `teachers/<fingerprint>/cache.json`: what a teacher cache holds and how it was made, plus its summary
/// (contract). The tensors are a sharded tensor store: per example `rollout/<id>` [T] (sums to 1) and,
/// when the teacher has a classification head, `logits/<id>` [teacher labels].
public struct TeacherCacheInfo: Sendable, Equatable, Codable, DescriptionFile {
    public static let madeBy = "a teacher cache made by tkd teacher cache"
    public static let fileName = "cache.json"
    public static let currentFormat = "tkd-teacher-cache/1"
    public var format = TeacherCacheInfo.currentFormat
    public var tool = "tkd \(TKDVersion.current)"
    /// SHA-256 (hex) of the teacher's weights, its config and the rollout settings; the folder name is its
    /// first 16 digits.
    public var fingerprint: String
    public var teacher: String
    public var weightsSHA256: String
    public var configSHA256: String
    public var rollout: Rollout
    /// The row of the rollout the cache holds (`rollout.query` resolved against the teacher's head; for an
    /// import, its `import.json`). Absent in caches made before tkd recorded it.
    public var rolloutRow: Rollout.Row?
    public var dtype: TensorDType
    public var examplesPerShard: Int
    public var manifestsSHA256: String
    public var sampleRate: Int
    /// Teacher frames: centre of frame j at `frameHop·j + frameCentreOffset` samples (the feature
    /// extractor's total stride and half its receptive field).
    public var frameHop: Int
    public var frameCentreOffset: Double
    /// Class names of the teacher's head (index order), when it has one.
    public var teacherLabels: [String]?
    public var summary: Summary?

    /// Teacher accuracy and how well its rollout finds the keyword.
    public struct Summary: Sendable, Equatable, Codable {
        public var validationAccuracy: Double?
        public var testAccuracy: Double?
        /// Mean share of rollout mass inside the recorded speech-active span (examples with a keyword).
        public var massInSpeech: Double
        /// Share of examples whose rollout peak lies inside the speech-active span.
        public var peakInSpeech: Double
        /// Mean share of the example's frames that the span covers (the uniform baseline for `massInSpeech`).
        public var spanShare: Double
        public var examplesWithKeyword: Int
        /// The same three figures over the validation keyword examples only (what the study's teacher bar
        /// reads); absent in caches made before tkd recorded them.
        public var validationMassInSpeech: Double?
        public var validationPeakInSpeech: Double?
        public var validationSpanShare: Double?
        public var validationExamplesWithKeyword: Int?
        /// Multi-label datasets: the teacher's macro mAP over clips (sigmoid of the cached logits, averaged over a
        /// clip's examples), validation and test; absent otherwise.
        public var validationMAP: Double?
        public var testMAP: Double?

        enum CodingKeys: String, CodingKey {
            case validationAccuracy = "validation_accuracy", testAccuracy = "test_accuracy"
            case massInSpeech = "mass_in_speech", peakInSpeech = "peak_in_speech"
            case spanShare = "span_share", examplesWithKeyword = "examples_with_keyword"
            case validationMassInSpeech = "validation_mass_in_speech"
            case validationPeakInSpeech = "validation_peak_in_speech"
            case validationSpanShare = "validation_span_share"
            case validationExamplesWithKeyword = "validation_examples_with_keyword"
            case validationMAP = "validation_map", testMAP = "test_map"
        }

        public init(
            validationAccuracy: Double?, testAccuracy: Double?, localisation: RolloutLocalisation,
            validation: RolloutLocalisation? = nil
        ) {
            self.validationAccuracy = validationAccuracy
            self.testAccuracy = testAccuracy
            massInSpeech = localisation.massInSpeech
            peakInSpeech = localisation.peakInSpeech
            spanShare = localisation.spanShare
            examplesWithKeyword = localisation.examples
            if let v = validation, v.examples > 0 {
                validationMassInSpeech = v.massInSpeech
                validationPeakInSpeech = v.peakInSpeech
                validationSpanShare = v.spanShare
                validationExamplesWithKeyword = v.examples
            }
        }
    }

    enum CodingKeys: String, CodingKey {
        case format, tool, fingerprint, teacher, rollout, dtype, summary
        case weightsSHA256 = "weights_sha256", configSHA256 = "config_sha256", examplesPerShard = "examples_per_shard"
        case manifestsSHA256 = "manifests_sha256", sampleRate = "sample_rate", frameHop = "frame_hop"
        case frameCentreOffset = "frame_centre_offset", teacherLabels = "teacher_labels", rolloutRow = "rollout_row"
    }

    public init(
        fingerprint: String, teacher: String, weightsSHA256: String, configSHA256: String, rollout: Rollout,
        rolloutRow: Rollout.Row?, dtype: TensorDType, examplesPerShard: Int, manifestsSHA256: String, sampleRate: Int,
        frameHop: Int,
        frameCentreOffset: Double, teacherLabels: [String]?, summary: Summary? = nil
    ) {
        self.fingerprint = fingerprint
        self.teacher = teacher
        self.weightsSHA256 = weightsSHA256
        self.configSHA256 = configSHA256
        self.rollout = rollout
        self.rolloutRow = rolloutRow
        self.dtype = dtype
        self.examplesPerShard = examplesPerShard
        self.manifestsSHA256 = manifestsSHA256
        self.sampleRate = sampleRate
        self.frameHop = frameHop
        self.frameCentreOffset = frameCentreOffset
        self.teacherLabels = teacherLabels
        self.summary = summary
    }

    /// The rollout lengths an example of `numSamples` samples may have: within two frames of
    /// (numSamples − 2·frame_centre_offset) / frame_hop + 1, the frames a feature extractor with that hop and
    /// receptive field makes (at least 1). The one rule for the cache builder, its import and `tkd verify`.
    public static func plausibleFrames(numSamples: Int, frameHop: Int, frameCentreOffset: Double) -> ClosedRange<Int> {
        let expected = (Double(numSamples) - 2 * frameCentreOffset) / Double(frameHop) + 1
        return max(1, Int((expected - 2).rounded(.up)))...max(1, Int((expected + 2).rounded(.down)))
    }

    /// Why `v` is not a usable rollout, or nil: non-empty, finite, ≥ 0, summing to 1 within 1e-3.
    public static func rolloutProblem(_ v: [Float]) -> String? {
        guard !v.isEmpty else { return "is empty" }
        guard v.allSatisfy({ $0.isFinite && $0 >= 0 }) else { return "has negative or non-finite weights" }
        let sum = v.reduce(0.0) { $0 + Double($1) }
        guard abs(sum - 1) < 1e-3 else { return "sums to \(sum); expected 1 (within 1e-3)" }
        return nil
    }

    /// Teacher frame centres in samples for `frames` frames.
    public func frameCentres(_ frames: Int) -> [Double] {
        (0..<frames).map { Double(frameHop * $0) + frameCentreOffset }
    }

    /// The store's key of an example's rollout vector.
    public static func rolloutKey(_ id: String) -> String { "rollout/\(id)" }

    /// The store's key of an example's logits.
    public static func logitsKey(_ id: String) -> String { "logits/\(id)" }

    /// The dataset class of each teacher class: by name when the teacher's names cover the dataset's labels,
    /// else by position when the counts agree (names or, without names, the logits' length); nil otherwise.
    /// Entries of teacher classes the dataset does not have are -1.
    public static func classMap(teacherLabels: [String]?, datasetLabels: [String], logits: Int?) -> [Int]? {
        guard let names = teacherLabels else {
            return logits == datasetLabels.count ? Array(0..<datasetLabels.count) : nil
        }
        let byName = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        if datasetLabels.allSatisfy({ byName[$0] != nil }) {
            var map = [Int](repeating: -1, count: names.count)
            for (d, name) in datasetLabels.enumerated() { map[byName[name]!] = d }
            return map
        }
        return names.count == datasetLabels.count ? Array(0..<names.count) : nil
    }

    /// Loads `folder/cache.json`.
    /// - Throws: `DatasetFormatError` naming the file.
    public static func load(_ folder: URL) throws -> TeacherCacheInfo {
        let url = folder.appendingPathComponent(fileName)
        let info = try read(url)
        if let (field, detail) = info.problem {
            throw DatasetFormatError.invalidField(path: url.path, field: field, detail: detail)
        }
        return info
    }

    /// The first field a reader cannot use, with what was seen and expected: the sample rate in
    /// `ExampleRecord.sampleRates`, the frame hop 1 … one second, a finite frame-centre offset 0 … 10 s, at
    /// least one example per shard.
    var problem: (field: String, detail: String)? {
        guard ExampleRecord.sampleRates.contains(sampleRate) else {
            return ("sample_rate", "is \(sampleRate); expected \(ExampleRecord.sampleRates)")
        }
        guard (1...sampleRate).contains(frameHop) else {
            return ("frame_hop", "is \(frameHop); expected 1…\(sampleRate) samples (at most one second)")
        }
        guard frameCentreOffset.isFinite, (0...Double(10 * sampleRate)).contains(frameCentreOffset) else {
            return ("frame_centre_offset", "is \(frameCentreOffset); expected 0…\(10 * sampleRate) samples")
        }
        guard examplesPerShard >= 1 else {
            return ("examples_per_shard", "is \(examplesPerShard); expected ≥ 1")
        }
        return nil
    }
}
