import ArgumentParser
import DatasetFormat
import Foundation

/// The detector settings a command line may set (`tkd export` records them, `tkd detect` runs with them);
/// unset ones keep the model's (deploy.json's, or the recommended ones for a checkpoint).
struct DetectorOptions: ParsableArguments {
    @Option(help: "The hop between window ends, in milliseconds.")
    var hopMs: Int?

    @Option(help: "Detection threshold on the smoothed probability (0…1).")
    var threshold: Double?

    @Option(help: "Windows the moving average of each label's probability spans.")
    var smoothing: Int?

    @Option(help: "After a detection, the same label stays silent for this many milliseconds.")
    var cooldownMs: Int?

    @Option(help: "Comma-separated labels that may fire (default: every label not starting with '_').")
    var labels: String?

    @Option(
        help: ArgumentHelp(
            "Streaming exports: restart the states every N windows (N ≥ 2; two staggered copies), so each score "
                + "has heard 1 to 1 + N/2 windows of audio.",
            discussion: "Default 0: the states are carried over the whole recording (reset0).",
            valueName: "N"))
    var resetEvery: Int = 0

    func validate() throws {
        if let hopMs, hopMs < 1 { throw ValidationError("--hop-ms must be positive; got \(hopMs).") }
        if let threshold, !(threshold >= 0 && threshold <= 1) {
            throw ValidationError("--threshold must be in 0…1; got \(threshold).")
        }
        if let smoothing, smoothing < 1 { throw ValidationError("--smoothing must be positive; got \(smoothing).") }
        if let cooldownMs, cooldownMs < 0 { throw ValidationError("--cooldown-ms must be ≥ 0; got \(cooldownMs).") }
        if resetEvery != 0 && resetEvery < 2 {
            throw ValidationError("--reset-every must be 0 (never) or at least 2 windows; got \(resetEvery).")
        }
    }

    /// `base` with the options given applied.
    func applied(to base: DeployManifest.DetectorSettings) -> DeployManifest.DetectorSettings {
        var s = base
        if let hopMs { s.hopMs = hopMs }
        if let threshold { s.threshold = threshold }
        if let smoothing { s.smoothingWindows = smoothing }
        if let cooldownMs { s.cooldownMs = cooldownMs }
        if let labels { s.labels = labels.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
        return s
    }
}
