import DatasetFormat
import Foundation

extension FrontEndConfig {
    /// Checks internal consistency.
    /// - Throws: `FeaturesError.invalidConfig`.
    public func validate() throws {
        func bad(_ f: String, _ v: Any, _ e: String) -> FeaturesError {
            .invalidConfig(field: f, value: "\(v)", expected: e)
        }
        guard sampleRate > 0 else { throw bad("sample_rate", sampleRate, "> 0") }
        guard hopLength > 0 else { throw bad("hop_length", hopLength, "> 0") }
        guard frameLength > 0, frameLength <= fftLength else {
            throw bad("frame_length", frameLength, "1…fft_length (\(fftLength))")
        }
        guard fftLength % 2 == 0 else { throw bad("fft_length", fftLength, "even") }
        guard window.length > 0, window.length <= frameLength else {
            throw bad("window.length", window.length, "1…frame_length")
        }
        guard mel.bands > 0 else { throw bad("mel.bands", mel.bands, "> 0") }
        guard mel.fMin >= 0, mel.fMin < mel.fMax, mel.fMax <= Double(sampleRate) / 2 + 1e-9 else {
            throw bad("mel.f_min/f_max", "\(mel.fMin)/\(mel.fMax)", "0 ≤ f_min < f_max ≤ \(sampleRate / 2)")
        }
        if let dct, dct.coefficients < 1 || dct.coefficients > mel.bands {
            throw bad("dct.coefficients", dct.coefficients, "1…\(mel.bands)")
        }
    }
}
