import AudioIO
import Foundation
import TKDCore
import Testing

@testable import Synthesis

/// Issue 16, point 1: the offline FSD50K stand-in — the official layout its own scanner accepts, multi-label
/// clips of variable length at 44.1 kHz, events recorded, and the same bytes whatever the number of jobs.
@Suite("FSD50K stand-in")
struct FSD50KStandInTests {
    static func build(_ jobs: Int) throws -> (URL, [FSD50KStandIn.Clip]) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("fsd-demo-\(UUID().uuidString)")
        var s = FSD50KStandIn(output: root)
        s.clips = 40
        s.seed = 3
        s.jobs = jobs
        return (root, try s.write())
    }

    static func digest(_ root: URL) throws -> [String: String] {
        var out: [String: String] = [:]
        let files = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)!
        for case let url as URL in files where !url.hasDirectoryPath {
            out[String(url.path.dropFirst(root.path.count))] = SHA256.hex(try Data(contentsOf: url))
        }
        return out
    }

    @Test("its scanner accepts it: 13 classes, multi-label clips of 0.5-8 s, events inside their clips")
    func layout() throws {
        let (root, made) = try Self.build(2)
        defer { try? FileManager.default.removeItem(at: root) }
        var scanner = FSD50KScanner()
        scanner.jobs = 2
        let index = try scanner.scan(root)
        #expect(index.problems.isEmpty, "\(index.problems.prefix(3))")
        #expect(index.vocabulary.count == 13 && index.clips.count == 40)
        #expect(Set(index.clips.map(\.subset)) == [.train, .val, .eval])
        #expect(index.clips.filter { $0.subset == .eval }.count == 8)
        #expect(index.clips.contains { $0.classes.count > 1 } && index.clips.allSatisfy { !$0.classes.isEmpty })
        #expect(index.clips.allSatisfy { $0.frames >= 22050 && $0.frames <= 8 * 44100 })
        let events = try JSONDecoder().decode(
            StandInEvents.self,
            from: Data(contentsOf: root.appendingPathComponent("FSD50K.ground_truth/events.json")))
        for clip in made {
            let listed = index.clips.first { $0.path.hasSuffix("/\(clip.fname).wav") }!
            let spans = events.events[clip.fname]!
            #expect(spans.allSatisfy { 0 <= $0.onsetSample && $0.onsetSample < $0.offsetSample })
            #expect(spans.allSatisfy { $0.offsetSample <= listed.frames })
            #expect(Set(spans.map(\.label)) == Set(listed.classes.map { index.vocabulary[$0].label }))
        }
    }

    @Test("the same bytes with 1 and 2 jobs; a rerun keeps every file")
    func deterministic() throws {
        let (a, _) = try Self.build(1), (b, _) = try Self.build(2)
        defer {
            try? FileManager.default.removeItem(at: a)
            try? FileManager.default.removeItem(at: b)
        }
        let da = try Self.digest(a), db = try Self.digest(b)
        #expect(da.count == 44 && da == db)
        var again = FSD50KStandIn(output: a)
        again.clips = 40
        again.seed = 3
        try again.write()
        let rerun = try Self.digest(a)
        #expect(rerun == da)
        // Another seed into the same folder would mix two corpora: refused, naming both settings.
        again.seed = 4
        do {
            try again.write()
            Issue.record("a stand-in with another seed was written over the first")
        } catch let e as SynthesisError {
            #expect("\(e)".contains("seed 3, 40 clips") && "\(e)".contains("now seed 4"), "\(e)")
        }
        #expect(try Self.digest(a) == da)
    }

    @Test("Speech events are espeak-ng words: voiced energy over their span, far above the noise floor")
    func speech() throws {
        let (root, made) = try Self.build(2)
        defer { try? FileManager.default.removeItem(at: root) }
        var checked = 0
        for clip in made {
            for e in clip.events where e.label == StandInEvent.speech.rawValue {
                let url = root.appendingPathComponent(
                    "\(FSD50KGroundTruth.audioFolder(clip.subset))/\(clip.fname).wav")
                let x = try AudioReader.read(url).samples[e.onsetSample..<e.offsetSample]
                let rms = (x.reduce(0.0) { $0 + Double($1 * $1) } / Double(x.count)).squareRoot()
                #expect(rms > 0.02, "clip \(clip.fname): speech RMS \(rms)")
                checked += 1
            }
        }
        #expect(checked > 0)
        // The words themselves: 30 (ten words, three voices), each a peak-normalised utterance.
        let bank = try StandInSpeech.make(rate: 44100, scratch: FileManager.default.temporaryDirectory)
        #expect(bank.words.count == 30 && bank.words.allSatisfy { $0.count > 4410 && $0.map(abs).max() == 1 })
    }
}
