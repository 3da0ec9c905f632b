import DatasetFormat
import Foundation
import TKDCore

/// One synthetic speaker of the demo corpus: an espeak-ng voice, variant, pitch and rate, with a
/// stable 8-hex-digit id in the Speech Commands style.
public struct DemoSpeaker: Sendable, Codable, Equatable {
    public let index: Int
    public let id: String
    /// espeak-ng voice (accent), e.g. `en-us`.
    public let voice: String
    /// espeak-ng voice variant, e.g. `m3`.
    public let variant: String
    /// espeak-ng pitch (0-99).
    public let pitch: Int
    /// espeak-ng speaking rate in words per minute.
    public let rate: Int
    /// The split the official rule gives this speaker's id.
    public let split: Split

    enum CodingKeys: String, CodingKey {
        case index, id, voice, variant, pitch, rate, split
    }

    /// English voices of espeak-ng's own (no MBROLA data needed).
    public static let voices = [
        "en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp",
        "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc",
    ]
    /// Human-sounding variants shipped with espeak-ng.
    public static let variants = ["m1", "f1", "m2", "f2", "m3", "f3", "m4", "f4", "m5", "f5", "m6", "m7"]

    /// The split wanted for speaker `index`: in every block of ten, the second is validation and the
    /// third testing, the rest training — 80/10/10 overall, and every split non-empty from 3 speakers.
    public static func targetSplit(index: Int) -> Split {
        switch index % 10 {
        case 1: return .validation
        case 2: return .testing
        default: return .training
        }
    }

    /// The first `count` speakers. Speaker `i` depends on `i` alone (not on `count` or any seed), so
    /// its id is stable across corpus sizes.
    public static func table(count: Int) -> [DemoSpeaker] {
        var out: [DemoSpeaker] = []
        var used = Set<String>()
        var usedIDs = Set<String>()
        for i in 0..<count {
            let voice = voices[i % voices.count]
            let variant = variants[(i / voices.count) % variants.count]
            var rng = CounterRNG(seed: 0, key: ["demo-speaker", String(i)])
            let pitch = rng.uniformInt(30...70)
            var rate = rng.uniformInt(135...185)
            // Speakers beyond voices × variants differ by pitch/rate; keep every combination distinct.
            while used.contains("\(voice)+\(variant)/\(pitch)/\(rate)") { rate += 1 }
            used.insert("\(voice)+\(variant)/\(pitch)/\(rate)")
            let want = targetSplit(index: i)
            var attempt = 0
            var id = ""
            while true {
                id = String(SHA256.hex("tkd-demo-speaker|\(voice)|\(variant)|\(pitch)|\(rate)|\(attempt)").prefix(8))
                if !usedIDs.contains(id), SplitRule.official.split(of: "\(id)_nohash_0.wav") == want { break }
                attempt += 1
            }
            usedIDs.insert(id)
            out.append(
                DemoSpeaker(
                    index: i, id: id, voice: voice, variant: variant, pitch: pitch,
                    rate: rate, split: want))
        }
        return out
    }
}
