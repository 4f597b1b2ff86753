import SealgateConfig
import SealgateCore
import Testing

@Suite("Configuration: embedded defaults and located errors")
struct ConfigTests {
    let profiles: Set<String> = ["none", "basic", "all"]

    @Test("An empty file gives the four default data classes and the built-in model")
    func defaults() throws {
        let config = try ConfigLoader.parse("{}", knownRedactionProfiles: profiles)
        #expect(config.dataClasses.map(\.name.rawValue) == ["public", "internal", "confidential", "restricted"])
        #expect(config.models.map(\.id.rawValue) == ["extractive"])
        #expect(config.server.port == 8080 && config.server.bodyLimitBytes == 1 << 20)
    }

    @Test("Every error is reported with its key path and line")
    func locatedErrors() {
        let yaml = """
            server:
              port: 70000
            data_classes:
              - name: internal
                models: [extractive, gpt-x]
                redaction_profile: fancy
            tenants:
              - id: acme
                principals:
                  - id: app
                    api_key_sha256: sg_live_plaintext_key
                    read: ["*", "Bad Name"]
            """
        do {
            _ = try ConfigLoader.parse(yaml, knownRedactionProfiles: profiles)
            Issue.record("an invalid configuration was accepted")
        } catch let error as ConfigError {
            let found = Dictionary(uniqueKeysWithValues: error.issues.map { ($0.path, $0.line) })
            #expect(found["server.port"] == 2)
            #expect(found["data_classes[0].models[1]"] == 5)
            #expect(found["data_classes[0].redaction_profile"] == 6)
            #expect(found["tenants[0].principals[0].api_key_sha256"] == 11)
            #expect(found["tenants[0].principals[0].read[1]"] == 12)
            #expect(error.issues.count == 5)
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test("audit.origin must be printable ASCII without spaces or '+': it is an RFC 8941 string in every Sealgate-Receipt")
    func auditOrigin() throws {
        #expect(try ConfigLoader.parse("audit:\n  origin: example.com/sealgate/audit\n", knownRedactionProfiles: profiles).audit.origin == "example.com/sealgate/audit")
        for origin in ["audit.例/log", "a+b", "\"a b\"", "\"tab\\there\""] {
            do {
                _ = try ConfigLoader.parse("audit:\n  origin: \(origin)\n", knownRedactionProfiles: profiles)
                Issue.record("origin \(origin) was accepted")
            } catch let error as ConfigError {
                #expect(error.issues.map(\.path) == ["audit.origin"], "\(origin): \(error.issues)")
            }
        }
    }

    @Test("Type errors and bad YAML name their place")
    func typeErrors() {
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("server:\n  port: many\n", knownRedactionProfiles: profiles) }
        do {
            _ = try ConfigLoader.parse("tenants:\n  - id: Not Valid\n    principals: []\n", knownRedactionProfiles: profiles)
        } catch let error as ConfigError {
            #expect(error.issues.first?.path == "tenants[0].id")
            #expect(error.issues.first?.line == 2)
        } catch { Issue.record("unexpected \(error)") }
        #expect(throws: ConfigError.self) { try ConfigLoader.parse("a: [unclosed\n", knownRedactionProfiles: profiles) }
    }

    @Test("Misspelt keys are errors with a suggestion, not silently ignored")
    func unknownKeys() {
        do {
            _ = try ConfigLoader.parse("server:\n  prot: 9000\ndata_classes:\n  - name: public\n    models: [extractive]\n    alow_mock_evidence: true\n", knownRedactionProfiles: profiles)
            Issue.record("a misspelt key was accepted")
        } catch let error as ConfigError {
            #expect(error.issues.map(\.path) == ["server.prot", "data_classes[0].alow_mock_evidence"])
            #expect(error.issues.map(\.line) == [2, 6])
            #expect(error.issues.first?.message.contains("did you mean 'port'") == true)
        } catch { Issue.record("unexpected \(error)") }
    }

    @Test("The policy digest changes with policy, not with the listening address")
    func policyDigest() throws {
        var a = Configuration.embeddedDefault
        let base = ConfigLoader.policyDigest(a)
        a.server.port = 9999
        #expect(ConfigLoader.policyDigest(a) == base)
        a.dataClasses[0].allowMockEvidence = false
        #expect(ConfigLoader.policyDigest(a) != base)
    }
}
