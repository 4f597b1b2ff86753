import Foundation
import Hummingbird
import KeyBroker

/// The broker's operational access policy over HTTP: the policy in force, proposals and their approvals, break-glass.
extension BrokerAPI {
    func registerQuorum(on router: Router<Context>) {
        let admin = router.group("/admin/v0").add(middleware: adminAuthentication())
        admin.get("/operations-policy") { _, context in
            await authorized(context, "get_operations_policy") { _ in json(await broker.currentOperationsPolicy) }
        }
        admin.get("/proposals") { _, context in
            await authorized(context, "list_proposals") { _ in json(try await broker.proposals()) }
        }
        admin.post("/proposals") { request, context in
            guard let data = await Self.body(request, limit: bodyLimit),
                let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any], let action = object["action"] as? String,
                OperationsPolicy.proposable.contains(action)
            else { return BrokerProblem.bad("admin.proposal.action") }
            if let value = object["target"], !(value is String) { return BrokerProblem.bad("admin.proposal.target") }
            let target = object["target"] as? String ?? "-"
            var payload: Data?
            if let value = object["payload"] {
                // An object or an array only: JSONSerialization traps (not throws) on a bare number or string.
                guard JSONSerialization.isValidJSONObject(value),
                    let encoded = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes]) else {
                    return BrokerProblem.bad("admin.proposal.payload")
                }
                payload = encoded
            }
            // Proposing needs the role of the action proposed.
            return await authorized(context, action) { who in
                created(await broker.propose(action: action, target: target, payload: payload, by: who))
            }
        }
        admin.post("/proposals/:id/approve") { request, context in
            let id = context.parameters.get("id") ?? ""
            // Approving needs the role of the action proposed (an unknown id: the reader role, then 404).
            let action = (try? await broker.proposals())?.first { $0.id == id }?.action ?? "list_proposals"
            return await authorized(context, action) { who in
                let body = try await decodeBody(ApproveBody.self, request)
                return ok(await broker.approve(id: id, digest: body.digest, by: who))
            }
        }
        admin.post("/break-glass") { request, context in
            await authorized(context, "break_glass") { who in
                let body = try await decodeBody(BreakGlassBody.self, request)
                return created(await broker.openBreakGlass(name: body.name, seconds: body.seconds, by: who))
            }
        }
    }

    struct ApproveBody: Decodable {
        /// The digest the approver was shown (`sealgate keys pending`).
        var digest: String
    }

    struct BreakGlassBody: Decodable {
        /// The incident the override is opened for (`[A-Za-z0-9._:-]`, at most 64).
        var name: String
        var seconds: Int
    }
}
