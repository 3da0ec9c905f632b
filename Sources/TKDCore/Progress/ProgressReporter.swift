import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// How a long command reports progress.
public enum ProgressMode: String, Sendable, CaseIterable {
    /// A live bar on a terminal; nothing when standard error is not a terminal.
    case auto
    /// Always the live bar (count, rate, ETA), redrawn in place.
    case terminal
    /// One JSON object a line on standard error, at most once a second and at the end.
    case json
    /// Nothing.
    case quiet

    /// `.auto` resolved against the actual standard error.
    public var resolved: ProgressMode {
        guard self == .auto else { return self }
        return isatty(STDERR_FILENO) != 0 ? .terminal : .quiet
    }
}

/// The shared progress reporter that every long command uses: count, rate and ETA.
/// Thread-safe: workers call `advance()` from any thread.
public final class ProgressReporter: @unchecked Sendable {
    public let label: String
    public let total: Int?
    public let mode: ProgressMode
    private let sink: @Sendable (String) -> Void
    private let now: @Sendable () -> Double
    private let lock = NSLock()
    private let start: Double
    private var done = 0
    private var lastDraw = -Double.infinity
    private var finished = false
    private var statusText = ""

    /// A short status shown after the counts (e.g. "loss 0.4121  acc 88.0%"), and as `status` in JSON.
    public var status: String {
        get {
            lock.lock()
            defer { lock.unlock() }
            return statusText
        }
        set {
            lock.lock()
            statusText = newValue
            lock.unlock()
        }
    }

    /// - Parameters:
    ///   - label: what is being counted ("clips", "examples").
    ///   - total: the number of items, when known.
    ///   - mode: see `ProgressMode`; `.auto` is resolved here.
    ///   - sink: where lines go (standard error by default; tests pass a closure).
    ///   - clock: seconds from an arbitrary origin (monotonic by default).
    public init(
        label: String, total: Int?, mode: ProgressMode = .auto,
        sink: (@Sendable (String) -> Void)? = nil,
        clock: (@Sendable () -> Double)? = nil
    ) {
        self.label = label
        self.total = total
        self.mode = mode.resolved
        self.sink = sink ?? { text in FileHandle.standardError.write(Data(text.utf8)) }
        self.now = clock ?? { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
        self.start = self.now()
    }

    /// Counts `n` more finished items.
    public func advance(by n: Int = 1) {
        lock.lock()
        defer { lock.unlock() }
        done += n
        let t = now()
        let interval = mode == .json ? 1.0 : 0.1
        if t - lastDraw >= interval {
            lastDraw = t
            emit(at: t, final: false)
        }
    }

    /// Draws the final state (and ends the terminal line). Safe to call more than once.
    public func finish() {
        lock.lock()
        defer { lock.unlock() }
        guard !finished else { return }
        finished = true
        emit(at: now(), final: true)
    }

    /// Items counted so far.
    public var count: Int {
        lock.lock()
        defer { lock.unlock() }
        return done
    }

    private func emit(at t: Double, final: Bool) {
        let elapsed = max(t - start, 1e-9)
        let rate = Double(done) / elapsed
        let eta: Double? = total.flatMap { total in rate > 0 ? Double(max(total - done, 0)) / rate : nil }
        switch mode {
        case .quiet, .auto:
            return
        case .json:
            var fields = [
                "\"event\":\"\(final ? "done" : "progress")\"",
                "\"label\":\"\(label)\"", "\"done\":\(done)",
            ]
            if let total { fields.append("\"total\":\(total)") }
            fields.append("\"rate_per_s\":\(Self.fixed(rate, 2))")
            fields.append("\"elapsed_s\":\(Self.fixed(elapsed, 2))")
            if let eta, !final { fields.append("\"eta_s\":\(Self.fixed(eta, 1))") }
            if !statusText.isEmpty {
                fields.append("\"status\":\"\(statusText.replacingOccurrences(of: "\"", with: "'"))\"")
            }
            sink("{" + fields.joined(separator: ",") + "}\n")
        case .terminal:
            sink(
                "\r\u{1B}[2K"
                    + Self.line(
                        label: label, done: done, total: total, rate: rate,
                        elapsed: elapsed, eta: final ? nil : eta)
                    + (statusText.isEmpty ? "" : "  " + statusText) + (final ? "\n" : ""))
        }
    }

    /// The text of one progress line, e.g. `clips  350/700 [#####     ]  48.1/s  ETA 0:07`.
    public static func line(
        label: String, done: Int, total: Int?, rate: Double,
        elapsed: Double, eta: Double?
    ) -> String {
        var s = "\(label) \(done)"
        if let total, total > 0 {
            let width = 24
            let filled = min(width, done * width / total)
            s +=
                "/\(total) [" + String(repeating: "#", count: filled)
                + String(repeating: " ", count: width - filled) + "]"
        }
        s += "  \(fixed(rate, 1))/s  \(clock(elapsed))"
        if let eta { s += "  ETA \(clock(eta))" }
        return s
    }

    /// `h:mm:ss` or `m:ss`.
    public static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        let (h, m, sec) = (s / 3600, (s / 60) % 60, s % 60)
        let two = { (v: Int) in v < 10 ? "0\(v)" : "\(v)" }
        return h > 0 ? "\(h):\(two(m)):\(two(sec))" : "\(m):\(two(sec))"
    }

    static func fixed(_ v: Double, _ digits: Int) -> String {
        guard v.isFinite else { return "0" }
        return String(format: "%.\(digits)f", v)
    }
}
