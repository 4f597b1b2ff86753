import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SealgateCore
import SealgateServer

/// `sealgate keys …`: drives the broker's admin API. Prints the broker's JSON; never handles key material.
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Manage tenants, KEKs, secrets, model keys, release policies and reference values on a key broker.",
        subcommands: [
            Tenants.self, Provision.self, ProvisionModel.self, CreateTenant.self, List.self, Create.self, Rotate.self, Retire.self, Shred.self, PutSecret.self, Models.self,
            Policies.self, PutPolicy.self, DeletePolicy.self, PutReferenceValues.self, Credentials.self, CreateCredential.self,
            RevokeCredential.self, CA.self, RotateCA.self, EnrolWorkload.self, Workloads.self, Propose.self, Pending.self, Approve.self,
            BreakGlass.self,
        ])

    struct Connection: ParsableArguments {
        @Option(help: "The broker's base URL.") var broker = "http://127.0.0.1:8081"
        @Option(name: .customLong("token-file"), help: "A file holding the admin bearer token (default: $SEALGATE_ADMIN_TOKEN).")
        var tokenFile: String?
        @Option(name: .customLong("ca"), help: "CA certificates (PEM) to trust for an https broker instead of the system store.")
        var ca: String?
        @Option(help: "Seconds to wait for the broker (connection attempts are retried until then).") var timeout: Int64 = 30
        @Flag(
            name: .customLong("insecure-broker-http"),
            help: "Allow a broker reached over plain HTTP off loopback (the admin token, secret values and model data keys would cross the network in clear).")
        var insecureBrokerHTTP = false

        func validate() throws {
            let exposure = "the admin token and whatever the call carries (secret values, a model's data key) would cross the network in clear"
            if !insecureBrokerHTTP, let problem = BrokerTransport.problem(broker, exposure: exposure) { throw ValidationError(problem) }
        }

        func token() throws -> String {
            if let tokenFile {
                guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                    throw RuntimeFailure("cannot read the admin token file \(tokenFile): a broker writes its bootstrap token to <data-dir>/admin-token")
                }
                return text.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            guard let token = ProcessInfo.processInfo.environment["SEALGATE_ADMIN_TOKEN"], !token.isEmpty else {
                throw RuntimeFailure("no admin token: pass --token-file (a broker writes <data-dir>/admin-token on first start) or set SEALGATE_ADMIN_TOKEN")
            }
            return token
        }

        /// Sends one admin request and prints the answer; exits 3 when the broker refuses, 2 when it cannot be reached.
        /// - Parameter tolerateConflict: treat 409 (already exists) as success (idempotent provisioning).
        func call(_ method: HTTPMethod, _ path: String, body: Data? = nil, tolerateConflict: Bool = false) async throws {
            print(String(decoding: try await send(method, path, body: body, tolerateConflict: tolerateConflict), as: UTF8.self))
        }

        /// Sends one admin request and returns the body of a success. A refusal's problem is printed on stdout (exit 3);
        /// an unreachable broker is named on stderr (exit 2).
        func send(_ method: HTTPMethod, _ path: String, body: Data? = nil, tolerateConflict: Bool = false) async throws -> Data {
            var request = HTTPClientRequest(url: broker.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/admin/v0" + path)
            request.method = method
            request.headers.add(name: "Authorization", value: "Bearer \(try token())")
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(bytes: body))
            }
            // A client of its own (shut down before returning): with --ca it trusts only that CA, and it never follows a
            // redirect, which would re-send the body (a secret value, a model's data key) to wherever it points.
            var configuration = HTTPClient.Configuration(tlsConfiguration: try ca.map { try TLSFiles.client(caPath: $0) })
            configuration.redirectConfiguration = .disallow
            let client: HTTPClient? = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            let answer: (HTTPClientResponse, Data)?
            var tlsFailure = false
            do {
                let response = try await (client ?? HTTPClient.shared).execute(request, timeout: .seconds(max(1, timeout)))
                if (300..<400).contains(Int(response.status.code)) {
                    FileHandle.standardError.write(Data("sealgate keys: the broker at \(URLOrigin.of(broker)) answered with a redirect (\(response.status.code)), which is not followed\n".utf8))
                }
                answer = (response, Data((try await response.body.collect(upTo: 16 << 20)).readableBytesView))
            } catch {
                answer = nil
                let text = String(describing: error)
                tlsFailure = ["SSL", "certificate", "handshake", "TLS"].contains { text.contains($0) }
                // The transport error names the cause (refused, timed out, TLS handshake or certificate), never a token.
                let message: String
                if let failure = error as? HTTPClientError, failure == .deadlineExceeded || failure == .connectTimeout {
                    message = "no answer from the broker at \(URLOrigin.of(broker)) within \(max(1, timeout)) s (--timeout): is `sealgate broker` running there?"
                } else {
                    message = "cannot reach the broker at \(URLOrigin.of(broker)) within --timeout \(max(1, timeout)) s: \(error)"
                }
                FileHandle.standardError.write(Data("sealgate keys: \(message)\n".utf8))
            }
            try? await client?.shutdown()
            guard let (response, data) = answer else {
                if tlsFailure && ca == nil {
                    FileHandle.standardError.write(Data("sealgate keys: a broker with a private CA needs --ca\n".utf8))
                }
                throw ExitCode(2)
            }
            guard (200..<300).contains(Int(response.status.code)) || (tolerateConflict && response.status.code == 409) else {
                print(String(decoding: data, as: UTF8.self))
                throw ExitCode(3)
            }
            return data
        }
    }

    static func json(_ object: [String: Any]) throws -> Data { try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) }

    struct Tenants: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tenants.")
        @OptionGroup var connection: Connection
        @OptionGroup var output: ListingOutput
        func run() async throws {
            output.print(try await connection.send(.GET, "/tenants"), columns: [("TENANT", "id"), ("STATE", "state"), ("CREATED", "created_at")])
        }
    }

    struct Provision: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Idempotently create a tenant, version 1 of its KEK for each class, and its secrets (role key-manager).",
            discussion: "A gateway needs <tenant>/kek/<class> for every configured data class and <tenant>/secret/gateway-salt.")
        @OptionGroup var connection: Connection
        @Argument var tenant: String
        @Option(name: .customLong("class"), help: "A data class (repeatable).")
        var classes: [String] = ["public", "internal", "confidential", "restricted"]
        @Option(name: .customLong("secret"), help: "A random secret to create if absent (repeatable).") var secrets: [String] = ["gateway-salt"]
        func run() async throws {
            try await connection.call(.POST, "/tenants", body: try json(["id": tenant]), tolerateConflict: true)
            for dataClass in classes {
                try await connection.call(.POST, "/tenants/\(tenant)/keks", body: try json(["data_class": dataClass]), tolerateConflict: true)
            }
            for secret in secrets {
                try await connection.call(.POST, "/tenants/\(tenant)/secrets/\(secret)", body: try json([:]), tolerateConflict: true)
            }
        }
    }

    struct CreateTenant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create-tenant", abstract: "Create a tenant (role key-manager).")
        @OptionGroup var connection: Connection
        @Argument var tenant: String
        func run() async throws { try await connection.call(.POST, "/tenants", body: try json(["id": tenant])) }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's KEK versions and their states (never key material).")
        @OptionGroup var connection: Connection
        @Argument var tenant: String
        @OptionGroup var output: ListingOutput
        func run() async throws {
            output.print(
                try await connection.send(.GET, "/tenants/\(tenant)/keks"),
                columns: [("RESOURCE", "resource"), ("VERSION", "version"), ("STATE", "state"), ("CREATED", "created_at")])
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create version 1 of a tenant's KEK for a data class (role key-manager).")
        @OptionGroup var connection: Connection
        @Argument var tenant: String
        @Argument(help: "The data class.") var dataClass: String
        func run() async throws { try await connection.call(.POST, "/tenants/\(tenant)/keks", body: try json(["data_class": dataClass])) }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a new KEK version; older versions stay releasable (decrypt only) until retired (role key-manager).")
        @OptionGroup var connection: Connection
        @Argument var tenant: String
        @Argument(help: "The data class.") var dataClass: String
        func run() async throws { try await connection.call(.POST, "/tenants/\(tenant)/keks/\(dataClass)/rotate") }
    }

    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop releasing an older KEK version, once gateways have re-wrapped their DEKs (role key-manager).")
        @OptionGroup var connection: Connection
        @Argument var tenant: String
        @Argument(help: "The data class.") var dataClass: String
        @Argument var version: Int
        func run() async throws { try await connection.call(.POST, "/tenants/\(tenant)/keks/\(dataClass)/versions/\(version)/retire") }
    }

    struct Shred: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Destroy every KEK version and secret of a tenant: its stored data becomes unreadable (role shredder).")
        @OptionGroup var connection: Connection
        @Argument var tenant: String
        @Option(help: "Repeat the tenant id to confirm.") var confirm: String
        func validate() throws { guard confirm == tenant else { throw ValidationError("--confirm must repeat the tenant id") } }
        func run() async throws {
            try await connection.call(.POST, "/tenants/\(tenant)/shred", body: try json(["confirm": confirm]))
        }
    }

    struct PutSecret: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "put-secret", abstract: "Store an opaque tenant secret <tenant>/secret/<name> (random 32 bytes unless --value-file).")
        @OptionGroup var connection: Connection
        @Argument var tenant: String
        @Argument var name: String
        @Option(name: .customLong("value-file"), help: "A file whose bytes become the secret.") var valueFile: String?
        func run() async throws {
            var body: [String: Any] = [:]
            if let valueFile {
                guard let data = FileManager.default.contents(atPath: valueFile) else { throw RuntimeFailure("cannot read --value-file \(valueFile)") }
                body["value"] = data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                    .replacingOccurrences(of: "=", with: "")
            }
            try await connection.call(.PUT, "/tenants/\(tenant)/secrets/\(name)", body: try json(body))
        }
    }

    struct Policies: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List release policies (ids and descriptions; --json for the rules).")
        @OptionGroup var connection: Connection
        @OptionGroup var output: ListingOutput
        func run() async throws {
            output.print(try await connection.send(.GET, "/policies"), columns: [("POLICY", "id"), ("DESCRIPTION", "description")])
        }
    }

    struct PutPolicy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "put-policy", abstract: "Add or replace release policies from a JSON file (role policy-manager).")
        @OptionGroup var connection: Connection
        @Argument var file: String
        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw RuntimeFailure("cannot read \(file)") }
            try await connection.call(.PUT, "/policies", body: data)
        }
    }

    struct DeletePolicy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "delete-policy", abstract: "Delete a release policy (role policy-manager).")
        @OptionGroup var connection: Connection
        @Argument var id: String
        func run() async throws { try await connection.call(.DELETE, "/policies/\(id)") }
    }

    struct PutReferenceValues: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "put-reference-values", abstract: "Replace the reference values from a JSON file (role policy-manager).")
        @OptionGroup var connection: Connection
        @Argument var file: String
        func run() async throws {
            guard let data = FileManager.default.contents(atPath: file) else { throw RuntimeFailure("cannot read \(file)") }
            try await connection.call(.PUT, "/reference-values", body: data)
        }
    }

    struct Credentials: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List admin credentials: names and roles, never tokens (role admin).",
            discussion: "The credential a broker creates on its first start is bootstrap-admin; its token is in <data-dir>/admin-token.")
        @OptionGroup var connection: Connection
        @OptionGroup var output: ListingOutput
        func run() async throws {
            output.print(try await connection.send(.GET, "/credentials"), columns: [("CREDENTIAL", "name"), ("ROLES", "roles")]) { row in
                row["name"] as? String == "bootstrap-admin" ? "created on the broker's first start; token in <data-dir>/admin-token" : nil
            }
        }
    }

    struct RevokeCredential: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke-credential", abstract: "Revoke an admin credential (role admin; the last admin cannot be revoked).")
        @OptionGroup var connection: Connection
        @Argument var name: String
        func run() async throws { try await connection.call(.DELETE, "/credentials/\(name)") }
    }

    struct CreateCredential: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-credential",
            abstract: "Create an admin credential with roles (reader, key-manager, policy-manager, shredder, admin); prints its token once.")
        @OptionGroup var connection: Connection
        @Argument var name: String
        @Option(name: .customLong("role"), help: "A role (repeatable).") var roles: [String]
        func run() async throws { try await connection.call(.POST, "/credentials", body: try json(["name": name, "roles": roles])) }
    }
}
