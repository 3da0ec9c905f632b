import Foundation

/// Paths read from files (a manifest's `audio` and `source`, an index's `shard`, a config's run `name`) are
/// relative to a root — the dataset, the corpus, `--noise-base`, `--runs`, a store folder — and must stay in
/// it: no absolute paths, no `..`, no empty or `.` components, no NUL, and no symbolic link leading out.
public enum ContainedPath {
    /// `relative` under `root`.
    /// - Parameters:
    ///   - field: what named the path, for the error (`manifests/training.jsonl:3 audio`).
    ///   - regularFile: the path must name an existing regular file (not a folder, device or FIFO).
    /// - Throws: `CoreError.invalidValue` naming the field, the path and what was expected.
    public static func resolve(
        _ relative: String, under root: URL, field: String, regularFile: Bool = false
    ) throws
        -> URL
    {
        func bad(_ why: String) -> CoreError {
            .invalidValue(field: field, value: relative, expected: "a relative path inside \(root.path) (\(why))")
        }
        guard !relative.isEmpty else { throw bad("it is empty") }
        guard !relative.hasPrefix("/") else { throw bad("it is absolute") }
        guard !relative.contains("\0") else { throw bad("it holds a NUL character") }
        let components = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard !components.contains(where: { $0 == ".." }) else { throw bad("it climbs out with '..'") }
        guard !components.contains(where: { $0.isEmpty || $0 == "." }) else { throw bad("it has an empty or '.' part") }
        let url = root.appendingPathComponent(relative)
        // Symbolic links: the deepest existing ancestor must resolve inside the root.
        let rootReal = root.resolvingSymlinksInPath().standardizedFileURL.path
        var probe = url
        while !FileManager.default.fileExists(atPath: probe.path), probe.path.count > root.path.count {
            probe = probe.deletingLastPathComponent()
        }
        let real = probe.resolvingSymlinksInPath().standardizedFileURL.path
        guard real == rootReal || real.hasPrefix(rootReal.hasSuffix("/") ? rootReal : rootReal + "/") else {
            throw bad("it leads to \(real) through a symbolic link")
        }
        if regularFile {
            guard let type = try? FileManager.default.attributesOfItem(atPath: url.path)[.type] as? FileAttributeType
            else { throw bad("there is no such file") }
            guard type == .typeRegular else { throw bad("it is not a regular file") }
        }
        return url
    }

    /// A single path component: a file or folder name with no `/`, not `.` or `..`, not hidden, no NUL.
    /// - Throws: `CoreError.invalidValue` naming the field.
    public static func checkName(_ name: String, field: String) throws {
        guard !name.isEmpty, !name.contains("/"), !name.contains("\0"), !name.hasPrefix(".") else {
            throw CoreError.invalidValue(
                field: field, value: name, expected: "a plain name (no '/', not empty, not starting with '.')")
        }
    }
}
