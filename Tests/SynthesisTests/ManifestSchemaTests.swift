import AudioIO
import DatasetFormat
import Foundation
import TKDCore
import Testing

@testable import Synthesis

@Suite("Manifest schema")
struct ManifestSchemaTests {
    static let schemaURL = RecipeTests.repo.appendingPathComponent("Manifests/manifest.schema.json")

    /// The keys of an object schema: (required, properties).
    static func keys(_ object: [String: Any]) -> (Set<String>, Set<String>) {
        (Set(object["required"] as? [String] ?? []), Set((object["properties"] as? [String: Any] ?? [:]).keys))
    }

    @Test("Manifests/manifest.schema.json requires exactly the keys every record carries, at every level")
    func schemaMatchesRecords() throws {
        let schema = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.schemaURL)) as! [String: Any]
        let defs = schema["$defs"] as! [String: [String: Any]]
        let dir = try GenerateFixture.reference("7s")
        var sawKeyword = false, sawSilence = false
        for record in try DatasetInfo.loadManifests(dir) {
            let object = try JSONSerialization.jsonObject(with: try record.canonicalJSON()) as! [String: Any]
            let (required, properties) = Self.keys(schema)
            #expect(
                Set(object.keys) == required && required.union(Self.clipOnly) == properties,
                "\(Set(object.keys).symmetricDifference(required))")
            if let keyword = object["keyword"] as? [String: Any] {
                sawKeyword = true
                let (kr, kp) = Self.keys(defs["keyword"]!)
                #expect(Set(keyword.keys) == kr && kr == kp, "\(Set(keyword.keys).symmetricDifference(kr))")
            } else {
                sawSilence = true
                #expect(object["keyword"] is NSNull)
            }
            for segment in object["noise"] as! [[String: Any]] {
                let (sr, sp) = Self.keys(defs["segment"]!)
                #expect(Set(segment.keys) == sr && sr == sp)
            }
            #expect((object["audio_sha256"] as? String)?.count == 64)
        }
        #expect(sawKeyword && sawSilence)
    }

    /// The keys only a clip dataset's records carry (a Speech Commands record never has them).
    static let clipOnly: Set<String> = ["labels", "label_indices", "clip", "events"]

    @Test("a clip dataset's records carry the schema's keys plus labels, label_indices, clip and events")
    func clipRecords() throws {
        let root = try ClipDatasetTests.corpus(8)
        defer { try? FileManager.default.removeItem(at: root) }
        let recipe = try ClipDatasetTests.recipe(
            ClipDatasetTests.base + "variants:\n  - name: p\n    clips: {mode: patches, seconds: 1}\n")
        _ = try ClipDatasetTests.generate(root, recipe, out: "d", jobs: 2)
        let schema = try JSONSerialization.jsonObject(with: Data(contentsOf: Self.schemaURL)) as! [String: Any]
        let defs = schema["$defs"] as! [String: [String: Any]]
        let (required, properties) = Self.keys(schema)
        var events = 0
        for record in try DatasetInfo.loadManifests(root.appendingPathComponent("d")) {
            let object = try JSONSerialization.jsonObject(with: try record.canonicalJSON()) as! [String: Any]
            #expect(Set(object.keys) == required.union(Self.clipOnly) && properties == Set(object.keys))
            let (cr, cp) = Self.keys(defs["clip"]!)
            #expect(Set((object["clip"] as! [String: Any]).keys) == cr && cr == cp)
            for e in object["events"] as! [[String: Any]] {
                events += 1
                let (er, ep) = Self.keys(defs["event"]!)
                #expect(Set(e.keys) == er && er == ep)
            }
        }
        #expect(events > 0)
    }
}
