import Foundation
import TKDCore
import TestSupport
import Testing

/// The reference environment (`make reference-env`) when it is there with ONNX Runtime: the ONNX Runtime checks
/// run through it, and are skipped — visibly, with this reason — on a machine without it.
enum ReferencePython {
    static let path: String? = {
        let candidate =
            ProcessInfo.processInfo.environment["TKD_REFERENCE_PYTHON"]
            ?? TKDBinary.repo.appendingPathComponent(".venv-reference/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: candidate) else { return nil }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: candidate)
        p.arguments = ["-c", "import onnxruntime, soundfile, numpy, safetensors"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        guard (try? p.run()) != nil else { return nil }
        p.waitUntilExit()
        return p.terminationStatus == 0 ? candidate : nil
    }()

    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path!)
        p.arguments = arguments
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }
}

/// The five students trained briefly on a small demo dataset, exported once per test run.
enum DeployCLIFixture {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cached: Result<(dataset: URL, runs: URL, exports: URL), Error>?
    static let students = ["lstm-p", "tc-resnet", "crnn", "att-rnn", "mhatt-rnn"]

    /// Short runs with attention KD (so the KD head can be exported): 40 steps of 8 examples, batch-norm momentum
    /// 0.8 so that the moving statistics move far from their initial values.
    static func config(_ student: String) -> String {
        """
        name: \(student)
        student: \(student)
        seed: 1
        batch_size: 8
        steps: 40
        eval_every: 20
        chunk: 4
        optimizer: {kind: adam, epsilon: 1.0e-8}
        schedule: {kind: constant, rate: 0.003}
        batch_norm_momentum: 0.8
        spec_augment: null
        kd: {lambda: 0.5, temperature: 1, target: oracle}
        """
    }

    static func get() throws -> (dataset: URL, runs: URL, exports: URL) {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return try cached.get() }
        let r = Result { () throws -> (URL, URL, URL) in
            let corpus = try CLICorpus.small()
            let root = try TestFolder.make("deploy-cli")
            let dataset = root.appendingPathComponent("noisy")
            func must(_ args: [String]) throws {
                let o = try TKDBinary.run(args)
                guard o.status == 0 else { throw CLICorpus.Failed(description: "\(args.prefix(2)): \(o.stderr)") }
            }
            try must([
                "generate", "--recipe", TKDBinary.repo.appendingPathComponent("Recipes/demo.yaml").path, "--corpus",
                corpus.path, "--out", dataset.path, "--variant", "2s", "-q",
            ])
            for preset in ["kws-streaming-mfcc20", "kws-streaming-mfcc40", "kws-streaming-mfcc20-8000hz"] {
                try must(["features", "--dataset", dataset.path, "--preset", preset, "--jobs", "2", "-q"])
            }
            let runs = root.appendingPathComponent("runs"), exports = root.appendingPathComponent("exports")
            for s in students {
                let configURL = root.appendingPathComponent("\(s).yaml")
                try Self.config(s).write(to: configURL, atomically: true, encoding: .utf8)
                try must([
                    "train", "--dataset", dataset.path, "--config", configURL.path, "--runs", runs.path, "-j", "2",
                    "-q",
                ])
                try must([
                    "export", "--checkpoint", runs.appendingPathComponent("\(s)/best.safetensors").path, "--out",
                    exports.appendingPathComponent(s).path, "--with-localisation",
                ])
            }
            return (dataset, runs, exports)
        }
        cached = r.map { $0 }
        return try r.get()
    }

    struct Details: Decodable {
        var ids: [String]
        var predicted: [Int]
        var probabilities: [[Float]]
    }

    static func details(_ url: URL) throws -> Details {
        try JSONDecoder().decode(Details.self, from: Data(contentsOf: url))
    }
}

@Suite("tkd export / detect (end to end)", .serialized)
struct DeployCLITests {
    /// Probabilities of an exported audio graph against tkd's own inference (the bound).
    static let tolerance: Float = 1e-4

    /// `tkd evaluate --details DIR/native.json` of a checkpoint.
    static func evaluateCheckpoint(_ ck: URL, _ dataset: URL, into dir: URL) throws {
        let a = try TKDBinary.run([
            "evaluate", "--checkpoint", ck.path, "--dataset", dataset.path, "--details",
            dir.appendingPathComponent("native.json").path, "--out", dir.appendingPathComponent("metrics.json").path,
        ])
        #expect(a.status == 0, "\(a.stderr)")
    }

    static func worst(_ a: [[Float]], _ b: [[Float]]) -> Float {
        zip(a, b).map { zip($0, $1).map { abs($0 - $1) }.max() ?? 0 }.max() ?? .infinity
    }

    @Test("every student's export: tkd's runner predicts what tkd evaluate predicts on every test example")
    func runnerAgrees() throws {
        let (dataset, runs, exports) = try DeployCLIFixture.get()
        for s in DeployCLIFixture.students {
            let dir = try TestFolder.make("deploy-eval")
            defer { try? FileManager.default.removeItem(at: dir) }
            try Self.evaluateCheckpoint(runs.appendingPathComponent("\(s)/best.safetensors"), dataset, into: dir)
            let b = try TKDBinary.run([
                "evaluate", "--model", exports.appendingPathComponent(s).path, "--dataset", dataset.path, "--details",
                dir.appendingPathComponent("runner.json").path, "--out", dir.appendingPathComponent("m2.json").path,
            ])
            #expect(b.status == 0, "\(b.stderr)")
            let x = try DeployCLIFixture.details(dir.appendingPathComponent("native.json"))
            let y = try DeployCLIFixture.details(dir.appendingPathComponent("runner.json"))
            #expect(x.ids == y.ids && !x.ids.isEmpty)
            #expect(x.predicted == y.predicted, "\(s): predictions differ")
            #expect(Self.worst(x.probabilities, y.probabilities) <= Self.tolerance, "\(s)")
        }
    }

    @Test(
        "every student's export in ONNX Runtime predicts what tkd evaluate predicts on every test example",
        .enabled(
            if: ReferencePython.path != nil, "needs the reference environment with onnxruntime (make reference-env)"))
    func onnxRuntimeAgrees() throws {
        let (dataset, runs, exports) = try DeployCLIFixture.get()
        for s in DeployCLIFixture.students {
            let dir = try TestFolder.make("deploy-ort")
            defer { try? FileManager.default.removeItem(at: dir) }
            try Self.evaluateCheckpoint(runs.appendingPathComponent("\(s)/best.safetensors"), dataset, into: dir)
            let o = try ReferencePython.run([
                TKDBinary.repo.appendingPathComponent("Scripts/onnx_evaluate.py").path, "--model",
                exports.appendingPathComponent(s).path, "--dataset", dataset.path, "--out",
                dir.appendingPathComponent("ort.json").path,
            ])
            #expect(o.status == 0, "\(o.stderr)")
            let x = try DeployCLIFixture.details(dir.appendingPathComponent("native.json"))
            let y = try DeployCLIFixture.details(dir.appendingPathComponent("ort.json"))
            #expect(x.ids == y.ids && !x.ids.isEmpty)
            #expect(x.predicted == y.predicted, "\(s): predictions differ")
            #expect(Self.worst(x.probabilities, y.probabilities) <= Self.tolerance, "\(s)")
        }
    }

    /// A recording of the dataset's test examples one after another.
    static func longRecording(_ dataset: URL, to url: URL) throws {
        let folder = dataset.appendingPathComponent("audio/testing")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted().prefix(8)
        var samples: [Int16] = []
        for n in names {
            let d = try Data(contentsOf: folder.appendingPathComponent(n))
            samples += d.dropFirst(44).withUnsafeBytes { Array($0.bindMemory(to: Int16.self)) }
        }
        var d = Data()
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        d.append(contentsOf: Array("RIFF".utf8))
        u32(UInt32(36 + samples.count * 2))
        d.append(contentsOf: Array("WAVEfmt ".utf8))
        u32(16)
        u16(1)
        u16(1)
        u32(16000)
        u32(32000)
        u16(2)
        u16(16)
        d.append(contentsOf: Array("data".utf8))
        u32(UInt32(samples.count * 2))
        samples.withUnsafeBytes { d.append(contentsOf: $0) }
        try d.write(to: url)
    }

    struct Line: Decodable, Equatable {
        var label: String
        var time_seconds: Double
        var score: Double
        var peak_seconds: Double?
    }

    static func lines(_ text: String) throws -> [Line] {
        try text.split(separator: "\n").map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
    }

    @Test(
        "tkd detect: the checkpoint, its export and Scripts/detect_onnx.py find the same keywords in a long recording")
    func detect() throws {
        let (dataset, runs, exports) = try DeployCLIFixture.get()
        let dir = try TestFolder.make("deploy-detect")
        defer { try? FileManager.default.removeItem(at: dir) }
        let wav = dir.appendingPathComponent("long.wav")
        try Self.longRecording(dataset, to: wav)
        for s in ["tc-resnet", "att-rnn"] {
            // A low threshold, so that the briefly trained models fire.
            let common = [wav.path, "--json", "--threshold", "0.2", "--hop-ms", "200", "-q"]
            let a = try TKDBinary.run(
                ["detect", "--checkpoint", runs.appendingPathComponent("\(s)/best.safetensors").path] + common)
            let b = try TKDBinary.run(
                ["detect", "--model", exports.appendingPathComponent(s).path] + common
                    + ["--scores", dir.appendingPathComponent("\(s).scores.jsonl").path])
            #expect(a.status == 0 && b.status == 0, "\(a.stderr) \(b.stderr)")
            let x = try Self.lines(a.stdout), y = try Self.lines(b.stdout)
            #expect(!x.isEmpty, "\(s): nothing fired; the comparison needs detections")
            #expect(x.map(\.label) == y.map(\.label) && x.map(\.time_seconds) == y.map(\.time_seconds), "\(s)")
            #expect(x.map(\.peak_seconds) == y.map(\.peak_seconds), "\(s)")
            for (p, q) in zip(x, y) { #expect(abs(p.score - q.score) <= 1e-4) }
            let scores = try String(contentsOf: dir.appendingPathComponent("\(s).scores.jsonl"), encoding: .utf8)
            #expect(scores.split(separator: "\n").count == (8 * 2 - 2) * 1000 / 200 + 1, "one line per window")
            if ReferencePython.path != nil {
                let o = try ReferencePython.run([
                    TKDBinary.repo.appendingPathComponent("Scripts/detect_onnx.py").path,
                    exports.appendingPathComponent(s).path, wav.path, "--threshold", "0.2", "--hop-ms", "200",
                ])
                #expect(o.status == 0, "\(o.stderr)")
                let z = try Self.lines(o.stdout)
                #expect(z.map(\.label) == y.map(\.label) && z.map(\.time_seconds) == y.map(\.time_seconds), "\(s)")
                #expect(z.map(\.peak_seconds) == y.map(\.peak_seconds), "\(s)")
                for (p, q) in zip(z, y) { #expect(abs(p.score - q.score) <= 1e-4) }
            }
        }
    }

    @Test("int8: calibrated on the training split, scored by tkd's runner; other labels or presets refused")
    func int8() throws {
        let (dataset, runs, _) = try DeployCLIFixture.get()
        let dir = try TestFolder.make("deploy-int8")
        defer { try? FileManager.default.removeItem(at: dir) }
        let ck = runs.appendingPathComponent("tc-resnet/best.safetensors").path
        let e = try TKDBinary.run([
            "export", "--checkpoint", ck, "--out", dir.appendingPathComponent("q").path, "--precision", "int8",
            "--calibration", dataset.path, "--json",
        ])
        #expect(e.status == 0, "\(e.stderr)")
        let m = try JSONSerialization.jsonObject(with: Data(e.stdout.utf8)) as? [String: Any]
        let q = m?["quantization"] as? [String: Any]
        #expect(q?["method"] as? String == "minmax")
        #expect((q?["calibration"] as? [String: Any])?["split"] as? String == "training")
        let v = try TKDBinary.run([
            "evaluate", "--model", dir.appendingPathComponent("q").path, "--dataset", dataset.path,
        ])
        #expect(v.status == 0 && v.stdout.contains("int8"), "\(v.stderr)")
        // A calibration dataset without the checkpoint's preset.
        let other = try TKDBinary.run([
            "export", "--checkpoint", runs.appendingPathComponent("att-rnn/best.safetensors").path, "--out",
            dir.appendingPathComponent("r").path, "--precision", "int8", "--calibration", CLIDataset.small().path,
        ])
        #expect(other.status == 1 && other.stderr.contains("no feature store for preset 'kws-streaming-mfcc20'"))
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("r/model.onnx").path))
        // A calibration dataset with other labels (the same corpus, two keyword classes).
        let recipe = try String(
            contentsOf: TKDBinary.repo.appendingPathComponent("Recipes/demo.yaml"), encoding: .utf8
        ).replacingOccurrences(of: "labels: speech_commands_12", with: "labels: words\n  words: [yes, no]")
        let recipeURL = dir.appendingPathComponent("words.yaml")
        try recipe.write(to: recipeURL, atomically: true, encoding: .utf8)
        let words = dir.appendingPathComponent("words")
        let g = try TKDBinary.run([
            "generate", "--recipe", recipeURL.path, "--corpus", try CLICorpus.small().path, "--out", words.path,
            "--variant", "2s", "-q",
        ])
        #expect(g.status == 0, "\(g.stderr)")
        _ = try TKDBinary.run(["features", "--dataset", words.path, "--preset", "kws-streaming-mfcc40", "-q"])
        let labels = try TKDBinary.run([
            "export", "--checkpoint", ck, "--out", dir.appendingPathComponent("w").path, "--precision", "int8",
            "--calibration", words.path,
        ])
        #expect(labels.status == 1 && labels.stderr.contains("differ from the checkpoint's"), "\(labels.stderr)")
        let missing = try TKDBinary.run(["export", "--checkpoint", ck, "--out", dir.path + "/s", "--precision", "int8"])
        #expect(missing.status == 64 && missing.stderr.contains("--calibration"))
    }

    @Test("bad input to export and detect: one line, non-zero exit, nothing half-written")
    func badInput() throws {
        let (_, runs, exports) = try DeployCLIFixture.get()
        let dir = try TestFolder.make("deploy-bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        // λ = 0: no trained localisation.
        let ck = dir.appendingPathComponent("init.safetensors").path
        #expect(try TKDBinary.run(["model", "init", "crnn", "--out", ck, "--seconds", "2"]).status == 0)
        let loc = try TKDBinary.run(["export", "--checkpoint", ck, "--out", dir.path + "/l", "--with-localisation"])
        #expect(loc.status == 1 && loc.stderr.contains("kd_lambda 0"), "\(loc.stderr)")
        #expect(loc.stderr.split(separator: "\n").count == 1)
        let model = exports.appendingPathComponent("tc-resnet").path
        let checkpoint = runs.appendingPathComponent("tc-resnet/best.safetensors").path
        // Recordings: empty, a cut header, not audio, and one shorter than the window (scored, padded, said so).
        let empty = dir.appendingPathComponent("empty.wav"), cut = dir.appendingPathComponent("cut.wav")
        let text = dir.appendingPathComponent("text.wav"), short = dir.appendingPathComponent("short.wav")
        try Data().write(to: empty)
        try Data("RIFF\u{24}\0\0\0WAVEfmt ".utf8).write(to: cut)
        try Data("hello, this is not a recording".utf8).write(to: text)
        let half = [Int16](repeating: 1000, count: 8000)
        var wav = Data("RIFF".utf8)
        for v in [UInt32(36 + 16000)] { withUnsafeBytes(of: v) { wav.append(contentsOf: $0) } }
        wav.append(contentsOf: Array("WAVEfmt ".utf8))
        for v: UInt32 in [16, 0x0001_0001, 16000, 32000, 0x0010_0002] {
            withUnsafeBytes(of: v) { wav.append(contentsOf: $0) }
        }
        wav.append(contentsOf: Array("data".utf8))
        withUnsafeBytes(of: UInt32(16000)) { wav.append(contentsOf: $0) }
        half.withUnsafeBytes { wav.append(contentsOf: $0) }
        try wav.write(to: short)
        for (file, words) in [(empty, "empty.wav"), (cut, "cut.wav"), (text, "text.wav")] {
            for scorer in [["--model", model], ["--checkpoint", checkpoint]] {
                let o = try TKDBinary.run(["detect"] + scorer + [file.path])
                #expect(
                    o.status == 1 && !o.signalled && o.stderr.contains(words), "\(file.lastPathComponent): \(o.stderr)")
            }
        }
        let s = try TKDBinary.run(["detect", "--model", model, short.path])
        #expect(s.status == 0 && s.stderr.contains("zero-padded to one window"), "\(s.stderr)")
        // deploy.json and model.onnx that do not belong together; a hostile model file name.
        let copy = dir.appendingPathComponent("copy")
        try FileManager.default.copyItem(atPath: model, toPath: copy.path)
        var bytes = try Data(contentsOf: copy.appendingPathComponent("model.onnx"))
        bytes[bytes.count - 10] ^= 0xFF
        try bytes.write(to: copy.appendingPathComponent("model.onnx"))
        let h = try TKDBinary.run(["detect", "--model", copy.path, short.path])
        #expect(h.status == 1 && h.stderr.contains("the files do not belong together"), "\(h.stderr)")
        let manifest = copy.appendingPathComponent("deploy.json")
        let json = try String(contentsOf: manifest, encoding: .utf8)
            .replacingOccurrences(of: "\"file\" : \"model.onnx\"", with: "\"file\" : \"../../etc/passwd\"")
        try json.write(to: manifest, atomically: true, encoding: .utf8)
        let p = try TKDBinary.run(["detect", "--model", copy.path, short.path])
        #expect(p.status == 1 && p.stderr.contains("'model.file' is '../../etc/passwd'"), "\(p.stderr)")
    }

    @Test("a dataset of test recordings alone is scored: only the split read must hold examples")
    func testOnlyDataset() throws {
        let (_, runs, _) = try DeployCLIFixture.get()
        let dir = try TestFolder.make("deploy-testonly")
        defer { try? FileManager.default.removeItem(at: dir) }
        // The small corpus with every clip in its testing list (one's own recordings, say).
        let corpus = dir.appendingPathComponent("corpus")
        try FileManager.default.copyItem(at: try CLICorpus.small(), to: corpus)
        let clips = FileManager.default.enumerator(atPath: corpus.path)!.compactMap { $0 as? String }
            .filter { $0.hasSuffix(".wav") && !$0.hasPrefix("_background_noise_") }.sorted()
        try (clips.joined(separator: "\n") + "\n").write(
            to: corpus.appendingPathComponent("testing_list.txt"), atomically: true, encoding: .utf8)
        try "".write(to: corpus.appendingPathComponent("validation_list.txt"), atomically: true, encoding: .utf8)
        let d = dir.appendingPathComponent("d")
        let g = try TKDBinary.run([
            "generate", "--recipe", TKDBinary.repo.appendingPathComponent("Recipes/demo.yaml").path, "--corpus",
            corpus.path, "--out", d.path, "--variant", "2s", "-q",
        ])
        #expect(g.status == 0, "\(g.stderr)")
        #expect(
            try TKDBinary.run(["features", "--dataset", d.path, "--preset", "kws-streaming-mfcc20", "-q"]).status == 0)
        let ck = runs.appendingPathComponent("crnn/best.safetensors").path
        let e = try TKDBinary.run([
            "evaluate", "--checkpoint", ck, "--dataset", d.path, "--out", dir.appendingPathComponent("m.json").path,
        ])
        #expect(e.status == 0 && e.stdout.contains("testing:"), "\(e.stderr)")
        let x = dir.appendingPathComponent("x")
        #expect(try TKDBinary.run(["export", "--checkpoint", ck, "--out", x.path]).status == 0)
        let m = try TKDBinary.run(["evaluate", "--model", x.path, "--dataset", d.path])
        #expect(m.status == 0 && m.stdout.contains("testing:"), "\(m.stderr)")
        // Calibration reads the training split, which this dataset does not have.
        let q = try TKDBinary.run([
            "export", "--checkpoint", ck, "--out", dir.appendingPathComponent("q").path, "--precision", "int8",
            "--calibration", d.path,
        ])
        #expect(q.status == 1 && q.stderr.contains("the training split is empty"), "\(q.stderr)")
    }
}
