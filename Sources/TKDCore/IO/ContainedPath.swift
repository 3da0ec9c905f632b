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
        if let why = lexicalProblem(relative) { throw bad(why) }
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
            switch RegularFile.kind(url) {  // after links, which lead inside the root (checked above)
            case .regular: break
            case .missing: throw bad("there is no such file")
            case let .other(what): throw bad("it is \(what), not a regular file")
            }
        }
        return url
    }

    /// Why `path` is not usable as written, or nil: empty, absolute (unless `allowAbsolute`), a NUL character,
    /// a `..`, or an empty or `.` part. (Where it leads through links is `resolve`'s concern.)
    public static func lexicalProblem(_ path: String, allowAbsolute: Bool = false) -> String? {
        if path.isEmpty { return "it is empty" }
        if path.hasPrefix("/") && !allowAbsolute { return "it is absolute" }
        if path.contains("\0") { return "it holds a NUL character" }
        let rest = path.hasPrefix("/") ? path.dropFirst() : Substring(path)
        let parts = rest.split(separator: "/", omittingEmptySubsequences: false)
        if parts.contains(where: { $0 == ".." }) { return "it climbs out with '..'" }
        if parts.contains(where: { $0.isEmpty || $0 == "." }) { return "it has an empty or '.' part" }
        return nil
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
