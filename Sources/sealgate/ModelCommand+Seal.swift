import ArgumentParser
import Crypto
import Foundation
import KBSProtocol
import ModelLoader
import SealgateCore
import SealgateServer
import Sigstore

extension ModelCommand {
    struct Seal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "seal",
            abstract: "Seal a signed model directory: verify its OpenSSF signature, encrypt every file under a data key wrapped by a broker-held model key.",
            discussion: """
                The signature must verify first (as 'model verify'); an unsigned or mis-signed directory is refused and nothing \
                is written. Each file is encrypted with AES-256-GCM in chunks (--chunk-size, streaming: one chunk in memory at a \
                time) whose associated data names the model, the file, the chunk's index and the number of chunks. The data key \
                is wrapped by the broker under <scope>/model/<name> (create it with 'sealgate keys provision-model'); the model \
                key never leaves the broker. SEALED keeps model.sig and sealed-model.json (file digests, model digest), so \
                anyone can still see what it contains without the key.
                """)

        @Argument(help: "The model directory.") var directory: String
        @Option(help: "The model's OpenSSF signature bundle (model.sig).") var signature: String
        @Option(help: "The sealed directory to create (must not exist).") var out: String
        @Option(name: .customLong("key-resource"), help: "The model key: <scope>/model/<name>.") var keyResource: String
        @Option(name: .customLong("chunk-size"), help: "Plaintext bytes per chunk.") var chunkSize = SealedModelFormat.defaultChunkSize
        @Option(help: "Files hashed at once while verifying.") var jobs = ProcessInfo.processInfo.activeProcessorCount
        @Option(name: .customLong("data-dir"), help: "Wrap under the embedded broker of the gateway with this data directory, not --broker.")
        var dataDir: String?
        @OptionGroup var signer: SignerOptions
        @OptionGroup var connection: KeysCommand.Connection

        func validate() throws {
            guard ModelKeyResource(keyResource) != nil else { throw ValidationError("--key-resource must be <scope>/model/<name>") }
            guard SealedModelFormat.chunkSizes.contains(chunkSize) else { throw ValidationError("--chunk-size must be in \(SealedModelFormat.chunkSizes)") }
            if jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        }

        func run() async throws {
            guard let resource = ModelKeyResource(keyResource) else { throw ValidationError("--key-resource must be <scope>/model/<name>") }
            let bundleJSON = try readData(signature, what: "model signature", limit: SigstoreBundle.maximumSize)
            let dir = URL(fileURLWithPath: directory).standardizedFileURL
            let bundlePath = URL(fileURLWithPath: signature).standardizedFileURL.path
            let ignoring = bundlePath.hasPrefix(dir.path + "/") ? [String(bundlePath.dropFirst(dir.path.count + 1))] : []
            let resources: [ModelSignatureVerifier.Resource]
            switch ModelSignatureVerifier(trust: try signer.modelTrust()).verify(bundleJSON: bundleJSON, directory: dir, ignoring: ignoring, parallelism: jobs) {
            case .verified(let files): resources = files
            case .refused(let error): throw refusalFailure(error)
            }
            let dataKey = SymmetricKey(size: .bits256)
            let wrapped = try await wrap(dataKey.withUnsafeBytes { Data($0) }, resource)
            do {
                let manifest = try ModelSealer(keyResource: resource, chunkSize: chunkSize).seal(
                    directory: dir, bundleJSON: bundleJSON, resources: resources, dataKey: dataKey, wrappedDataKey: wrapped,
                    output: URL(fileURLWithPath: out))
                let bytes = manifest.files.reduce(Int64(0)) { $0 + $1.size }
                print("OK: sealed \(manifest.files.count) files (\(bytes) bytes) of \(resource) into \(out); model digest \(manifest.modelDigest)")
            } catch let error as ModelLoadError {
                throw RuntimeFailure("refused (\(error.reason)): \(error.message)")
            }
        }
    }
}

extension ModelCommand.Seal {
    /// The data key wrapped under the model key: by the broker's admin API, or by the embedded broker of `--data-dir`.
    func wrap(_ raw: Data, _ resource: ModelKeyResource) async throws -> Data {
        if let dataDir {
            let keys = try await EmbeddedModelKeys.open(dataDir: dataDir)
            do {
                let wrapped = try await keys.wrap(raw, for: resource)
                await keys.close()
                return wrapped
            } catch {
                await keys.close()
                throw RuntimeFailure("refused: \(error)")
            }
        }
        let answer = try await connection.send(
            .POST, "/tenants/\(resource.scope)/models/\(resource.name)/wrap", body: try KeysCommand.json(["data_key": Base64URL.encode(raw)]))
        guard let object = try? JSONSerialization.jsonObject(with: answer) as? [String: Any], let text = object["wrapped_key"] as? String,
            let wrapped = Base64URL.decode(text)
        else { throw RuntimeFailure("the broker's answer to the wrap request has no wrapped_key") }
        return wrapped
    }
}

extension SignerOptions {
    /// Who must have signed a model: `--certificate-chain` CAs, a key, or a Sigstore identity.
    func modelTrust() throws -> ModelSignatureVerifier.Trust {
        if !certificateChain.isEmpty {
            let roots = try certificateChain.flatMap { PEM.blocks(try readText($0, what: "certificate chain"), label: "CERTIFICATE") }
            guard !roots.isEmpty else { throw RuntimeFailure("no PEM CERTIFICATE in \(certificateChain.joined(separator: ", ")); give the CA's PEM file") }
            return .certificateRoots(roots)
        }
        switch try policy() {
        // OMS keyed signatures carry no log entry (the model-signing tool verifies them without one).
        case .key(let key), .loggedKey(let key): return .key(key)
        case .identity(let identity): return .sigstore(BundleVerifier(trustedRoot: try root()), identity)
        }
    }
}
