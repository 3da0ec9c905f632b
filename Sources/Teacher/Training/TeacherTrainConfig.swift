import Foundation
import Numerics
import TKDCore
import TensorStore
import TrainingLoop

/// The bundled teacher's training configuration (`Recipes/teacher/*.yaml`, documented in
/// `Recipes/teacher/README.md`): a compact wav2vec 2.0 (base layout) trained from scratch on raw audio.
public struct TeacherTrainConfig: Sendable, Equatable, Codable, LoopConfigurable {
    public var name: String
    public var seed: UInt64 = 0
    public var batchSize = 32
    public var steps = 2_000
    public var evalEvery = 200
    public var adamEpsilon: Float = 1e-8
    public var schedule = LearningRateSchedule.warmupCosine(peak: 1e-3, final: 1e-5, warmup: 100, steps: 2_000)
    public var clipNorm: Float? = 1
    /// Examples per parallel chunk (fixes the summation order, not `--jobs`).
    public var chunk = 4
    /// `class_balanced` minibatches (nil: the per-epoch shuffle).
    public var sampling: Sampling?
    /// Dropout after the feature projection, the encoder's input norm, attention and feed-forward outputs.
    public var dropout: Float = 0.1
    /// Random time shift of each waveform by up to ± this many samples, zero-filled, keyed by (seed, step).
    public var timeShiftSamples = 0
    /// Zero-mean, unit-variance waveforms (written as `do_normalize` in `preprocessor_config.json`).
    public var normalizeInput = true
    public var model = Model()
    /// Fine-tuning a pretrained checkpoint (`tkd teacher train --init DIR`): its architecture and encoder
    /// weights, a fresh head. nil = the bundled teacher from scratch (`model`).
    public var finetune: Finetune?

    /// The `finetune:` section, completed by `--init`.
    public struct Finetune: Sendable, Equatable, Codable {
        /// The checkpoint's `model.safetensors` SHA-256 and its folder as given (set by `--init`; a rerun with
        /// another checkpoint is refused).
        public var initWeightsSHA256 = ""
        public var initFolder = ""
        /// transformers' `freeze_feature_encoder` (its fine-tuning scripts' default).
        public var freezeFeatureEncoder = true
        /// Keep the first N transformer layers fixed.
        public var freezeLayers = 0
        /// The head's pooling: the first frame c₁ (the paper's) or the mean.
        public var pooling = Wav2Vec2Config.Pooling.first
        /// `classifier_proj_size` of the fresh head (transformers' default 256).
        public var projectorSize = 256
        /// The head reads the softmax-weighted sum of every hidden state; nil = as the checkpoint's config says.
        public var weightedLayerSum: Bool?

        enum CodingKeys: String, CodingKey {
            case pooling
            case initWeightsSHA256 = "init_weights_sha256", initFolder = "init_folder"
            case freezeFeatureEncoder = "freeze_feature_encoder", freezeLayers = "freeze_layers"
            case projectorSize = "projector_size", weightedLayerSum = "weighted_layer_sum"
        }

        public init() {}
    }

    /// How the first convolution of the bundled teacher is initialised.
    public enum FrontEndInit: String, Sendable, Equatable, Codable, CaseIterable, ChoiceOption {
        /// Kaiming-normal, like every other convolution.
        case kaiming
        /// A mel-spaced Gabor filterbank in the first convolution (`TrainableWav2Vec2.initialiseGabor`).
        case gabor
        /// A band-energy analysis in the first two convolutions (`TrainableWav2Vec2.initialiseSpectral`).
        case spectral

        var start: TrainableWav2Vec2.FrontEndStart {
            switch self {
            case .kaiming: .kaiming
            case .gabor: .gabor
            case .spectral: .spectral
            }
        }
    }

    public struct Model: Sendable, Equatable, Codable {
        public var hiddenSize = 64
        public var layers = 2
        public var heads = 4
        public var intermediateSize = 128
        public var convDim = [32, 32, 32, 32, 32, 32, 32]
        public var convKernel = [10, 3, 3, 3, 3, 2, 2]
        public var convStride = [5, 2, 2, 2, 2, 2, 2]
        public var positionalKernel = 16
        public var positionalGroups = 4
        public var projectorSize = 32
        /// The classification head's pooling: Hugging Face's mean, or the first frame (transformers ignores it).
        public var pooling = Wav2Vec2Config.Pooling.mean
        /// How the first convolution starts.
        public var frontEndInit = FrontEndInit.kaiming
        public init() {}

        enum CodingKeys: String, CodingKey {
            case layers, heads, pooling
            case hiddenSize = "hidden_size", intermediateSize = "intermediate_size", convDim = "conv_dim"
            case convKernel = "conv_kernel", convStride = "conv_stride", positionalKernel = "positional_kernel"
            case positionalGroups = "positional_groups", projectorSize = "projector_size", frontEndInit =
                "front_end_init"
        }
    }

    enum CodingKeys: String, CodingKey {
        case name, seed, steps, schedule, chunk, dropout, model, sampling
        case batchSize = "batch_size", evalEvery = "eval_every", adamEpsilon = "adam_epsilon", clipNorm = "clip_norm"
        case timeShiftSamples = "time_shift_samples", normalizeInput = "normalize_input", finetune
    }

    public init(name: String) { self.name = name }

    public func wav2vec2Config(labels: [String]) -> Wav2Vec2Config {
        Wav2Vec2Config(
            hiddenSize: model.hiddenSize, layers: model.layers, heads: model.heads,
            intermediateSize: model.intermediateSize,
            convDim: model.convDim, convKernel: model.convKernel, convStride: model.convStride,
            positionalKernel: model.positionalKernel, positionalGroups: model.positionalGroups,
            classifierProjectionSize: model.projectorSize, labels: labels, pooling: model.pooling)
    }

    static let keys =
        ["name", "adam_epsilon", "dropout", "time_shift_samples", "normalize_input", "model", "finetune"] + loopKeys
    static let finetuneKeys = [
        "freeze_feature_encoder", "freeze_layers", "pooling", "projector_size", "weighted_layer_sum",
    ]
    static let modelKeys = [
        "hidden_size", "layers", "heads", "intermediate_size", "conv_dim", "conv_kernel", "conv_stride",
        "positional_kernel", "positional_groups", "projector_size", "pooling", "front_end_init",
    ]

    /// Reads a YAML teacher config; unknown keys, wrong types and values out of range are one error naming
    /// the file, line and key. `name` defaults to the file's base name.
    public static func load(_ url: URL) throws -> TeacherTrainConfig {
        let m = try YAMLValue.load(url).mapping(allowed: keys)
        var c = TeacherTrainConfig(
            name: try m["name"].map { try $0.string() } ?? url.deletingPathExtension().lastPathComponent)
        try c.readLoopKeys(m)
        if let v = m["adam_epsilon"] { c.adamEpsilon = Float(try v.double(in: 0...1)) }
        if let v = m["dropout"] { c.dropout = Float(try v.double(in: 0...0.9)) }
        if let v = m["time_shift_samples"] { c.timeShiftSamples = try v.int(in: 0...10_000_000) }
        if let v = m["normalize_input"] { c.normalizeInput = try v.bool() }
        if let v = m["finetune"] {
            let d = try v.mapping(allowed: finetuneKeys)
            var f = Finetune()
            if let x = d["freeze_feature_encoder"] { f.freezeFeatureEncoder = try x.bool() }
            if let x = d["freeze_layers"] {
                f.freezeLayers = try x.int(in: 0...Wav2Vec2Config.Limits.layers.upperBound)
            }
            if let x = d["pooling"] { f.pooling = try x.option(Wav2Vec2Config.Pooling.self) }
            if let x = d["projector_size"] { f.projectorSize = try x.int(in: Wav2Vec2Config.Limits.projection) }
            if let x = d["weighted_layer_sum"] { f.weightedLayerSum = try x.bool() }
            c.finetune = f
            // The architecture comes from the checkpoint: a model section would be silently ignored.
            if let model = m["model"] {
                throw model.fail(
                    "'model' sets the architecture of a teacher trained from scratch; with 'finetune' the "
                        + "checkpoint of --init gives it (the head is set in 'finetune')")
            }
        }
        if let v = m["model"] {
            let d = try v.mapping(allowed: modelKeys)
            // The ranges of a Hugging Face config (`Wav2Vec2Config.Limits`): a model trained here always loads.
            typealias L = Wav2Vec2Config.Limits
            func ints(_ key: String, in range: ClosedRange<Int>) throws -> [Int]? {
                guard let x = d[key] else { return nil }
                let list = try x.list().map { try $0.int(in: range) }
                guard L.convLayers.contains(list.count) else {
                    throw x.fail("expected a list of \(L.convLayers.lowerBound) to \(L.convLayers.upperBound) integers")
                }
                return list
            }
            if let x = d["hidden_size"] { c.model.hiddenSize = try x.int(in: L.hiddenSize) }
            if let x = d["layers"] { c.model.layers = try x.int(in: L.layers) }
            if let x = d["heads"] { c.model.heads = try x.int(in: L.heads) }
            if let x = d["intermediate_size"] { c.model.intermediateSize = try x.int(in: L.intermediateSize) }
            if let x = try ints("conv_dim", in: L.convDim) { c.model.convDim = x }
            if let x = try ints("conv_kernel", in: L.convKernel) { c.model.convKernel = x }
            if let x = try ints("conv_stride", in: L.convStride) { c.model.convStride = x }
            if let x = d["positional_kernel"] { c.model.positionalKernel = try x.int(in: L.positionalKernel) }
            if let x = d["positional_groups"] { c.model.positionalGroups = try x.int(in: L.positionalGroups) }
            if let x = d["projector_size"] { c.model.projectorSize = try x.int(in: L.projection) }
            if let x = d["pooling"] { c.model.pooling = try x.option(Wav2Vec2Config.Pooling.self) }
            if let x = d["front_end_init"] { c.model.frontEndInit = try x.option(FrontEndInit.self) }
            let mm = c.model
            guard mm.convDim.count == mm.convKernel.count && mm.convKernel.count == mm.convStride.count else {
                throw v.fail(
                    "conv_dim, conv_kernel and conv_stride must have the same length (found \(mm.convDim.count), "
                        + "\(mm.convKernel.count), \(mm.convStride.count))"
                )
            }
            guard L.frameHop(mm.convStride) != nil else {
                throw (d["conv_stride"] ?? v).fail(
                    "the strides' product (the frame hop) must be at most 16000 samples; \(mm.convStride) exceeds it")
            }
            guard mm.frontEndInit != .spectral || (mm.convDim.count >= 2 && mm.convDim[0] >= 4) else {
                throw (d["front_end_init"] ?? v).fail(
                    "front_end_init spectral needs at least two convolutions and conv_dim[0] >= 4 (found "
                        + "\(mm.convDim))")
            }
            guard mm.hiddenSize % mm.heads == 0 else {
                throw (d["heads"] ?? v).fail("heads \(mm.heads) must divide hidden_size \(mm.hiddenSize)")
            }
            guard mm.hiddenSize % mm.positionalGroups == 0 else {
                throw (d["positional_groups"] ?? v).fail(
                    "positional_groups \(mm.positionalGroups) must divide hidden_size \(mm.hiddenSize)")
            }
        }
        return c
    }
}
