import Yams

extension ConfigLoader {
    /// The keys each section of `sealgate.yaml` accepts; anything else is a misspelling to report, not ignore.
    static let schema: [String: Set<String>] = [
        "": ["server", "lease", "attestation", "retrieval", "audit", "events", "redaction", "data_classes", "models", "tenants", "storage"],
        "storage": ["type", "url", "url_env"],
        "redaction": ["holdback", "profiles", "tenants"],
        "redaction.profiles[]": ["name", "actions"],
        "redaction.tenants[]": ["tenant", "dictionaries", "patterns"],
        "redaction.tenants[].dictionaries[]": ["label", "terms"],
        "redaction.tenants[].patterns[]": ["label", "pattern"],
        "events": ["sink", "path", "url", "queue_capacity"],
        "audit": [
            "origin", "checkpoint_every_records", "checkpoint_interval_seconds", "auditor_api_key_sha256", "witnesses", "witness_quorum",
            "witness_timeout_seconds",
        ],
        "audit.witnesses[]": ["url", "key"],
        "server": ["host", "port", "body_limit_bytes", "tls", "tls_names"],
        "lease": ["ttl_seconds"],
        "attestation": ["tee", "reference_values"],
        "retrieval": ["chunk_characters", "chunk_overlap", "top_k", "max_document_bytes", "max_chunks_per_tenant", "embedder", "ef_search"],
        "retrieval.embedder": ["type", "artifact", "signer_key", "key_resource", "artifact_plain", "dimensions", "base_url", "model", "api_key_env", "timeout_seconds", "allowed_data_classes"],
        "data_classes[]": ["name", "models", "redaction_profile", "allow_mock_evidence", "require_attested_models"],
        "models[]": [
            "id", "type", "base_url", "model", "api_key_env", "timeout_seconds", "max_response_bytes", "retries", "redact_prompt", "attestation",
            "insecure_unattested",
        ],
        "models[].attestation": ["workload", "measurements", "digest"],
        "tenants[]": ["id", "principals"],
        "tenants[].principals[]": ["id", "api_key_sha256", "read", "write", "data_classes"],
    ]

    /// Every mapping key the schema does not know, with its path and line.
    static func unknownKeys(in root: Node) -> [ConfigIssue] {
        var issues: [ConfigIssue] = []
        func walk(_ node: Node, schemaPath: String, path: String) {
            switch node {
            case .mapping(let mapping):
                // Mappings whose keys are data (labels in redaction actions) have no schema entry: not walked.
                guard let allowed = schema[schemaPath] else { return }
                for (keyNode, value) in mapping {
                    let key = keyNode.string ?? ""
                    let childPath = path.isEmpty ? key : path + "." + key
                    guard allowed.contains(key) else {
                        let suggestion = allowed.min { distance($0, key) < distance($1, key) }
                        let hint = suggestion.map { distance($0, key) <= 3 ? " (did you mean '\($0)'?)" : "" } ?? ""
                        issues.append(ConfigIssue(path: childPath, line: keyNode.mark?.line, message: "unknown key\(hint)"))
                        continue
                    }
                    let childSchema = schemaPath.isEmpty ? key : schemaPath + "." + key
                    walk(value, schemaPath: childSchema, path: childPath)
                }
            case .sequence(let sequence):
                for (i, item) in sequence.enumerated() {
                    walk(item, schemaPath: schemaPath + "[]", path: path + "[\(i)]")
                }
            default:
                return
            }
        }
        walk(root, schemaPath: "", path: "")
        return issues
    }

    /// Levenshtein distance, for suggestions.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + [Int](repeating: 0, count: b.count)
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            previous = current
        }
        return previous[b.count]
    }

    /// Advice that does not make a file invalid: choices that leave the gateway without keys in this build.
    public static func warnings(_ c: Configuration) -> [String] {
        var out: [String] = []
        if c.attestation.tee == "mock" {
            for rule in c.dataClasses where !rule.allowMockEvidence {
                out.append("data class '\(rule.name)' refuses mock evidence and this gateway attests with the mock TEE (mock results are at best 'warning'): its keys will not be released")
            }
        }
        if c.tenants.isEmpty { out.append("no tenants are configured: every request will be refused as unauthenticated") }
        for model in c.models where model.type == .openai && model.attestation == nil {
            let classes = c.dataClasses.filter { $0.models.contains(model.id) && !$0.requireAttestedModels }.map(\.name.rawValue)
            out.append(
                "model profile '\(model.id)' is not attested (\(model.reach)): the operator of its host can read what classes "
                    + "[\(classes.joined(separator: ", "))] send it; classes that require attested models never reach it")
        }
        return out
    }
}
