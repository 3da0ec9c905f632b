import TKDCore

/// Which Speech Commands release a folder follows.
public enum CorpusVersion: String, Sendable, Codable, CaseIterable, ChoiceOption {
    case v1, v2
}

/// Facts about the Speech Commands releases that recipes and corpus readers rely on.
public enum SpeechCommands {
    /// The 35 words of Speech Commands v2.
    public static let wordsV2 = [
        "backward", "bed", "bird", "cat", "dog", "down", "eight", "five", "follow", "forward", "four",
        "go", "happy", "house", "learn", "left", "marvin", "nine", "no", "off", "on", "one", "right",
        "seven", "sheila", "six", "stop", "three", "tree", "two", "up", "visual", "wow", "yes", "zero",
    ]
    /// Words that exist in v2 only.
    public static let v2OnlyWords: Set<String> = ["backward", "follow", "forward", "learn", "visual"]
    /// The 30 words of Speech Commands v1.
    public static let wordsV1 = wordsV2.filter { !v2OnlyWords.contains($0) }
    /// The folder of long noise recordings, relative to the corpus root.
    public static let noiseFolder = "_background_noise_"
}
