import ArgumentParser
import Foundation
import KBSProtocol
import KeyBroker
import SealgateServer

extension KeysCommand {
    struct ProvisionModel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "provision-model",
            abstract: "Idempotently create the model key <scope>/model/<name> at the broker (role key-manager).",
            discussion: """
                The key stays at the broker: 'sealgate model seal' asks it to wrap a model's data key, and the protected \
                loader gets it only by an attested release that the release policies for <scope>/model/<name> allow.
                --digest records the expected model digest, sha256:<64 hex> (the OMS manifest digest 'sealgate model \
                seal' writes into the sealed manifest): release policies test it as model.digest. With --digest on an \
                existing key, its digest is set (replaced); the key is unchanged.
                --data-dir D works on the embedded broker of the gateway whose data directory is D (<D>/broker, no admin \
                token: whoever can read D holds its master key anyway) instead of a broker at --broker.
                """)
        @OptionGroup var connection: Connection
        @Argument(help: "<scope>/model/<name>.") var resource: String
        @Option(help: "The expected model digest, sha256:<64 hex> (the policy input model.digest).") var digest: String?
        @Option(name: .customLong("data-dir"), help: "Use the embedded broker of the gateway with this data directory.") var dataDir: String?
        func validate() throws { guard ModelKeyResource(resource) != nil else { throw ValidationError("the resource must be <scope>/model/<name>") } }
        func run() async throws {
            guard let model = ModelKeyResource(resource) else { throw ValidationError("the resource must be <scope>/model/<name>") }
            if let dataDir {
                let keys = try await EmbeddedModelKeys.open(dataDir: dataDir)
                do {
                    let info = try await keys.provision(model, digest: digest)
                    await keys.close()
                    var object: [String: Any] = ["resource": info.resource]
                    if let digest = info.digest { object["digest"] = digest }
                    let text = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
                    return print(String(decoding: text, as: UTF8.self))
                } catch {
                    await keys.close()
                    throw RuntimeFailure("refused: \(error)")
                }
            }
            let path = "/tenants/\(model.scope)/models/\(model.name)"
            guard let digest else { return try await connection.call(.POST, path, body: try json([:]), tolerateConflict: true) }
            // Create with the digest; when the key already exists, record the digest on it.
            let created = try await connection.send(.POST, path, body: try json(["digest": digest]), tolerateConflict: true)
            if (try? JSONSerialization.jsonObject(with: created) as? [String: Any])?["digest"] as? String != nil {
                print(String(decoding: created, as: UTF8.self))
            } else {
                try await connection.call(.PUT, path, body: try json(["digest": digest]))
            }
        }
    }

    /// `keys models`: a tenant's model keys and their expected digests (never the keys).
    struct Models: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's model keys and their expected model digests.")
        @OptionGroup var connection: Connection
        @OptionGroup var output: ListingOutput
        @Argument var tenant: String
        func run() async throws {
            output.print(try await connection.send(.GET, "/tenants/\(tenant)/models"), columns: [("RESOURCE", "resource"), ("DIGEST", "digest")])
        }
    }
}
