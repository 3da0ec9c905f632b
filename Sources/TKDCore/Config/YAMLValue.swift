import Foundation
import Yams

/// A strict, position-aware view of a YAML document: every accessor checks the type, every mapping
/// rejects keys it does not know, and every error names the file, line and key path.
///
/// ```swift
/// let root = try YAMLValue.load(url)
/// let m = try root.mapping(allowed: ["version", "seed"], required: ["version"])
/// let seed = try m["seed"]?.int() ?? 0
/// ```
public struct YAMLValue: @unchecked Sendable {
    public let node: Node?
    public let file: String
    /// Dotted key path from the document root (`""` for the root).
    public let path: String
    /// Line of the closest node (1-based), if known.
    public let line: Int?

    public init(node: Node?, file: String, path: String, line: Int?) {
        self.node = node
        self.file = file
        self.path = path
        self.line = node?.mark?.line ?? line
    }

    /// Parses a YAML file.
    /// - Throws: `ConfigError` for unreadable files and YAML syntax errors (with the line).
    public static func load(_ url: URL) throws -> YAMLValue {
        let data: Data?
        do { data = try RegularFile.contents(url) } catch let CoreError.io(_, reason) {
            throw ConfigError(file: url.path, line: nil, key: "", message: reason)
        }
        guard let data, let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: url.path, line: nil, key: "", message: "cannot read the file as UTF-8 text")
        }
        return try parse(text, file: url.path)
    }

    public static func parse(_ text: String, file: String) throws -> YAMLValue {
        do {
            return YAMLValue(node: try Yams.compose(yaml: text), file: file, path: "", line: 1)
        } catch let YamlError.duplicatedKeysInMapping(duplicates, context) {
            throw ConfigError(
                file: file, line: context.mark.line, key: duplicates.joined(separator: ", "), message: "key given twice"
            )
        } catch let error as YamlError {
            throw ConfigError(
                file: file, line: Self.line(of: error), key: "", message: "YAML syntax error: \(Self.summary(error))")
        } catch {
            throw ConfigError(file: file, line: nil, key: "", message: "YAML error: \(error)")
        }
    }

    private static func line(of error: YamlError) -> Int? {
        switch error {
        case let .scanner(_, _, mark, _), let .parser(_, _, mark, _), let .composer(_, _, mark, _):
            return mark.line
        default:
            return nil
        }
    }

    private static func summary(_ error: YamlError) -> String {
        switch error {
        case let .scanner(context, problem, _, _), let .parser(context, problem, _, _),
            let .composer(context, problem, _, _):
            return [context?.text, problem].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ", ")
        default:
            return "\(error)".split(separator: "\n").first.map(String.init) ?? "\(error)"
        }
    }

    public func fail(_ message: String) -> ConfigError {
        ConfigError(file: file, line: line, key: path, message: message)
    }

    /// Whether the value is absent or YAML null (`~`, `null`, empty).
    public var isNull: Bool {
        guard let node else { return true }
        if case .scalar = node, node.null != nil { return true }
        return false
    }

    private var seen: String {
        guard let node else { return "nothing" }
        switch node {
        case let .scalar(s): return "'\(s.string)'"
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    // MARK: Structure

    /// The entries of a mapping, keyed by name.
    /// - Throws: when this is not a mapping, a key is not in `allowed` (the error lists the allowed
    ///   keys), a key repeats, or a `required` key is missing.
    public func mapping(allowed: [String], required: [String] = []) throws -> [String: YAMLValue] {
        guard case let .mapping(m)? = node else { throw fail("expected a mapping, found \(seen)") }
        var out: [String: YAMLValue] = [:]
        for (k, v) in m {
            guard case let .scalar(ks) = k else { throw fail("keys must be plain names") }
            let key = ks.string
            let childPath = path.isEmpty ? key : "\(path).\(key)"
            guard allowed.contains(key) else {
                throw ConfigError(
                    file: file, line: k.mark?.line ?? line, key: childPath,
                    message: "unknown key; expected one of: \(allowed.joined(separator: ", "))")
            }
            guard out[key] == nil else {
                throw ConfigError(file: file, line: k.mark?.line ?? line, key: childPath, message: "key given twice")
            }
            out[key] = YAMLValue(node: v, file: file, path: childPath, line: k.mark?.line ?? line)
        }
        for key in required where out[key] == nil || out[key]!.isNull {
            throw ConfigError(
                file: file, line: line, key: path.isEmpty ? key : "\(path).\(key)", message: "required key is missing")
        }
        return out
    }

    /// One key's value of a mapping, other keys unchecked (nil when this is not a mapping or lacks the key): for
    /// peeking at a discriminating key before the full `mapping(allowed:)` check.
    public func value(forKey key: String) -> YAMLValue? {
        guard case let .mapping(m)? = node else { return nil }
        for (k, v) in m {
            if case let .scalar(ks) = k, ks.string == key {
                let childPath = path.isEmpty ? key : "\(path).\(key)"
                return YAMLValue(node: v, file: file, path: childPath, line: k.mark?.line ?? line)
            }
        }
        return nil
    }

    /// Whether this is a mapping (for values that may be a scalar or a mapping).
    public var isMapping: Bool { if case .mapping? = node { return true } else { return false } }
    public var isList: Bool { if case .sequence? = node { return true } else { return false } }

    /// The items of a list.
    public func list() throws -> [YAMLValue] {
        guard case let .sequence(s)? = node else { throw fail("expected a list, found \(seen)") }
        return s.enumerated().map { i, n in
            YAMLValue(node: n, file: file, path: "\(path)[\(i)]", line: n.mark?.line ?? line)
        }
    }

    // MARK: Scalars

    public func string() throws -> String {
        guard case let .scalar(s)? = node, !isNull else { throw fail("expected a string, found \(seen)") }
        return s.string
    }

    public func int() throws -> Int {
        guard case .scalar? = node, let v = node?.int else { throw fail("expected an integer, found \(seen)") }
        return v
    }

    public func double() throws -> Double {
        guard case .scalar? = node, let v = node?.float, v.isFinite else {
            throw fail("expected a number, found \(seen)")
        }
        return v
    }

    public func bool() throws -> Bool {
        guard case .scalar? = node, let v = node?.bool else { throw fail("expected true or false, found \(seen)") }
        return v
    }

    /// A string from a fixed set.
    public func choice(_ options: [String]) throws -> String {
        let s = try string()
        guard options.contains(s) else { throw fail("'\(s)' is not one of: \(options.joined(separator: ", "))") }
        return s
    }

    /// A number within `range`.
    public func double(in range: ClosedRange<Double>) throws -> Double {
        let v = try double()
        guard range.contains(v) else { throw fail("\(v) is outside [\(range.lowerBound), \(range.upperBound)]") }
        return v
    }

    public func int(in range: ClosedRange<Int>) throws -> Int {
        let v = try int()
        guard range.contains(v) else { throw fail("\(v) is outside [\(range.lowerBound), \(range.upperBound)]") }
        return v
    }
}
