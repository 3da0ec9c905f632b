import Foundation
import TKDCore
import TestSupport
import Testing

@Suite("Committed demo manifests")
struct DemoManifestTests {
    /// Fields that the plan alone determines (independent of the espeak-ng build that made the clips).
    static func planFields(_ line: Substring) throws -> String {
        var o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
        for k in ["audio_sha256", "snr_db_achieved", "scale"] { o.removeValue(forKey: k) }
        if var k = o["keyword"] as? [String: Any] {
            for f in [
                "source_sha256", "source_num_samples", "speech_onset_sample", "speech_offset_sample",
                "speech_onset_seconds", "speech_offset_seconds",
            ] { k.removeValue(forKey: f) }
            o["keyword"] = k
        }
        o["noise"] = (o["noise"] as! [[String: Any]]).map { s in
            s.filter { $0.key != "gain_db" && $0.key != "source_sha256" }
        }
        return String(decoding: try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test("Recipes/demo.yaml on the default demo corpus reproduces Manifests/demo byte for byte")
    func regenerate() throws {
        let corpus = TestFolder.path("default-corpus")
        let out = TestFolder.path("demo-manifests")
        defer { for d in [corpus, out] { try? FileManager.default.removeItem(at: d) } }
        let c = try TKDBinary.run(["corpus", "demo", "--out", corpus.path, "--jobs", "2", "-q"])
        #expect(c.status == 0, "\(c.stderr)")
        let g = try TKDBinary.run([
            "generate", "--recipe", TKDBinary.repo.appendingPathComponent("Recipes/demo.yaml").path,
            "--corpus", corpus.path, "--out", out.path, "--plan-only", "--jobs", "2", "-q",
        ])
        #expect(g.status == 0, "\(g.stderr)")
        let committed = TKDBinary.repo.appendingPathComponent("Manifests/demo")
        let recorded = try String(contentsOf: committed.appendingPathComponent("espeak-ng-version"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let demoInfo =
            try JSONSerialization.jsonObject(with: Data(contentsOf: corpus.appendingPathComponent("demo_corpus.json")))
            as! [String: Any]
        let local = demoInfo["espeak_ng_version"] as? String ?? "?"
        let exact = local == recorded
        if !exact {
            print(
                "note: espeak-ng \(local) here, \(recorded) recorded: comparing only the plan-determined fields of "
                    + "Manifests/demo"
            )
        }
        for variant in ["2s", "8s"] {
            for file in ["training.jsonl", "validation.jsonl", "testing.jsonl", "dataset.json"] {
                let want = try Data(contentsOf: committed.appendingPathComponent("\(variant)/\(file)"))
                let gotURL = out.appendingPathComponent(variant).appendingPathComponent(
                    file == "dataset.json" ? file : "manifests/\(file)")
                let got = try Data(contentsOf: gotURL)
                if exact {
                    #expect(
                        got == want,
                        """
                        \(variant)/\(file) differs from the committed copy (run Scripts/update-demo-manifests.sh \
                        after a deliberate change)
                        """
                    )
                } else if file.hasSuffix(".jsonl") {
                    let a = try String(decoding: got, as: UTF8.self).split(separator: "\n").map(Self.planFields)
                    let b = try String(decoding: want, as: UTF8.self).split(separator: "\n").map(Self.planFields)
                    #expect(a == b, "\(variant)/\(file): plan-determined fields differ")
                }
            }
        }
    }
}
