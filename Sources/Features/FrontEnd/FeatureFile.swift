import AudioIO
import Foundation
import TensorStore

/// Features of single files (`tkd features extract`) with the checks every input gets.
public enum FeatureFile {
    /// - Throws: `FeaturesError.nonFinite` / `.tooShort` naming `path`.
    public static func features(_ samples: [Float], path: String, frontEnd: FrontEnd) throws -> [Float] {
        if let bad = samples.firstIndex(where: { !$0.isFinite }) {
            throw FeaturesError.nonFinite(path: path, index: bad)
        }
        let needed = frontEnd.config.minimumSamples
        guard samples.count >= needed else {
            throw FeaturesError.tooShort(path: path, samples: samples.count, needed: needed)
        }
        return frontEnd.features(samples)
    }

    /// Reads `url`, checks its rate against the front end (resampling it when `resample`), and returns
    /// frames × features.
    public static func extract(_ url: URL, frontEnd: FrontEnd, resample: Bool) throws -> [Float] {
        let rate = frontEnd.config.sampleRate
        let info = try AudioReader.info(url)
        if info.sampleRate != rate && !resample {
            throw FeaturesError.sampleRateMismatch(path: url.path, sampleRate: info.sampleRate, expected: rate)
        }
        let audio = try AudioReader.read(url, options: AudioReadOptions(sampleRate: rate))
        return try features(audio.samples, path: url.path, frontEnd: frontEnd)
    }
}
