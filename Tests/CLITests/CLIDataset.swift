import Foundation
import TestSupport
import Testing

/// A 2-s dataset from the small demo corpus with the TC-ResNet feature store, built once per test run.
enum CLIDataset {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cached: Result<URL, Error>?

    static func small() throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return try cached.get() }
        let r = Result { () throws -> URL in
            let corpus = try CLICorpus.small()
            let dir = TestFolder.path("train-dataset")
            let g = try TKDBinary.run([
                "generate", "--recipe", TKDBinary.repo.appendingPathComponent("Recipes/demo.yaml").path,
                "--corpus", corpus.path, "--out", dir.path, "--variant", "2s", "-q",
            ])
            guard g.status == 0 else { throw CLICorpus.Failed(description: g.stderr) }
            let dataset = dir
            let f = try TKDBinary.run([
                "features", "--dataset", dataset.path, "--preset", "kws-streaming-mfcc40", "--jobs", "2", "-q",
            ])
            guard f.status == 0 else { throw CLICorpus.Failed(description: f.stderr) }
            return dataset
        }
        cached = r
        return try r.get()
    }
}
