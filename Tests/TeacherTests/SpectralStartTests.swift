import Foundation
import Layers
import TKDCore
import Testing

@testable import Teacher

/// `front_end_init: spectral` (`TrainableWav2Vec2.initialiseSpectral`): the second convolution's first
/// channels start as band envelopes, selective in frequency and insensitive to the carrier's phase, which
/// the strided filterbank alone (`gabor`) is not.
@Suite("Bundled teacher: the spectral front-end start")
struct SpectralStartTests {
    /// The demo teacher's front end: 160 channels (40 bands) of 400 taps at hop 160, then 64 of 3 at stride 2.
    /// `gabor` with 80 channels has the same 40 centre frequencies (as cosine/sine pairs).
    static func model(_ start: TrainableWav2Vec2.FrontEndStart, channels: Int = 160) -> TrainableWav2Vec2 {
        let config = Wav2Vec2Config(
            hiddenSize: 16, layers: 1, heads: 2, intermediateSize: 32, convDim: [channels, 64], convKernel: [400, 3],
            convStride: [160, 2], positionalKernel: 8, positionalGroups: 2, classifierProjectionSize: 8,
            labels: ["a", "b"])
        return TrainableWav2Vec2(config: config, seed: 3, frontEnd: start)
    }

    /// The front end's outputs [frames, channels] after the first (normalised, GELU) and second (GELU) layers.
    static func frontEnd(_ m: TrainableWav2Vec2, _ wave: [Float]) throws -> (first: Tensor, second: Tensor) {
        let run = RunContext(mode: .inference, jobs: 1, chunkSize: 1, seed: 0, step: 0)
        var x = Tensor(shape: [1, wave.count, 1], data: wave)
        x = try m.convs[0].forward(x, run)
        x = try m.convActivations[0].forward(try m.convNorms[0]!.forward(x, run), run)
        let first = x
        x = try m.convActivations[1].forward(try m.convs[1].forward(x, run), run)
        return (first, x)
    }

    /// Quiet noise with a one-tenth-second tone burst at `frequency`, starting `shift` samples later than 0.7 s.
    static func burst(frequency: Double, shift: Int) -> [Float] {
        var rng = CounterRNG(seed: 9, key: ["spectral-start", "noise"])
        return (0..<16_000).map { i in
            let t = i - 11_200 - shift
            let tone = t >= 0 && t < 1_600 ? sin(2 * Double.pi * frequency * Double(t) / 16_000) : 0
            return Float(tone + rng.normal(mean: 0, std: 0.01))
        }
    }

    @Test("band b's envelope channel marks a tone burst at b's centre and barely moves with a sub-hop shift")
    func envelope() throws {
        let spectral = Self.model(.spectral), gabor = Self.model(.gabor, channels: 80)
        for band in [8, 20, 32] {
            let f = TrainableWav2Vec2.melCentre(band, of: 40)
            var envelope: [Float] = [], carrier: [Float] = []
            // Shifts of 7 samples: every carrier phase, whatever the band's frequency.
            for shift in stride(from: 0, to: 160, by: 7) {
                let wave = Self.burst(frequency: f, shift: shift)
                let s = try Self.frontEnd(spectral, wave).second
                let channels = s.shape[2], frames = s.shape[1]
                func at(_ frame: Int, _ channel: Int) -> Float { s.data[frame * channels + channel] }
                // Second-layer frame m covers samples [320·m, 320·m + 720): frames 36…37 lie inside the burst.
                func contrast(_ channel: Int) -> Float {
                    let inside = (36...37).map { at($0, channel) }.reduce(0, +) / 2
                    let outside = (0..<30).map { at($0, channel) }.reduce(0, +) / 30
                    return inside / outside
                }
                #expect(frames == 48)
                #expect(contrast(band) > 5, "band \(band), shift \(shift): burst/background \(contrast(band))")
                // A band far away sees only the background.
                let far = (band + 20) % 40
                #expect(contrast(far) < 2, "band \(far), shift \(shift): burst/background \(contrast(far))")
                envelope.append((36...37).map { at($0, band) }.reduce(0, +) / 2)
                // The Gabor start's cosine channel of the same band, first layer, inside the burst.
                let g = try Self.frontEnd(gabor, wave).first
                carrier.append(g.data[73 * g.shape[2] + 2 * band])
                #expect(g.shape[2] == 80)
            }
            let ratio = envelope.max()! / envelope.min()!
            #expect(ratio < 1.6, "band \(band): the envelope varies by ×\(ratio) over sub-hop shifts")
            let spread = carrier.max()! - carrier.min()!, level = carrier.map(abs).max()!
            #expect(spread > level, "band \(band): the Gabor carrier sample barely moves (\(carrier))")
        }
    }
}
