/// The toolkit's version, written into every output it produces (dataset.json, caches, checkpoints).
public enum TKDVersion {
    public static let current = "0.1.0"
}
