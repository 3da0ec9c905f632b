import Foundation
import TKDCore

/// Runs the built `tkd` executable (found next to the test bundle, or at `$TKD_BINARY`).
enum TKDBinary {
    struct Output {
        let status: Int32
        let stdout: String
        let stderr: String
        /// The process ended on a signal (a trap: SIGILL/SIGTRAP; an abort: SIGABRT), `status` holding its number.
        var signalled = false
        /// The process was still running at the timeout and was killed.
        var timedOut = false
    }

    static var url: URL {
        if let explicit = ProcessInfo.processInfo.environment["TKD_BINARY"] { return URL(fileURLWithPath: explicit) }
        let candidates = [
            Bundle.main.bundleURL,
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        ]
        for dir in candidates {
            let url = dir.appendingPathComponent("tkd")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return candidates[0].appendingPathComponent("tkd")
    }

    /// - Parameter timeout: seconds after which the process is killed and `timedOut` set (nil: none).
    static func run(
        _ arguments: [String], stdin: String? = nil, environment: [String: String] = [:], timeout: Double? = nil
    ) throws -> Output {
        let p = Process()
        p.executableURL = url
        p.arguments = arguments
        if !environment.isEmpty {
            p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let out = Pipe(), err = Pipe(), input = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try p.run()
        final class Flag: @unchecked Sendable {
            let lock = NSLock()
            var value = false
        }
        let killed = Flag()
        if let timeout {
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) { [p] in
                killed.lock.lock()
                defer { killed.lock.unlock() }
                if p.isRunning {
                    killed.value = true
                    kill(p.processIdentifier, SIGKILL)
                }
            }
        }
        if let stdin {
            input.fileHandleForWriting.write(Data(stdin.utf8))
            try input.fileHandleForWriting.close()
        }
        // Read both pipes concurrently so neither can fill up and block the child.
        final class Box: @unchecked Sendable { var data = Data() }
        let errBox = Box()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            errBox.data = err.fileHandleForReading.readDataToEndOfFile()
            group.leave()
        }
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        killed.lock.lock()
        defer { killed.lock.unlock() }
        return Output(
            status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errBox.data, as: UTF8.self), signalled: p.terminationReason == .uncaughtSignal,
            timedOut: killed.value)
    }

    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

}
