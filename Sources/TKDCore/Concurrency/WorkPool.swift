import Foundation

/// Runs indexed work items on a fixed number of threads (`--jobs`).
///
/// Items are handed out in index order; results never depend on which thread ran an item, so
/// callers that write per-item outputs (or collect results by index) stay deterministic.
public struct WorkPool: Sendable {
    public let jobs: Int

    /// - Parameter jobs: worker threads, at least 1 (`0` means one per core).
    public init(jobs: Int) {
        self.jobs = jobs > 0 ? jobs : ProcessInfo.processInfo.activeProcessorCount
    }

    /// Calls `body(i)` for every `i` in `0..<count`. The first error (lowest index among those that
    /// failed before work stopped) is rethrown after the workers finish; remaining items are skipped.
    public func forEach(_ count: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws {
        guard count > 0 else { return }
        if jobs == 1 || count == 1 {
            for i in 0..<count { try body(i) }
            return
        }
        let state = SharedState()
        let group = DispatchGroup()
        let work: @Sendable () -> Void = {
            while let i = state.take(limit: count) {
                do { try body(i) } catch { state.fail(index: i, error: error) }
            }
        }
        // jobs − 1 helper threads; the calling thread works too.
        for _ in 1..<min(jobs, count) {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                work()
            }
        }
        work()
        group.wait()
        if let error = state.firstError { throw error }
    }

    /// Maps `0..<count` to results in index order.
    public func map<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) throws -> T) throws -> [T] {
        let results = ResultSlots<T>(count: count)
        try forEach(count) { i in results.set(i, try body(i)) }
        return results.values()
    }

    private final class SharedState: @unchecked Sendable {
        private let lock = NSLock()
        private var nextIndex = 0
        private var failure: (index: Int, error: Error)?

        func take(limit: Int) -> Int? {
            lock.lock()
            defer { lock.unlock() }
            guard failure == nil, nextIndex < limit else { return nil }
            defer { nextIndex += 1 }
            return nextIndex
        }

        func fail(index: Int, error: Error) {
            lock.lock()
            defer { lock.unlock() }
            if failure == nil || index < failure!.index { failure = (index, error) }
        }

        var firstError: Error? {
            lock.lock()
            defer { lock.unlock() }
            return failure?.error
        }
    }

    private final class ResultSlots<T>: @unchecked Sendable {
        private let lock = NSLock()
        private var slots: [T?]
        init(count: Int) { slots = Array(repeating: nil, count: count) }
        func set(_ i: Int, _ v: T) {
            lock.lock()
            slots[i] = v
            lock.unlock()
        }
        func values() -> [T] { slots.map { $0! } }
    }
}
