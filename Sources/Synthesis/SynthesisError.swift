import Foundation

/// Errors raised by Synthesis (corpora, the demo corpus, recipes and rendering).
public enum SynthesisError: Error, Equatable, Sendable {
    case corpusMissing(path: String)
    case notACorpus(path: String, reason: String)
    case corpusProblems(path: String, count: Int, first: String)
    case invalidOption(name: String, value: String, expected: String)
    case toolMissing(tool: String, hint: String)
    case toolFailed(tool: String, arguments: String, status: Int32, stderr: String)
    case outputNotEmpty(path: String)
    case outputMismatch(path: String, field: String, found: String, requested: String)
}

extension SynthesisError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case let .corpusMissing(path):
            return
                "corpus: \(path): no such folder. Hint: pass the folder that holds the word folders (yes/, no/, …) "
                + "and _background_noise_/."
        case let .notACorpus(path, reason):
            return
                "corpus: \(path): not a Speech Commands layout (\(reason)); expected "
                + "<word>/<speaker>_nohash_<n>.wav folders."
        case let .corpusProblems(path, count, first):
            return "corpus: \(path): \(count) problem(s) found and --strict is set; first: \(first)"
        case let .invalidOption(name, value, expected):
            return "\(name): invalid value '\(value)'; expected \(expected)."
        case let .toolMissing(tool, hint):
            return "\(tool): not found on PATH. Hint: \(hint)"
        case let .toolFailed(tool, arguments, status, stderr):
            let detail = stderr.split(separator: "\n").first.map(String.init) ?? ""
            return "\(tool) \(arguments): exited with status \(status)\(detail.isEmpty ? "" : ": \(detail)")"
        case let .outputNotEmpty(path):
            return
                "output: \(path): folder exists, is not empty and is not a demo corpus; refusing to write into it. "
                + "Hint: choose a new folder."
        case let .outputMismatch(path, field, found, requested):
            return
                "output: \(path): holds a demo corpus built with \(field) = \(found), but \(requested) was "
                + "requested. Hint: choose a new folder or pass --overwrite."
        }
    }

    public var errorDescription: String? { description }
}
