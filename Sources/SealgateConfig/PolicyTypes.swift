import AccessPolicy
import Foundation
import SealgateCore

/// The rules of one data class.
public struct DataClassRule: Sendable, Codable, Equatable {
    public var name: DataClass
    /// Model profiles allowed to see plaintext of this class.
    public var models: [ModelProfileID]
    /// The redaction profile applied to answers at this class: `none`, `basic`, `all` or one of `redaction.profiles`.
    public var redactionProfile: String
    /// Whether keys of this class may be released on mock (software) evidence. Development only.
    public var allowMockEvidence: Bool
    /// Whether passages of this class may reach only attested models (the built-in model, or an upstream behind an
    /// attested TLS endpoint). Default: `true` for `confidential` and `restricted`, `false` otherwise.
    public var requireAttestedModels: Bool

    enum CodingKeys: String, CodingKey {
        case name, models
        case redactionProfile = "redaction_profile"
        case allowMockEvidence = "allow_mock_evidence"
        case requireAttestedModels = "require_attested_models"
    }

    /// The classes that require attested models unless the configuration says otherwise.
    public static let attestedByDefault: Set<String> = ["confidential", "restricted"]

    public init(name: DataClass, models: [ModelProfileID], redactionProfile: String, allowMockEvidence: Bool, requireAttestedModels: Bool? = nil) {
        self.name = name
        self.models = models
        self.redactionProfile = redactionProfile
        self.allowMockEvidence = allowMockEvidence
        self.requireAttestedModels = requireAttestedModels ?? Self.attestedByDefault.contains(name.rawValue)
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(DataClass.self, forKey: .name)
        models = try c.decodeIfPresent([ModelProfileID].self, forKey: .models) ?? []
        redactionProfile = try c.decodeIfPresent(String.self, forKey: .redactionProfile) ?? "all"
        allowMockEvidence = try c.decodeIfPresent(Bool.self, forKey: .allowMockEvidence) ?? false
        requireAttestedModels = try c.decodeIfPresent(Bool.self, forKey: .requireAttestedModels) ?? Self.attestedByDefault.contains(name.rawValue)
    }
}

/// A model profile: the built-in model or an OpenAI-compatible upstream.
public struct ModelProfile: Sendable, Codable, Equatable {
    public enum Kind: String, Sendable, Codable { case builtin, openai }
    public var id: ModelProfileID
    public var type: Kind
    public var baseURL: String?
    /// The upstream model name.
    public var model: String?
    /// The environment variable holding the upstream API key (never the key itself).
    public var apiKeyEnv: String?
    public var timeoutSeconds: Double
    public var maxResponseBytes: Int
    public var retries: Int
    /// Redact the question and the retrieved passages with the data class's profile before this model sees them.
    public var redactPrompt: Bool = false
    /// The upstream is an attested workload (`sealgate tee-proxy`): connect only over TLS to a certificate of the
    /// broker's workload CA naming this workload class and, when given, one of these measurements.
    public var attestation: ModelAttestation?
    /// Allow a plain `http://` upstream without attestation. Its answers are marked `insecure_unattested` in the
    /// audit log, and classes that require attested models never reach it.
    public var insecureUnattested: Bool = false

    /// What an attested upstream's certificate must say.
    public struct ModelAttestation: Sendable, Codable, Equatable {
        /// The workload class, `model:<id>`.
        public var workload: String
        /// Measurements (hex) the certificate's extension may carry; empty: any the broker certified.
        public var measurements: [String]
        /// The model digest (`sha256:<hex>`, the OMS manifest digest of the sealed model `tee-proxy --model` loads) the
        /// certificate's extension must carry; recorded in the audit record of every answer. Nil: not pinned.
        public var digest: String?

        public init(workload: String, measurements: [String] = [], digest: String? = nil) {
            self.workload = workload
            self.measurements = measurements
            self.digest = digest
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            workload = try c.decode(String.self, forKey: .workload)
            measurements = try c.decodeIfPresent([String].self, forKey: .measurements) ?? []
            digest = try c.decodeIfPresent(String.self, forKey: .digest)
        }
    }

    /// How this profile's model is reached, as audit records name it.
    public var reach: String {
        switch type {
        case .builtin: return "in_gateway"
        case .openai:
            if attestation != nil { return "attested" }
            return (baseURL ?? "").lowercased().hasPrefix("https://") ? "unattested" : "insecure_unattested"
        }
    }

    /// Whether plaintext sent to this model stays inside attested TEEs.
    public var isAttested: Bool { type == .builtin || attestation != nil }

    enum CodingKeys: String, CodingKey {
        case id, type, model, retries, attestation
        case insecureUnattested = "insecure_unattested"
        case redactPrompt = "redact_prompt"
        case baseURL = "base_url"
        case apiKeyEnv = "api_key_env"
        case timeoutSeconds = "timeout_seconds"
        case maxResponseBytes = "max_response_bytes"
    }

    public init(
        id: ModelProfileID, type: Kind, baseURL: String? = nil, model: String? = nil, apiKeyEnv: String? = nil,
        timeoutSeconds: Double = 60, maxResponseBytes: Int = 1 << 20, retries: Int = 1
    ) {
        self.id = id
        self.type = type
        self.baseURL = baseURL
        self.model = model
        self.apiKeyEnv = apiKeyEnv
        self.timeoutSeconds = timeoutSeconds
        self.maxResponseBytes = maxResponseBytes
        self.retries = retries
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(ModelProfileID.self, forKey: .id)
        type = try c.decode(Kind.self, forKey: .type)
        baseURL = try c.decodeIfPresent(String.self, forKey: .baseURL)
        model = try c.decodeIfPresent(String.self, forKey: .model)
        apiKeyEnv = try c.decodeIfPresent(String.self, forKey: .apiKeyEnv)
        timeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .timeoutSeconds) ?? 60
        maxResponseBytes = try c.decodeIfPresent(Int.self, forKey: .maxResponseBytes) ?? (1 << 20)
        retries = try c.decodeIfPresent(Int.self, forKey: .retries) ?? 1
        redactPrompt = try c.decodeIfPresent(Bool.self, forKey: .redactPrompt) ?? false
        attestation = try c.decodeIfPresent(ModelAttestation.self, forKey: .attestation)
        insecureUnattested = try c.decodeIfPresent(Bool.self, forKey: .insecureUnattested) ?? false
    }
}

/// A tenant and its principals.
public struct TenantSettings: Sendable, Codable, Equatable {
    public var id: TenantID
    public var principals: [PrincipalSettings]

    public init(id: TenantID, principals: [PrincipalSettings]) {
        self.id = id
        self.principals = principals
    }
}

/// A principal: an API key (stored only as its SHA-256) and what it may do.
public struct PrincipalSettings: Sendable, Codable, Equatable {
    public var id: PrincipalID
    /// Hex SHA-256 of the API key.
    public var apiKeySHA256: String
    /// Collections it may read (`*` for all of its tenant's).
    public var read: [String]
    /// Collections it may write (`*` for all of its tenant's).
    public var write: [String]
    /// Data classes it may use (`*` for all).
    public var dataClasses: [String]

    enum CodingKeys: String, CodingKey {
        case id, read, write
        case apiKeySHA256 = "api_key_sha256"
        case dataClasses = "data_classes"
    }

    public init(id: PrincipalID, apiKeySHA256: String, read: [String], write: [String], dataClasses: [String]) {
        self.id = id
        self.apiKeySHA256 = apiKeySHA256
        self.read = read
        self.write = write
        self.dataClasses = dataClasses
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        id = try c.decode(PrincipalID.self, forKey: .id)
        apiKeySHA256 = try c.decode(String.self, forKey: .apiKeySHA256)
        read = try c.decodeIfPresent([String].self, forKey: .read) ?? []
        write = try c.decodeIfPresent([String].self, forKey: .write) ?? []
        dataClasses = try c.decodeIfPresent([String].self, forKey: .dataClasses) ?? ["*"]
    }

    /// What it is granted, as the access policy reads it.
    public var grants: Grants { Grants(read: read, write: write, dataClasses: dataClasses) }

    /// Whether it may read `collection`.
    public func mayRead(_ collection: CollectionName) -> Bool { grants.mayRead(collection) }
    /// Whether it may write `collection`.
    public func mayWrite(_ collection: CollectionName) -> Bool { grants.mayWrite(collection) }
    /// Whether it may use `dataClass`.
    public func mayUse(_ dataClass: DataClass) -> Bool { grants.mayUse(dataClass) }
}

extension Configuration {
    /// The access policy's view of this configuration: classes in rank order, the model profiles that are both
    /// defined and served (`servedModels`), retrieval limits, and the classes a remote embedder may see.
    public func policyTable(servedModels: Set<ModelProfileID>) -> PolicyTable {
        PolicyTable(
            classes: dataClasses.map {
                ClassRule(name: $0.name, models: $0.models, redactionProfile: $0.redactionProfile, requireAttestedModels: $0.requireAttestedModels)
            },
            models: Set(models.map(\.id)).intersection(servedModels), defaultTopK: retrieval.topK,
            maxDocumentBytes: retrieval.maxDocumentBytes, maxChunksPerTenant: retrieval.maxChunksPerTenant,
            remoteEmbedderClasses: retrieval.embedder.type == .openai ? Set(retrieval.embedder.allowedDataClasses) : nil,
            attestedModels: Set(models.filter(\.isAttested).map(\.id)))
    }
}

/// The grammar of workload classes a model profile may name (`model:<id>`), checked without the broker's types.
enum WorkloadClassName {
    static func isModel(_ text: String) -> Bool {
        guard text.hasPrefix("model:") else { return false }
        let id = text.dropFirst("model:".count)
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        return (1...48).contains(id.count) && !id.contains("..") && id != "." && id.unicodeScalars.allSatisfy(allowed.contains)
    }
}
