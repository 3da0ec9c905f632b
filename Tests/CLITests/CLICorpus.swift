import Foundation
import TKDCore
import TestSupport
import Testing

/// A small corpus made once through the binary, shared by the generate tests.
enum CLICorpus {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cached: Result<URL, Error>?

    struct Failed: Error, CustomStringConvertible { let description: String }

    static func small() throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return try cached.get() }
        let r = Result { () throws -> URL in
            let dir = TestFolder.path("corpus")
            let out = try TKDBinary.run([
                "corpus", "demo", "--out", dir.path, "--speakers", "3", "--utterances", "2", "--jobs", "2", "-q",
            ])
            guard out.status == 0 else { throw Failed(description: out.stderr) }
            return dir
        }
        cached = r
        return try r.get()
    }
}
