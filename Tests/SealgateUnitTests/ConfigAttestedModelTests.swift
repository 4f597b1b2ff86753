import AccessPolicy
import SealgateConfig
import SealgateCore
import Testing

@Suite("Configuration and policy: attested models, insecure upstreams, require_attested_models")
struct ConfigAttestedModelTests {
    let profiles: Set<String> = ["none", "basic", "all"]

    func issues(_ yaml: String) -> [String: String] {
        do {
            _ = try ConfigLoader.parse(yaml, knownRedactionProfiles: profiles)
            return [:]
        } catch let error as ConfigError {
            return Dictionary(error.issues.map { ($0.path, $0.message) }, uniquingKeysWith: { a, _ in a })
        } catch {
            return ["?": "\(error)"]
        }
    }

    @Test("http:// upstreams need insecure_unattested; attested ones need https and a model:<id> workload")
    func upstreamRules() {
        let plain = """
            models:
              - {id: extractive, type: builtin}
              - {id: up, type: openai, base_url: "http://10.0.0.5:8000/v1", model: m}
            """
        #expect(issues(plain)["models[1].base_url"]?.contains("insecure_unattested") == true)
        #expect(issues(plain.replacingOccurrences(of: "model: m}", with: "model: m, insecure_unattested: true}")).isEmpty)
        let attested = """
            models:
              - {id: extractive, type: builtin}
              - {id: up, type: openai, base_url: "http://10.0.0.5:8443/v1", model: m, attestation: {workload: "gateway"}}
            """
        let found = issues(attested)
        #expect(found["models[1].base_url"]?.contains("https") == true)
        #expect(found["models[1].attestation.workload"] != nil)
        #expect(issues("models:\n  - {id: extractive, type: builtin, insecure_unattested: true}\n")["models[0]"] != nil)
    }

    @Test("A class that requires attested models but reaches only unattested ones is reported; defaults follow the class name")
    func classRules() throws {
        let yaml = """
            data_classes:
              - {name: internal, models: [up], redaction_profile: basic}
              - {name: restricted, models: [up], redaction_profile: all}
            models:
              - {id: up, type: openai, base_url: "https://llm.example/v1", model: m}
            """
        let found = issues(yaml)
        #expect(found["data_classes[1].models"]?.contains("require_attested_models") == true)
        #expect(found["data_classes[0].models"] == nil)
        let relaxed = yaml.replacingOccurrences(of: "redaction_profile: all}", with: "redaction_profile: all, require_attested_models: false}")
        let config = try ConfigLoader.parse(relaxed, knownRedactionProfiles: profiles)
        #expect(config.dataClasses.map(\.requireAttestedModels) == [false, false])
        #expect(try ConfigLoader.parse("{}", knownRedactionProfiles: profiles).dataClasses.map(\.requireAttestedModels) == [false, false, true, true])
        #expect(ConfigLoader.warnings(config).contains { $0.contains("'up' is not attested") })
    }

    @Test("The access policy refuses an unattested model at a class that requires attestation, before retrieval")
    func policyRefusal() throws {
        let yaml = """
            data_classes:
              - {name: restricted, models: [extractive, up, safe], redaction_profile: all}
            models:
              - {id: extractive, type: builtin}
              - {id: up, type: openai, base_url: "https://llm.example/v1", model: m}
              - {id: safe, type: openai, base_url: "https://llm.internal/v1", model: m, attestation: {workload: "model:safe"}}
            """
        let config = try ConfigLoader.parse(yaml, knownRedactionProfiles: profiles)
        let policy = AccessPolicy(config.policyTable(servedModels: Set(config.models.map(\.id))))
        let grants = Grants(read: ["*"], write: [], dataClasses: ["*"])
        func decide(_ model: String) -> AccessDecision<QueryGrant> {
            policy.decide(
                grants,
                QueryAccess(
                    requestID: "r", principal: Principal(tenant: TenantID(unchecked: "acme"), id: PrincipalID(unchecked: "app")), question: "q",
                    dataClass: "restricted", model: model, scope: ["handbook"], topK: nil))
        }
        guard case .deny(let denial) = decide("up") else {
            Issue.record("an unattested model was allowed at restricted")
            return
        }
        #expect(denial.reason == .modelNotAttested && denial.rule.auditName == "data_classes.restricted.require_attested_models")
        for allowed in ["extractive", "safe"] {
            guard case .allow = decide(allowed) else {
                Issue.record("\(allowed) was refused")
                return
            }
        }
        #expect(config.models.map(\.reach) == ["in_gateway", "unattested", "attested"])
    }
}
