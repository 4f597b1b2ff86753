import Authenticate
import Dashboard
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import NIOCore
import SealgateCore

/// The HTTP side of the dashboards shared by the gateway and the broker: the page with its security headers, the
/// data body, and HTTP Basic credentials taken as bearer keys so that a browser can be asked for the key.
enum DashboardHTTP {
    /// The challenge added to a dashboard 401 besides the bearer one: a browser then asks for the key (any user
    /// name, the key as password) and sends it with the page's own data requests.
    static let basicChallenge = "Basic realm=\"sealgate-dashboard\", charset=\"UTF-8\""

    /// The page, with a Content-Security-Policy that admits only its own inline style and script.
    static func page(title: String) -> Response {
        let headers: HTTPFields = [
            .contentType: "text/html; charset=utf-8", .cacheControl: "no-store",
            .contentSecurityPolicy: DashboardPage.contentSecurityPolicy, .xContentTypeOptions: "nosniff",
            .constant("Referrer-Policy"): "no-referrer", .constant("X-Frame-Options"): "DENY",
        ]
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: DashboardPage.html(title: title))))
    }

    /// The data body, never cached.
    static func data(_ body: DashboardData) -> Response {
        var response = json(body)
        response.headers[.cacheControl] = "no-store"
        return response
    }

    /// Adds the Basic challenge to a 401.
    static func challenging(_ response: Response) -> Response {
        guard response.status == .unauthorized else { return response }
        var response = response
        response.headers.append(HTTPField(name: .wwwAuthenticate, value: basicChallenge))
        return response
    }
}

/// Rewrites one `Authorization: Basic base64(user:key)` field to `Bearer key` before the dashboard's
/// authenticator runs; any other field is left for the authenticator to judge.
struct BasicAsBearer<Context: Hummingbird.RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let values = request.headers[values: .authorization]
        guard values.count == 1, let value = values.first, value.count < 4096, value.lowercased().hasPrefix("basic "),
            let decoded = Data(base64Encoded: value.dropFirst(6).trimmingCharacters(in: .whitespaces)),
            let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return try await next(request, context) }
        var head = request.head
        head.headerFields[.authorization] = "Bearer " + text[text.index(after: colon)...]
        return try await next(Request(head: head, body: request.body), context)
    }
}

extension SealgateAPI {
    /// `GET /dashboard` (the page) and `GET /dashboard/data` (its figures): an auditor key sees every tenant (or the
    /// one it names with `tenant`), a tenant API key its own tenant only. Refusals are audited (kind `dashboard`)
    /// and counted like any other.
    func registerDashboard(on router: Router<Context>) {
        let group = router.group().add(middleware: BasicAsBearer<Context>()).add(middleware: dashboardAuthentication())
        group.get("/dashboard") { _, _ in DashboardHTTP.page(title: "Sealgate gateway") }
        group.get("/dashboard/data") { request, context in await dashboardData(request, context) }
    }

    func dashboardAuthentication() -> Authenticator<GatewayRequestContext> {
        let auditors = auditorKeys
        let credentials = gateway.credentials
        let recorder = gateway.recorder
        return Authenticator(
            resolve: { token in auditors.identity(for: token) ?? credentials.identity(for: token).map(GatewayIdentity.caller) },
            refuse: { refusal, _, context in
                let denial = Self.denial(refusal, key: "an auditor key or an API key")
                let failure = await recorder.deny(Refusal(denial, kind: .dashboard, requestID: context.requestID, principal: nil))
                return DashboardHTTP.challenging(Problem.response(failure.denial, auditIndex: failure.auditIndex))
            })
    }

    func dashboardData(_ request: Request, _ context: Context) async -> Response {
        let caller = context.caller
        let query = request.uri.queryParameters
        let window: DashboardWindow
        let tenant: String?
        do {
            window = try DashboardWindow(range: query.get("range"), buckets: query.get("buckets"))
            tenant = try DashboardWindow.scope(callerTenant: caller?.principal.tenant.rawValue, requested: query.get("tenant"))
        } catch {
            return await refuse(ReasonCode(error.code), error.detail, .dashboard, context.requestID, caller?.principal)
        }
        let now = metrics.ring.now()
        let (acquired, expires) = await gateway.keyRing.leaseTimes()
        var facts: [DashboardData.Fact] = [
            .init(key: "lease_valid", label: "key lease valid", value: expires == nil ? "no" : "yes"),
            .init(key: "lease_valid_until", label: "lease valid until", value: expires.map(DashboardData.timestamp) ?? "-"),
            .init(key: "lease_age_seconds", label: "lease age (s)", value: acquired.map { String(Int(max(0, now.timeIntervalSince($0)))) } ?? "-"),
            .init(key: "tee", label: "TEE type", value: gateway.keyRing.tee),
        ]
        if caller == nil {
            // The audit log holds every tenant's records: its figures are for auditors only.
            let size = await auditLog.size
            let checkpoint = await auditLog.latestCheckpoint
            let signedAt = await auditLog.latestSignedAt
            facts += [
                .init(key: "audit_size", label: "audit log records", value: String(size)),
                .init(key: "checkpoint_size", label: "last checkpoint size", value: checkpoint.map { String($0.size) } ?? "-"),
                .init(
                    key: "checkpoint_age_seconds", label: "last checkpoint age (s)",
                    value: signedAt.map { String(Int(max(0, Date().timeIntervalSince($0)))) } ?? "-"),
            ]
        }
        let snapshot = metrics.ring.snapshot(window, tenant: tenant)
        return DashboardHTTP.data(DashboardData(process: "gateway", tenant: tenant, window: window, snapshot: snapshot, facts: facts, now: now))
    }
}
