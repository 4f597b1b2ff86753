import ArgumentParser
import Foundation
import KeyBroker

extension PolicyCommand {
    /// `sealgate policy operations`: validates an operational access policy and explains what it does to an action.
    struct Operations: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a broker operations policy (--operations-policy) and explain which roles may call an action and whether it needs a quorum.",
            discussion: """
                Without --action, every admin action is listed. With --roles, says whether a credential holding those \
                roles may call it. Exit status: 0 valid (and allowed), 3 the roles are refused, 2 bad input. See docs/broker.md.
                """)
        @Option(help: "The operations policy file (JSON).") var policy: String
        @Option(help: "An admin action (e.g. shred, set_reference_values, list_tenants).") var action: String?
        @Option(help: "A credential's roles, comma-separated (reader, key-manager, policy-manager, shredder, admin).") var roles: String?
        @Flag(help: "Print the explanation as JSON.") var json = false

        func run() async throws {
            guard let data = FileManager.default.contents(atPath: policy) else { throw Self.fail(["cannot read \(policy)"]) }
            let parsed: OperationsPolicy
            do { parsed = try OperationsPolicy.decode(data) } catch { throw Self.fail(error.problems.map { "\(policy): \($0)" }) }
            var held: [AdminRole]?
            if let roles {
                let names = roles.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                held = names.compactMap(AdminRole.init(rawValue:))
                guard held?.count == names.count, !names.isEmpty else { throw Self.fail(["--roles: one or more of \(AdminRole.allCases.map(\.rawValue).joined(separator: ", "))"]) }
            }
            if let action, OperationsPolicy.defaultRoles[action] == nil {
                throw Self.fail(["--action: unknown action \(action) (one of \(OperationsPolicy.defaultRoles.keys.sorted().joined(separator: ", ")))"])
            }
            let explanations = (action.map { [$0] } ?? OperationsPolicy.defaultRoles.keys.sorted()).map { parsed.explain(action: $0, credentialRoles: held) }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(action == nil ? AnyExplanations.many(explanations) : .one(explanations[0])), as: UTF8.self))
            } else {
                print("\(policy): valid (quorum \(parsed.approvals), expiry \(parsed.expirySeconds) s)")
                for explanation in explanations { print(explanation.explanation.joined(separator: "\n  ")) }
            }
            if action != nil, explanations.first?.allowed == false { throw ExitCode(3) }
        }

        enum AnyExplanations: Encodable {
            case one(OperationsExplanation)
            case many([OperationsExplanation])
            func encode(to encoder: any Encoder) throws {
                switch self {
                case .one(let value): try value.encode(to: encoder)
                case .many(let values): try values.encode(to: encoder)
                }
            }
        }

        static func fail(_ lines: [String]) -> ExitCode {
            FileHandle.standardError.write(Data(("sealgate policy operations: bad input\n" + lines.joined(separator: "\n") + "\n").utf8))
            return ExitCode(2)
        }
    }
}
