import AsyncHTTPClient
import Foundation
import KBSProtocol
import KeyLease
import Logging
import MiniLM
import ModelClientOpenAI
import ModelLoader
import Retrieval
import SealgateConfig
import SealgateCore
import Sigstore

/// The embedder a gateway runs with, and the OMS manifest digest of its sealed artifact (for audit records and
/// `/v1/models`; nil for embedders without one).
struct ConfiguredEmbedder: Sendable {
    let embedder: any Embedder
    let dimensions: Int
    let digest: String?
}

extension Sealgate {
    /// Whether the configured embedder is a sealed MiniLM artifact, which loads only after attestation
    /// (``loadSealedEmbedder(_:leases:logger:)``).
    static func isSealedEmbedder(_ settings: EmbedderSettings) -> Bool { settings.type == .minilm && !settings.artifactPlain }

    /// The configured embedder that needs no key: the hashing embedder, a remote one, or a plain MiniLM directory
    /// (`artifact_plain: true`). A sealed MiniLM is only checked here (signer key readable, the directory a sealed
    /// model), and loaded later by ``loadSealedEmbedder(_:leases:logger:)``.
    /// - Throws: ``SealgateError`` (`embedder_unavailable`) when the MiniLM files are unreadable or refused.
    static func makeEmbedder(_ settings: EmbedderSettings) throws -> ConfiguredEmbedder? {
        switch settings.type {
        case .builtin:
            return ConfiguredEmbedder(embedder: HashingEmbedder(dimensions: settings.dimensions), dimensions: settings.dimensions, digest: nil)
        case .minilm:
            let directory = settings.artifact ?? ""
            let sealed = FileManager.default.fileExists(atPath: directory + "/" + SealedModelFormat.manifestName)
            guard settings.artifactPlain else {
                _ = try sealedEmbedderTrust(settings)
                guard sealed else {
                    throw SealgateError(
                        .embedderUnavailable,
                        "retrieval.embedder.artifact: \(directory) is not a sealed model (no \(SealedModelFormat.manifestName)): seal it with "
                            + "'sealgate model seal' (docs/models.md), or set artifact_plain: true to load an unprotected directory")
                }
                return nil
            }
            guard !sealed else {
                throw SealgateError(
                    .embedderUnavailable, "retrieval.embedder.artifact: \(directory) is a sealed model: remove artifact_plain and give signer_key")
            }
            do {
                return ConfiguredEmbedder(
                    embedder: try MiniLMEmbedder(directory: URL(fileURLWithPath: directory)), dimensions: MiniLMEmbedder.dimensions, digest: nil)
            } catch let error as MiniLMError {
                throw SealgateError(.embedderUnavailable, "retrieval.embedder.artifact: \(error)")
            }
        case .openai:
            // The upstream client follows no redirect: a 307 from the endpoint (or whoever answers for it) would
            // have had every question and every chunk's text re-sent to the host it named.
            let embedder = OpenAIEmbedder(
                client: Sealgate.upstreamClient, baseURL: settings.baseURL ?? "", model: settings.model ?? "",
                apiKey: settings.apiKeyEnv.flatMap { ProcessInfo.processInfo.environment[$0] },
                dimensions: settings.dimensions, timeoutSeconds: settings.timeoutSeconds)
            return ConfiguredEmbedder(embedder: embedder, dimensions: settings.dimensions, digest: nil)
        }
    }

    /// Who must have signed the sealed MiniLM: the PEM public key `retrieval.embedder.signer_key`.
    static func sealedEmbedderTrust(_ settings: EmbedderSettings) throws -> ModelSignatureVerifier.Trust {
        let path = settings.signerKey ?? ""
        guard let pem = try? String(contentsOfFile: path, encoding: .utf8), let key = try? SigstoreKey(pem: pem) else {
            throw SealgateError(.embedderUnavailable, "retrieval.embedder.signer_key: cannot read a PEM public key from '\(path)'")
        }
        return .key(key)
    }

    /// Loads the sealed MiniLM through the protected loader, with this gateway's own attestation: the broker releases
    /// the model key (a release decision: audited, counted, evented), every file is decrypted into this process's
    /// memory and checked against the signed manifest, and only then does the encoder parse the weights. Nothing
    /// is written to disk.
    /// - Throws: ``SealgateError`` (`embedder_unavailable`) naming the loader's reason (`model_key_denied`,
    ///   `model_digest_mismatch`, `model_signature_invalid`, …) or the encoder's; the gateway does not start then.
    static func loadSealedEmbedder(_ settings: EmbedderSettings, leases: LeaseManager, logger: Logger) async throws -> ConfiguredEmbedder {
        let directory = settings.artifact ?? ""
        let loader = ModelLoader(trust: try sealedEmbedderTrust(settings), keys: LeaseModelKeySource(leases: leases))
        let expected = settings.keyResource.flatMap { ModelKeyResource($0) }
        let started = ContinuousClock.now
        let model: ProtectedModel
        switch await loader.load(URL(fileURLWithPath: directory), expected: expected, into: .memory) {
        case .failure(let error):
            logger.error("sealed embedder refused", metadata: ["model.reason": "\(error.reason)", "model.detail": "\(error.message)"])
            throw SealgateError(.embedderUnavailable, "retrieval.embedder.artifact: sealed model refused (\(error.reason)): \(error.message)")
        case .success(let value): model = value
        }
        do {
            let embedder = try MiniLMEmbedder(weights: try model.bytes(of: "model.safetensors"), vocabulary: try model.bytes(of: "vocab.txt"))
            logger.info(
                "sealed embedder loaded into memory",
                metadata: [
                    "model.resource": "\(model.resource)", "model.digest": "\(model.digest)", "model.files": "\(model.fileNames.count)",
                    "model.load_time": "\(ContinuousClock.now - started)",
                ])
            return ConfiguredEmbedder(embedder: embedder, dimensions: MiniLMEmbedder.dimensions, digest: model.digest)
        } catch let error as ModelLoadError {
            throw SealgateError(.embedderUnavailable, "retrieval.embedder.artifact: sealed model refused (\(error.reason)): \(error.message)")
        } catch let error as MiniLMError {
            throw SealgateError(.embedderUnavailable, "retrieval.embedder.artifact: \(error)")
        }
    }
}
