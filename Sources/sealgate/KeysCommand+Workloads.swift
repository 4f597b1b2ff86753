import ArgumentParser
import Foundation

/// `sealgate keys ca | rotate-ca | enrol-workload | workloads`: the broker's workload CA.
extension KeysCommand {
    struct CA: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ca",
            abstract: "Print the workload CA certificates (PEM, newest first) that attested-TLS clients and gateways trust (role reader).")
        @OptionGroup var connection: Connection
        func run() async throws {
            FileHandle.standardOutput.write(try await connection.send(.GET, "/workload-ca"))
        }
    }

    struct RotateCA: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-ca",
            abstract: "Start a new workload CA version; the old one stays trusted until every certificate it signed has expired (role policy-manager).")
        @OptionGroup var connection: Connection
        func run() async throws { try await connection.call(.POST, "/workload-ca/rotate") }
    }

    struct EnrolWorkload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "enrol-workload",
            abstract: "Allow a workload class (gateway, model:<id>) certificates naming exactly these DNS names / IP addresses (role policy-manager).")
        @OptionGroup var connection: Connection
        @Argument(help: "The workload class: gateway, proxy or model:<id>.") var workload: String
        @Option(name: .customLong("name"), help: "A DNS name or IP address the certificate names (repeat).") var names: [String] = []
        @Option(help: "The release-policy scope: certificates are decided as <scope>/cert/<class>.") var scope = "sealgate"
        @Option(name: .customLong("max-validity"), help: "Longest certificate validity in seconds (60–86400).") var maxValidity = 3600

        func validate() throws {
            if names.isEmpty { throw ValidationError("give at least one --name") }
        }

        func run() async throws {
            let body = try JSONSerialization.data(
                withJSONObject: ["names": names, "scope": scope, "max_validity_seconds": maxValidity] as [String: Any], options: [.sortedKeys])
            try await connection.call(.PUT, "/workloads/\(workload)", body: body)
        }
    }

    struct Workloads: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List workload enrolments (role reader).")
        @OptionGroup var connection: Connection
        func run() async throws { try await connection.call(.GET, "/workloads") }
    }
}
