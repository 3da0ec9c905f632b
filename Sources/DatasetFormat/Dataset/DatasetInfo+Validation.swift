import Foundation
import TKDCore

extension DatasetInfo {
    /// The longest noise file `dataset.json` may describe, in samples (a day at the highest rate).
    public static let maxNoiseSamples = 86_400 * ExampleRecord.sampleRates.upperBound

    /// Checks what every stage reads from `dataset.json` before using it: a sample rate in
    /// `ExampleRecord.sampleRates`; labels present, plain and unique; noise files with unique usable
    /// sources, a positive length under `maxNoiseSamples`, a native rate in range and, per split, a region
    /// `[start, end)` with 0 ≤ start ≤ end ≤ num_samples; counts ≥ 0.
    /// - Parameter path: the file, for the error.
    /// - Throws: `DatasetFormatError.invalidField` naming the file and the field.
    public func validate(path: String) throws {
        func fail(_ field: String, _ detail: String) -> DatasetFormatError {
            .invalidField(path: path, field: field, detail: detail)
        }
        let rates = ExampleRecord.sampleRates
        guard rates.contains(sampleRate) else {
            throw fail("sample_rate", "is \(sampleRate); expected \(rates.lowerBound)…\(rates.upperBound)")
        }
        guard !labels.isEmpty, labels.count <= 100_000 else {
            throw fail("labels", "has \(labels.count) labels; expected 1…100000")
        }
        if let i = labels.firstIndex(where: { $0.isEmpty || $0.contains("\0") }) {
            throw fail("labels[\(i)]", "is '\(labels[i])'; expected a non-empty label")
        }
        if Set(labels).count != labels.count {
            let repeated = Dictionary(grouping: labels, by: { $0 }).filter { $0.value.count > 1 }.keys.sorted()
            throw fail("labels", "repeats \(repeated.joined(separator: ", ")); expected unique labels")
        }
        let kinds = [recipe != nil && variant != nil, clipRecipe != nil && clipVariant != nil, streamRecipe != nil]
        guard kinds.filter({ $0 }).count == 1 else {
            throw fail(
                "recipe",
                "expected one of recipe and variant (a Speech Commands dataset), clip_recipe and clip_variant (a "
                    + "clip dataset) or stream_recipe (a stream dataset)")
        }
        var sources = Set<String>()
        for (i, f) in noiseFiles.enumerated() {
            let field = "noise_files[\(i)]"
            if let why = ContainedPath.lexicalProblem(f.source, allowAbsolute: true) {
                throw fail(
                    "\(field).source", "is '\(f.source)'; expected a path without '..', empty parts or NUL (\(why))")
            }
            guard sources.insert(f.source).inserted else {
                throw fail("\(field).source", "is '\(f.source)' again; expected each noise file once")
            }
            guard (1...Self.maxNoiseSamples).contains(f.numSamples) else {
                throw fail("\(field).num_samples", "is \(f.numSamples); expected 1…\(Self.maxNoiseSamples)")
            }
            guard rates.contains(f.nativeSampleRate) else {
                throw fail(
                    "\(field).native_sample_rate",
                    "is \(f.nativeSampleRate); expected \(rates.lowerBound)…\(rates.upperBound)")
            }
            for (split, r) in f.regions.sorted(by: { $0.key < $1.key }) {
                guard Split(rawValue: split) != nil else {
                    throw fail("\(field).regions", "names the split '\(split)'; expected training, validation, testing")
                }
                guard r.count == 2, r[0] >= 0, r[0] <= r[1], r[1] <= f.numSamples else {
                    throw fail(
                        "\(field).regions.\(split)",
                        "is \(r); expected [start, end] with 0 ≤ start ≤ end ≤ \(f.numSamples) (num_samples)")
                }
            }
        }
        for (split, byLabel) in counts.sorted(by: { $0.key < $1.key }) {
            if let (label, n) = byLabel.sorted(by: { $0.key < $1.key }).first(where: { $0.value < 0 }) {
                throw fail("counts.\(split).\(label)", "is \(n); expected a count ≥ 0")
            }
        }
    }
}
