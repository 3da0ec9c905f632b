import Foundation
import TKDCore

/// Unique temporary folders for tests (`tkd-<name>-<uuid>` under the system's temporary folder).
public enum TestFolder {
    /// A fresh path; nothing is created.
    public static func path(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("tkd-\(name)-\(UUID().uuidString)")
    }

    /// A fresh, created folder.
    public static func make(_ name: String) throws -> URL {
        let url = path(name)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// SHA-256 of every regular file below `root`, by relative path; `includeHidden` false leaves out paths
    /// with a component starting with a dot (sidecars, work folders).
    public static func digests(_ root: URL, includeHidden: Bool = true) throws -> [String: String] {
        var out: [String: String] = [:]
        let e = FileManager.default.enumerator(at: root, includingPropertiesForKeys: [.isRegularFileKey])!
        for case let url as URL in e where (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true
        {
            let relative = String(url.path.dropFirst(root.path.count + 1))
            if !includeHidden && relative.split(separator: "/").contains(where: { $0.hasPrefix(".") }) { continue }
            out[relative] = try SHA256.hex(fileAt: url)
        }
        return out
    }
}

/// Deterministic test inputs.
public enum TestValues {
    /// `n` values uniform in [−scale, scale] from the counter RNG keyed by `seed` and `key`.
    public static func uniform(_ n: Int, seed: UInt64, scale: Double = 1, key: String) -> [Float] {
        var rng = CounterRNG(seed: seed, key: [key])
        return (0..<n).map { _ in Float(rng.uniform(-scale, scale)) }
    }
}
