import DatasetFormat
import Foundation
import TKDCore

/// The fields of a Hugging Face `Wav2Vec2Config` (`config.json`) that the forward pass needs, checked
/// against what this implementation supports.
public struct Wav2Vec2Config: Sendable, Equatable {
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var intermediateSize: Int
    public var convDim: [Int]
    public var convKernel: [Int]
    public var convStride: [Int]
    public var convBias: Bool
    /// GroupNorm after the first convolution (wav2vec2-base) or LayerNorm after every one (large / XLSR).
    public var featExtractNorm: FeatureExtractorNorm
    /// Pre-LN transformer with a final LayerNorm (large / XLSR) instead of post-LN.
    public var stableLayerNorm: Bool
    public var positionalKernel: Int
    public var positionalGroups: Int
    public var layerNormEpsilon: Float
    public var classifierProjectionSize: Int
    public var labels: Int
    public var id2label: [Int: String]
    /// How the sequence-classification head pools the projected frames (the tkd-specific `config.json` key
    /// `tkd_pooling`, which transformers ignores).
    public var pooling: Pooling
    /// `use_weighted_layer_sum`: the head reads a learned softmax-weighted sum of every hidden state (the
    /// encoder input and each layer's output; `layer_weights` [layers + 1]) instead of the last one.
    public var useWeightedLayerSum = false
    /// transformers' `problem_type`: nil (absent: single-label, softmax), or `multi_label_classification`
    /// (one sigmoid per class, binary cross-entropy) — written by `tkd teacher train` on a multi-label dataset.
    public var problemType: ProblemType?

    /// `problem_type` (transformers' names; `regression` is not a classifier and is refused).
    public enum ProblemType: String, Sendable, Equatable, Codable, CaseIterable, ChoiceOption {
        case singleLabel = "single_label_classification"
        case multiLabel = "multi_label_classification"
    }

    /// `feat_extract_norm`.
    public enum FeatureExtractorNorm: String, Sendable, Equatable, Codable, CaseIterable, ChoiceOption {
        /// GroupNorm after the first convolution only (wav2vec2-base).
        case group
        /// LayerNorm after every convolution (large / XLSR).
        case layer
    }

    /// `tkd_pooling`.
    public enum Pooling: String, Sendable, Equatable, Codable, CaseIterable, ChoiceOption {
        /// The mean over frames (Hugging Face's `Wav2Vec2ForSequenceClassification`).
        case mean
        /// The first frame c₁ (the paper's Fig. 1).
        case first

        /// The rollout row this head reads.
        public var row: Rollout.Row { self == .mean ? .mean : .first }
    }

    /// A configuration in code (the bundled teacher's); `jsonObject` writes it as `config.json`.
    public init(
        hiddenSize: Int, layers: Int, heads: Int, intermediateSize: Int, convDim: [Int], convKernel: [Int],
        convStride: [Int], positionalKernel: Int, positionalGroups: Int, classifierProjectionSize: Int,
        labels: [String], pooling: Pooling = .mean
    ) {
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.heads = heads
        self.intermediateSize = intermediateSize
        self.convDim = convDim
        self.convKernel = convKernel
        self.convStride = convStride
        convBias = false
        featExtractNorm = .group
        stableLayerNorm = false
        self.positionalKernel = positionalKernel
        self.positionalGroups = positionalGroups
        layerNormEpsilon = 1e-5
        self.classifierProjectionSize = classifierProjectionSize
        self.labels = labels.count
        id2label = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.offset, $0.element) })
        self.pooling = pooling
    }

    /// `config.json` for Hugging Face `Wav2Vec2ForSequenceClassification` (no dropout, masking or
    /// layer drop at inference; `extra` adds keys such as the tkd training record).
    public func jsonObject(extra: [String: Any] = [:]) -> [String: Any] {
        var o: [String: Any] = [
            "model_type": "wav2vec2", "architectures": ["Wav2Vec2ForSequenceClassification"],
            "hidden_size": hiddenSize, "num_hidden_layers": layers, "num_attention_heads": heads,
            "intermediate_size": intermediateSize, "hidden_act": "gelu", "feat_extract_activation": "gelu",
            "conv_dim": convDim, "conv_kernel": convKernel, "conv_stride": convStride, "conv_bias": convBias,
            "feat_extract_norm": featExtractNorm.rawValue, "do_stable_layer_norm": stableLayerNorm,
            "num_conv_pos_embeddings": positionalKernel, "num_conv_pos_embedding_groups": positionalGroups,
            "layer_norm_eps": Double("\(layerNormEpsilon)") ?? Double(layerNormEpsilon),
            "classifier_proj_size": classifierProjectionSize,
            "num_labels": labels, "use_weighted_layer_sum": useWeightedLayerSum, "add_adapter": false,
            "mask_time_prob": 0.0, "mask_feature_prob": 0.0, "apply_spec_augment": false, "layerdrop": 0.0,
            "hidden_dropout": 0.0, "attention_dropout": 0.0, "activation_dropout": 0.0, "feat_proj_dropout": 0.0,
            "final_dropout": 0.0, "tkd_pooling": pooling.rawValue,
            "id2label": Dictionary(uniqueKeysWithValues: id2label.map { (String($0.key), $0.value) }),
            "label2id": Dictionary(uniqueKeysWithValues: id2label.map { ($0.value, $0.key) }),
        ]
        if let problemType { o["problem_type"] = problemType.rawValue }
        for (k, v) in extra { o[k] = v }
        return o
    }

    /// Reads and validates `config.json`.
    /// The ranges every size must lie in, for a Hugging Face `config.json` and a teacher training config alike,
    /// so that `tkd teacher train` never makes a model `tkd teacher cache` refuses.
    public enum Limits {
        public static let hiddenSize = 1...16_384, layers = 1...256, heads = 1...256, intermediateSize = 1...65_536
        public static let convDim = 1...8_192, convKernel = 1...1_024, convStride = 1...1_024, convLayers = 1...16
        public static let positionalKernel = 1...1_024, positionalGroups = 1...16_384, projection = 1...16_384
        public static let labels = 1...10_000
        /// The total stride (the frame hop): at most one second at 16 kHz.
        public static let frameHop = 1...16_000

        /// The strides' product, or nil when it overflows or leaves `frameHop`.
        public static func frameHop(_ strides: [Int]) -> Int? {
            var hop = 1
            for s in strides {
                guard case let (next, false) = hop.multipliedReportingOverflow(by: s), frameHop.contains(next)
                else { return nil }
                hop = next
            }
            return hop
        }
    }

    public init(url: URL) throws {
        let path = url.path
        guard let data = try RegularFile.contents(url) else {
            throw TeacherError.input(path: path, reason: "no config.json (expected a Hugging Face model folder)")
        }
        guard let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TeacherError.input(path: path, reason: "not a JSON object")
        }
        // Every size is checked against a range before any allocation or product uses it.
        func int(_ k: String, _ fallback: Int? = nil, in range: ClosedRange<Int>) throws -> Int {
            let value: Int
            if let v = o[k] as? Int {
                value = v
            } else if let fallback, o[k] == nil {
                value = fallback
            } else {
                throw TeacherError.config(
                    path: path, field: k, value: "\(o[k] ?? "missing")", expected: "an integer in \(range)")
            }
            guard range.contains(value) else {
                throw TeacherError.config(path: path, field: k, value: "\(value)", expected: "an integer in \(range)")
            }
            return value
        }
        func ints(_ k: String, in range: ClosedRange<Int>) throws -> [Int] {
            guard let v = o[k] as? [Int], Limits.convLayers.contains(v.count), v.allSatisfy(range.contains) else {
                throw TeacherError.config(
                    path: path, field: k, value: "\(o[k] ?? "missing")",
                    expected: "a list of \(Limits.convLayers) integers in \(range)")
            }
            return v
        }
        func string(_ k: String, _ fallback: String) -> String { o[k] as? String ?? fallback }
        func bool(_ k: String, _ fallback: Bool) -> Bool { o[k] as? Bool ?? fallback }
        func choice<T: ChoiceOption>(_ k: String, _ fallback: T) throws -> T {
            let text = string(k, fallback.rawValue)
            guard let value = T(rawValue: text) else {
                throw TeacherError.config(path: path, field: k, value: "'\(text)'", expected: T.expectedChoices)
            }
            return value
        }
        if let t = o["model_type"] as? String, t != "wav2vec2" {
            throw TeacherError.config(path: path, field: "model_type", value: "'\(t)'", expected: "'wav2vec2'")
        }
        hiddenSize = try int("hidden_size", in: Limits.hiddenSize)
        layers = try int("num_hidden_layers", in: Limits.layers)
        heads = try int("num_attention_heads", in: Limits.heads)
        intermediateSize = try int("intermediate_size", in: Limits.intermediateSize)
        convDim = try ints("conv_dim", in: Limits.convDim)
        convKernel = try ints("conv_kernel", in: Limits.convKernel)
        convStride = try ints("conv_stride", in: Limits.convStride)
        guard Limits.frameHop(convStride) != nil else {
            throw TeacherError.config(
                path: path, field: "conv_stride", value: "\(convStride)",
                expected: "strides whose product (the frame hop) is at most 16000 samples")
        }
        guard convDim.count == convKernel.count && convKernel.count == convStride.count else {
            throw TeacherError.config(
                path: path, field: "conv_dim/conv_kernel/conv_stride",
                value: "lengths \(convDim.count)/\(convKernel.count)/\(convStride.count)", expected: "equal lengths")
        }
        convBias = bool("conv_bias", false)
        featExtractNorm = try choice("feat_extract_norm", FeatureExtractorNorm.group)
        stableLayerNorm = bool("do_stable_layer_norm", false)
        positionalKernel = try int("num_conv_pos_embeddings", 128, in: Limits.positionalKernel)
        positionalGroups = try int("num_conv_pos_embedding_groups", 16, in: Limits.positionalGroups)
        let epsilon = o["layer_norm_eps"] as? Double ?? 1e-5
        guard epsilon.isFinite, epsilon > 0, epsilon <= 1 else {
            throw TeacherError.config(
                path: path, field: "layer_norm_eps", value: "\(epsilon)", expected: "a number in (0, 1]")
        }
        layerNormEpsilon = Float(epsilon)
        classifierProjectionSize = try int("classifier_proj_size", 256, in: Limits.projection)
        for (key, want) in [("hidden_act", "gelu"), ("feat_extract_activation", "gelu")] {
            let v = string(key, want)
            guard v == want else {
                throw TeacherError.config(path: path, field: key, value: "'\(v)'", expected: "'\(want)'")
            }
        }
        useWeightedLayerSum = bool("use_weighted_layer_sum", false)
        for key in ["add_adapter"] where bool(key, false) {
            throw TeacherError.config(path: path, field: key, value: "true", expected: "false (not supported)")
        }
        guard hiddenSize % heads == 0 else {
            throw TeacherError.config(
                path: path, field: "num_attention_heads", value: "\(heads)",
                expected: "a divisor of hidden_size \(hiddenSize)")
        }
        guard hiddenSize % positionalGroups == 0 else {
            throw TeacherError.config(
                path: path, field: "num_conv_pos_embedding_groups", value: "\(positionalGroups)",
                expected: "a divisor of hidden_size \(hiddenSize)")
        }
        var names: [Int: String] = [:]
        if let m = o["id2label"] as? [String: String] { for (k, v) in m { if let i = Int(k) { names[i] = v } } }
        id2label = names
        let classes = try int("num_labels", max(names.count, 2), in: Limits.labels)
        if let bad = names.keys.sorted().first(where: { !(0..<classes).contains($0) }) {
            throw TeacherError.config(
                path: path, field: "id2label", value: "key \(bad)",
                expected: "class indices 0…\(classes - 1) (num_labels)")
        }
        labels = classes
        pooling = try choice("tkd_pooling", Pooling.mean)
        if o["problem_type"] != nil && !(o["problem_type"] is NSNull) {
            problemType = try choice("problem_type", ProblemType.singleLabel)
        }
    }

    /// Samples between consecutive frames: the feature encoder's total stride (320 for wav2vec 2.0).
    public var frameHop: Int { convStride.reduce(1, *) }

    /// The centre of frame 0 in samples: half the feature encoder's receptive field (200 for wav2vec 2.0).
    public var frameCentreOffset: Double {
        var field = 1
        for (k, s) in zip(convKernel, convStride).reversed() { field = (field - 1) * s + k }
        return Double(field) / 2
    }

    /// Frames the convolutional feature extractor makes from `samples` samples (no padding).
    public func frames(samples: Int) -> Int {
        var n = samples
        for (k, s) in zip(convKernel, convStride) { n = n >= k ? (n - k) / s + 1 : 0 }
        return n
    }
}
