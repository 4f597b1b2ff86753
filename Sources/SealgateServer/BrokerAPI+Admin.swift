import Authenticate
import Attestation
import Foundation
import HTTPTypes
import Hummingbird
import KeyBroker
import NIOCore
import ReleasePolicy
import SealgateCore

/// The broker's admin API (`/admin/v0/…`): bearer credentials with roles; never returns key material.
extension BrokerAPI {
    func registerAdmin(on router: Router<Context>) {
        let admin = router.group("/admin/v0").add(middleware: adminAuthentication())
        admin.get("/tenants") { request, context in
            await authorized(context, "list_tenants") { _ in json(try await broker.listTenants()) }
        }
        admin.post("/tenants") { request, context in
            await authorized(context, "create_tenant") { who in
                let body = try await decodeBody(AdminBodies.Tenant.self, request)
                return created(await broker.createTenant(body.id ?? "", by: who))
            }
        }
        admin.get("/tenants/:tenant/keks") { request, context in
            await authorized(context, "list_keks") { _ in json(try await broker.listKEKs(tenant: context.parameters.get("tenant") ?? "")) }
        }
        admin.post("/tenants/:tenant/keks") { request, context in
            await authorized(context, "create_kek") { who in
                let body = try await decodeBody(AdminBodies.KEK.self, request)
                return created(await broker.createKEK(tenant: context.parameters.get("tenant") ?? "", dataClass: body.dataClass ?? "", by: who))
            }
        }
        admin.post("/tenants/:tenant/keks/:class/rotate") { request, context in
            await authorized(context, "rotate") { who in
                created(await broker.rotate(tenant: context.parameters.get("tenant") ?? "", dataClass: context.parameters.get("class") ?? "", by: who))
            }
        }
        admin.post("/tenants/:tenant/keks/:class/versions/:version/retire") { request, context in
            await authorized(context, "retire") { who in
                guard let version = context.parameters.get("version").flatMap(Int.init) else { return BrokerProblem.bad("admin.version") }
                return ok(
                    await broker.retire(
                        tenant: context.parameters.get("tenant") ?? "", dataClass: context.parameters.get("class") ?? "", version: version, by: who))
            }
        }
        admin.get("/tenants/:tenant/secrets") { request, context in
            await authorized(context, "list_secrets") { _ in
                json(try await broker.secretNames(tenant: context.parameters.get("tenant") ?? ""))
            }
        }
        for replace in [true, false] {
            let handler: @Sendable (Request, Context) async throws -> Response = { request, context in
                await authorized(context, replace ? "put_secret" : "create_secret") { who in
                    let body = try await decodeBody(AdminBodies.Secret.self, request)
                    var value: Data?
                    if let text = body.value {
                        guard let decoded = Base64URL.decode(text) else { return BrokerProblem.bad("admin.secret.value") }
                        value = decoded
                    }
                    let result = await broker.putSecret(
                        tenant: context.parameters.get("tenant") ?? "", name: context.parameters.get("name") ?? "", value: value,
                        replace: replace, by: who)
                    return created(result.map { ["resource": $0] })
                }
            }
            // PUT stores or replaces; POST creates only (409 when the secret exists).
            if replace { admin.put("/tenants/:tenant/secrets/:name", use: handler) } else { admin.post("/tenants/:tenant/secrets/:name", use: handler) }
        }
        admin.get("/tenants/:tenant/models") { request, context in
            await authorized(context, "list_model_keys") { _ in
                json(try await broker.modelKeys(tenant: context.parameters.get("tenant") ?? ""))
            }
        }
        admin.post("/tenants/:tenant/models/:name") { request, context in
            await authorized(context, "create_model_key") { who in
                let resource = "\(context.parameters.get("tenant") ?? "")/model/\(context.parameters.get("name") ?? "")"
                let body = try await decodeBody(AdminBodies.ModelDigest.self, request)
                return created(await broker.createModelKey(resource: resource, digest: body.digest, by: who))
            }
        }
        admin.put("/tenants/:tenant/models/:name") { request, context in
            await authorized(context, "set_model_digest") { who in
                let resource = "\(context.parameters.get("tenant") ?? "")/model/\(context.parameters.get("name") ?? "")"
                let body = try await decodeBody(AdminBodies.ModelDigest.self, request)
                guard let digest = body.digest else { return BrokerProblem.bad("admin.model.digest") }
                return ok(await broker.setModelDigest(resource: resource, digest: digest, by: who))
            }
        }
        admin.post("/tenants/:tenant/models/:name/wrap") { request, context in
            await authorized(context, "wrap_model_key") { who in
                let resource = "\(context.parameters.get("tenant") ?? "")/model/\(context.parameters.get("name") ?? "")"
                let body = try await decodeBody(AdminBodies.ModelDataKey.self, request)
                guard let dataKey = body.dataKey.flatMap(Base64URL.decode) else { return BrokerProblem.bad("admin.model.data_key") }
                return ok(await broker.wrapModelDataKey(resource: resource, dataKey: dataKey, by: who).map { ["resource": resource, "wrapped_key": $0] })
            }
        }
        admin.post("/tenants/:tenant/shred") { request, context in
            await authorized(context, "shred") { who in
                let tenant = context.parameters.get("tenant") ?? ""
                let body = try await decodeBody(AdminBodies.Shred.self, request)
                guard body.confirm == tenant else { return BrokerProblem.bad("admin.shred.confirm") }
                return ok(await broker.shred(tenant: tenant, by: who).map { ShredResponse(tenant: tenant, destroyedVersions: $0) })
            }
        }
        admin.get("/policies") { request, context in
            await authorized(context, "list_policies") { _ in json(await broker.policies) }
        }
        admin.put("/policies") { request, context in
            await authorized(context, "put_policy") { who in
                guard let data = await Self.body(request, limit: bodyLimit) else { return BrokerProblem.bad("admin.body") }
                let documents: [ReleasePolicyDocument]
                do { documents = try ReleasePolicyLoader.decode(data) } catch let error as ReleasePolicyError {
                    return invalid(error.problems)
                }
                return ok(await broker.putPolicies(documents, by: who).map { ["ids": $0] })
            }
        }
        admin.delete("/policies/:id") { request, context in
            await authorized(context, "delete_policy") { who in
                ok(await broker.deletePolicy(context.parameters.get("id") ?? "", by: who).map { ["id": $0] })
            }
        }
        admin.post("/policies/explain") { request, context in
            await authorized(context, "explain_policy") { _ in
                guard let data = await Self.body(request, limit: bodyLimit),
                    let input = try? JSONDecoder().decode(ExplainRequest.self, from: data)
                else { return BrokerProblem.bad("admin.explain.body") }
                guard let decision = await broker.explain(result: input.result, path: input.resource) else {
                    return BrokerProblem.bad("admin.explain.resource")
                }
                return json(decision)
            }
        }
        admin.get("/reference-values") { request, context in
            await authorized(context, "get_reference_values") { _ in json(await broker.referenceValues) }
        }
        admin.put("/reference-values") { request, context in
            await authorized(context, "set_reference_values") { who in
                guard let data = await Self.body(request, limit: bodyLimit),
                    let values = try? JSONDecoder().decode(ReferenceValues.self, from: data)
                else { return BrokerProblem.bad("admin.reference-values.body") }
                return ok(await broker.setReferenceValues(values, by: who).map { ["sets": $0] })
            }
        }
        admin.get("/credentials") { request, context in
            await authorized(context, "list_credentials") { _ in
                json(try await broker.credentialSummaries())
            }
        }
        admin.delete("/credentials/:name") { request, context in
            await authorized(context, "revoke_credential") { who in
                ok(await broker.revokeCredential(name: context.parameters.get("name") ?? "", by: who).map { ["revoked": $0] })
            }
        }
        admin.post("/credentials") { request, context in
            await authorized(context, "create_credential") { who in
                let body = try await decodeBody(AdminBodies.Credential.self, request)
                let roleNames = body.roles ?? []
                let roles = roleNames.compactMap(AdminRole.init(rawValue:))
                guard roles.count == roleNames.count else { return BrokerProblem.bad("admin.credential.roles") }
                var response = created(await broker.createCredential(name: body.name ?? "", roles: roles, by: who).map { ["token": $0] })
                response.headers[.cacheControl] = "no-store"
                return response
            }
        }
    }

    struct ShredResponse: Encodable, Sendable {
        var tenant: String
        var destroyedVersions: Int
        enum CodingKeys: String, CodingKey {
            case tenant
            case destroyedVersions = "destroyed_versions"
        }
    }

    struct ExplainRequest: Decodable {
        var result: AttestationResult
        var resource: String
    }

    /// A body that is too large, not JSON, or not of the expected shape; `field` names where (`body` for the whole).
    struct BadBody: Error {
        var field = "body"
    }

    /// The request body decoded as `T` (an empty body is `{}`); errors name the offending field.
    func decodeBody<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        guard let data = await Self.body(request, limit: bodyLimit) else { throw BadBody() }
        do { return try JSONDecoder().decode(T.self, from: data.isEmpty ? Data("{}".utf8) : data) } catch let DecodingError.keyNotFound(key, context) {
            throw BadBody(field: (context.codingPath + [key]).map(\.stringValue).joined(separator: "."))
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw BadBody(field: context.codingPath.isEmpty ? "body" : context.codingPath.map(\.stringValue).joined(separator: "."))
        } catch {
            throw BadBody()
        }
    }

    /// The admin API's authenticator: the one bearer parser, then the broker's credential store. Refusals are
    /// counted when a token is unknown (never audited) and answered `401 admin_unauthenticated`; a failed store is `503 storage_unavailable`.
    func adminAuthentication() -> Authenticator<Context> {
        let broker = self.broker
        return Authenticator(
            resolving: { token in
                switch await broker.authenticate(token) {
                case .success(let credential): return .identity(credential)
                case .failure(let denial): return denial.reason == .storageUnavailable ? .unavailable : .unknown
                }
            },
            refuse: { refusal, _, _ in
                switch refusal {
                case .unavailable:
                    return BrokerProblem.response(ReleaseDecision(allowed: false, reason: .storageUnavailable, rule: "admin.credential.store", result: nil))
                case .credential, .unknown:
                    return BrokerProblem.response(ReleaseDecision(allowed: false, reason: .adminUnauthenticated, rule: "admin.credential", result: nil))
                }
            })
    }

    /// Runs `body` if the operations policy lets the authenticated credential call `action`; refusals and failures
    /// become problem responses.
    func authorized(_ context: Context, _ action: String, _ body: (AdminCredential) async throws -> Response) async -> Response {
        guard let credential = context.identity else {
            return BrokerProblem.response(ReleaseDecision(allowed: false, reason: .adminUnauthenticated, rule: "admin.credential", result: nil))
        }
        switch await broker.authorize(credential, action: action) {
        case .failure(let denial): return BrokerProblem.response(denial)
        case .success(let credential):
            do { return try await body(credential) } catch let bad as BadBody {
                return BrokerProblem.bad(bad.field == "body" ? "admin.body" : "admin.body." + bad.field)
            } catch {
                return BrokerProblem.response(ReleaseDecision(allowed: false, reason: .storageUnavailable, rule: "admin.store", result: nil))
            }
        }
    }

    func ok<T: Encodable & Sendable>(_ result: AdminResult<T>) -> Response {
        switch result {
        case .success(let value): return json(value)
        case .failure(let denial): return BrokerProblem.response(denial)
        }
    }

    func created<T: Encodable & Sendable>(_ result: AdminResult<T>) -> Response {
        switch result {
        case .success(let value): return json(value, status: .created)
        case .failure(let denial): return BrokerProblem.response(denial)
        }
    }

    func invalid(_ problems: [String]) -> Response {
        struct Body: Encodable {
            var type = BrokerProblem.typePrefix + "InvalidRequest"
            var title = "InvalidRequest"
            var status = 400
            var detail: String
            var reason = "invalid_policy"
            var rule = "admin.policy"
            var problems: [String]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(Body(detail: "The policy is invalid.", problems: problems))) ?? Data()
        return Response(
            status: .badRequest, headers: [.contentType: "application/problem+json", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
