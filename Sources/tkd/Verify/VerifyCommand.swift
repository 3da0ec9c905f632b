import ArgumentParser
import DatasetFormat
import Foundation
import TKDCore
import Verify

/// `tkd verify --dataset D [--corpus C] [--recipe R] [--json] [--sample K]`
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check everything a dataset claims; exit 0 only if every check passes.",
        discussion: """
            Manifests (schema, canonical form, unique ids, label indices, split, sample rate, class counts against \
            dataset.json); splits (speakers and noise regions disjoint, noise inside its split's region); every \
            keyword window, speech span and noise segment inside its example; audio (SHA-256, decoding, and with \
            --corpus: the sources' SHA-256, a re-render from the manifest, a normalised cross-correlation keyword \
            locator on the file without its manifest noise, to the sample, the achieved SNR within 0.05 dB); \
            feature stores \
            and teacher caches (fingerprints, shard checksums, an entry from the same audio for every example, \
            frame counts, rollouts summing to 1, the rollout's localisation). Reads only.
            """)

    @Option(help: "The dataset folder, or a tkd generate output folder (each variant is verified).")
    var dataset: String

    @Option(
        help: ArgumentHelp(
            "The source corpus (keyword clips and _background_noise_): enables the re-render, locator, SNR and "
                + "source checks.")
    )
    var corpus: String?

    @OptionGroup var noiseSources: NoiseSourceOptions

    @Option(help: "Audio checks on K examples spread evenly over the manifests (default: all).")
    var sample: Int?

    @Flag(help: "Print the report as JSON (every check's tally and every failure with its example id).")
    var json = false

    @OptionGroup var options: RunOptions

    func validate() throws {
        if let sample, sample < 1 { throw ValidationError("--sample must be positive; got \(sample).") }
    }

    func run() throws {
        // A tkd generate output folder (2s/, 8s/, …) is verified variant by variant.
        let root = URL(fileURLWithPath: dataset), layout = DatasetLayout(root)
        let variants = FileManager.default.fileExists(atPath: layout.info.path) ? [] : layout.variants
        let targets = variants.isEmpty ? [root] : variants.map { root.appendingPathComponent($0) }
        let noise = try noiseSources.roots()
        var reports: [String: VerifyReport] = [:]
        var passed = true
        for (n, target) in targets.enumerated() {
            var v = DatasetVerifier(dataset: target)
            v.corpus = corpus.map { URL(fileURLWithPath: $0) }
            v.noiseBase = noise.base
            v.recipeFolders = noise.recipeFolders
            v.sample = sample
            v.jobs = options.jobs
            v.progress = json ? .quiet : options.progressMode
            let report = try v.run()
            passed = passed && report.passed
            reports[variants.isEmpty ? "" : variants[n]] = report
            if !json { show(report, path: target.path) }
        }
        if json {
            struct Variants: Encodable { let variants: [String: VerifyReport] }
            let data =
                variants.isEmpty
                ? try CanonicalJSON.encodePretty(reports[""]!)
                : try CanonicalJSON.encodePretty(Variants(variants: reports))
            say(String(decoding: data, as: UTF8.self))
        } else if targets.count > 1 {
            say(
                "verify: \(targets.count) variants (\(variants.joined(separator: ", "))), "
                    + (passed
                        ? "every check passed"
                        : "failures in \(reports.filter { !$0.value.passed }.keys.sorted().joined(separator: ", "))"))
        }
        if !passed { throw ExitCode(1) }
    }

    /// The report as text: every check's tally, then up to 50 failures.
    func show(_ report: VerifyReport, path: String) {
        say("\(path): \(report.examples) examples, audio checked on \(report.audioChecked)")
        for c in report.checks {
            if let why = c.skipped {
                say("  skipped  \(c.name) (\(why))")
                continue
            }
            say(
                String(
                    format: "  %@  %@: %d checked, %d failed", c.failed == 0 ? "ok    " : "FAILED", c.name,
                    c.checked, c.failed))
        }
        for (fp, line) in report.teachers.sorted(by: { $0.key < $1.key }) {
            say("  teacher \(fp.prefix(16)): \(line)")
        }
        for f in report.failures.prefix(50) {
            say("  ✗ \(f.check)\(f.id.map { " [\($0)]" } ?? ""): \(f.detail)\(f.path.map { " (\($0))" } ?? "")")
        }
        if report.failures.count > 50 { say("  … \(report.failures.count - 50) more (see --json)") }
        say(report.passed ? "verify: every check passed" : "verify: \(report.failures.count) failure(s)")
    }
}
