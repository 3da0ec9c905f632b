import Foundation
import TestSupport
import Testing

@Suite("tkd verify (end to end)")
struct VerifyCLITests {
    struct Report: Decodable {
        struct Failure: Decodable {
            let check: String
            let id: String?
            let path: String?
            let detail: String
        }
        struct Check: Decodable {
            let name: String
            let checked: Int
            let failed: Int
            let skipped: String?
        }
        let passed: Bool
        let failures: [Failure]
        let checks: [Check]
    }

    func verify(_ dataset: URL, corpus: URL) throws -> (status: Int32, report: Report?) {
        let r = try TKDBinary.run([
            "verify", "--dataset", dataset.path, "--corpus", corpus.path, "--json", "--jobs", "2",
        ])
        return (r.status, try? JSONDecoder().decode(Report.self, from: Data(r.stdout.utf8)))
    }

    /// Replaces the first match of `pattern` (a regular expression with one integer group) in `line` by the integer +
    /// 1.
    func bump(_ text: String, key: String, in id: String) -> String {
        var lines = text.components(separatedBy: "\n")
        let i = lines.firstIndex { $0.contains("\"id\":\"\(id)\"") }!
        let regex = try! NSRegularExpression(pattern: "\"\(key)\":(\\d+)")
        let line = lines[i] as NSString
        let m = regex.firstMatch(in: lines[i], range: NSRange(location: 0, length: line.length))!
        let value = Int(line.substring(with: m.range(at: 1)))!
        lines[i] = line.replacingCharacters(in: m.range, with: "\"\(key)\":\(value + 1)")
        return lines.joined(separator: "\n")
    }

    @Test("a clean dataset passes every check; five tamperings are each named with their example or file")
    func tamper() throws {
        let sharedCorpus = try CLICorpus.small(), shared = try CLIDataset.small()
        let dir = TestFolder.path("verify")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let corpus = dir.appendingPathComponent("corpus"), dataset = dir.appendingPathComponent("dataset")
        try FileManager.default.copyItem(at: sharedCorpus, to: corpus)
        try FileManager.default.copyItem(at: shared, to: dataset)

        let clean = try verify(dataset, corpus: corpus)
        #expect(clean.status == 0 && clean.report?.passed == true, "\(clean.report?.failures.map(\.detail) ?? [])")
        let names = Set(clean.report?.checks.filter { $0.checked > 0 }.map(\.name) ?? [])
        for check in [
            "manifest.canonical", "split.speakers-disjoint", "split.noise-disjoint", "manifest.record",
            "audio.sha256",
            "audio.rerender", "keyword.locate", "snr.achieved", "source.noise-sha256",
            "features.kws-streaming-mfcc40.shards",
        ] {
            #expect(names.contains(check), "\(check) did not run")
        }

        // 1. One keyword shifted by one sample in the manifest.
        let manifest = dataset.appendingPathComponent("manifests/training.jsonl")
        let original = try String(contentsOf: manifest, encoding: .utf8)
        let line = original.components(separatedBy: "\n").first { $0.contains("\"keyword\":{") }!
        let id = (try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any])["id"] as! String
        var shifted = original
        for key in ["onset_sample", "offset_sample", "speech_onset_sample", "speech_offset_sample"] {
            shifted = bump(shifted, key: key, in: id)
        }
        try shifted.write(to: manifest, atomically: true, encoding: .utf8)
        let s = try verify(dataset, corpus: corpus)
        #expect(
            s.status != 0 && s.report?.failures.contains { $0.check == "audio.rerender" && $0.id == id } == true,
            "\(s.report?.failures.map { "\($0.check) \($0.id ?? "")" } ?? [])")
        // The locator finds the keyword where it is, one sample before the manifest's claim.
        #expect(
            s.report?.failures.contains { $0.check == "keyword.locate" && $0.id == id } == true,
            "\(s.report?.failures.map { "\($0.check) \($0.id ?? "")" } ?? [])")
        try original.write(to: manifest, atomically: true, encoding: .utf8)

        // 2. One byte of one audio file flipped.
        let wavID = id
        let wav = dataset.appendingPathComponent("audio/training/\(wavID).wav")
        var bytes = try Data(contentsOf: wav)
        bytes[bytes.count - 101] ^= 0x01
        let saved = try Data(contentsOf: wav)
        try bytes.write(to: wav)
        let b = try verify(dataset, corpus: corpus)
        #expect(
            b.status != 0 && b.report?.failures.contains { $0.check == "audio.sha256" && $0.id == wavID } == true,
            "\(b.report?.failures.map { "\($0.check) \($0.id ?? "")" } ?? [])")
        try saved.write(to: wav)

        // 3. A feature-store shard deleted.
        let store = dataset.appendingPathComponent("features/kws-streaming-mfcc40")
        let shard = try FileManager.default.contentsOfDirectory(atPath: store.path).first {
            $0.hasPrefix("shard-") && $0.hasSuffix(".safetensors")
        }!
        let shardData = try Data(contentsOf: store.appendingPathComponent(shard))
        try FileManager.default.removeItem(at: store.appendingPathComponent(shard))
        let d = try verify(dataset, corpus: corpus)
        #expect(
            d.status != 0
                && d.report?.failures.contains {
                    $0.check == "features.kws-streaming-mfcc40.shards" && ($0.path ?? "").hasSuffix(shard)
                } == true,
            "\(d.report?.failures.map { "\($0.check) \($0.path ?? "")" } ?? [])")
        try shardData.write(to: store.appendingPathComponent(shard))

        // 4. A noise file of the corpus changed.
        let noiseFolder = corpus.appendingPathComponent("_background_noise_")
        let noise = try FileManager.default.contentsOfDirectory(atPath: noiseFolder.path).filter {
            $0.hasSuffix(".wav")
        }.sorted()[0]
        var noiseBytes = try Data(contentsOf: noiseFolder.appendingPathComponent(noise))
        noiseBytes[noiseBytes.count - 7] ^= 0x10
        try noiseBytes.write(to: noiseFolder.appendingPathComponent(noise))
        let n = try verify(dataset, corpus: corpus)
        #expect(
            n.status != 0
                && n.report?.failures.contains { $0.check == "source.noise-sha256" && ($0.path ?? "").hasSuffix(noise) }
                    == true,
            "\(n.report?.failures.map { "\($0.check) \($0.path ?? "")" } ?? [])")
        noiseBytes[noiseBytes.count - 7] ^= 0x10
        try noiseBytes.write(to: noiseFolder.appendingPathComponent(noise))

        // 5. One recorded SNR moved by 0.2 dB.
        let snrLine = original.components(separatedBy: "\n").first {
            $0.contains("\"keyword\":{") && $0.contains("\"snr_db_achieved\":")
        }!
        let snrID = (try JSONSerialization.jsonObject(with: Data(snrLine.utf8)) as! [String: Any])["id"] as! String
        let snrRegex = try NSRegularExpression(pattern: "\"snr_db_achieved\":(-?[0-9.e+-]+)")
        let match = try #require(
            snrRegex.firstMatch(in: snrLine, range: NSRange(location: 0, length: (snrLine as NSString).length)))
        let recorded = try #require(Double((snrLine as NSString).substring(with: match.range(at: 1))))
        let movedLine = (snrLine as NSString).replacingCharacters(
            in: match.range, with: "\"snr_db_achieved\":\(recorded + 0.2)")
        try original.replacingOccurrences(of: snrLine, with: movedLine).write(
            to: manifest, atomically: true, encoding: .utf8)
        let snr = try verify(dataset, corpus: corpus)
        #expect(
            snr.status != 0 && snr.report?.failures.contains { $0.check == "snr.achieved" && $0.id == snrID } == true,
            "\(snr.report?.failures.map { "\($0.check) \($0.id ?? "")" } ?? [])")
        try original.write(to: manifest, atomically: true, encoding: .utf8)

        // Without --corpus the source checks are reported as skipped, the rest still run.
        let plain = try TKDBinary.run(["verify", "--dataset", dataset.path])
        #expect(
            plain.status == 0 && plain.stdout.contains("skipped  audio.rerender (no --corpus)"),
            "\(plain.stdout)\(plain.stderr)")
    }

    @Test(
        "clean datasets at the recipes' extreme SNRs (−60 and +60 dB) pass: the locator and the SNR check stay exact",
        arguments: [-60, 60])
    func extremeSNR(snr: Int) throws {
        let corpus = try CLICorpus.small()
        let dir = TestFolder.path("verify-snr")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let demo = try String(
            contentsOf: TKDBinary.repo.appendingPathComponent("Recipes/demo.yaml"), encoding: .utf8)
        let line = "  snr_db: {type: uniform, min: -5, max: 10}\n"
        #expect(demo.contains(line))
        let recipe = dir.appendingPathComponent("recipe.yaml")
        try demo.replacingOccurrences(of: line, with: "  snr_db: \(snr)\n").write(
            to: recipe, atomically: true, encoding: .utf8)
        let data = dir.appendingPathComponent("data")
        let g = try TKDBinary.run([
            "generate", "--recipe", recipe.path, "--corpus", corpus.path, "--out", data.path, "--variant", "8s",
            "--jobs", "2", "-q",
        ])
        #expect(g.status == 0, "\(g.stderr)")
        let r = try verify(data, corpus: corpus)
        #expect(r.status == 0 && r.report?.passed == true, "\(r.report?.failures.prefix(5).map(\.detail) ?? [])")
        let checks = Dictionary(uniqueKeysWithValues: (r.report?.checks ?? []).map { ($0.name, $0) })
        #expect((checks["keyword.locate"]?.checked ?? 0) > 0 && (checks["snr.achieved"]?.checked ?? 0) > 0)
    }

    @Test("a generate output folder: verify checks every variant; other commands name the variants")
    func variants() throws {
        let corpus = try CLICorpus.small()
        let dir = TestFolder.path("verify-variants")
        defer { try? FileManager.default.removeItem(at: dir) }
        let g = try TKDBinary.run([
            "generate", "--recipe", TKDBinary.repo.appendingPathComponent("Recipes/demo.yaml").path, "--corpus",
            corpus.path, "--out", dir.path, "--plan-only", "-q",
        ])
        #expect(g.status == 0, "\(g.stderr)")
        let text = try TKDBinary.run(["verify", "--dataset", dir.path, "--corpus", corpus.path, "--jobs", "2"])
        #expect(text.status == 0, "\(text.stdout)\(text.stderr)")
        #expect(
            text.stdout.contains(dir.appendingPathComponent("2s").path + ":")
                && text.stdout.contains(dir.appendingPathComponent("8s").path + ":")
                && text.stdout.contains("verify: 2 variants (2s, 8s), every check passed"), "\(text.stdout)")
        let json = try TKDBinary.run(["verify", "--dataset", dir.path, "--json"])
        #expect(json.status == 0, "\(json.stderr)")
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let variants = (object?["variants"] as? [String: [String: Any]]) ?? [:]
        #expect(Set(variants.keys) == ["2s", "8s"], "\(json.stdout)")
        #expect(variants.values.allSatisfy { $0["passed"] as? Bool == true }, "\(json.stdout)")
        let render = try TKDBinary.run(["render", "--dataset", dir.path, "--corpus", corpus.path])
        #expect(
            render.status == 1 && render.stderr.contains("holding the variants 2s, 8s")
                && render.stderr.contains(dir.appendingPathComponent("2s").path), "\(render.stderr)")
    }

    @Test("a plan-only dataset: file checks skipped, the re-render checked against the recorded SHA-256")
    func planOnly() throws {
        let corpus = try CLICorpus.small()
        let dir = TestFolder.path("verify-plan")
        defer { try? FileManager.default.removeItem(at: dir) }
        let g = try TKDBinary.run([
            "generate", "--recipe", TKDBinary.repo.appendingPathComponent("Recipes/demo.yaml").path, "--corpus",
            corpus.path,
            "--out", dir.path, "--variant", "2s", "--plan-only", "-q",
        ])
        #expect(g.status == 0, "\(g.stderr)")
        let r = try verify(dir, corpus: corpus)
        #expect(r.status == 0 && r.report?.passed == true, "\(r.report?.failures.map(\.detail) ?? [])")
        let checks = Dictionary(uniqueKeysWithValues: (r.report?.checks ?? []).map { ($0.name, $0) })
        #expect(checks["audio.sha256"]?.skipped?.contains("plan-only") == true)
        #expect((checks["audio.rerender"]?.checked ?? 0) > 0 && (checks["keyword.locate"]?.checked ?? 0) > 0)
    }
}
