import ArgumentParser
import Foundation
import KBSProtocol

extension KeysCommand {
    struct ProvisionModel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "provision-model",
            abstract: "Idempotently create the model key <scope>/model/<name> at the broker (role key-manager).",
            discussion: """
                The key stays at the broker: 'sealgate model seal' asks it to wrap a model's data key, and the protected \
                loader gets it only by an attested release that the release policies for <scope>/model/<name> allow.
                """)
        @OptionGroup var connection: Connection
        @Argument(help: "<scope>/model/<name>.") var resource: String
        func validate() throws { guard ModelKeyResource(resource) != nil else { throw ValidationError("the resource must be <scope>/model/<name>") } }
        func run() async throws {
            guard let model = ModelKeyResource(resource) else { throw ValidationError("the resource must be <scope>/model/<name>") }
            try await connection.call(.POST, "/tenants/\(model.scope)/models/\(model.name)", body: try json([:]), tolerateConflict: true)
        }
    }
}
