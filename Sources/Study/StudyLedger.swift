import Foundation
import TKDCore
import Training

/// What identifies the inputs of a finished cell or teacher: a ledger entry counts only while these match what
/// the current sitting re-derives.
public struct StudyFingerprints: Codable, Equatable, Sendable {
    /// SHA-256 of the dataset's three manifests (every example's audio hash included).
    public var data: String
    /// SHA-256 of the feature store's `features.json` (front end, preset and the manifests it was made from).
    public var features: String?
    /// The teacher cache's fingerprint (weights, config, rollout settings), for teacher-target cells.
    public var teacher: String?
    /// SHA-256 of the training config file with the cell's overrides (seed, λ, target, steps).
    public var config: String?

    public init(data: String, features: String? = nil, teacher: String? = nil, config: String? = nil) {
        self.data = data
        self.features = features
        self.teacher = teacher
        self.config = config
    }

    /// The first field whose recorded value differs from `now`'s: (field, recorded, now).
    public func mismatch(_ now: StudyFingerprints) -> (String, String, String)? {
        for (field, a, b) in [
            ("data", data, now.data), ("features", features ?? "-", now.features ?? "-"),
            ("teacher", teacher ?? "-", now.teacher ?? "-"), ("config", config ?? "-", now.config ?? "-"),
        ] where a != b {
            return (field, a, b)
        }
        return nil
    }
}

/// A finished student run of a study: `cells/<study>-<length>-<student>-<column>-s<seed>.json`.
public struct StudyCellEntry: Codable, Equatable, Sendable {
    public static let currentFormat = "tkd-study-cell/1"
    public var format = StudyCellEntry.currentFormat
    public var study: String
    public var length: String
    public var student: String
    public var lambda: Double
    /// `none` (λ = 0), `teacher` or `oracle`.
    public var target: String
    public var seed: UInt64
    /// The recipe's schedule the run used (nil: the default schedule, as every entry before schedules).
    public var schedule: String?
    public var tool: String
    public var fingerprints: StudyFingerprints
    public var steps: Int
    public var bestStep: Int
    public var validationAccuracy: Double
    public var testAccuracy: Double
    public var test: TestOutcome
    /// Validation accuracy at every evaluation: `[step, accuracy]` pairs (absent in entries made before
    /// 2026-12-07, which kept only the best step).
    public var validationCurve: [[Double]]?
    /// The best checkpoint scored on the length's real-speech test set (absent when the cell ran without one).
    public var realSpeech: RealSpeechOutcome?
    /// The student's attention on the test keyword examples (`own`, `kd_head`).
    public var attention: [String: AttentionLocalisation]
    /// For teacher-target cells: whether that length's teacher met the bar when the cell ran.
    public var teacherMetBar: Bool?
    public var wallSeconds: Double
    public var machine: String

    /// Which test examples the run got right: enough for paired comparisons from the ledger alone.
    public struct TestOutcome: Codable, Equatable, Sendable {
        public var examples: Int
        public var idsSHA256: String
        /// `EvaluationDetails.hex`: one bit per example in manifest order.
        public var correct: String

        public init(examples: Int, idsSHA256: String, correct: String) {
            self.examples = examples
            self.idsSHA256 = idsSHA256
            self.correct = correct
        }

        enum CodingKeys: String, CodingKey {
            case examples, correct
            case idsSHA256 = "ids_sha256"
        }
    }

    enum CodingKeys: String, CodingKey {
        case format, study, length, student, lambda, target, seed, schedule, tool, fingerprints, steps, test
        case attention, machine
        case bestStep = "best_step", validationAccuracy = "validation_accuracy", testAccuracy = "test_accuracy"
        case teacherMetBar = "teacher_met_bar", wallSeconds = "wall_seconds", validationCurve = "validation_curve"
        case realSpeech = "real_speech"
    }

    public init(
        study: String, length: String, student: String, lambda: Double, target: String, seed: UInt64, tool: String,
        fingerprints: StudyFingerprints, steps: Int, bestStep: Int, validationAccuracy: Double, testAccuracy: Double,
        test: TestOutcome, attention: [String: AttentionLocalisation], teacherMetBar: Bool?, wallSeconds: Double,
        machine: String, schedule: String? = nil, validationCurve: [[Double]]? = nil,
        realSpeech: RealSpeechOutcome? = nil
    ) {
        self.study = study
        self.length = length
        self.student = student
        self.lambda = lambda
        self.target = target
        self.seed = seed
        self.tool = tool
        self.fingerprints = fingerprints
        self.steps = steps
        self.bestStep = bestStep
        self.validationAccuracy = validationAccuracy
        self.testAccuracy = testAccuracy
        self.test = test
        self.attention = attention
        self.teacherMetBar = teacherMetBar
        self.wallSeconds = wallSeconds
        self.machine = machine
        self.schedule = schedule
        self.validationCurve = validationCurve
        self.realSpeech = realSpeech
    }

    public var column: StudyRecipe.Cell { StudyRecipe.Cell(lambda: lambda, target: target) }

    /// `<study>-<length>-<student>-<column>-s<seed>[-<schedule>].json` (no suffix on the default schedule).
    public static func fileName(
        study: String, length: String, student: String, column: StudyRecipe.Cell, seed: UInt64,
        schedule: String? = nil
    )
        -> String
    {
        "\(study)-\(length)-\(student)-\(column.slug)-s\(seed)\(schedule.map { "-\($0)" } ?? "").json"
    }
}

/// A checkpoint (student or teacher) scored on a real-speech test set: which examples it got right, and the data
/// it was scored on.
public struct RealSpeechOutcome: Codable, Equatable, Sendable {
    public var accuracy: Double
    public var examples: Int
    public var idsSHA256: String
    /// One bit per example in manifest order (`EvaluationDetails.hex`); absent for teachers.
    public var correct: String?
    /// SHA-256 of the real-speech dataset's manifests.
    public var data: String

    public init(accuracy: Double, examples: Int, idsSHA256: String, correct: String?, data: String) {
        self.accuracy = accuracy
        self.examples = examples
        self.idsSHA256 = idsSHA256
        self.correct = correct
        self.data = data
    }

    enum CodingKeys: String, CodingKey {
        case accuracy, examples, correct, data
        case idsSHA256 = "ids_sha256"
    }
}

/// A length's teacher: `cells/<study>-<length>-teacher.json`.
public struct StudyTeacherEntry: Codable, Equatable, Sendable {
    public static let currentFormat = "tkd-study-teacher/1"
    public var format = StudyTeacherEntry.currentFormat
    public var study: String
    public var length: String
    public var tool: String
    public var fingerprints: StudyFingerprints
    /// How it was made: `trained` at the base length or `fine-tuned` from the base length's teacher.
    public var made: String
    public var validationAccuracy: Double?
    public var testAccuracy: Double?
    /// Rollout localisation over the validation keyword examples.
    public var validation: AttentionLocalisation?
    /// Over every keyword example (all splits).
    public var all: AttentionLocalisation
    public var rolloutRow: String?
    public var wallSeconds: Double
    public var machine: String
    /// The teacher scored on the length's real-speech test set (absent in entries made before 2026-12-07).
    public var realSpeech: RealSpeechOutcome?

    enum CodingKeys: String, CodingKey {
        case format, study, length, tool, fingerprints, made, validation, all, machine
        case validationAccuracy = "validation_accuracy", testAccuracy = "test_accuracy", rolloutRow = "rollout_row"
        case wallSeconds = "wall_seconds", realSpeech = "real_speech"
    }

    public init(
        study: String, length: String, tool: String, fingerprints: StudyFingerprints, made: String,
        validationAccuracy: Double?, testAccuracy: Double?, validation: AttentionLocalisation?,
        all: AttentionLocalisation, rolloutRow: String?, wallSeconds: Double, machine: String
    ) {
        self.study = study
        self.length = length
        self.tool = tool
        self.fingerprints = fingerprints
        self.made = made
        self.validationAccuracy = validationAccuracy
        self.testAccuracy = testAccuracy
        self.validation = validation
        self.all = all
        self.rolloutRow = rolloutRow
        self.wallSeconds = wallSeconds
        self.machine = machine
    }

    public static func fileName(study: String, length: String) -> String { "\(study)-\(length)-teacher.json" }

    /// A further teacher of the same length and data, retrained in a later sitting on a CPU whose BLAS kernels
    /// give other last bits: `<study>-<length>-teacher-<first 12 of its cache fingerprint>.json`.
    public static func fileName(study: String, length: String, fingerprint: String) -> String {
        "\(study)-\(length)-teacher-\(fingerprint.prefix(12)).json"
    }
}

/// Wall time of the stages before training: `cells/<study>-stages.json` (stage → seconds, first sitting that
/// ran it).
public struct StudyStages: Codable, Equatable, Sendable {
    public var study: String
    public var stages: [String: Stage]

    public struct Stage: Codable, Equatable, Sendable {
        public var seconds: Double
        public var machine: String
        public var tool: String

        public init(seconds: Double, machine: String, tool: String) {
            self.seconds = seconds
            self.machine = machine
            self.tool = tool
        }
    }

    public init(study: String, stages: [String: Stage]) {
        self.study = study
        self.stages = stages
    }

    public static func fileName(study: String) -> String { "\(study)-stages.json" }
}

/// The folder of ledger entries (`Recipes/study/cells/` for the committed study).
public struct StudyLedger: Sendable {
    public let folder: URL

    public init(_ folder: URL) { self.folder = folder }

    public func url(_ name: String) -> URL { folder.appendingPathComponent(name) }

    /// The entry in `name`, or nil when there is none.
    /// - Throws: `StudyError.ledger` naming the file when it exists but is not a valid entry.
    public func read<T: Decodable>(_ type: T.Type, _ name: String) throws -> T? {
        let u = url(name)
        guard let data = try RegularFile.contents(u) else { return nil }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw StudyError.ledger(path: u.path, reason: "not a valid ledger entry (\(error))")
        }
    }

    public func write<T: Encodable>(_ value: T, _ name: String) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try AtomicFile.write(try CanonicalJSON.encodePretty(value), to: url(name))
    }

    public func remove(_ name: String) throws {
        if FileManager.default.fileExists(atPath: url(name).path) { try FileManager.default.removeItem(at: url(name)) }
    }

    /// Every teacher entry of `study` at `length` with its file name: the first sitting's
    /// (`<study>-<length>-teacher.json`) first, then the further ones by name.
    public func teachers(study: String, length: String) throws -> [(name: String, entry: StudyTeacherEntry)] {
        let first = StudyTeacherEntry.fileName(study: study, length: length)
        let prefix = String(first.dropLast(".json".count)) + "-"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
        return try ([first] + names.filter { $0.hasPrefix(prefix) && $0.hasSuffix(".json") }).compactMap { name in
            try read(StudyTeacherEntry.self, name).map { (name, $0) }
        }
    }

    /// Every cell entry of `study` in the folder.
    public func cells(study: String) throws -> [StudyCellEntry] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).sorted()
        return try names.filter { $0.hasPrefix(study + "-") && $0.hasSuffix(".json") }.compactMap { name in
            guard let data = try RegularFile.contents(url(name)),
                let probe = try? JSONDecoder().decode(FormatProbe.self, from: data),
                probe.format == StudyCellEntry.currentFormat, probe.study == study
            else { return nil }
            return try read(StudyCellEntry.self, name)
        }
    }

    struct FormatProbe: Decodable {
        var format: String?
        var study: String?
    }
}

/// Errors of `tkd study`.
public enum StudyError: Error, Equatable, Sendable, CustomStringConvertible, LocalizedError {
    case ledger(path: String, reason: String)
    case stale(path: String, field: String, recorded: String, now: String)
    case teacherBelowBar(length: String, reason: String)
    case mismatch(what: String, reason: String)

    public var description: String {
        switch self {
        case let .ledger(path, reason): return "\(path): \(reason)"
        case let .stale(path, field, recorded, now):
            return
                "\(path): ledger entry was made from \(field) \(recorded.prefix(16)), but this sitting derives "
                + "\(now.prefix(16)); expected them to match. Hint: pass --rerun-stale to run the cell again "
                + "(the entry is replaced), or restore the inputs it was made from."
        case let .teacherBelowBar(length, reason):
            return
                "teacher at \(length): below the bar (\(reason)); its cells are refused with --require-teacher-bar. "
                + "Hint: improve the teacher (longer schedule, more data) or drop the flag to run and mark them."
        case let .mismatch(what, reason): return "\(what): \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
