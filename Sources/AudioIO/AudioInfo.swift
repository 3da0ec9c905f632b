import Foundation

/// What the header of an audio file says. Reading it does not decode the samples.
public struct AudioInfo: Sendable, Equatable, Codable {
    public let path: String
    public let frames: Int
    public let sampleRate: Int
    public let channels: Int
    /// Container, e.g. "WAV", "FLAC", "OGG".
    public let container: String
    /// Encoding, e.g. "Signed 16 bit PCM".
    public let encoding: String

    public var durationSeconds: Double { Double(frames) / Double(sampleRate) }

    enum CodingKeys: String, CodingKey {
        case path, frames, channels, container, encoding
        case sampleRate = "sample_rate"
    }
}

/// A mono signal with its sample rate.
public struct AudioBuffer: Sendable, Equatable {
    public var samples: [Float]
    public var sampleRate: Int

    public init(samples: [Float], sampleRate: Int) {
        self.samples = samples
        self.sampleRate = sampleRate
    }

    public var durationSeconds: Double { Double(samples.count) / Double(sampleRate) }
}
