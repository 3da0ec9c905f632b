import Foundation

/// Errors raised by AudioIO. Each names the file and says what was seen and what was expected.
public enum AudioError: Error, Equatable, Sendable {
    case missing(path: String)
    case notAudio(path: String, reason: String)
    case truncated(path: String, declaredFrames: Int, availableFrames: Int)
    case corrupt(path: String, reason: String)
    case empty(path: String)
    case unsupportedFormat(path: String, format: String, expected: String)
    case unexpectedChannels(path: String, channels: Int, expected: Int)
    case unexpectedSampleRate(path: String, sampleRate: Int, expected: Int)
    case invalidWindow(path: String, start: Int, length: Int, frames: Int)
    case tooLong(path: String, frames: Int, channels: Int, maxSamples: Int)
    case resampleFailed(reason: String)
    case writeFailed(path: String, reason: String)
}

extension AudioError: CustomStringConvertible, LocalizedError {
    public var description: String {
        switch self {
        case let .missing(path):
            return
                "audio: \(path): no such file. Hint: check the path (relative paths resolve against the current "
                + "folder)."
        case let .tooLong(path, frames, channels, maxSamples):
            return "audio: \(path): the header declares \(frames) frames × \(channels) channel(s); expected at most "
                + "\(maxSamples) samples in one file."
        case let .notAudio(path, reason):
            return
                "audio: \(path): not an audio file libsndfile can read (\(reason)); expected WAV, FLAC, OGG or "
                + "another libsndfile format."
        case let .truncated(path, declared, available):
            return
                "audio: \(path): truncated; the header declares \(declared) frames but only \(available) are "
                + "present. Hint: re-copy or re-download the file."
        case let .corrupt(path, reason):
            return "audio: \(path): corrupt or unreadable audio data (\(reason))."
        case let .empty(path):
            return "audio: \(path): zero frames; expected at least one sample."
        case let .unsupportedFormat(path, format, expected):
            return "audio: \(path): unsupported format '\(format)'; expected \(expected)."
        case let .unexpectedChannels(path, channels, expected):
            return
                "audio: \(path): \(channels) channels; expected \(expected). Hint: pass a down-mix option or "
                + "convert the file."
        case let .unexpectedSampleRate(path, rate, expected):
            return
                "audio: \(path): sample rate \(rate) Hz; expected \(expected) Hz. Hint: allow resampling or convert "
                + "the file."
        case let .invalidWindow(path, start, length, frames):
            return
                "audio: \(path): window [\(start), \(start + length)) is outside the file's \(frames) frames; "
                + "expected 0 <= start and start + length <= \(frames)."
        case let .resampleFailed(reason):
            return "audio: resampling failed: \(reason)"
        case let .writeFailed(path, reason):
            return "audio: \(path): write failed: \(reason)"
        }
    }

    public var errorDescription: String? { description }
}
