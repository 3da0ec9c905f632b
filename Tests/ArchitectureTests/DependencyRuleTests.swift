import Foundation
import Testing

/// The dependency rule (Docs/architecture.md): the layer table lists every module of `Sources/` with the
/// modules it may import, each of them above it in the table. Every `import` in every source file, and
/// every dependency in Package.swift, must be allowed by its module's row; Package.swift's dependencies must
/// be exactly the row's.
@Suite("Architecture: the layer table")
struct DependencyRuleTests {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// Modules of the platform, importable anywhere.
    static let platform: Set<String> = ["Foundation", "Glibc", "Darwin", "Dispatch"]

    /// The table: module → allowed imports, in table order.
    static func table() throws -> [(module: String, imports: Set<String>)] {
        let doc = try String(contentsOf: repo.appendingPathComponent("Docs/architecture.md"), encoding: .utf8)
        guard let start = doc.range(of: "# Architecture\n") else {
            throw Failure("Docs/architecture.md has no '# Architecture' heading")
        }
        let section = doc[start.upperBound...]
        var rows: [(String, Set<String>)] = []
        for line in section.split(separator: "\n") {
            if line.hasPrefix("## ") { break }
            guard line.hasPrefix("| `") else { continue }
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map {
                $0.trimmingCharacters(in: .whitespaces)
            }
            guard cells.count >= 4 else { continue }
            let modules = cells[1].split(separator: ",").map {
                $0.trimmingCharacters(in: CharacterSet(charactersIn: "` "))
            }
            let imports =
                cells[3] == "—" ? [] : cells[3].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            for m in modules { rows.append((m, Set(imports))) }
        }
        return rows
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    @Test("the table covers every module of Sources/, and each row imports only modules above it")
    func tableIsLayered() throws {
        let rows = try Self.table()
        let folders = try FileManager.default.contentsOfDirectory(
            atPath: Self.repo.appendingPathComponent("Sources").path
        )
        .filter { !$0.hasPrefix(".") }
        #expect(
            Set(rows.map(\.module)) == Set(folders),
            "table \(rows.map(\.module).sorted()), Sources/ \(folders.sorted())")
        var above: Set<String> = []
        let external: Set<String> = ["Yams", "Crypto", "ArgumentParser"]
        for row in rows {
            for i in row.imports where !external.contains(i) && !Self.platform.contains(i) {
                #expect(above.contains(i), "\(row.module) may import \(i), which is not above it in the table")
            }
            above.insert(row.module)
        }
    }

    @Test("no source file imports a module its row does not allow")
    func imports() throws {
        let rows = Dictionary(try Self.table().map { ($0.module, $0.imports) }, uniquingKeysWith: { a, _ in a })
        let sources = Self.repo.appendingPathComponent("Sources")
        let e = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)!
        var files = 0
        for case let url as URL in e where url.pathExtension == "swift" {
            files += 1
            let module = url.path.dropFirst(sources.path.count + 1).split(separator: "/").first.map(String.init) ?? ""
            let allowed = (rows[module] ?? []).union(Self.platform)
            let text = try String(contentsOf: url, encoding: .utf8)
            for line in text.split(separator: "\n") {
                let words = line.split(separator: " ")
                guard let i = words.firstIndex(of: "import"), i + 1 < words.count,
                    words[..<i].allSatisfy({
                        $0.hasPrefix("@") || ["public", "internal", "private", "fileprivate"].contains(String($0))
                    })
                else { continue }
                // `import X`, `import X.Sub`, `import struct X.Y`: the module is the first component.
                let kinds: Set<Substring> = ["struct", "class", "enum", "protocol", "func", "var", "let", "typealias"]
                let target = kinds.contains(words[i + 1]) && i + 2 < words.count ? words[i + 2] : words[i + 1]
                let imported = String(target.split(separator: ".").first ?? target)
                let file = url.path.dropFirst(Self.repo.path.count + 1)
                #expect(
                    allowed.contains(imported),
                    "\(file) imports \(imported), which the layer table does not allow for \(module)")
            }
        }
        #expect(files > 50)
    }

    /// Target name → dependency names (strings and products) of the non-test targets in Package.swift.
    static func packageGraph() throws -> [String: Set<String>] {
        let text = try String(contentsOf: repo.appendingPathComponent("Package.swift"), encoding: .utf8)
        var graph: [String: Set<String>] = [:]
        var rest = text[...]
        while let r = rest.range(
            of: #"\.(target|executableTarget|systemLibrary)\(\s*name: "([A-Za-z]+)""#, options: .regularExpression)
        {
            let header = rest[r]
            let name = String(header.split(separator: "\"")[1])
            rest = rest[r.upperBound...]
            let end =
                rest.range(of: #"\.(target|executableTarget|systemLibrary|testTarget)\("#, options: .regularExpression)?
                .lowerBound
                ?? rest.endIndex
            let body = rest[..<end]
            var deps: Set<String> = []
            if let d = body.range(of: "dependencies: [") {
                var depth = 1, i = d.upperBound
                while i < body.endIndex && depth > 0 {
                    if body[i] == "[" { depth += 1 } else if body[i] == "]" { depth -= 1 }
                    i = body.index(after: i)
                }
                let list = body[d.upperBound..<i]
                for m in list.matches(of: /\.product\(name: "([A-Za-z]+)"/) { deps.insert(String(m.1)) }
                let stripped = list.replacing(/\.product\([^)]*\)/, with: "")
                for m in stripped.matches(of: /"([A-Za-z]+)"/) { deps.insert(String(m.1)) }
            }
            graph[name] = deps
        }
        return graph
    }

    @Test("Package.swift's dependencies are exactly the table's rows")
    func package() throws {
        let rows = Dictionary(try Self.table().map { ($0.module, $0.imports) }, uniquingKeysWith: { a, _ in a })
        let graph = try Self.packageGraph()
        #expect(graph.count >= rows.count - 1, "parsed \(graph.keys.sorted())")
        for (module, allowed) in rows {
            guard let deps = graph[module] else {
                Issue.record("Package.swift has no target \(module)")
                continue
            }
            #expect(
                deps == allowed.subtracting(Self.platform),
                "\(module): Package.swift \(deps.sorted()), table \(allowed.sorted())")
        }
    }
}
