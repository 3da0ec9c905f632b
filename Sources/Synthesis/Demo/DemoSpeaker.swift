import DatasetFormat
import Foundation
import TKDCore

/// One synthetic speaker of the demo corpus: a text-to-speech engine and voice (with espeak-ng's variant),
/// pitch, rate and vocal-tract warp, with a stable 8-hex-digit id in the Speech Commands style.
public struct DemoSpeaker: Sendable, Codable, Equatable {
    public let index: Int
    public let id: String
    public let engine: SpeechEngineKind
    /// The engine's voice: an espeak-ng accent (`en-us`), a flite voice (`slt`) or a festival voice
    /// (`kal_diphone`).
    public let voice: String
    /// espeak-ng voice variant, e.g. `m3` (empty for the other engines).
    public let variant: String
    /// espeak-ng: pitch 0-99; flite and festival: target mean F0 in Hz (0: the voice's own, for voices
    /// whose pitch cannot be set).
    public let pitch: Int
    /// espeak-ng: speaking rate in words per minute; flite and festival: speed in percent of the voice's own.
    public let rate: Int
    /// Resampling factor applied to the engine's audio (> 1: higher and faster, a shorter vocal tract);
    /// 1 for espeak-ng, whose variants already differ in formants.
    public let warp: Double
    /// The split the official rule gives this speaker's id.
    public let split: Split

    enum CodingKeys: String, CodingKey {
        case index, id, engine, voice, variant, pitch, rate, warp, split
    }

    public init(
        index: Int, id: String, engine: SpeechEngineKind, voice: String, variant: String, pitch: Int, rate: Int,
        warp: Double, split: Split
    ) {
        self.index = index
        self.id = id
        self.engine = engine
        self.voice = voice
        self.variant = variant
        self.pitch = pitch
        self.rate = rate
        self.warp = warp
        self.split = split
    }

    /// Reads corpora written before tkd recorded the engine (espeak-ng, no warp).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            index: try c.decode(Int.self, forKey: .index), id: try c.decode(String.self, forKey: .id),
            engine: try c.decodeIfPresent(SpeechEngineKind.self, forKey: .engine) ?? .espeakNG,
            voice: try c.decode(String.self, forKey: .voice), variant: try c.decode(String.self, forKey: .variant),
            pitch: try c.decode(Int.self, forKey: .pitch), rate: try c.decode(Int.self, forKey: .rate),
            warp: try c.decodeIfPresent(Double.self, forKey: .warp) ?? 1,
            split: try c.decode(Split.self, forKey: .split))
    }

    /// English voices of espeak-ng's own (no MBROLA data needed).
    public static let voices = SpeechEngineKind.espeakNG.voices
    /// Human-sounding variants shipped with espeak-ng.
    public static let variants = ["m1", "f1", "m2", "f2", "m3", "f3", "m4", "f4", "m5", "f5", "m6", "m7"]

    /// The split wanted for speaker `index`: in every block of ten, `heldOut` speakers go to validation and as
    /// many to testing, the rest to training (`heldOut` 1: 80/10/10, 2: 60/20/20), so every split is non-empty
    /// from 1 + 2·`heldOut` speakers.
    public static func targetSplit(index: Int, heldOut: Int = 1) -> Split {
        let r = index % 10
        if r >= 1 && r < 1 + heldOut { return .validation }
        if r >= 1 + heldOut && r < 1 + 2 * heldOut { return .testing }
        return .training
    }

    /// The first `count` speakers, taking turns over `engines`. Speaker `i` depends on `i`, the engine list
    /// and `heldOut` alone (not on `count` or any seed), so its id is stable across corpus sizes; with
    /// espeak-ng alone and `heldOut` 1, the table is the one tkd has always made.
    public static func table(
        count: Int, engines: [SpeechEngineKind] = [.espeakNG], heldOut: Int = 1
    ) -> [DemoSpeaker] {
        var out: [DemoSpeaker] = []
        var used = Set<String>()
        var usedIDs = Set<String>()
        for i in 0..<count {
            let engine = engines[i % engines.count]
            let k = i / engines.count  // the speaker's index among its engine's
            let voice: String, variant: String, warp: Double
            var pitch: Int, rate: Int
            var seedText: String
            switch engine {
            case .espeakNG:
                voice = voices[k % voices.count]
                variant = variants[(k / voices.count) % variants.count]
                var rng = CounterRNG(seed: 0, key: ["demo-speaker", String(i)])
                pitch = rng.uniformInt(30...70)
                rate = rng.uniformInt(135...185)
                warp = 1
                // Speakers beyond voices × variants differ by pitch/rate; keep every combination distinct.
                while used.contains("\(voice)+\(variant)/\(pitch)/\(rate)") { rate += 1 }
                used.insert("\(voice)+\(variant)/\(pitch)/\(rate)")
                seedText = "tkd-demo-speaker|\(voice)|\(variant)|\(pitch)|\(rate)"
            case .flite, .festival:
                voice = engine.voices[k % engine.voices.count]
                variant = ""
                var rng = CounterRNG(seed: 0, key: ["demo-speaker", engine.rawValue, String(i)])
                pitch = SpeechEngineKind.pitchRange(voice: voice).map { rng.uniformInt($0) } ?? 0
                rate = rng.uniformInt(88...112)
                warp = (rng.uniform(0.92, 1.08) * 1000).rounded() / 1000
                while used.contains("\(engine.rawValue)/\(voice)/\(pitch)/\(rate)/\(warp)") { rate += 1 }
                used.insert("\(engine.rawValue)/\(voice)/\(pitch)/\(rate)/\(warp)")
                seedText = "tkd-demo-speaker|\(engine.rawValue)|\(voice)|\(pitch)|\(rate)|\(warp)"
            }
            let want = targetSplit(index: i, heldOut: heldOut)
            var attempt = 0
            var id = ""
            while true {
                id = String(SHA256.hex("\(seedText)|\(attempt)").prefix(8))
                if !usedIDs.contains(id), SplitRule.official.split(of: "\(id)_nohash_0.wav") == want { break }
                attempt += 1
            }
            usedIDs.insert(id)
            out.append(
                DemoSpeaker(
                    index: i, id: id, engine: engine, voice: voice, variant: variant, pitch: pitch, rate: rate,
                    warp: warp, split: want))
        }
        return out
    }
}
