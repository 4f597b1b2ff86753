import Crypto
import Foundation
import SealgateCore
import Yams

/// One problem in a configuration file, with where it is.
public struct ConfigIssue: Sendable, Equatable, CustomStringConvertible {
    /// The key path, e.g. `tenants[0].principals[1].api_key_sha256`.
    public let path: String
    /// The 1-based line in the file, when known.
    public let line: Int?
    public let message: String

    /// Creates an issue.
    public init(path: String, line: Int?, message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    public var description: String {
        let location = line.map { "line \($0), " } ?? ""
        return "\(location)\(path.isEmpty ? "<root>" : path): \(message)"
    }
}

/// The configuration module's error: the file is unreadable or invalid; carries every issue found.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    public let issues: [ConfigIssue]
    public init(_ issues: [ConfigIssue]) { self.issues = issues }
    public var description: String { issues.map(\.description).joined(separator: "\n") }
}

/// Reads and validates `sealgate.yaml`.
public enum ConfigLoader {
    /// Parses and validates YAML text.
    /// - Parameter knownRedactionProfiles: profile names a data class may name.
    /// - Throws: ``ConfigError`` with every issue, each with its key path and line.
    public static func parse(_ yaml: String, knownRedactionProfiles: Set<String>) throws -> Configuration {
        let root: Node
        do {
            root = try Yams.compose(yaml: yaml) ?? Node.mapping(.init([]))
        } catch let error as YamlError {
            throw ConfigError([ConfigIssue(path: "", line: line(of: error), message: "not valid YAML: \(summary(error))")])
        } catch {
            throw ConfigError([ConfigIssue(path: "", line: nil, message: "not valid YAML")])
        }
        let unknown = unknownKeys(in: root)
        guard unknown.isEmpty else { throw ConfigError(unknown) }
        let config: Configuration
        do {
            config = try YAMLDecoder().decode(Configuration.self, from: yaml)
        } catch let error as DecodingError {
            let (path, message) = describe(error)
            throw ConfigError([ConfigIssue(path: path, line: locate(path, in: root), message: message)])
        } catch {
            throw ConfigError([ConfigIssue(path: "", line: nil, message: "cannot decode configuration")])
        }
        let issues = validate(config, knownRedactionProfiles: knownRedactionProfiles).map {
            ConfigIssue(path: $0.path, line: locate($0.path, in: root), message: $0.message)
        }
        guard issues.isEmpty else { throw ConfigError(issues) }
        return config
    }

    /// Reads a file and parses it.
    public static func load(path: String, knownRedactionProfiles: Set<String>) throws -> Configuration {
        guard let data = FileManager.default.contents(atPath: path), let text = String(data: data, encoding: .utf8) else {
            throw ConfigError([ConfigIssue(path: "", line: nil, message: "cannot read \(path) as UTF-8")])
        }
        return try parse(text, knownRedactionProfiles: knownRedactionProfiles)
    }

    /// Semantic checks over a decoded configuration; every issue found, not just the first.
    public static func validate(_ c: Configuration, knownRedactionProfiles: Set<String>) -> [(path: String, message: String)] {
        var issues: [(path: String, message: String)] = []
        func issue(_ path: String, _ message: String) { issues.append((path, message)) }
        if !(1...65535).contains(c.server.port) { issue("server.port", "must be between 1 and 65535") }
        if c.server.bodyLimitBytes < 1024 { issue("server.body_limit_bytes", "must be at least 1024") }
        if c.lease.ttlSeconds < 5 { issue("lease.ttl_seconds", "must be at least 5 seconds") }
        if !["mock", "configfs-tsm"].contains(c.attestation.tee) {
            issue("attestation.tee", "unsupported attester '\(c.attestation.tee)'; this build attests with 'mock' or 'configfs-tsm'")
        }
        let r = c.retrieval
        if !(64...8000).contains(r.chunkCharacters) { issue("retrieval.chunk_characters", "must be between 64 and 8000") }
        if r.chunkOverlap < 0 || r.chunkOverlap * 2 > r.chunkCharacters {
            issue("retrieval.chunk_overlap", "must be between 0 and half of chunk_characters")
        }
        if !(1...50).contains(r.topK) { issue("retrieval.top_k", "must be between 1 and 50") }
        if r.maxDocumentBytes < 1 { issue("retrieval.max_document_bytes", "must be positive") }
        if let limit = r.maxChunksPerTenant, limit < 1 { issue("retrieval.max_chunks_per_tenant", "must be positive (leave it out for no limit)") }
        if case .fixed(let n) = r.efSearch, !(10...4096).contains(n) { issue("retrieval.ef_search", "must be `auto` or between 10 and 4096") }
        if r.embedder.type == .openai {
            if r.embedder.baseURL.flatMap(httpURL) == nil { issue("retrieval.embedder.base_url", "an http(s) URL is required for type openai") }
            if (r.embedder.model ?? "").isEmpty { issue("retrieval.embedder.model", "required for type openai") }
        }
        if r.embedder.type == .minilm, (r.embedder.artifact ?? "").isEmpty {
            issue("retrieval.embedder.artifact", "required for type minilm: a sealed model directory (sealgate model seal)")
        }
        if r.embedder.type == .minilm, !r.embedder.artifactPlain, (r.embedder.signerKey ?? "").isEmpty {
            issue(
                "retrieval.embedder.signer_key",
                "required for a sealed minilm artifact: the PEM public key its OMS signature verifies under (or artifact_plain: true for an unprotected directory)")
        }
        if r.embedder.type == .minilm, r.embedder.artifactPlain, r.embedder.signerKey != nil || r.embedder.keyResource != nil {
            issue("retrieval.embedder.artifact_plain", "contradicts signer_key and key_resource: a plain directory is neither signed nor sealed")
        }
        if let resource = r.embedder.keyResource, !Self.isModelKeyResource(resource) {
            issue("retrieval.embedder.key_resource", "must be <scope>/model/<name>")
        }
        if !(16...8192).contains(r.embedder.dimensions) { issue("retrieval.embedder.dimensions", "must be between 16 and 8192") }
        for (i, name) in r.embedder.allowedDataClasses.enumerated() where c.dataClass(name) == nil {
            issue("retrieval.embedder.allowed_data_classes[\(i)]", "unknown data class '\(name)'")
        }

        let origin = c.audit.origin
        // Printable ASCII: the origin is an RFC 8941 string in every answer's Sealgate-Receipt.
        if origin.isEmpty || !origin.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F && $0 != "+" }) {
            issues.append(("audit.origin", "must be non-empty printable ASCII, without spaces or '+'"))
        }
        if c.events.sink == .webhook && c.events.url.flatMap(httpURL) == nil {
            issues.append(("events.url", "an http(s) URL is required for sink webhook"))
        }
        if c.storage.type == .postgres && c.storage.url == nil && c.storage.urlEnv == nil {
            issues.append(("storage.url", "a postgres:// URL (or url_env) is required for type postgres"))
        }
        if c.storage.type == .sqlite && (c.storage.url != nil || c.storage.urlEnv != nil) {
            issues.append(("storage.url", "only type postgres takes a URL (SQLite lives in the data directory)"))
        }
        if c.events.queueCapacity < 1 { issues.append(("events.queue_capacity", "must be at least 1")) }
        if c.audit.checkpointEveryRecords < 1 { issues.append(("audit.checkpoint_every_records", "must be at least 1")) }
        if c.audit.checkpointIntervalSeconds < 0.1 { issues.append(("audit.checkpoint_interval_seconds", "must be at least 0.1")) }
        issues += witnessIssues(c.audit)
        let principalHashes = Set(c.tenants.flatMap { $0.principals.map { $0.apiKeySHA256.lowercased() } })
        for (i, hash) in c.audit.auditorAPIKeySHA256.enumerated() {
            if hash.count != 64 || Hex.decode(hash) == nil {
                issues.append(("audit.auditor_api_key_sha256[\(i)]", "must be the 64-character hex SHA-256 of the auditor key"))
            } else if principalHashes.contains(hash.lowercased()) {
                issues.append(("audit.auditor_api_key_sha256[\(i)]", "an auditor key must not also be a tenant principal's key"))
            }
        }
        let actions: Set<String> = ["mask", "partial_mask", "hash_token", "drop"]
        var profileNames = knownRedactionProfiles
        if !(16...4096).contains(c.redaction.holdback) { issues.append(("redaction.holdback", "must be between 16 and 4096")) }
        for (i, profile) in c.redaction.profiles.enumerated() {
            if profile.name.isEmpty || knownRedactionProfiles.contains(profile.name) || !profileNames.insert(profile.name).inserted {
                issues.append(("redaction.profiles[\(i)].name", "'\(profile.name)' is empty, built in or defined twice"))
            }
            for (label, action) in profile.actions.sorted(by: { $0.key < $1.key }) where !actions.contains(action) {
                issues.append(("redaction.profiles[\(i)].actions", "label \(label): unknown action '\(action)' (known: drop, hash_token, mask, partial_mask)"))
            }
        }
        for (i, tenant) in c.redaction.tenants.enumerated() where c.tenant(tenant.tenant) == nil {
            issues.append(("redaction.tenants[\(i)].tenant", "unknown tenant '\(tenant.tenant)'"))
        }
        if c.dataClasses.isEmpty { issue("data_classes", "at least one data class is required") }
        var classNames = Set<DataClass>()
        for (i, rule) in c.dataClasses.enumerated() {
            if !classNames.insert(rule.name).inserted { issue("data_classes[\(i)].name", "duplicate data class '\(rule.name)'") }
            if rule.models.isEmpty { issue("data_classes[\(i)].models", "list at least one model profile") }
            for (j, model) in rule.models.enumerated() where c.model(model) == nil {
                issue("data_classes[\(i)].models[\(j)]", "unknown model profile '\(model)'")
            }
            let reachable = rule.models.compactMap { c.model($0) }
            if rule.requireAttestedModels, !reachable.isEmpty, !reachable.contains(where: \.isAttested) {
                issue(
                    "data_classes[\(i)].models",
                    "'\(rule.name)' requires attested models (require_attested_models) but can reach only unattested ones: "
                        + "put its upstream behind `sealgate tee-proxy` and give the profile `attestation: {workload: model:<id>}`, "
                        + "or set require_attested_models: false")
            }
            if !profileNames.contains(rule.redactionProfile) {
                issue("data_classes[\(i)].redaction_profile", "unknown redaction profile '\(rule.redactionProfile)' (known: \(profileNames.sorted().joined(separator: ", ")))")
            }
        }
        var modelIDs = Set<ModelProfileID>()
        for (i, model) in c.models.enumerated() {
            if !modelIDs.insert(model.id).inserted { issue("models[\(i)].id", "duplicate model profile '\(model.id)'") }
            if model.type == .openai {
                if model.baseURL.flatMap(httpURL) == nil { issue("models[\(i)].base_url", "an http(s) URL is required for type openai") }
                if (model.model ?? "").isEmpty { issue("models[\(i)].model", "required for type openai") }
                let scheme = model.baseURL.flatMap(httpURL)?.scheme
                if let attestation = model.attestation {
                    if scheme != "https" { issue("models[\(i)].base_url", "an attested upstream is reached over https only") }
                    if WorkloadClassName.isModel(attestation.workload) == false {
                        issue("models[\(i)].attestation.workload", "must be model:<id> (letters, digits, '.', '_', '-')")
                    }
                    for (j, m) in attestation.measurements.enumerated() where Hex.decode(m) == nil || m.isEmpty {
                        issue("models[\(i)].attestation.measurements[\(j)]", "must be hex")
                    }
                    if model.insecureUnattested { issue("models[\(i)].insecure_unattested", "contradicts attestation") }
                    if let digest = attestation.digest, !Self.isModelDigest(digest) {
                        issue("models[\(i)].attestation.digest", "must be sha256:<64 lowercase hex> (the model digest sealgate model seal prints)")
                    }
                } else if scheme == "http" && !model.insecureUnattested {
                    issue(
                        "models[\(i)].base_url",
                        "a plain http:// upstream sees prompts and passages in the clear: use https with attestation, or set insecure_unattested: true")
                }
            } else if model.attestation != nil || model.insecureUnattested {
                issue("models[\(i)]", "attestation and insecure_unattested apply to type openai only")
            }
            if !(1...3600).contains(model.timeoutSeconds) { issue("models[\(i)].timeout_seconds", "must be between 1 and 3600") }
            if model.maxResponseBytes < 1024 { issue("models[\(i)].max_response_bytes", "must be at least 1024") }
            if !(0...5).contains(model.retries) { issue("models[\(i)].retries", "must be between 0 and 5") }
        }
        var tenantIDs = Set<TenantID>()
        var keyHashes = Set<String>()
        for (i, tenant) in c.tenants.enumerated() {
            if !tenantIDs.insert(tenant.id).inserted { issue("tenants[\(i)].id", "duplicate tenant '\(tenant.id)'") }
            var principalIDs = Set<PrincipalID>()
            for (j, p) in tenant.principals.enumerated() {
                let base = "tenants[\(i)].principals[\(j)]"
                if !principalIDs.insert(p.id).inserted { issue("\(base).id", "duplicate principal '\(p.id)'") }
                let hash = p.apiKeySHA256.lowercased()
                if hash.count != 64 || Hex.decode(hash) == nil {
                    issue("\(base).api_key_sha256", "must be the 64-character hex SHA-256 of the API key, never the key")
                } else if !keyHashes.insert(hash).inserted {
                    issue("\(base).api_key_sha256", "the same API key is configured twice")
                }
                for (field, list) in [("read", p.read), ("write", p.write)] {
                    for (k, entry) in list.enumerated() where entry != "*" && CollectionName(entry) == nil {
                        issue("\(base).\(field)[\(k)]", "'\(entry)' is neither '*' nor a collection name")
                    }
                }
                for (k, entry) in p.dataClasses.enumerated()
                where entry != "*" && !classNames.contains(DataClass(unchecked: entry)) {
                    issue("\(base).data_classes[\(k)]", "unknown data class '\(entry)'")
                }
            }
        }
        return issues
    }

    /// SHA-256 (hex) of the policy bundle: everything that decides what the gateway may do — data classes,
    /// models, tenants and grants, attestation, retrieval and lease settings — but not where it listens.
    public static func policyDigest(_ c: Configuration) -> String {
        var bundle = c
        bundle.server = ServerSettings()
        // Where documents are stored is deployment, like the listener: replicas on one database share a measurement.
        bundle.storage = StorageSettings()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(bundle)) ?? Data()
        return Hex.encode(SHA256.hash(data: data))
    }

    /// `sha256:` and 64 lowercase hex digits: an OMS manifest digest as `sealgate model seal` prints it.
    static func isModelDigest(_ text: String) -> Bool {
        let hex = text.dropFirst("sha256:".count)
        return text.hasPrefix("sha256:") && hex.count == 64 && hex.allSatisfy { ("0"..."9").contains($0) || ("a"..."f").contains($0) }
    }

    /// `<scope>/model/<name>`, three non-empty segments.
    static func isModelKeyResource(_ text: String) -> Bool {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count == 3 && parts[1] == "model" && !parts[0].isEmpty && !parts[2].isEmpty
    }

    static func httpURL(_ text: String) -> URL? {
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil
        else { return nil }
        return url
    }

    static func describe(_ error: DecodingError) -> (String, String) {
        func path(_ keys: [any CodingKey]) -> String {
            var out = ""
            for key in keys {
                if let index = key.intValue { out += "[\(index)]" } else { out += (out.isEmpty ? "" : ".") + key.stringValue }
            }
            return out
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context.codingPath)
            return (parent.isEmpty ? key.stringValue : parent + "." + key.stringValue, "required key is missing")
        case .typeMismatch(let type, let context):
            return (path(context.codingPath), "expected \(type)")
        case .valueNotFound(let type, let context):
            return (path(context.codingPath), "expected a value of type \(type)")
        case .dataCorrupted(let context):
            return (path(context.codingPath), context.debugDescription)
        @unknown default:
            return ("", "invalid configuration")
        }
    }

    /// The line of the node at `path`, or of its nearest existing ancestor.
    static func locate(_ path: String, in root: Node) -> Int? {
        var node = root
        var best = root.mark?.line
        var token = ""
        var tokens: [String] = []
        for c in path {
            if c == "." || c == "[" || c == "]" {
                if !token.isEmpty { tokens.append(token) }
                token = ""
            } else {
                token.append(c)
            }
        }
        if !token.isEmpty { tokens.append(token) }
        for t in tokens {
            let next: Node?
            if let index = Int(t), case .sequence(let seq) = node {
                next = index < seq.count ? seq[index] : nil
            } else {
                next = node[t]
            }
            guard let found = next else { break }
            node = found
            if let line = found.mark?.line { best = line }
        }
        return best
    }

    static func line(of error: YamlError) -> Int? {
        switch error {
        case .scanner(_, _, let mark, _), .parser(_, _, let mark, _), .composer(_, _, let mark, _): return mark.line
        default: return nil
        }
    }

    static func summary(_ error: YamlError) -> String {
        switch error {
        case .scanner(_, let problem, _, _), .parser(_, let problem, _, _), .composer(_, let problem, _, _): return problem
        default: return "malformed"
        }
    }
}
