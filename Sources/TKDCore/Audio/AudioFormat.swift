/// Output audio encodings (libsndfile writes them; recipes name them in `output.format`).
public enum AudioFormat: String, Sendable, CaseIterable, Codable, ChoiceOption {
    /// WAV, signed 16-bit PCM (the default).
    case pcm16 = "wav-pcm16"
    /// WAV, signed 24-bit PCM.
    case pcm24 = "wav-pcm24"
    /// WAV, 32-bit IEEE float (no clipping: values beyond ±1 are kept).
    case float32 = "wav-float32"
    /// FLAC, 16-bit.
    case flac = "flac"

    /// The quantisation step of a sample in [−1, 1] (one least significant bit; 0 for float samples):
    /// decoding gives the written value within half a step.
    public var quantizationStep: Double {
        switch self {
        case .pcm16, .flac: return 1.0 / 32_768
        case .pcm24: return 1.0 / 8_388_608
        case .float32: return 0
        }
    }

    /// The file extension.
    public var fileExtension: String { self == .flac ? "flac" : "wav" }
}
