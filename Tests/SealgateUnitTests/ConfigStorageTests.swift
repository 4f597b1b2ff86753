import SealgateConfig
import SealgateCore
import Testing

@Suite("Configuration: storage")
struct ConfigStorageTests {
    let profiles: Set<String> = ["none", "basic", "all"]

    func issues(_ yaml: String) -> [String] { configIssuePaths(yaml) }

    @Test("SQLite by default; postgres needs a URL (or url_env), SQLite takes none; unknown keys are reported")
    func validation() throws {
        #expect(try ConfigLoader.parse("{}", knownRedactionProfiles: profiles).storage == StorageSettings())
        let postgres = try ConfigLoader.parse("storage:\n  type: postgres\n  url: postgres://sg@db:5432/sealgate\n", knownRedactionProfiles: profiles)
        #expect(postgres.storage.type == .postgres && postgres.storage.resolvedURL(environment: [:]) == "postgres://sg@db:5432/sealgate")
        #expect(issues("storage:\n  type: postgres\n") == ["storage.url"])
        #expect(issues("storage:\n  type: sqlite\n  url: postgres://sg@db/x\n") == ["storage.url"])
        #expect(issues("storage:\n  type: postgres\n  uri: postgres://sg@db/x\n").contains("storage.uri"))
    }

    @Test("url_env wins over url when its variable is set; the storage settings are not part of the policy digest")
    func environmentAndDigest() throws {
        let config = try ConfigLoader.parse(
            "storage:\n  type: postgres\n  url: postgres://sg@a/x\n  url_env: SG_DB\n", knownRedactionProfiles: profiles)
        #expect(config.storage.resolvedURL(environment: ["SG_DB": "postgres://sg:secret@b/x"]) == "postgres://sg:secret@b/x")
        #expect(config.storage.resolvedURL(environment: [:]) == "postgres://sg@a/x")
        let embedded = try ConfigLoader.parse("{}", knownRedactionProfiles: profiles)
        #expect(ConfigLoader.policyDigest(config) == ConfigLoader.policyDigest(embedded))
    }
}
