import Foundation
import TKDCore

/// The ground truth of an FSD50K corpus in its official layout (`FSD50K.ground_truth/`):
///
/// - `vocabulary.csv`, no header: `index,label,mid` (200 rows in the real corpus), e.g. `0,Electric_guitar,/m/02sgy`;
/// - `dev.csv`: `fname,labels,mids,split` with split `train` or `val`; `labels` and `mids` are quoted,
///   comma-separated lists of the same length;
/// - `eval.csv`: `fname,labels,mids`.
///
/// Clip `fname` is `FSD50K.dev_audio/<fname>.wav` or `FSD50K.eval_audio/<fname>.wav`. Every value is checked:
/// a fname must be a plain name (digits in the real corpus; never a path), every label must be in the
/// vocabulary with its own mid, a clip appears once, a split is `train` or `val`. A violation is a one-line
/// error naming the file, the line, the value seen and what was expected.
public struct FSD50KGroundTruth: Sendable, Equatable {
    public struct ClassInfo: Sendable, Equatable, Codable {
        public let index: Int
        public let label: String
        public let mid: String
    }

    public enum Subset: String, Sendable, Codable, CaseIterable {
        case train, val, eval
    }

    public struct Clip: Sendable, Equatable, Codable {
        public let fname: String
        /// Indices into the vocabulary, in the order the CSV lists them.
        public let classes: [Int]
        public let subset: Subset
    }

    public let vocabulary: [ClassInfo]
    /// Development clips (train and val), then evaluation clips, each in file order.
    public let clips: [Clip]

    public static let folder = "FSD50K.ground_truth"

    /// The audio folder of a subset, relative to the corpus root.
    public static func audioFolder(_ subset: Subset) -> String {
        subset == .eval ? "FSD50K.eval_audio" : "FSD50K.dev_audio"
    }

    /// The clip's audio file, relative to the corpus root.
    public static func audioPath(_ clip: Clip) -> String { "\(audioFolder(clip.subset))/\(clip.fname).wav" }

    /// Reads `root/FSD50K.ground_truth/{vocabulary,dev,eval}.csv`.
    public static func load(root: URL) throws -> FSD50KGroundTruth {
        let gt = root.appendingPathComponent(folder)
        func text(_ name: String) throws -> (String, String) {
            let url = gt.appendingPathComponent(name)
            guard let data = FileManager.default.contents(atPath: url.path) else {
                throw CoreError.io(path: url.path, reason: "missing or unreadable; expected the official \(name)")
            }
            guard let s = String(data: data, encoding: .utf8) else {
                throw CoreError.io(path: url.path, reason: "not UTF-8 text")
            }
            return (url.path, s)
        }
        let (vp, v) = try text("vocabulary.csv")
        let (dp, d) = try text("dev.csv")
        let (ep, e) = try text("eval.csv")
        return try parse(vocabulary: (vp, v), dev: (dp, d), eval: (ep, e))
    }

    /// Parses the three files' contents; `path` in each pair is only used in messages.
    public static func parse(
        vocabulary: (path: String, text: String), dev: (path: String, text: String),
        eval: (path: String, text: String)
    ) throws -> FSD50KGroundTruth {
        var classes: [ClassInfo] = []
        var byLabel: [String: Int] = [:]
        for (line, row) in try CSV.rows(vocabulary.text, path: vocabulary.path) {
            let at = "\(vocabulary.path):\(line)"
            guard row.count == 3 else {
                throw CoreError.invalidValue(
                    field: at, value: row.joined(separator: ","), expected: "3 columns: index,label,mid")
            }
            guard let index = Int(row[0]), index == classes.count else {
                throw CoreError.invalidValue(
                    field: "\(at) index", value: row[0], expected: "\(classes.count) (rows numbered from 0 in order)")
            }
            guard !row[1].isEmpty, byLabel[row[1]] == nil else {
                throw CoreError.invalidValue(field: "\(at) label", value: row[1], expected: "a new, non-empty label")
            }
            guard row[2].hasPrefix("/") else {
                throw CoreError.invalidValue(
                    field: "\(at) mid", value: row[2], expected: "an ontology id like /m/02sgy")
            }
            byLabel[row[1]] = index
            classes.append(ClassInfo(index: index, label: row[1], mid: row[2]))
        }
        guard !classes.isEmpty else {
            throw CoreError.invalidValue(field: vocabulary.path, value: "(no rows)", expected: "one row per class")
        }
        var clips: [Clip] = []
        var seen: [String: String] = [:]
        for (file, header) in [(dev, ["fname", "labels", "mids", "split"]), (eval, ["fname", "labels", "mids"])] {
            let rows = try CSV.rows(file.text, path: file.path)
            guard let first = rows.first, first.fields == header else {
                throw CoreError.invalidValue(
                    field: "\(file.path):1 header", value: rows.first?.fields.joined(separator: ",") ?? "(empty file)",
                    expected: header.joined(separator: ","))
            }
            for (line, row) in rows.dropFirst() {
                let at = "\(file.path):\(line)"
                guard row.count == header.count else {
                    throw CoreError.invalidValue(
                        field: at, value: "\(row.count) columns",
                        expected: "\(header.count): \(header.joined(separator: ","))")
                }
                let fname = row[0]
                guard Self.isPlainName(fname) else {
                    throw CoreError.invalidValue(
                        field: "\(at) fname", value: fname,
                        expected: "a plain clip name (letters, digits, '_', '-'; no path)")
                }
                if let other = seen[fname] {
                    throw CoreError.invalidValue(
                        field: "\(at) fname", value: fname, expected: "each clip once (also at \(other))")
                }
                seen[fname] = at
                let labels = row[1].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                let mids = row[2].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
                guard labels.count == mids.count else {
                    throw CoreError.invalidValue(
                        field: "\(at) mids", value: row[2], expected: "\(labels.count) mids, one per label")
                }
                var indices: [Int] = []
                for (label, mid) in zip(labels, mids) {
                    guard let c = byLabel[label] else {
                        throw CoreError.invalidValue(
                            field: "\(at) labels", value: label, expected: "a label of \(vocabulary.path)")
                    }
                    guard classes[c].mid == mid else {
                        throw CoreError.invalidValue(
                            field: "\(at) mids", value: mid, expected: "\(classes[c].mid), the mid of \(label)")
                    }
                    guard !indices.contains(c) else {
                        throw CoreError.invalidValue(field: "\(at) labels", value: label, expected: "each label once")
                    }
                    indices.append(c)
                }
                let subset: Subset
                if header.count == 4 {
                    guard let s = Subset(rawValue: row[3]), s != .eval else {
                        throw CoreError.invalidValue(field: "\(at) split", value: row[3], expected: "train or val")
                    }
                    subset = s
                } else {
                    subset = .eval
                }
                clips.append(Clip(fname: fname, classes: indices, subset: subset))
            }
        }
        return FSD50KGroundTruth(vocabulary: classes, clips: clips)
    }

    /// Letters, digits, `_` and `-` only: a name that cannot leave its folder.
    static func isPlainName(_ s: String) -> Bool {
        !s.isEmpty && s.count <= 128
            && s.unicodeScalars.allSatisfy {
                ($0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0))) || $0 == "_" || $0 == "-"
            }
    }
}

/// A minimal RFC 4180 reader: comma-separated fields, double-quoted fields may hold commas, newlines and
/// doubled quotes; `\r\n` or `\n` line ends; blank lines skipped.
enum CSV {
    /// The rows with the (1-based) line each starts on; a malformed quote is an error naming the line.
    static func rows(_ text: String, path: String) throws -> [(line: Int, fields: [String])] {
        var out: [(Int, [String])] = []
        var row: [String] = []
        var field = ""
        var quoted = false, wasQuoted = false
        var line = 1, rowLine = 1
        var it = Array(text.unicodeScalars)
        if it.first == "\u{FEFF}" { it.removeFirst() }  // a byte-order mark
        var i = 0
        func endRow() {
            row.append(field)
            if !(row.count == 1 && row[0].isEmpty && !wasQuoted) { out.append((rowLine, row)) }
            row = []
            field = ""
            wasQuoted = false
        }
        while i < it.count {
            let ch = it[i]
            if quoted {
                if ch == "\"" {
                    if i + 1 < it.count && it[i + 1] == "\"" {
                        field.unicodeScalars.append("\"")
                        i += 1
                    } else {
                        quoted = false
                    }
                } else {
                    if ch == "\n" { line += 1 }
                    field.unicodeScalars.append(ch)
                }
            } else if ch == "\"" {
                guard field.isEmpty else {
                    throw CoreError.invalidValue(
                        field: "\(path):\(line)", value: field + "\"", expected: "a quote only at the start of a field")
                }
                quoted = true
                wasQuoted = true
            } else if ch == "," {
                row.append(field)
                field = ""
                wasQuoted = false
            } else if ch == "\n" || ch == "\r" {
                if ch == "\r", i + 1 < it.count, it[i + 1] == "\n" { i += 1 }
                endRow()
                line += 1
                rowLine = line
            } else {
                if wasQuoted {
                    throw CoreError.invalidValue(
                        field: "\(path):\(line)", value: String(ch),
                        expected: "a comma or line end after a closing quote")
                }
                field.unicodeScalars.append(ch)
            }
            i += 1
        }
        guard !quoted else {
            throw CoreError.invalidValue(
                field: "\(path):\(rowLine)", value: "an open quote", expected: "a closing quote")
        }
        if !field.isEmpty || !row.isEmpty || wasQuoted { endRow() }
        return out
    }
}
