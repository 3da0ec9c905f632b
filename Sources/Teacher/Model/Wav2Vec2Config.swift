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
            "num_labels": labels, "use_weighted_layer_sum": false, "add_adapter": false,
            "mask_time_prob": 0.0, "mask_feature_prob": 0.0, "apply_spec_augment": false, "layerdrop": 0.0,
            "hidden_dropout": 0.0, "attention_dropout": 0.0, "activation_dropout": 0.0, "feat_proj_dropout": 0.0,
            "final_dropout": 0.0, "tkd_pooling": pooling.rawValue,
            "id2label": Dictionary(uniqueKeysWithValues: id2label.map { (String($0.key), $0.value) }),
            "label2id": Dictionary(uniqueKeysWithValues: id2label.map { ($0.value, $0.key) }),
        ]
        for (k, v) in extra { o[k] = v }
        return o
    }

    /// Reads and validates `config.json`.
    public init(url: URL) throws {
        let path = url.path
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TeacherError.input(path: path, reason: "no config.json (expected a Hugging Face model folder)")
        }
        guard let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TeacherError.input(path: path, reason: "not a JSON object")
        }
        func int(_ k: String, _ fallback: Int? = nil) throws -> Int {
            if let v = o[k] as? Int { return v }
            if let fallback, o[k] == nil { return fallback }
            throw TeacherError.config(path: path, field: k, value: "\(o[k] ?? "missing")", expected: "an integer")
        }
        func ints(_ k: String) throws -> [Int] {
            guard let v = o[k] as? [Int], !v.isEmpty else {
                throw TeacherError.config(
                    path: path, field: k, value: "\(o[k] ?? "missing")", expected: "a list of integers")
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
        hiddenSize = try int("hidden_size")
        layers = try int("num_hidden_layers")
        heads = try int("num_attention_heads")
        intermediateSize = try int("intermediate_size")
        convDim = try ints("conv_dim")
        convKernel = try ints("conv_kernel")
        convStride = try ints("conv_stride")
        guard convDim.count == convKernel.count && convKernel.count == convStride.count else {
            throw TeacherError.config(
                path: path, field: "conv_dim/conv_kernel/conv_stride",
                value: "lengths \(convDim.count)/\(convKernel.count)/\(convStride.count)", expected: "equal lengths")
        }
        convBias = bool("conv_bias", false)
        featExtractNorm = try choice("feat_extract_norm", FeatureExtractorNorm.group)
        stableLayerNorm = bool("do_stable_layer_norm", false)
        positionalKernel = try int("num_conv_pos_embeddings", 128)
        positionalGroups = try int("num_conv_pos_embedding_groups", 16)
        layerNormEpsilon = Float(o["layer_norm_eps"] as? Double ?? 1e-5)
        classifierProjectionSize = try int("classifier_proj_size", 256)
        for (key, want) in [("hidden_act", "gelu"), ("feat_extract_activation", "gelu")] {
            let v = string(key, want)
            guard v == want else {
                throw TeacherError.config(path: path, field: key, value: "'\(v)'", expected: "'\(want)'")
            }
        }
        for key in ["use_weighted_layer_sum", "add_adapter"] where bool(key, false) {
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
        labels = o["num_labels"] as? Int ?? max(names.count, 2)
        pooling = try choice("tkd_pooling", Pooling.mean)
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
