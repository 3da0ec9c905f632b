/// A list of yes/no outcomes (an example classified correctly, a target event detected) as hex text, four per
/// digit, the first outcome in the top bit of the first digit: how ledger entries and `stream-metrics.json` keep
/// which examples or events a run got right, compactly enough for a file and exactly enough for paired statistics.
public enum HexBits {
    public static func encode(_ bits: [Bool]) -> String {
        var out = ""
        out.reserveCapacity((bits.count + 3) / 4)
        for start in stride(from: 0, to: bits.count, by: 4) {
            var v = 0
            for k in 0..<4 { v = v << 1 | (start + k < bits.count && bits[start + k] ? 1 : 0) }
            out.append(String(v, radix: 16))
        }
        return out
    }

    /// The inverse of `encode`; nil when `text` is not `count` outcomes' worth of lower-case hex digits (padding
    /// bits must be zero).
    public static func decode(_ text: String, count: Int) -> [Bool]? {
        guard count >= 0, text.count == (count + 3) / 4 else { return nil }
        var out: [Bool] = []
        out.reserveCapacity(text.count * 4)
        for c in text {
            guard let v = c.hexDigitValue, c.isASCII, !c.isUppercase else { return nil }
            for k in (0..<4).reversed() { out.append(v >> k & 1 == 1) }
        }
        guard !out[count...].contains(true) else { return nil }
        return Array(out.prefix(count))
    }
}
