import AudioIO
import Foundation
import TKDCore
import TestSupport
import Testing

@testable import Synthesis

/// A small demo corpus built once per test process and shared (read-only) by the tests below.
enum SharedDemoCorpus {
    static let speakers = 3
    static let utterances = 2
    private static let lock = NSLock()
    nonisolated(unsafe) private static var cached: Result<URL, Error>?

    static func url() throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        if let cached { return try cached.get() }
        let result = Result { try build(jobs: 2, name: "shared") }
        cached = result
        return try result.get()
    }

    static func build(jobs: Int, name: String, speakers: Int = speakers, seed: UInt64 = 11) throws -> URL {
        let dir = TestFolder.path("demo-\(name)")
        var o = DemoCorpusOptions(output: dir)
        o.speakers = speakers
        o.utterancesPerWord = utterances
        o.seed = seed
        o.jobs = jobs
        o.progress = .quiet
        try DemoCorpusBuilder(options: o, toolVersion: TKDVersion.current).build()
        return dir
    }

}
