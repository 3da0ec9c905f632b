import DatasetFormat
import Foundation
import TKDCore

/// The official Speech Commands split rule (TensorFlow `speech_commands/input_data.py`, `which_set`).
///
/// Based on: `which_set(filename, validation_percentage, testing_percentage)` — the file's base name
/// with everything from `_nohash_` on removed is SHA-1 hashed; the digest, as an integer, is taken
/// modulo 2^27 and scaled by 100 / (2^27 - 1); below 10 → validation, below 20 → testing, else training.
/// Every utterance of one speaker therefore lands in the same split.
public struct SplitRule: Sendable, Equatable {
    public var validationPercentage: Double
    public var testingPercentage: Double

    public static let official = SplitRule(validationPercentage: 10, testingPercentage: 10)

    /// `MAX_NUM_WAVS_PER_CLASS` in the reference code.
    static let maxNumWavsPerClass: UInt64 = (1 << 27) - 1

    public init(validationPercentage: Double, testingPercentage: Double) {
        self.validationPercentage = validationPercentage
        self.testingPercentage = testingPercentage
    }

    /// The name that is hashed: the base name with `_nohash_` and everything after it removed.
    public static func hashName(_ filename: String) -> String {
        let base = filename.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? filename
        if let r = base.range(of: "_nohash_") { return String(base[..<r.lowerBound]) }
        return base
    }

    /// The percentage in [0, 100] that decides the split.
    public static func percentageHash(_ filename: String) -> Double {
        let digest = SHA1.digest(Array(hashName(filename).utf8))
        // int(hexdigest, 16) % 2^27 keeps the digest's lowest 27 bits: the last 4 bytes, masked.
        var low: UInt64 = 0
        for b in digest.suffix(4) { low = low << 8 | UInt64(b) }
        let modded = low % (maxNumWavsPerClass + 1)
        return Double(modded) * (100.0 / Double(maxNumWavsPerClass))
    }

    /// The split of a file (a path or a base name; only the base name counts).
    public func split(of filename: String) -> Split {
        let p = Self.percentageHash(filename)
        if p < validationPercentage { return .validation }
        if p < testingPercentage + validationPercentage { return .testing }
        return .training
    }
}
