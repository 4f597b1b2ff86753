import ArgumentParser
import Crypto
import Foundation
import SealgateCore

/// `sealgate keys propose | pending | approve | break-glass`: quorum approval of destructive or trust-changing actions.
extension KeysCommand {
    struct Propose: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Propose a destructive or trust-changing action for approval (needs the action's role); prints the proposal with its id and digest.",
            discussion: """
                Actions: shred TENANT, revoke-credential NAME, rotate-ca, put-reference-values FILE (JSON), put-policy FILE (JSON), \
                delete-policy ID, retire TENANT/CLASS/VERSION, set-model-digest SCOPE/model/NAME --digest sha256:…, \
                enrol-workload FILE (JSON: workload, names, scope, max_validity_seconds), create-credential NAME --role R… --token-out FILE (the token is made here and written to FILE; \
                the broker sees only its hash, and it works once the proposal executes). It executes once the operations \
                policy's quorum of credentials other than the proposer, each older than the proposal, ran `sealgate keys approve`.
                """)
        @OptionGroup var connection: Connection
        @Argument(help: "One of: \(Propose.actions).") var action: String
        @Argument(help: "The tenant, credential name, policy id, or JSON file the action takes.") var operand: String?
        @Option(name: .customLong("role"), help: "create-credential: a role (repeatable).") var roles: [String] = []
        @Option(name: .customLong("token-out"), help: "create-credential: the file the new credential's token is written to (mode 0600).")
        var tokenOut: String?

        @Option(help: "set-model-digest: the model digest (sha256:<64 hex>).") var digest: String?

        static let actions =
            "shred, revoke-credential, rotate-ca, put-reference-values, put-policy, delete-policy, retire, set-model-digest, enrol-workload or create-credential"

        func run() async throws {
            var body: [String: Any] = [:]
            switch action {
            case "shred", "revoke-credential", "delete-policy":
                guard let operand else { throw ValidationError("\(action) needs a \(action == "shred" ? "tenant" : action == "delete-policy" ? "policy id" : "credential name")") }
                body = ["action": action.replacingOccurrences(of: "-", with: "_"), "target": operand]
            case "rotate-ca":
                body = ["action": "rotate_ca"]
            case "set-model-digest":
                guard let operand, let digest else { throw ValidationError("set-model-digest needs SCOPE/model/NAME and --digest") }
                body = ["action": "set_model_digest", "target": operand, "payload": ["digest": digest]]
            case "enrol-workload":
                guard let operand, let data = FileManager.default.contents(atPath: operand),
                    let payload = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], let workload = payload["workload"] as? String
                else { throw ValidationError("enrol-workload needs a readable JSON file with workload, names, scope, max_validity_seconds") }
                body = ["action": "enrol_workload", "target": workload, "payload": payload]
            case "retire":
                let parts = operand?.split(separator: "/").map(String.init) ?? []
                guard parts.count == 3, let version = Int(parts[2]) else { throw ValidationError("retire needs TENANT/CLASS/VERSION, e.g. acme/internal/1") }
                body = ["action": "retire", "target": "\(parts[0])/kek/\(parts[1])#\(version)"]
            case "put-reference-values", "put-policy":
                guard let operand, let data = FileManager.default.contents(atPath: operand),
                    let payload = try? JSONSerialization.jsonObject(with: data)
                else { throw ValidationError("\(action) needs a readable JSON file") }
                body = ["action": action == "put-policy" ? "put_policy" : "set_reference_values", "payload": payload]
            case "create-credential":
                guard let operand, !roles.isEmpty, let tokenOut else { throw ValidationError("create-credential needs a name, --role and --token-out FILE") }
                guard !FileManager.default.fileExists(atPath: tokenOut) else { throw ValidationError("\(tokenOut) exists: give a new file for the token") }
                let token = "sgk_" + Base64URL.encode(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
                guard FileManager.default.createFile(atPath: tokenOut, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: 0o600]) else {
                    throw ValidationError("cannot write \(tokenOut)")
                }
                let hash = Hex.encode(SHA256.hash(data: Data(token.utf8)))
                body = ["action": "create_credential", "target": operand, "payload": ["roles": roles, "token_sha256": hash]]
            default:
                throw ValidationError("unknown action \(action): \(Self.actions)")
            }
            try await connection.call(.POST, "/proposals", body: try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys]))
        }
    }

    struct Pending: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List proposals waiting for approval with their digests (role reader); --json shows their full content.")
        @OptionGroup var connection: Connection
        @OptionGroup var output: ListingOutput
        func run() async throws {
            let data = try await connection.send(.GET, "/proposals")
            if output.json {
                print(String(decoding: data, as: UTF8.self))
                return
            }
            let all = (try? JSONSerialization.jsonObject(with: data)) as? [[String: Any]] ?? []
            let pending = all.filter { $0["state"] as? String == "pending" }.map { row -> [String: Any] in
                var row = row
                row["approved"] = "\((row["approvals"] as? [String])?.count ?? 0)/\(row["required"] ?? "?")"
                return row
            }
            output.print(
                try JSONSerialization.data(withJSONObject: pending),
                columns: [
                    ("ID", "id"), ("ACTION", "action"), ("TARGET", "target"), ("PROPOSER", "proposer"), ("APPROVED", "approved"),
                    ("EXPIRES", "expires_at"), ("DIGEST", "digest"),
                ])
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Approve a proposal as shown by `keys pending` (needs the action's role; not the proposer's credential).",
            discussion: "The approval binds the digest: if the proposal's content is not what that digest names, it is refused. Exit 3 when refused or when the action failed.")
        @OptionGroup var connection: Connection
        @Argument(help: "The proposal id.") var id: String
        @Option(help: "The digest `keys pending` showed for it.") var digest: String
        func run() async throws {
            let data = try await connection.send(.POST, "/proposals/\(id)/approve", body: try json(["digest": digest]))
            print(String(decoding: data, as: UTF8.self))
            if ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any])?["state"] as? String == "failed" { throw ExitCode(3) }
        }
    }

    struct BreakGlass: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "break-glass",
            abstract: "Open a named, time-limited override: this credential's direct quorum actions execute until it ends, each audited (credentials named in the policy's break_glass).")
        @OptionGroup var connection: Connection
        @Argument(help: "The incident name ([A-Za-z0-9._:-], at most 64), recorded with every use.") var name: String
        @Option(help: "How long, in seconds (at most the policy's break_glass.max_seconds).") var seconds = 900
        func run() async throws {
            try await connection.call(.POST, "/break-glass", body: try JSONSerialization.data(withJSONObject: ["name": name, "seconds": seconds] as [String: Any], options: [.sortedKeys]))
        }
    }
}
