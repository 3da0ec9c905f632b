import AudioIO
import DatasetFormat
import Foundation
import TKDCore
import TensorStore
import TestSupport
import Testing

@testable import Features

/// A minimal dataset folder in the manifest contract: audio files and their manifest records (no keyword,
/// no noise segments: the store reads the audio).
enum TinyDataset {
    static func make(examples: Int = 9, seconds: Double = 1.0) throws -> URL {
        let dir = TestFolder.path("feat")
        let splits = ["training", "validation", "testing"]
        var records: [ExampleRecord] = []
        var rng = CounterRNG(seed: 9, key: ["tiny-dataset"])
        for i in 0..<examples {
            let split = splits[i % 3]
            let id = String(format: "ex%03d", i)
            let n = Int(seconds * 16000) + i * 160
            let f = 300 + 100 * Double(i)
            let x = (0..<n).map { t in Float(0.3 * sin(2 * Double.pi * f * Double(t) / 16000) + 0.01 * rng.normal()) }
            let audio = "audio/\(split)/\(id).wav"
            try AudioWriter.write(x, sampleRate: 16000, to: dir.appendingPathComponent(audio))
            let sha = try SHA256.hex(fileAt: dir.appendingPathComponent(audio))
            records.append(
                ExampleRecord(
                    id: id, split: Split(rawValue: split)!, label: "tone", labelIndex: 0, sampleRate: 16000,
                    numSamples: n, audio: audio, audioSHA256: sha, keyword: nil, noise: [], snrDB: nil,
                    snrDBAchieved: nil, snrDefinition: nil, scale: 1))
        }
        for s in splits {
            try AtomicFile.write(
                try ExampleRecord.manifestData(records.filter { $0.split.rawValue == s }),
                to: dir.appendingPathComponent("manifests/\(s).jsonl"))
        }
        return dir
    }

}
