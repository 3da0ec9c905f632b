import Foundation

/// Named front ends, each matching a reference library call (documented in Docs/cli.md, "Presets").
///
/// Presets are defined at 16 kHz. At another sample rate r the window and hop keep their length in
/// milliseconds (round(ms · r / 1000) samples), the FFT size becomes the next power of two at or
/// above the window (keeping the 16-kHz ratio of FFT size to window for the centre-padded presets),
/// and f_max is capped at r / 2.
public enum FrontEndPreset: String, Sendable, CaseIterable, Codable {
    /// torchaudio.transforms.MelSpectrogram(sample_rate=16000, n_fft=512, win_length=400,
    /// hop_length=160, f_min=20, f_max=8000, n_mels=40, power=2.0, center=True, pad_mode="reflect",
    /// mel_scale="htk", norm=None) then AmplitudeToDB(stype="power", top_db=None).
    case torchaudioMelspec = "torchaudio-melspec"
    /// librosa.feature.melspectrogram(sr=16000, n_fft=512, win_length=400, hop_length=160, n_mels=40,
    /// fmin=20, fmax=8000, center=True, pad_mode="constant", htk=False, norm="slaney", power=2.0) then
    /// librosa.power_to_db(ref=1.0, amin=1e-10, top_db=None).
    case librosaMelspec = "librosa-melspec"
    /// torchaudio.compliance.kaldi.fbank(num_mel_bins=40, frame_length=25, frame_shift=10,
    /// sample_frequency=16000, low_freq=20, high_freq=0, dither=0.0, window_type="povey",
    /// preemphasis_coefficient=0.97, remove_dc_offset=True, snip_edges=True, use_energy=False)
    /// (= kaldi-native-fbank with dither 0), on the waveform as read (floats in [-1, 1]).
    case kaldiFbank = "kaldi-fbank"
    /// The kws_streaming students' front end (Docs/students.md §1.2): 40 ms / 20 ms periodic Hann, no
    /// padding, 1024-point magnitude spectrum, 40 HTK mel bands 20-7600 Hz in the mel domain with the
    /// DC bin zeroed, ln(max(x, 1e-12)), kws_streaming-scaled DCT-II, first 20 coefficients; computed
    /// in float64.
    case kwsStreamingMFCC20 = "kws-streaming-mfcc20"
    /// As `kws-streaming-mfcc20` with 40 coefficients (TC-ResNet).
    case kwsStreamingMFCC40 = "kws-streaming-mfcc40"
    /// As `kws-streaming-mfcc20` with the mel bands up to 8000 Hz (MHAtt-RNN's paper runs, Docs/students.md §1.1).
    case kwsStreamingMFCC20Upper8000 = "kws-streaming-mfcc20-8000hz"
    /// The recommended default for new work: 25 ms / 10 ms periodic Hann, centred with reflection,
    /// 512-point power spectrum, 40 HTK mel bands 20-8000 Hz, ln(x + 1e-6). Natural-log units (like
    /// Kaldi's), a small fixed offset instead of a floor so that quiet frames stay smooth, and frame
    /// times that match torchaudio's (frame t centred at t · hop).
    case logmel40

    /// The configuration at `sampleRate` (16000 unless given).
    public func config(sampleRate: Int = 16000) -> FrontEndConfig {
        let r = sampleRate
        func samples(_ ms: Double) -> Int { Int((ms * Double(r) / 1000).rounded()) }
        func pow2(atLeast n: Int) -> Int {
            var p = 1
            while p < n { p *= 2 }
            return p
        }
        let nyquist = Double(r) / 2
        switch self {
        case .torchaudioMelspec, .librosaMelspec, .logmel40:
            let win = samples(25), hop = samples(10)
            let fft = r == 16000 ? 512 : pow2(atLeast: win * 512 / 400)
            let isLibrosa = self == .librosaMelspec
            return FrontEndConfig(
                sampleRate: r, frameLength: fft, hopLength: hop, fftLength: fft,
                window: .init(kind: .hannPeriodic, length: win), padding: .center(reflect: !isLibrosa),
                removeDCOffset: false, preemphasis: 0, spectrum: .power,
                mel: .init(
                    bands: 40, fMin: 20, fMax: min(8000, nyquist), scale: isLibrosa ? .slaney : .htk, domain: .hz,
                    slaneyNorm: isLibrosa, zeroDC: false, dropNyquist: false),
                log: self == .logmel40 ? .lnOffset(1e-6) : .decibels(amin: 1e-10, topDB: nil), dct: nil)
        case .kaldiFbank:
            let win = samples(25), hop = samples(10)
            return FrontEndConfig(
                sampleRate: r, frameLength: win, hopLength: hop, fftLength: pow2(atLeast: win),
                window: .init(kind: .povey, length: win), padding: .none,
                removeDCOffset: true, preemphasis: 0.97, spectrum: .power,
                mel: .init(
                    bands: 40, fMin: 20, fMax: nyquist, scale: .htk, domain: .mel,
                    slaneyNorm: false, zeroDC: false, dropNyquist: true),
                log: .lnFloor(Double(Float.ulpOfOne)), dct: nil)
        case .kwsStreamingMFCC20, .kwsStreamingMFCC40, .kwsStreamingMFCC20Upper8000:
            let win = samples(40), hop = samples(20)
            return FrontEndConfig(
                sampleRate: r, frameLength: win, hopLength: hop, fftLength: pow2(atLeast: win),
                window: .init(kind: .hannPeriodic, length: win), padding: .none,
                removeDCOffset: false, preemphasis: 0, spectrum: .magnitude,
                mel: .init(
                    bands: 40, fMin: 20, fMax: min(self == .kwsStreamingMFCC20Upper8000 ? 8000 : 7600, nyquist),
                    scale: .htk,
                    domain: .mel, slaneyNorm: false, zeroDC: true, dropNyquist: false),
                log: .lnFloor(1e-12),
                dct: .init(coefficients: self == .kwsStreamingMFCC40 ? 40 : 20, scaling: .kwsStreaming),
                // The DCT mixes all 40 log bands, including ones at a magnitude spectrum's float32
                // rounding floor (ln values down to -27.6); float64 matches the specification there.
                precision: .float64)
        }
    }
}
