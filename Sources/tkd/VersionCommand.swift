import ArgumentParser
import AudioIO
import COpenBLAS
import DatasetFormat
import Features
import Foundation
import TKDCore

/// `tkd version`: the toolkit's version and the versions of the C libraries it runs on.
struct VersionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "version",
        abstract: "Print the toolkit's version and the C libraries it is linked against.")

    @Flag(help: "Print as one JSON object.")
    var json = false

    func run() throws {
        let info: [String: String] = [
            "tkd": TKDVersion.current,
            "libsndfile": AudioReader.libraryVersion,
            "libsamplerate": Resampler.libraryVersion,
            "fftw3f": fftwVersion,
            "openblas": String(cString: openblas_get_config()),
            "openblas_core": String(cString: openblas_get_corename()),
        ]
        if json {
            say(String(decoding: try CanonicalJSON.encode(info), as: UTF8.self))
        } else {
            for key in info.keys.sorted() { say("\(key)\t\(info[key]!)") }
        }
    }
}
