import Foundation

/// Everything that defines a spectral front end. Presets (`FrontEndPreset`) fill it in to match a
/// reference library call; `Codable` gives the resolved form written beside every feature store.
public struct FrontEndConfig: Sendable, Equatable, Codable {
    public var sampleRate: Int
    /// Samples per analysis frame taken from the signal.
    public var frameLength: Int
    public var hopLength: Int
    /// FFT size (≥ `frameLength`); the windowed frame is zero-padded at the end.
    public var fftLength: Int
    public var window: Window
    /// How the signal's ends are handled.
    public var padding: Padding
    /// Subtract each frame's mean before pre-emphasis (Kaldi `remove_dc_offset`).
    public var removeDCOffset: Bool
    /// Pre-emphasis coefficient applied within each frame (Kaldi style); 0 = off.
    public var preemphasis: Float
    public var spectrum: Spectrum
    public var mel: MelConfig
    public var log: LogCompression
    /// DCT-II applied after the log (MFCC), or nil for log-mel.
    public var dct: DCTConfig?
    /// Arithmetic from the frame to the log (and DCT): `float32` (FFTW single precision) or `float64`.
    public var precision: Precision = .float32

    public enum Precision: String, Sendable, Codable { case float32, float64 }

    public enum Spectrum: String, Sendable, Codable { case power, magnitude }

    public enum Padding: Sendable, Equatable, Codable {
        /// `fftLength / 2` samples on each side: mirrored (`reflect`, torch) or zeros (`constant`, librosa).
        case center(reflect: Bool)
        /// No padding: frames start at 0, hop, 2·hop, … and every frame lies inside the signal
        /// (Kaldi `snip_edges=true`, kws_streaming).
        case none
    }

    /// The analysis window (length `frameLength`).
    public struct Window: Sendable, Equatable, Codable {
        public enum Kind: String, Sendable, Codable {
            case hannPeriodic = "hann-periodic", hannSymmetric = "hann-symmetric"
            case hammingPeriodic = "hamming-periodic", hammingSymmetric = "hamming-symmetric"
            case povey, rectangular
        }
        public var kind: Kind
        /// Window length; when shorter than `frameLength` it is centred in the frame with zeros
        /// around it (torch.stft / librosa `win_length < n_fft`).
        public var length: Int
    }

    public struct MelConfig: Sendable, Equatable, Codable {
        public var bands: Int
        public var fMin: Double
        public var fMax: Double
        public var scale: MelScale
        /// `hz`: triangles between mel-spaced corner frequencies, evaluated on the bins' Hz
        /// (torchaudio, librosa); `mel`: triangles evaluated on the bins' mel values (Kaldi, kws_streaming).
        public var domain: Domain
        /// Slaney area normalisation (2 / bandwidth in Hz).
        public var slaneyNorm: Bool
        /// Zero the DC bin's weights (kws_streaming).
        public var zeroDC: Bool
        /// Leave out the Nyquist bin (Kaldi).
        public var dropNyquist: Bool

        public enum Domain: String, Sendable, Codable { case hz, mel }

        enum CodingKeys: String, CodingKey {
            case bands, scale, domain
            case fMin = "f_min", fMax = "f_max"
            case slaneyNorm = "slaney_norm", zeroDC = "zero_dc", dropNyquist = "drop_nyquist"
        }
    }

    public enum MelScale: String, Sendable, Codable {
        /// 2595 · log10(1 + f/700) (≡ 1127 · ln(1 + f/700)).
        case htk
        /// Slaney's: linear below 1 kHz (3 mel per 200 Hz... 200/3 Hz per mel), logarithmic above.
        case slaney
    }

    public enum LogCompression: Sendable, Equatable, Codable {
        /// 10 · log10(max(x, amin)) (power) with an optional top_db floor below the global maximum.
        case decibels(amin: Double, topDB: Double?)
        /// ln(max(x, floor)).
        case lnFloor(Double)
        /// ln(x + epsilon).
        case lnOffset(Double)
        case none
    }

    public struct DCTConfig: Sendable, Equatable, Codable {
        /// Coefficients kept (the first ones).
        public var coefficients: Int
        public var scaling: Scaling
        public enum Scaling: String, Sendable, Codable {
            /// Orthonormal DCT-II (scipy `norm="ortho"`, torchaudio and librosa MFCC).
            case ortho
            /// kws_streaming: sqrt(2/N) · Σ x_n cos(π(2n+1)k/2N) for every k, c0 included.
            case kwsStreaming = "kws-streaming"
        }
    }

    enum CodingKeys: String, CodingKey {
        case window, padding, spectrum, mel, log, dct, preemphasis, precision
        case sampleRate = "sample_rate", frameLength = "frame_length", hopLength = "hop_length"
        case fftLength = "fft_length", removeDCOffset = "remove_dc_offset"
    }

    /// Whether each frame is processed as Kaldi does before the window — its mean removed, pre-emphasis with
    /// x[0] against itself — which mixes every sample of the frame.
    public var kaldiFraming: Bool { removeDCOffset || preemphasis != 0 }

    /// Bins of the one-sided spectrum.
    public var bins: Int { fftLength / 2 + 1 }
    /// Output features per frame.
    public var featureCount: Int { dct?.coefficients ?? mel.bands }

    /// Frames produced for a signal of `n` samples (0 when it is shorter than one frame without padding).
    public func frameCount(samples n: Int) -> Int {
        switch padding {
        case .center: return n > 0 ? 1 + n / hopLength : 0
        case .none: return n >= frameLength ? 1 + (n - frameLength) / hopLength : 0
        }
    }

    /// The centre of frame `j` (fractional frames allowed), in samples: `j·hop + frame_length/2` without
    /// padding (frames start at `j·hop`), `j·hop` when centre-padded (torch.stft's frame times).
    public func frameCentre(_ j: Double) -> Double {
        padding == .none ? j * Double(hopLength) + Double(frameLength) / 2 : j * Double(hopLength)
    }

    /// The fewest samples that give one frame.
    public var minimumSamples: Int {
        switch padding {
        case let .center(reflect): return reflect ? fftLength / 2 + 1 : 1
        case .none: return frameLength
        }
    }

}
