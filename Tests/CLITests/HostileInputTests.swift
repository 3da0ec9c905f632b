import Foundation
import TKDCore
import TestSupport
import Testing

/// Crafted inputs for every reader — audio, YAML, JSONL, safetensors, Hugging Face folders, imports,
/// checkpoints, environment variables — each run through the `tkd` command that meets it. Every case must end
/// with a non-zero exit below 128 (not a signal, not a hang), a message naming the file (or variable) and the
/// field, and a sentinel file beside the roots unchanged: nothing a file names may lead a command out of its
/// dataset, corpus, noise base, runs or store folder. (`.npy` is read only by the test fixtures' loader; its
/// hostile headers are in the TensorStore tests.)
@Suite("Hostile inputs", .serialized)
struct HostileInputTests {
    /// A case's folder: `root/` holding `sentinel.wav` and, when asked, copies of the shared dataset and corpus.
    final class Sandbox {
        let root: URL
        let sentinel: URL
        static let sentinelBytes = Data("sentinel: nothing may write, truncate or replace this file\n".utf8)

        init(_ name: String) throws {
            root = try TestFolder.make("hostile-\(name)")
            sentinel = root.appendingPathComponent("sentinel.wav")
            try Self.sentinelBytes.write(to: sentinel)
        }

        deinit { try? FileManager.default.removeItem(at: root) }

        lazy var dataset: URL = {
            let url = root.appendingPathComponent("dataset")
            try! FileManager.default.copyItem(at: try! CLIDataset.small(), to: url)
            return url
        }()

        lazy var corpus: URL = {
            let url = root.appendingPathComponent("corpus")
            try! FileManager.default.copyItem(at: try! CLICorpus.small(), to: url)
            return url
        }()

        var runs: URL { root.appendingPathComponent("runs") }

        func file(_ name: String, _ text: String) throws -> URL {
            let url = root.appendingPathComponent(name)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
            return url
        }

        /// Names at the top of `root`: the roots a case made and the sentinel, nothing else.
        var topLevel: Set<String> { Set((try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []) }

        // MARK: Editing a dataset

        func manifest(_ split: String = "training") -> URL {
            dataset.appendingPathComponent("manifests/\(split).jsonl")
        }

        /// Rewrites the first record of `split` that `matching` accepts.
        @discardableResult
        func editRecord(
            _ split: String = "training", matching: ([String: Any]) -> Bool = { $0["keyword"] is [String: Any] },
            _ edit: (inout [String: Any]) -> Void
        ) throws -> String {
            var lines = try String(contentsOf: manifest(split), encoding: .utf8).split(separator: "\n").map(String.init)
            let i = try #require(
                lines.firstIndex { matching(try! JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any]) })
            var record = try JSONSerialization.jsonObject(with: Data(lines[i].utf8)) as! [String: Any]
            edit(&record)
            lines[i] = String(
                decoding: try JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]), as: UTF8.self)
            try (lines.joined(separator: "\n") + "\n").write(to: manifest(split), atomically: true, encoding: .utf8)
            return record["id"] as! String
        }

        func editKeyword(_ edit: @escaping (inout [String: Any]) -> Void) throws -> String {
            try editRecord { r in
                var k = r["keyword"] as! [String: Any]
                edit(&k)
                r["keyword"] = k
            }
        }

        func editNoise(_ edit: @escaping (inout [String: Any]) -> Void) throws -> String {
            try editRecord(matching: { !(($0["noise"] as? [Any]) ?? []).isEmpty }) { r in
                var segments = r["noise"] as! [[String: Any]]
                edit(&segments[0])
                r["noise"] = segments
            }
        }

        func editJSON(_ url: URL, _ edit: (inout [String: Any]) -> Void) throws {
            var o = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
            edit(&o)
            try JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .prettyPrinted]).write(to: url)
        }

        var info: URL { dataset.appendingPathComponent("dataset.json") }
        var store: URL { dataset.appendingPathComponent("features/kws-streaming-mfcc40") }
        var index: URL { store.appendingPathComponent("index.json") }

        /// The store's first shard file.
        var shard: URL {
            let names = try! FileManager.default.contentsOfDirectory(atPath: store.path)
            return store.appendingPathComponent(names.filter { $0.hasSuffix(".safetensors") }.sorted()[0])
        }

        /// Replaces a shard's bytes and records their SHA-256 in the index, as a careful forger would, so that
        /// the shard's parser (not only the hash check) meets the bytes.
        func forgeShard(_ data: Data) throws {
            let url = shard
            try data.write(to: url)
            try editJSON(index) { o in
                var shards = o["shards"] as! [[String: Any]]
                for i in shards.indices where shards[i]["file"] as? String == url.lastPathComponent {
                    shards[i]["sha256"] = SHA256.hex(data)
                    shards[i]["bytes"] = data.count
                }
                o["shards"] = shards
            }
        }
    }

    /// A safetensors file: 8-byte little-endian header length, the JSON header, the data.
    static func safetensors(header: String, data: Data = Data(), length: UInt64? = nil) -> Data {
        var out = Data()
        var n = (length ?? UInt64(header.utf8.count)).littleEndian
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(Data(header.utf8))
        out.append(data)
        return out
    }

    /// A run of `tkd` that must refuse: non-zero exit below 128, no signal, no hang, a message holding every
    /// string of `mentions`, the sentinel and the roots' neighbourhood unchanged.
    static func refuses(
        _ box: Sandbox, _ arguments: [String], mentions: [String], environment: [String: String] = [:],
        timeout: Double = 240, sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let before = box.topLevel
        let r = try TKDBinary.run(arguments, environment: environment, timeout: timeout)
        // TKD_HOSTILE_MESSAGES=FILE collects every case's message (for the "Bad input" table of Docs/reliability.md).
        if let log = ProcessInfo.processInfo.environment["TKD_HOSTILE_MESSAGES"],
            let handle = FileHandle(forWritingAtPath: log)
                ?? {
                    FileManager.default.createFile(atPath: log, contents: nil)
                    return FileHandle(forWritingAtPath: log)
                }()
        {
            handle.seekToEndOfFile()
            let line = r.stderr.split(separator: "\n").first.map(String.init) ?? ""
            handle.write(Data("\(arguments.prefix(2).joined(separator: " "))\t\(r.status)\t\(line)\n".utf8))
            handle.closeFile()
        }
        let how = (r.signalled ? " (signal)" : "") + (r.timedOut ? " (timed out)" : "")
        let context =
            "tkd \(arguments.prefix(2).joined(separator: " ")) → status \(r.status)\(how): "
            + "\(r.stderr)\(r.stdout.suffix(400))"
        #expect(
            !r.signalled && !r.timedOut && (1...127).contains(r.status), "\(context)", sourceLocation: sourceLocation)
        for m in mentions {
            #expect(
                r.stderr.contains(m) || r.stdout.contains(m), "'\(m)' not named: \(context)",
                sourceLocation: sourceLocation)
        }
        #expect(
            try Data(contentsOf: box.sentinel) == Sandbox.sentinelBytes, "the sentinel changed: \(context)",
            sourceLocation: sourceLocation)
        #expect(
            box.topLevel.subtracting(before).subtracting(["runs", "out", "model"]).isEmpty,
            "new files beside the roots: \(box.topLevel.subtracting(before).sorted()) after \(context)",
            sourceLocation: sourceLocation)
    }

    /// The same, for `tkd verify`: exit 1 with the check and the example named in the report.
    static func verifyFails(
        _ box: Sandbox, check: String, id: String? = nil, corpus: Bool = true,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        var args = ["verify", "--dataset", box.dataset.path, "--json"]
        if corpus { args += ["--corpus", box.corpus.path] }
        let r = try TKDBinary.run(args, timeout: 240)
        let context = "status \(r.status)\(r.signalled ? " (signal)" : ""): \(r.stderr)\(r.stdout.prefix(3000))"
        #expect(!r.signalled && !r.timedOut && r.status == 1, "\(context)", sourceLocation: sourceLocation)
        let report = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        let failures = (report?["failures"] as? [[String: Any]]) ?? []
        #expect(
            failures.contains { $0["check"] as? String == check && (id == nil || $0["id"] as? String == id) },
            "no \(check) failure for \(id ?? "any id"): \(context)", sourceLocation: sourceLocation)
        #expect(try Data(contentsOf: box.sentinel) == Sandbox.sentinelBytes, sourceLocation: sourceLocation)
    }

    static let recipe = TKDBinary.repo.appendingPathComponent("Recipes/demo.yaml").path

    // MARK: Paths that lead out of their root

    @Test("render: a manifest's audio path climbing out of the dataset, or absolute, is refused before any write")
    func renderAudioEscapes() throws {
        for hostile in ["../sentinel.wav", "audio/../../sentinel.wav", "/SENTINEL"] {
            let box = try Sandbox("render-audio")
            let value = hostile == "/SENTINEL" ? box.sentinel.path : hostile
            let id = try box.editRecord { $0["audio"] = value }
            try Self.refuses(
                box, ["render", "--dataset", box.dataset.path, "--corpus", box.corpus.path, "-q"],
                mentions: ["training.jsonl", id, "'audio'"])
        }
    }

    @Test("render: a file tkd did not make at an example's path is kept, not replaced")
    func renderForeignFile() throws {
        let box = try Sandbox("render-foreign")
        let wav = box.dataset.appendingPathComponent("audio/training")
        let name = try FileManager.default.contentsOfDirectory(atPath: wav.path).sorted()[0]
        let foreign = Data("a user's file, not a rendered example\n".utf8)
        try foreign.write(to: wav.appendingPathComponent(name))
        try Self.refuses(
            box, ["render", "--dataset", box.dataset.path, "--corpus", box.corpus.path, "-q"],
            mentions: [name, "refusing to replace"])
        #expect(try Data(contentsOf: wav.appendingPathComponent(name)) == foreign)
    }

    @Test("render and features: keyword sources and audio leading out of their roots, or to a device, are refused")
    func sourceEscapes() throws {
        for hostile in ["../sentinel.wav", "/dev/zero"] {
            let box = try Sandbox("keyword-source")
            let id = try box.editKeyword { $0["source"] = hostile }
            try Self.refuses(
                box, ["render", "--dataset", box.dataset.path, "--corpus", box.corpus.path, "-q"],
                mentions: ["training.jsonl", id, "keyword.source"], timeout: 120)
        }
        // An audio file that is a symbolic link out of the dataset.
        let box = try Sandbox("audio-symlink")
        let folder = box.dataset.appendingPathComponent("audio/training")
        let name = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()[0]
        try FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        try FileManager.default.createSymbolicLink(
            at: folder.appendingPathComponent(name), withDestinationURL: box.sentinel)
        try FileManager.default.removeItem(at: box.store)
        try Self.refuses(
            box, ["features", "--dataset", box.dataset.path, "--preset", "kws-streaming-mfcc40", "-q"],
            mentions: [name.replacingOccurrences(of: ".wav", with: ""), "symbolic link"], timeout: 120)
    }

    @Test("render: noise sources in dataset.json that climb out, are absolute without --recipe, or repeat")
    func noiseSources() throws {
        let cases: [(name: String, key: String, value: Any, mentions: [String])] = [
            ("climb", "source", "../../sentinel.wav", ["noise_files[0].source", ".."]),
            ("device", "source", "/dev/zero", ["/dev/zero", "--recipe"]),
            (
                "regions", "regions", ["training": [10, 5], "validation": [0, 0], "testing": [0, 0]],
                ["noise_files[0].regions.training"]
            ),
            ("length", "num_samples", -4, ["noise_files[0].num_samples", "-4"]),
        ]
        for (name, key, value, mentions) in cases {
            let box = try Sandbox("noise-\(name)")
            try box.editJSON(box.info) { o in
                var files = o["noise_files"] as! [[String: Any]]
                files[0][key] = value
                o["noise_files"] = files
            }
            try Self.refuses(
                box, ["render", "--dataset", box.dataset.path, "--corpus", box.corpus.path, "-q"],
                mentions: ["dataset.json"] + mentions, timeout: 120)
        }
        let box = try Sandbox("noise-repeat")
        try box.editJSON(box.info) { o in
            let files = o["noise_files"] as! [[String: Any]]
            o["noise_files"] = files + [files[0]]
        }
        try Self.refuses(
            box, ["render", "--dataset", box.dataset.path, "--corpus", box.corpus.path, "-q"],
            mentions: ["dataset.json", "noise_files[", "again"])
    }

    @Test("train: a run name leading out of --runs, from the config or --name, is refused")
    func runNameEscapes() throws {
        let box = try Sandbox("run-name")
        let config = try box.file("escape.yaml", "name: ../escaped\nstudent: tc-resnet\nsteps: 2\n")
        try Self.refuses(
            box, ["train", "--dataset", box.dataset.path, "--config", config.path, "--runs", box.runs.path, "-q"],
            mentions: ["escape.yaml", "name", "../escaped"])
        let plain = try box.file("plain.yaml", "student: tc-resnet\nsteps: 2\n")
        for name in ["../escaped", "/tmp/escaped", ".."] {
            try Self.refuses(
                box,
                [
                    "train", "--dataset", box.dataset.path, "--config", plain.path, "--runs", box.runs.path, "--name",
                    name, "-q",
                ],
                mentions: ["--name", name])
        }
        #expect(!FileManager.default.fileExists(atPath: box.root.appendingPathComponent("escaped").path))
    }

    @Test("store index: a shard named outside the store, or an entry of no listed shard, is refused")
    func storeIndexEscapes() throws {
        let box = try Sandbox("index-escape")
        try box.editJSON(box.index) { o in
            var shards = o["shards"] as! [[String: Any]]
            shards[0]["file"] = "../../../sentinel.wav"
            o["shards"] = shards
        }
        let config = try box.file("tc.yaml", "student: tc-resnet\nsteps: 2\n")
        try Self.refuses(
            box, ["train", "--dataset", box.dataset.path, "--config", config.path, "--runs", box.runs.path, "-q"],
            mentions: ["index.json", "shards[].file", "../../../sentinel.wav"])
        // verify reads the same index through the same checks: a failure, nothing read outside the store.
        try Self.verifyFails(box, check: "features.kws-streaming-mfcc40.index", corpus: false)
        let box2 = try Sandbox("index-entry")
        try box2.editJSON(box2.index) { o in
            var entries = o["entries"] as! [String: [String: Any]]
            let key = entries.keys.sorted()[0]
            entries[key]!["shard"] = "shard-99999.safetensors"
            o["entries"] = entries
        }
        let config2 = try box2.file("tc.yaml", "student: tc-resnet\nsteps: 2\n")
        try Self.refuses(
            box2, ["train", "--dataset", box2.dataset.path, "--config", config2.path, "--runs", box2.runs.path, "-q"],
            mentions: ["index.json", "shard-99999.safetensors"])
    }

    // MARK: Manifest records (JSONL)

    @Test("features and render: records whose windows, segments or fades leave the example are refused by field")
    func recordBounds() throws {
        let cases: [(String, (Sandbox) throws -> String, String)] = [
            (
                "onset",
                {
                    try $0.editKeyword { k in
                        k["onset_sample"] = Int.max - 10
                        k["offset_sample"] = Int.max
                    }
                }, "keyword.onset_sample"
            ),
            ("speech", { try $0.editKeyword { k in k["speech_onset_sample"] = -5 } }, "keyword.speech_onset_sample"),
            (
                "segment", { try $0.editNoise { s in s["dest_start_sample"] = Int.max - 3 } },
                "noise[0].dest_start_sample"
            ),
            ("negative", { try $0.editNoise { s in s["num_samples"] = -100 } }, "noise[0].dest_start_sample"),
            (
                "fades",
                {
                    try $0.editNoise { s in
                        s["fade_in_samples"] = Int.max
                        s["fade_out_samples"] = Int.max
                    }
                }, "noise[0].fade_in_samples"
            ),
            ("length", { try $0.editRecord { r in r["num_samples"] = 1_000_000_000_000 } }, "num_samples"),
            ("rate", { try $0.editRecord { r in r["sample_rate"] = 0 } }, "sample_rate"),
            ("id", { try $0.editRecord { r in r["id"] = "../escape" } }, "'id'"),
            ("scale", { try $0.editRecord { r in r["scale"] = -1.0 } }, "scale"),
        ]
        // Render and features take turns: both read the manifests through the one record validation.
        for (n, (name, edit, field)) in cases.enumerated() {
            let box = try Sandbox("record-\(name)")
            let id = try edit(box)
            let command =
                n % 2 == 0
                ? ["render", "--dataset", box.dataset.path, "--corpus", box.corpus.path, "-q"]
                : ["features", "--dataset", box.dataset.path, "--preset", "kws-streaming-mfcc20", "-q"]
            try Self.refuses(box, command, mentions: ["training.jsonl", id, field])
        }
    }

    @Test("features: a manifest line that is not a record names the file and line")
    func manifestSyntax() throws {
        let box = try Sandbox("manifest-syntax")
        var text = try String(contentsOf: box.manifest("validation"), encoding: .utf8)
        text += "{\"id\": \"x\", \"split\": \n"
        try text.write(to: box.manifest("validation"), atomically: true, encoding: .utf8)
        try Self.refuses(
            box, ["features", "--dataset", box.dataset.path, "--preset", "kws-streaming-mfcc20", "-q"],
            mentions: ["validation.jsonl", ":\(text.split(separator: "\n").count)"])
    }

    @Test("verify: tampered records are failures naming the example, never a trap")
    func verifyTamperedRecords() throws {
        let cases: [(String, (Sandbox) throws -> String)] = [
            (
                "onset",
                {
                    try $0.editKeyword { k in
                        k["onset_sample"] = Int.max - 10
                        k["offset_sample"] = Int.max
                    }
                }
            ),
            ("speech", { try $0.editKeyword { k in k["speech_offset_sample"] = Int.max } }),
            ("segment", { try $0.editNoise { s in s["dest_start_sample"] = -7 } }),
            ("fades", { try $0.editNoise { s in s["fade_in_samples"] = Int.max - 1 } }),
            ("source", { try $0.editNoise { s in s["source_start_sample"] = Int.max } }),
            ("path", { try $0.editKeyword { k in k["source"] = "/dev/zero" } }),
        ]
        for (name, edit) in cases {
            let box = try Sandbox("verify-\(name)")
            let id = try edit(box)
            try Self.verifyFails(box, check: "manifest.record", id: id)
        }
    }

    @Test("verify: a corpus noise file that is a symbolic link out of the corpus is a failure, not read")
    func verifyNoiseSymlink() throws {
        let box = try Sandbox("verify-noise-link")
        let folder = box.corpus.appendingPathComponent("_background_noise_")
        let name = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".wav") }
            .sorted()[0]
        try FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        try FileManager.default.createSymbolicLink(
            at: folder.appendingPathComponent(name), withDestinationURL: box.sentinel)
        try Self.verifyFails(box, check: "source.noise-sha256")
    }

    @Test("dataset.json: garbled, a zero rate or repeated labels are named by file and field")
    func datasetInfo() throws {
        let config = "student: tc-resnet\nsteps: 2\n"
        let box = try Sandbox("info-truncated")
        let text = try Data(contentsOf: box.info)
        try text.prefix(text.count / 2).write(to: box.info)
        let c = try box.file("tc.yaml", config)
        try Self.refuses(
            box, ["train", "--dataset", box.dataset.path, "--config", c.path, "--runs", box.runs.path, "-q"],
            mentions: ["dataset.json", "unreadable"])
        let r = try TKDBinary.run(["train", "--dataset", box.dataset.path, "--config", c.path, "--runs", box.runs.path])
        #expect(!r.stderr.contains("render:"), "\(r.stderr)")

        let box2 = try Sandbox("info-rate")
        try box2.editJSON(box2.info) { $0["sample_rate"] = 0 }
        let c2 = try box2.file("tc.yaml", config)
        try Self.refuses(
            box2, ["train", "--dataset", box2.dataset.path, "--config", c2.path, "--runs", box2.runs.path, "-q"],
            mentions: ["dataset.json", "sample_rate", "is 0"])

        let box3 = try Sandbox("info-labels")
        try box3.editJSON(box3.info) { o in
            let labels = o["labels"] as! [String]
            o["labels"] = labels + [labels[0]]
        }
        let c3 = try box3.file("tc.yaml", config)
        try Self.refuses(
            box3, ["train", "--dataset", box3.dataset.path, "--config", c3.path, "--runs", box3.runs.path, "-q"],
            mentions: ["dataset.json", "labels", "repeats"])
    }

    @Test("FIFOs and devices under trusted names (a manifest, a config, a teacher's config.json) are refused")
    func fifos() throws {
        let box = try Sandbox("fifo")
        let manifest = box.manifest("validation")
        try FileManager.default.removeItem(at: manifest)
        #expect(mkfifo(manifest.path, 0o644) == 0)
        try Self.refuses(
            box, ["features", "--dataset", box.dataset.path, "--preset", "kws-streaming-mfcc20", "-q"],
            mentions: ["validation.jsonl", "FIFO"], timeout: 60)
        try Self.refuses(
            box, ["train", "--dataset", box.dataset.path, "--config", "/dev/zero", "--runs", box.runs.path, "-q"],
            mentions: ["/dev/zero", "regular file"], timeout: 60)
        let model = box.root.appendingPathComponent("teacher")
        try FileManager.default.copyItem(
            at: TKDBinary.repo.appendingPathComponent("Tests/TeacherTests/Fixtures/base"), to: model)
        try FileManager.default.removeItem(at: model.appendingPathComponent("config.json"))
        #expect(mkfifo(model.appendingPathComponent("config.json").path, 0o644) == 0)
        try Self.refuses(
            box,
            [
                "teacher", "attentions", "--teacher", model.path, box.sentinel.path, "--out",
                box.root.appendingPathComponent("out").path,
            ],
            mentions: ["config.json", "FIFO"], timeout: 60)
    }

    // MARK: Audio

    @Test("features: corrupt audio, and a FLAC header claiming 2^36 frames, get a message, no allocation")
    func audioFiles() throws {
        let box = try Sandbox("audio-corrupt")
        let folder = box.dataset.appendingPathComponent("audio/validation")
        let name = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()[0]
        try Data("RIFF\u{0}\u{0}\u{0}\u{0}WAVEgarbage".utf8).write(to: folder.appendingPathComponent(name))
        try FileManager.default.removeItem(at: box.store)
        try Self.refuses(
            box, ["features", "--dataset", box.dataset.path, "--preset", "kws-streaming-mfcc40", "-q"],
            mentions: [name])

        // fLaC, a last-block STREAMINFO: block sizes 4096, 16 kHz, mono, 16 bits, 2^36 − 1 samples, no frames.
        var flac = Data("fLaC".utf8)
        flac += Data([0x80, 0x00, 0x00, 0x22])
        flac += Data([0x10, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00])
        // 20 bits rate (16000 = 0x03E80), 3 bits channels−1 (0), 5 bits bits−1 (15), 36 bits total samples.
        let rate: UInt64 = 16_000, total: UInt64 = (1 << 36) - 1
        let packed: UInt64 = (rate << 44) | (0 << 41) | (15 << 36) | total
        flac += Data((0..<8).map { UInt8(truncatingIfNeeded: packed >> (56 - 8 * $0)) })
        flac += Data(repeating: 0, count: 16)  // MD5
        let liar = box.root.appendingPathComponent("liar.flac")
        try flac.write(to: liar)
        try Self.refuses(
            box,
            [
                "features", "extract", liar.path, "--preset", "kws-streaming-mfcc40", "--out",
                box.root.appendingPathComponent("out").path,
            ],
            mentions: ["liar.flac"], timeout: 60)
    }

    // MARK: YAML

    @Test("recipes and configs: typos, escaping noise folders, zero or overflowing sizes, non-mappings")
    func yaml() throws {
        let box = try Sandbox("yaml")
        let recipeText = try String(contentsOfFile: Self.recipe, encoding: .utf8)
        let typo = try box.file("typo.yaml", recipeText.replacingOccurrences(of: "max_peak:", with: "max_peek:"))
        try Self.refuses(
            box,
            [
                "generate", "--recipe", typo.path, "--corpus", box.corpus.path, "--out",
                box.root.appendingPathComponent("out").path, "-q",
            ],
            mentions: ["typo.yaml", "max_peek"])
        let climb = try box.file(
            "climb.yaml",
            recipeText.replacingOccurrences(of: "sources: [background_noise]", with: "sources: [../../noise]"))
        try Self.refuses(
            box,
            [
                "generate", "--recipe", climb.path, "--corpus", box.corpus.path, "--out",
                box.root.appendingPathComponent("out").path, "-q",
            ],
            mentions: ["climb.yaml", "sources", "../../noise"])
        let list = try box.file("list.yaml", "- student: tc-resnet\n")
        try Self.refuses(
            box, ["train", "--dataset", box.dataset.path, "--config", list.path, "--runs", box.runs.path, "-q"],
            mentions: ["list.yaml"])
        let teacherText = try String(
            contentsOf: TKDBinary.repo.appendingPathComponent("Recipes/teacher/demo.yaml"), encoding: .utf8)
        for (name, line, hostile, field) in [
            ("heads", "  heads: 4\n", "  heads: 0\n", "heads"),
            ("stride", "  conv_stride: [160, 2]\n", "  conv_stride: [100000, 100000]\n", "conv_stride"),
            ("groups", "  positional_groups: 4\n", "  positional_groups: 0\n", "positional_groups"),
        ] {
            #expect(teacherText.contains(line), "Recipes/teacher/demo.yaml no longer has '\(line)'")
            let c = try box.file("teacher-\(name).yaml", teacherText.replacingOccurrences(of: line, with: hostile))
            try Self.refuses(
                box,
                [
                    "teacher", "train", "--dataset", box.dataset.path, "--config", c.path, "--out",
                    box.root.appendingPathComponent("model").path, "-q",
                ],
                mentions: ["teacher-\(name).yaml", field])
        }
    }

    // MARK: Safetensors

    @Test("feature shards: a 2^63 header length, overflowing shapes, overlapping offsets, changed bytes")
    func shards() throws {
        let config = "student: tc-resnet\nsteps: 2\n"
        let forged: [(String, Data, [String])] = [
            ("huge-header", Self.safetensors(header: "{}", length: 1 << 63), ["header"]),
            (
                "overflow",
                Self.safetensors(
                    header: #"{"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,0]}}"#),
                ["shape"]
            ),
            (
                "negative",
                Self.safetensors(
                    header: #"{"a":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,16]}}"#, data: Data(count: 16)),
                ["shape"]
            ),
            (
                "overlap",
                Self.safetensors(
                    header: #"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"#
                        + #""b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#,
                    data: Data(count: 24)), ["'b'", "overlap"]
            ),
        ]
        for (name, data, mentions) in forged {
            let box = try Sandbox("shard-\(name)")
            let shardName = box.shard.lastPathComponent
            try box.forgeShard(data)
            let c = try box.file("tc.yaml", config)
            try Self.refuses(
                box, ["train", "--dataset", box.dataset.path, "--config", c.path, "--runs", box.runs.path, "-q"],
                mentions: [shardName] + mentions)
        }
        // verify parses intact shards too: a forged shard with a matching index is a failure there as well.
        let forgedBox = try Sandbox("shard-verify")
        try forgedBox.forgeShard(Self.safetensors(header: "{}"))
        try Self.verifyFails(forgedBox, check: "features.kws-streaming-mfcc40.tensors", corpus: false)
        // One byte of a shard changed, the index not updated: the shard hash is checked before training.
        let box = try Sandbox("shard-bytes")
        var bytes = try Data(contentsOf: box.shard)
        bytes[bytes.count - 5] ^= 0x40
        let shardName = box.shard.lastPathComponent
        try bytes.write(to: box.shard)
        let c = try box.file("tc.yaml", config)
        try Self.refuses(
            box, ["train", "--dataset", box.dataset.path, "--config", c.path, "--runs", box.runs.path, "-q"],
            mentions: [shardName, "SHA-256"])
    }

    @Test("feature index: fewer frames than CRNN needs, or a shape the tensors do not have, is refused")
    func storeShapes() throws {
        let box = try Sandbox("frames")
        try box.editJSON(box.index) { o in
            var entries = o["entries"] as! [String: [String: Any]]
            for k in entries.keys { entries[k]!["shape"] = [3, 40] }
            o["entries"] = entries
        }
        let crnn = try box.file("crnn.yaml", "student: crnn\nfeatures: kws-streaming-mfcc40\nsteps: 2\n")
        try Self.refuses(
            box, ["train", "--dataset", box.dataset.path, "--config", crnn.path, "--runs", box.runs.path, "-q"],
            mentions: ["index.json", "[3, 40]"])

        // Every index shape one frame longer than the tensors: reading would run past each tensor.
        let box2 = try Sandbox("read-past")
        var frames = 0
        try box2.editJSON(box2.index) { o in
            var entries = o["entries"] as! [String: [String: Any]]
            for k in entries.keys {
                let shape = entries[k]!["shape"] as! [Int]
                frames = shape[0]
                entries[k]!["shape"] = [shape[0] + 1, shape[1]]
            }
            o["entries"] = entries
        }
        let checkpoint = try Self.trainedCheckpoint()
        try Self.refuses(
            box2,
            [
                "evaluate", "--dataset", box2.dataset.path, "--checkpoint", checkpoint.path, "--out",
                box2.root.appendingPathComponent("out").path,
            ],
            mentions: ["shape", "[\(frames), 40]"])
        let c = try box2.file("tc.yaml", "student: tc-resnet\nsteps: 2\n")
        try Self.refuses(
            box2, ["train", "--dataset", box2.dataset.path, "--config", c.path, "--runs", box2.runs.path, "-q"],
            mentions: ["shape", "[\(frames), 40]"])
    }

    // MARK: Hugging Face folders

    @Test("teacher folders: zero heads, zero groups, a zero stride, a broken config, a huge weights header")
    func huggingFace() throws {
        let base = TKDBinary.repo.appendingPathComponent("Tests/TeacherTests/Fixtures/base")
        let cases: [(String, (inout [String: Any]) -> Void, String)] = [
            ("heads", { $0["num_attention_heads"] = 0 }, "num_attention_heads"),
            ("groups", { $0["num_conv_pos_embedding_groups"] = 0 }, "num_conv_pos_embedding_groups"),
            (
                "stride",
                { o in
                    var s = o["conv_stride"] as! [Int]
                    s[0] = 0
                    o["conv_stride"] = s
                }, "conv_stride"
            ),
            ("hidden", { $0["hidden_size"] = -8 }, "hidden_size"),
            ("labels", { $0["num_labels"] = 0 }, "num_labels"),
        ]
        for (name, edit, field) in cases {
            let box = try Sandbox("hf-\(name)")
            let model = box.root.appendingPathComponent("teacher")
            try FileManager.default.copyItem(at: base, to: model)
            try box.editJSON(model.appendingPathComponent("config.json"), edit)
            try Self.refuses(
                box, ["teacher", "cache", "--dataset", box.dataset.path, "--teacher", model.path, "-q"],
                mentions: ["config.json", field])
        }
        let box = try Sandbox("hf-weights")
        let model = box.root.appendingPathComponent("teacher")
        try FileManager.default.copyItem(at: base, to: model)
        try Self.safetensors(header: "{}", length: UInt64.max).write(
            to: model.appendingPathComponent("model.safetensors"))
        try Self.refuses(
            box, ["teacher", "cache", "--dataset", box.dataset.path, "--teacher", model.path, "-q"],
            mentions: ["model.safetensors", "header"])
        try Data("{\"hidden_size\": ".utf8).write(to: model.appendingPathComponent("config.json"))
        try Self.refuses(
            box, ["teacher", "cache", "--dataset", box.dataset.path, "--teacher", model.path, "-q"],
            mentions: ["config.json"])
    }

    @Test("teacher train --out over a model folder it did not make is refused, the folder untouched")
    func teacherOut() throws {
        let box = try Sandbox("teacher-out")
        let model = box.root.appendingPathComponent("model")
        try FileManager.default.copyItem(
            at: TKDBinary.repo.appendingPathComponent("Tests/TeacherTests/Fixtures/base"), to: model)
        let before = try TestFolder.digests(model)
        try Self.refuses(
            box,
            [
                "teacher", "train", "--dataset", box.dataset.path, "--config",
                TKDBinary.repo.appendingPathComponent("Recipes/teacher/demo.yaml").path, "--out", model.path, "-q",
            ],
            mentions: [model.path, "config.json", "refusing to overwrite"])
        #expect(try TestFolder.digests(model) == before)
    }

    // MARK: Imports

    @Test("imports: an empty or negative rollout, a huge frame_hop, a link out of the folder")
    func imports() throws {
        func exportFolder(_ box: Sandbox, rollout: [Float]?, linkFirst: Bool = false) throws -> (URL, String) {
            let folder = box.root.appendingPathComponent("exports")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            // Ready rollouts say their row (else every file is refused for that, not for what it holds).
            try Data(#"{"rollout_row": "mean"}"#.utf8).write(to: folder.appendingPathComponent("import.json"))
            var ids: [(String, Int)] = []
            for split in ["training", "validation", "testing"] {
                for line in try String(contentsOf: box.manifest(split), encoding: .utf8).split(separator: "\n") {
                    let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                    ids.append((o["id"] as! String, o["num_samples"] as! Int))
                }
            }
            ids.sort { $0.0 < $1.0 }
            for (n, (id, samples)) in ids.enumerated() {
                let url = folder.appendingPathComponent("\(id).safetensors")
                if n == 0 && linkFirst {
                    try FileManager.default.createSymbolicLink(at: url, withDestinationURL: box.sentinel)
                    continue
                }
                let v: [Float] =
                    n == 0 && rollout != nil ? rollout! : [Float](repeating: 320 / Float(samples), count: samples / 320)
                var data = Data()
                for x in v { withUnsafeBytes(of: x.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
                try Self.safetensors(
                    header: #"{"rollout":{"dtype":"F32","shape":[\#(v.count)],"data_offsets":[0,\#(data.count)]}}"#,
                    data: data
                ).write(to: url)
            }
            return (folder, ids[0].0)
        }
        for (name, rollout) in [
            ("empty", [Float]()), ("negative", [-1, 2, 3] + [Float](repeating: 1, count: 97)),
            ("nan", [Float.nan] + [Float](repeating: 1, count: 99)),
        ] {
            let box = try Sandbox("import-\(name)")
            let (folder, id) = try exportFolder(box, rollout: rollout)
            try Self.refuses(
                box, ["teacher", "cache", "--dataset", box.dataset.path, "--import", folder.path, "-q"],
                mentions: ["\(id).safetensors", "'rollout'"])
        }
        let box = try Sandbox("import-hop")
        let (folder, _) = try exportFolder(box, rollout: nil)
        try Data(#"{"frame_hop": 4611686018427387904}"#.utf8).write(to: folder.appendingPathComponent("import.json"))
        try Self.refuses(
            box, ["teacher", "cache", "--dataset", box.dataset.path, "--import", folder.path, "-q"],
            mentions: ["import.json", "frame_hop"])
        let box2 = try Sandbox("import-link")
        let (folder2, id2) = try exportFolder(box2, rollout: nil, linkFirst: true)
        try Self.refuses(
            box2, ["teacher", "cache", "--dataset", box2.dataset.path, "--import", folder2.path, "-q"],
            mentions: ["\(id2).safetensors", "symbolic link"])
    }

    // MARK: Checkpoints

    /// A student checkpoint trained once (TC-ResNet, 2 steps) on the shared dataset.
    static func trainedCheckpoint() throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        if let checkpoint { return checkpoint }
        let folder = try TestFolder.make("hostile-checkpoint")
        let config = folder.appendingPathComponent("tc.yaml")
        try Data("student: tc-resnet\nsteps: 2\nbatch_size: 4\neval_every: 2\n".utf8).write(to: config)
        let r = try TKDBinary.run([
            "train", "--dataset", try CLIDataset.small().path, "--config", config.path, "--runs",
            folder.appendingPathComponent("runs").path, "--name", "tc", "-q",
        ])
        guard r.status == 0 else { throw CLICorpus.Failed(description: r.stderr) }
        checkpoint = folder.appendingPathComponent("runs/tc/best.safetensors")
        return checkpoint!
    }
    private static let lock = NSLock()
    nonisolated(unsafe) private static var checkpoint: URL?

    @Test("checkpoints: classes against labels, a truncated file, a zero-length resume state")
    func checkpoints() throws {
        let trained = try Self.trainedCheckpoint()
        let box = try Sandbox("checkpoint-classes")
        let classes = box.root.appendingPathComponent("classes.safetensors")
        var bytes = try Data(contentsOf: trained)
        // The description inside the header, edited in place (same length): 12 classes become 13.
        let header = String(decoding: bytes[8..<min(bytes.count, 8 + 200_000)], as: UTF8.self)
        let needle = #"\"classes\":12"#
        let at = try #require(header.range(of: needle), "no \(needle) in the header")
        let offset = 8 + header.utf8.distance(from: header.startIndex, to: at.lowerBound) + needle.utf8.count - 1
        bytes[offset] = UInt8(ascii: "3")
        try bytes.write(to: classes)
        try Self.refuses(
            box,
            [
                "evaluate", "--dataset", box.dataset.path, "--checkpoint", classes.path, "--out",
                box.root.appendingPathComponent("out").path,
            ],
            mentions: ["classes.safetensors", "'classes' is 13"])

        let truncated = box.root.appendingPathComponent("truncated.safetensors")
        try Data(contentsOf: trained).prefix(1000).write(to: truncated)
        try Self.refuses(
            box,
            [
                "evaluate", "--dataset", box.dataset.path, "--checkpoint", truncated.path, "--out",
                box.root.appendingPathComponent("out").path,
            ],
            mentions: ["truncated.safetensors"])

        // A run whose resumable state is an empty file (what a power loss without fsync could leave).
        let config = try box.file("tc.yaml", "student: tc-resnet\nsteps: 4\nbatch_size: 4\neval_every: 2\n")
        let args = [
            "train", "--dataset", box.dataset.path, "--config", config.path, "--runs", box.runs.path, "--name", "r",
            "-q",
        ]
        let first = try TKDBinary.run(args + ["--stop-after", "2"])
        #expect(first.status == 0, "\(first.stderr)")
        try Data().write(to: box.runs.appendingPathComponent("r/last.safetensors"))
        try Self.refuses(box, args, mentions: ["last.safetensors"])
    }

    // MARK: Environment

    @Test("Slurm variables at the edges of Int, negative or beyond the array, are refused by name")
    func slurm() throws {
        let box = try Sandbox("slurm")
        let cases: [[String: String]] = [
            [
                "SLURM_ARRAY_TASK_ID": "9223372036854775807", "SLURM_ARRAY_TASK_COUNT": "9223372036854775807",
                "SLURM_ARRAY_TASK_MIN": "-9223372036854775808",
            ],
            [
                "SLURM_ARRAY_TASK_ID": "-9223372036854775808", "SLURM_ARRAY_TASK_COUNT": "4",
                "SLURM_ARRAY_TASK_MIN": "1",
            ],
            ["SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "4"],
            ["SLURM_ARRAY_TASK_ID": "1", "SLURM_ARRAY_TASK_COUNT": "0"],
            ["SLURM_ARRAY_TASK_ID": "x", "SLURM_ARRAY_TASK_COUNT": "2"],
        ]
        for env in cases {
            try Self.refuses(
                box, ["features", "--dataset", box.dataset.path, "--preset", "kws-streaming-mfcc20", "-q"],
                mentions: ["SLURM_ARRAY_TASK_ID"], environment: env)
        }
    }

    // MARK: Output folders

    @Test("generate --out into a folder that is not a dataset is refused, naming what is there, nothing deleted")
    func generateOut() throws {
        let box = try Sandbox("generate-out")
        let out = box.root.appendingPathComponent("out")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        try Data("thesis draft\n".utf8).write(to: out.appendingPathComponent("thesis.tex"))
        try Self.refuses(
            box,
            [
                "generate", "--recipe", Self.recipe, "--corpus", box.corpus.path, "--out", out.path, "--variant", "2s",
                "-q",
            ],
            mentions: [out.path, "thesis.tex"])
        #expect(try Data(contentsOf: out.appendingPathComponent("thesis.tex")) == Data("thesis draft\n".utf8))
    }
}
