import Foundation

/// Canonical JSON: keys sorted, no escaped slashes, no insignificant white space (compact) or a
/// stable pretty form. The same value always gives the same bytes, so manifests and indexes can be
/// compared byte for byte and hashed.
public enum CanonicalJSON {
    /// One compact line (no trailing newline).
    public static func encode<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(value)
    }

    /// Indented, keys sorted, with a trailing newline (for human-read files such as dataset.json).
    public static func encodePretty<T: Encodable>(_ value: T) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]
        var data = try encoder.encode(value)
        data.append(0x0A)
        return data
    }

    /// JSON Lines: one compact record per line, each line ending in a newline.
    public static func encodeLines<T: Encodable>(_ values: [T]) throws -> Data {
        var out = Data()
        for value in values {
            out.append(try encode(value))
            out.append(0x0A)
        }
        return out
    }

    /// Decodes JSON Lines, naming the file and line of the first record that fails.
    /// - Throws: `CoreError.malformedJSON`.
    public static func decodeLines<T: Decodable>(_ type: T.Type, from data: Data, path: String) throws -> [T] {
        let decoder = JSONDecoder()
        var records: [T] = []
        var lineNumber = 0
        for line in data.split(separator: 0x0A, omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.isEmpty { continue }
            do {
                records.append(try decoder.decode(T.self, from: Data(line)))
            } catch {
                throw CoreError.malformedJSON(path: path, line: lineNumber, reason: describe(error))
            }
        }
        return records
    }

    /// A one-line description of a `DecodingError` (the key path and what was wrong).
    public static func describe(_ error: Error) -> String {
        guard let e = error as? DecodingError else { return "\(error)" }
        func path(_ ctx: DecodingError.Context) -> String {
            let p = ctx.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
            return p.isEmpty ? "top level" : "field '\(p)'"
        }
        switch e {
        case let .keyNotFound(key, ctx):
            return "missing field '\(key.stringValue)' at \(path(ctx))"
        case let .typeMismatch(type, ctx):
            return "\(path(ctx)): expected \(type); \(ctx.debugDescription)"
        case let .valueNotFound(type, ctx):
            return "\(path(ctx)): expected a \(type) value, found null"
        case let .dataCorrupted(ctx):
            return "\(path(ctx)): \(ctx.debugDescription)"
        @unknown default:
            return "\(e)"
        }
    }
}
