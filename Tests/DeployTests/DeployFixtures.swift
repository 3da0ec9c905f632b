import DatasetFormat
import Foundation
import Layers
import TKDCore
import TestSupport
import Training

@testable import Deploy

/// What the tests share with `Scripts/reference/onnx_parity.py`: the probe, the hashed batch-norm values, and the
/// checkpoint it exports.
enum DeployFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/onnx")
    static let labels = ["_silence_", "_unknown_"] + Recipe.speechCommands12

    /// The probe of onnx_parity.py: two 1-s examples, defined in integers.
    static func probe() -> [[Float]] {
        (0..<2).map { e in
            var state = e + 1
            return (0..<16000).map { n -> Float in
                state = (1_103_515_245 * state + 12345) % (1 << 31)
                let noise = ((state >> 8) % 65536) - 32768
                let loud = n >= 3000 + 2000 * e && n < 11000 + 2000 * e
                let amplitude = loud ? 9000 : 700
                let square = loud ? ((n / (16 + 8 * e)) % 2 == 0 ? 2500 : -2500) : 0
                // Python's // floors; Swift's / truncates: floor it the same way.
                let product = noise * amplitude
                let q = product >= 0 ? product / 32768 : -((-product + 32767) / 32768)
                let value = min(max(q + square, -32768), 32767)
                return Float(value) / 32768
            }
        }
    }

    static func fnv1a(_ text: String) -> UInt64 {
        var h: UInt64 = 0x811C_9DC5
        for b in text.utf8 { h = ((h ^ UInt64(b)) &* 0x0100_0193) % (1 << 32) }
        return h
    }

    /// onnx_parity.py's batch-norm values for tensor `name`.
    static func batchNormValues(_ name: String, count: Int) -> [Float] {
        let key = fnv1a(name)
        let leaf = name.split(separator: ".").last.map(String.init) ?? name
        return (0..<count).map { i in
            let u = Double((UInt64(i) &* 2_654_435_761 &+ key &* 97531 &+ 12345) % (1 << 32)) / 4_294_967_296
            switch leaf {
            case "gamma", "moving_variance": return Float(0.5 + u)
            case "beta": return Float(0.2 * (2 * u - 1))
            default: return Float(0.3 * (2 * u - 1))
            }
        }
    }

    /// The checkpoint onnx_parity.py exports: `tkd model init STUDENT --seconds 1`, batch norms hashed, λ 0.25.
    static func checkpoint(_ student: Student, preset: FrontEndPreset? = nil, in dir: URL) throws -> URL {
        var (model, info) = try Checkpoint.untrained(
            student: student, labels: labels, preset: preset, windowSamples: 16000)
        for p in model.parameters {
            let leaf = p.name.split(separator: ".").last.map(String.init) ?? ""
            if ["gamma", "beta", "moving_mean", "moving_variance"].contains(leaf) {
                p.value = batchNormValues(p.name, count: p.count)
            }
        }
        info.details.kdLambda = 0.25
        let url = dir.appendingPathComponent("\(student.rawValue)-\(preset?.rawValue ?? "default").safetensors")
        try Checkpoint.save(model, info: info, optimizer: nil, to: url)
        return url
    }
}
