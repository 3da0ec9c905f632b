import Foundation

/// A training run's folder (contract): `<runs>/<name>/` for a student, `<model folder>/training/` for the
/// bundled teacher.
///
/// ```
/// config.json           the resolved training config
/// history.jsonl         one line per validation
/// metrics.json          the best model's validation and test metrics
/// last.safetensors      a student's resumable state (the teacher's: state.safetensors), with a .json twin
/// best.safetensors      a student's best-by-validation checkpoint, with a .json twin
/// ```
public struct RunLayout: Sendable, Equatable {
    public let folder: URL

    public init(_ folder: URL) { self.folder = folder }

    /// `<runs>/<name>/`.
    public init(runs: URL, name: String) { folder = runs.appendingPathComponent(name) }

    public var config: URL { folder.appendingPathComponent("config.json") }
    public var history: URL { folder.appendingPathComponent("history.jsonl") }
    public var metrics: URL { folder.appendingPathComponent("metrics.json") }

    /// `<name>.safetensors` (its description twin is `<name>.json`).
    public func checkpoint(_ name: String) -> URL { folder.appendingPathComponent("\(name).safetensors") }

    /// A student's resumable state.
    public static let last = "last"
    /// A student's best-by-validation checkpoint.
    public static let best = "best"
    /// The bundled teacher's resumable state.
    public static let state = "state"
}

/// A Hugging Face model folder (contract): what `tkd teacher cache --teacher` and transformers' `from_pretrained`
/// read, and what `tkd teacher train` writes (with its run folder inside).
public struct ModelFolderLayout: Sendable, Equatable {
    public let folder: URL

    public init(_ folder: URL) { self.folder = folder }

    /// `config.json`: the model's configuration.
    public var config: URL { folder.appendingPathComponent("config.json") }
    /// `model.safetensors`: the weights.
    public var weights: URL { folder.appendingPathComponent("model.safetensors") }
    /// `preprocessor_config.json`: the feature extractor's settings (optional).
    public var preprocessor: URL { folder.appendingPathComponent("preprocessor_config.json") }
    /// `training/`: the run that made the weights, when `tkd teacher train` did.
    public var training: RunLayout { RunLayout(folder.appendingPathComponent("training")) }
}
