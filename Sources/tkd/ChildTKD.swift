import ArgumentParser
import Foundation

/// Runs a stage of a composite command (`tkd demo`, `tkd study`) as a child `tkd` process of this same
/// executable, echoing the command line first.
enum ChildTKD {
    /// Runs `tkd ARGS` and waits; a non-zero exit becomes a one-line error telling the user to run `command`
    /// again once the cause is fixed. `environment` replaces the inherited one when given.
    static func run(_ args: [String], resuming command: String, environment: [String: String]? = nil) throws {
        say("$ tkd " + args.joined(separator: " "))
        fflush(nil)  // every stdio stream, before the child writes to the same ones
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        p.arguments = args
        if let environment { p.environment = environment }
        try p.run()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw ValidationError(
                "tkd \(args.prefix(2).joined(separator: " ")) failed (exit \(p.terminationStatus)); fix the cause and "
                    + "run \(command) again to resume")
        }
    }
}
