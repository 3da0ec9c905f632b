import Foundation
import Numerics
import TKDCore
import TrainingLoop

/// A training run's configuration (`Recipes/train/<student>.yaml`; every field is documented in
/// `Recipes/train/README.md`). Defaults follow the kws_streaming paper recipe (Docs/students.md §3).
public struct TrainConfig: Sendable, Equatable, Codable, LoopConfigurable {
    /// The run's folder under `--runs` (default: the config file's name).
    public var name: String
    public var student: Student
    /// Feature preset (default: the student's, `Student.preset`).
    public var features: String
    public var seed: UInt64 = 0
    public var batchSize = 100
    public var steps = 80_000
    /// Validation every N steps; the best-by-validation checkpoint is kept (ties go to the later step).
    public var evalEvery = 400
    public var optimizer: OptimizerConfig
    public var schedule: LearningRateSchedule
    /// Global gradient-norm clipping (nil = off).
    public var clipNorm: Float?
    /// kws_streaming SpecAugment (nil = off).
    public var specAugment: SpecAugment?
    /// Random time shift of the features by up to ± this many frames, zero-filled (0 = off).
    public var timeShiftFrames = 0
    public var kd = KDConfig()
    /// Examples per parallel chunk; fixes the floating-point summation order (not `--jobs`).
    public var chunk = 25
    /// `class_balanced` minibatches (nil: the per-epoch shuffle).
    public var sampling: Sampling?
    /// Overrides the students' batch-norm momentum (0.99; 0.997 for TC-ResNet) — nil keeps them.
    public var batchNormMomentum: Float?

    public struct KDConfig: Sendable, Equatable, Codable {
        /// λ of KL(a_T ‖ a_S); 0 trains without attention distillation.
        public var lambda: Float = 0
        /// τ of the student's attention head.
        public var temperature: Float = 1
        /// `oracle` (uniform over the recorded speech-active span), `teacher` (the dataset's only teacher
        /// cache) or `teacher:<fingerprint>`.
        public var target = KDTarget.oracle
        /// How a teacher vector is resampled to T′: `index` (the paper) or `centers` (frame-centre times).
        public var interpolation = AttentionResampling.index
        /// Hinton logit distillation weight (0 = off) and temperature; needs a teacher target.
        public var logitWeight: Float = 0
        public var logitTemperature: Float = 2
        /// Which attention is distilled: nil or `separate`, the training-only head a_S = softmax(c′·q/τ); `own`,
        /// the model's own attention α (Att-RNN, MHAtt-RNN: the one its classifier pools through; the mean over
        /// heads).
        public var head: KDHead?

        enum CodingKeys: String, CodingKey {
            case lambda, temperature, target, interpolation, head
            case logitWeight = "logit_weight", logitTemperature = "logit_temperature"
        }
        public init() {}
    }

    enum CodingKeys: String, CodingKey {
        case name, student, features, seed, steps, optimizer, schedule, kd, chunk, sampling
        case batchSize = "batch_size", evalEvery = "eval_every", clipNorm = "clip_norm"
        case specAugment = "spec_augment", timeShiftFrames = "time_shift_frames"
        case batchNormMomentum = "batch_norm_momentum"
    }

    public init(name: String, student: Student) {
        self.name = name
        self.student = student
        features = student.preset
        optimizer = student == .tcResNet ? .momentum(0.9) : .adam(epsilon: 1e-8)
        schedule =
            student == .tcResNet
            ? .exponential(initial: 0.1, final: 0.01, steps: 80_000)
            : .exponential(initial: 1e-3, final: 2e-5, steps: 80_000)
        specAugment = SpecAugment()
    }

    public var objective: Objective {
        Objective(
            kdLambda: kd.lambda, kdTemperature: kd.temperature, logitWeight: kd.logitWeight,
            logitTemperature: kd.logitTemperature, ownAttention: kd.head == .own ? true : nil)
    }
}

/// `kd.head`: the attention a student's distillation pulls towards the teacher's.
public enum KDHead: String, Sendable, Codable, CaseIterable, ChoiceOption {
    /// A training-only head a_S = softmax_t(c′_t · q / τ) on the context representation (every student).
    case separate
    /// The model's own attention (Att-RNN, MHAtt-RNN), mean over heads; τ must be 1.
    case own
}

/// How a teacher attention vector of length T is brought to the student's T′.
public enum AttentionResampling: String, Sendable, Codable, CaseIterable, ChoiceOption {
    /// Linear interpolation on the index grid: position j of T′ reads i = j·(T − 1)/(T′ − 1) (the paper).
    case index
    /// Linear interpolation at the student's frame-centre times on the teacher's frame-centre grid.
    case centers
}

extension TrainConfig {
    static let keys =
        ["name", "student", "features", "optimizer", "spec_augment", "time_shift_frames", "kd", "batch_norm_momentum"]
        + loopKeys

    /// Reads a YAML training config; unknown keys, wrong types and values out of range are one error
    /// naming the file, line and key. `name` defaults to the file's base name.
    public static func load(_ url: URL) throws -> TrainConfig {
        let root = try YAMLValue.load(url)
        let m = try root.mapping(allowed: keys, required: ["student"])
        let student = try studentValue(m["student"]!)
        let fallback = url.deletingPathExtension().lastPathComponent
        var c = TrainConfig(name: try m["name"].map { try $0.string() } ?? fallback, student: student)
        // The run folder is <runs>/<name>: one plain folder name, never a path out of --runs.
        if (try? ContainedPath.checkName(c.name, field: "name")) == nil {
            throw (m["name"] ?? root).fail(
                "'\(c.name)' is not a run folder name; expected a plain name (no '/', not empty, not starting with '.')"
            )
        }
        if let v = m["features"], !v.isNull { c.features = try v.string() }
        try c.readLoopKeys(m)
        if let v = m["time_shift_frames"], !v.isNull { c.timeShiftFrames = try v.int(in: 0...10_000) }
        if let v = m["batch_norm_momentum"] {
            c.batchNormMomentum = v.isNull ? nil : Float(try v.double(in: 0...0.999_999))
        }
        if let v = m["optimizer"] { c.optimizer = try optimizerValue(v) }
        if let v = m["spec_augment"] {
            if v.isNull || (try? v.bool()) == false {
                c.specAugment = nil
            } else {
                let s = try v.mapping(allowed: [
                    "time_masks", "time_width", "frequency_masks", "frequency_width", "length_scaling",
                ])
                var a = SpecAugment()
                if let x = s["time_masks"] { a.timeMasks = try x.int(in: 0...100) }
                if let x = s["time_width"] { a.timeWidth = try x.int(in: 0...10_000) }
                if let x = s["frequency_masks"] { a.frequencyMasks = try x.int(in: 0...100) }
                if let x = s["frequency_width"] { a.frequencyWidth = try x.int(in: 0...10_000) }
                if let x = s["length_scaling"] {
                    let scaling = try x.option(SpecAugment.LengthScaling.self)
                    a.lengthScaling = scaling == .none ? nil : scaling
                }
                c.specAugment = a
            }
        }
        if let v = m["kd"] {
            let k = try v.mapping(allowed: [
                "lambda", "temperature", "target", "interpolation", "logit_weight", "logit_temperature", "head",
            ])
            if let x = k["lambda"] { c.kd.lambda = Float(try x.double(in: 0...1e6)) }
            if let x = k["temperature"] { c.kd.temperature = Float(try x.double(in: 1e-6...1e6)) }
            if let x = k["target"] {
                let text = try x.string()
                guard let target = KDTarget(text) else { throw x.fail(KDTarget.problem(text)) }
                c.kd.target = target
            }
            if let x = k["interpolation"] {
                c.kd.interpolation = try x.option(AttentionResampling.self)
            }
            if let x = k["logit_weight"] { c.kd.logitWeight = Float(try x.double(in: 0...1e6)) }
            if let x = k["logit_temperature"] { c.kd.logitTemperature = Float(try x.double(in: 1e-6...1e6)) }
            if let x = k["head"] {
                let head = try x.option(KDHead.self)
                c.kd.head = head == .separate ? nil : head
                if head == .own {
                    guard [.attRNN, .mhAttRNN].contains(c.student) else {
                        throw x.fail(
                            "'own' distils a student's own attention; \(c.student.rawValue) has none (att-rnn and "
                                + "mhatt-rnn have one; use 'separate')")
                    }
                    guard c.kd.temperature == 1 else {
                        throw (k["temperature"] ?? x).fail(
                            "kd.temperature is \(c.kd.temperature); 'own' distils α as it "
                                + "is, so it must be 1")
                    }
                }
            }
        }
        return c
    }

    static func studentValue(_ v: YAMLValue) throws -> Student {
        try v.option(Student.self)
    }

    public static func optimizerValue(_ v: YAMLValue) throws -> OptimizerConfig {
        let m = try v.mapping(allowed: ["kind", "epsilon", "momentum"], required: ["kind"])
        switch try m["kind"]!.choice(["adam", "momentum"]) {
        case "adam":
            if let x = m["momentum"] { throw x.fail("'momentum' applies to kind 'momentum', not 'adam'") }
            return .adam(epsilon: Float(try m["epsilon"]?.double(in: 0...1) ?? 1e-8))
        default:
            if let x = m["epsilon"] { throw x.fail("'epsilon' applies to kind 'adam', not 'momentum'") }
            return .momentum(Float(try m["momentum"]?.double(in: 0...0.999_999) ?? 0.9))
        }
    }
}
