import Foundation
import Testing

@testable import TKDCore

@Suite("Work pool and progress")
struct PoolTests {
    @Test("map returns results in index order whatever the number of jobs")
    func mapOrder() throws {
        let one = try WorkPool(jobs: 1).map(500) { $0 * $0 }
        let two = try WorkPool(jobs: 2).map(500) { $0 * $0 }
        let eight = try WorkPool(jobs: 8).map(500) { $0 * $0 }
        #expect(one == (0..<500).map { $0 * $0 })
        #expect(two == one)
        #expect(eight == one)
    }

    struct Boom: Error, Equatable { let index: Int }

    @Test("the first failing item's error is rethrown")
    func errors() {
        #expect(throws: Boom(index: 3)) {
            try WorkPool(jobs: 1).forEach(10) { i in if i >= 3 { throw Boom(index: i) } }
        }
        #expect(throws: Boom.self) {
            try WorkPool(jobs: 2).forEach(10) { i in if i == 7 { throw Boom(index: i) } }
        }
    }

    final class Lines: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var all: [String] = []
        func add(_ s: String) {
            lock.lock()
            all.append(s)
            lock.unlock()
        }
    }

    @Test("JSON progress emits parseable lines with count, total, rate and ETA")
    func jsonProgress() throws {
        let lines = Lines()
        final class Clock: @unchecked Sendable { var t = 0.0 }
        let clock = Clock()
        let p = ProgressReporter(label: "clips", total: 10, mode: .json, sink: { lines.add($0) }, clock: { clock.t })
        for _ in 0..<10 {
            clock.t += 0.5
            p.advance()
        }
        p.finish()
        let objects = try lines.all.map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
        #expect(objects.count >= 3)
        #expect(objects.last?["event"] as? String == "done")
        #expect(objects.last?["done"] as? Int == 10)
        #expect(objects.last?["total"] as? Int == 10)
        #expect(abs((objects.last?["rate_per_s"] as? Double ?? 0) - 2.0) < 1e-9)
        #expect(objects.dropLast().allSatisfy { $0["eta_s"] != nil })
    }

    @Test("terminal line shows count, bar, rate and ETA; quiet prints nothing")
    func terminalLine() {
        let line = ProgressReporter.line(label: "clips", done: 350, total: 700, rate: 48.14, elapsed: 7.3, eta: 7.27)
        #expect(line == "clips 350/700 [############            ]  48.1/s  0:07  ETA 0:07")
        #expect(ProgressReporter.clock(3725) == "1:02:05")
        let lines = Lines()
        let p = ProgressReporter(label: "x", total: 3, mode: .quiet, sink: { lines.add($0) })
        p.advance()
        p.finish()
        #expect(lines.all.isEmpty)
        #expect(p.count == 1)
    }
}
