import ArgumentParser
import Foundation
import NIOHTTP1
import SealgateCore

extension KeysCommand {
    /// `keys put-model-key`: a model key registered with the digest of the model it unlocks.
    struct PutModelKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "put-model-key",
            abstract: "Store a model key <tenant>/model/<name> with the model's digest (release policies test it as model.digest).",
            discussion: """
                --digest is the digest of the model the key unlocks, sha256:<64 hex>: for a model signed with OpenSSF \
                model signing, the manifest digest `sealgate model verify` prints. The key is random (32 bytes) unless \
                --value-file. Replaces an existing key of that name.
                """)
        @OptionGroup var connection: Connection
        @Argument var tenant: String
        @Argument var name: String
        @Option(help: "The model digest, sha256:<64 hex>.") var digest: String
        @Option(name: .customLong("value-file"), help: "A file whose bytes become the key.") var valueFile: String?
        func run() async throws {
            var body: [String: Any] = ["digest": digest]
            if let valueFile {
                guard let data = FileManager.default.contents(atPath: valueFile) else { throw RuntimeFailure("cannot read --value-file \(valueFile)") }
                body["value"] = Base64URL.encode(data)
            }
            try await connection.call(.PUT, "/tenants/\(tenant)/models/\(name)", body: try json(body))
        }
    }

    /// `keys models`: a tenant's model keys and their digests (never the keys).
    struct Models: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's model keys and their registered digests.")
        @OptionGroup var connection: Connection
        @OptionGroup var output: ListingOutput
        @Argument var tenant: String
        func run() async throws {
            output.print(try await connection.send(.GET, "/tenants/\(tenant)/models"), columns: [("RESOURCE", "resource"), ("DIGEST", "digest")])
        }
    }
}
