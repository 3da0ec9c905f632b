import Foundation
import TestSupport
import Testing

/// End-to-end tests of the built `tkd` binary: arguments, output formats, exit codes.
@Suite("tkd corpus (end to end)")
struct CorpusCLITests {
    @Test("tkd --help lists the commands and tkd version names the C libraries")
    func help() throws {
        let help = try TKDBinary.run(["--help"])
        #expect(help.status == 0)
        #expect(help.stdout.contains("corpus"))
        let version = try TKDBinary.run(["version", "--json"])
        #expect(version.status == 0)
        let info = try JSONSerialization.jsonObject(with: Data(version.stdout.utf8)) as? [String: String]
        #expect(info?["libsndfile"]?.hasPrefix("libsndfile-") == true)
        #expect(info?["fftw3f"]?.hasPrefix("fftw-3") == true)
        #expect(info?["openblas"]?.contains("OpenBLAS") == true)
        #expect(info?["libsamplerate"]?.contains("libsamplerate") == true)
    }

    @Test("which-set prints NAME<TAB>split for arguments and for --from -")
    func whichSet() throws {
        let r = try TKDBinary.run(["corpus", "which-set", "right/bb05582b_nohash_3.wav", "right/a69b9b3e_nohash_0.wav"])
        #expect(r.status == 0)
        #expect(r.stdout == "right/bb05582b_nohash_3.wav\ttesting\nright/a69b9b3e_nohash_0.wav\tvalidation\n")
        let piped = try TKDBinary.run(["corpus", "which-set", "--from", "-"], stdin: "yes/bb05582b_nohash_0.wav\n\n")
        #expect(piped.stdout == "yes/bb05582b_nohash_0.wav\ttesting\n")
        let none = try TKDBinary.run(["corpus", "which-set"])
        #expect(none.status != 0)
        #expect(none.stderr.contains("NAME"))
    }

    @Test("demo → index: a table, JSON with every clip, and --strict on a clean corpus")
    func demoAndIndex() throws {
        let dir = TestFolder.path("demo")
        defer { try? FileManager.default.removeItem(at: dir) }
        let demo = try TKDBinary.run([
            "corpus", "demo", "--out", dir.path, "--speakers", "3", "--utterances", "1",
            "--jobs", "2", "--progress", "json",
        ])
        #expect(demo.status == 0, "\(demo.stderr)")
        #expect(demo.stdout.contains("35 words × 3 speakers"))
        let progress = demo.stderr.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(progress.last?["event"] as? String == "done")
        #expect(progress.last?["done"] as? Int == 35 * 3 + 6)

        let table = try TKDBinary.run(["corpus", "index", dir.path, "--strict"])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("version v2, splits from list-files, 35 words, 105 clips"))
        #expect(table.stdout.contains("_background_noise_/white_noise.wav  61.0 s"))
        #expect(table.stdout.contains("problems (0)"))

        let json = try TKDBinary.run(["corpus", "index", dir.path, "--json", "--jobs", "2"])
        #expect(json.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect((object?["utterances"] as? [Any])?.count == 105)
        #expect((object?["noise"] as? [Any])?.count == 6)
        #expect(object?["split_source"] as? String == "list-files")

        // A problem makes --strict fail with a one-line reason naming the file.
        try Data("junk".utf8).write(to: dir.appendingPathComponent("yes/deadbeef_nohash_0.wav"))
        let strict = try TKDBinary.run(["corpus", "index", dir.path, "--strict"])
        #expect(strict.status != 0)
        #expect(strict.stdout.contains("yes/deadbeef_nohash_0.wav  unreadable"))
        #expect(strict.stderr.contains("yes/deadbeef_nohash_0.wav"))
        let lenient = try TKDBinary.run(["corpus", "index", dir.path])
        #expect(lenient.status == 0, "problems are not fatal without --strict")
    }

    @Test("bad input exits non-zero with a one-line reason")
    func badInput() throws {
        let missing = try TKDBinary.run(["corpus", "index", "/nonexistent/corpus"])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("/nonexistent/corpus"))
        #expect(missing.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count == 1)

        let dir = TestFolder.path("few")
        defer { try? FileManager.default.removeItem(at: dir) }
        let few = try TKDBinary.run(["corpus", "demo", "--out", dir.path, "--speakers", "2"])
        #expect(few.status != 0)
        #expect(few.stderr.contains("--speakers") && few.stderr.contains("at least 3"))

        let jobs = try TKDBinary.run(["corpus", "index", "/tmp", "--jobs", "-1"])
        #expect(jobs.status != 0)
        #expect(jobs.stderr.contains("--jobs"))
    }
}
