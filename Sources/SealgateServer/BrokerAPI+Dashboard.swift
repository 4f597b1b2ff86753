import Dashboard
import Foundation
import Hummingbird
import KeyBroker

/// The broker's dashboard: the page and its figures for admin credentials with the `reader` role (or `admin`).
extension BrokerAPI {
    func registerDashboard(on router: Router<Context>) {
        let group = router.group().add(middleware: BasicAsBearer<Context>()).add(middleware: DashboardChallenge<Context>())
            .add(middleware: adminAuthentication())
        group.get("/dashboard") { _, context in
            await authorized(context, "dashboard") { _ in DashboardHTTP.page(title: "Sealgate key broker") }
        }
        group.get("/dashboard/data") { request, context in
            await authorized(context, "dashboard") { who in await dashboardData(request, by: who) }
        }
    }

    func dashboardData(_ request: Request, by who: AdminCredential) async -> Response {
        let query = request.uri.queryParameters
        let window: DashboardWindow
        let tenant: String?
        do {
            window = try DashboardWindow(range: query.get("range"), buckets: query.get("buckets"))
            tenant = try DashboardWindow.scope(callerTenant: nil, requested: query.get("tenant"))
        } catch {
            return BrokerProblem.response(await broker.refuseRead("dashboard", reason: BrokerReason(error.code), rule: "dashboard.\(error.code)", by: who))
        }
        let now = metrics.ring.now()
        let reference = await broker.referenceValues
        let policies = await broker.policies
        let measurements = reference.sets.flatMap(\.measurements)
        let facts: [DashboardData.Fact] = [
            .init(key: "reference_sets", label: "reference value sets", value: reference.sets.map { "\($0.id) (\($0.tee.rawValue))" }.joined(separator: ", ")),
            .init(
                key: "measurements", label: "measurements accepted",
                value: measurements.prefix(4).map { String($0.prefix(16)) + "…" }.joined(separator: ", ") + (measurements.count > 4 ? " (+\(measurements.count - 4))" : "")),
            .init(
                key: "tcb_statuses", label: "TCB statuses accepted",
                value: Set(reference.sets.flatMap(\.acceptedTCBStatuses).map(\.rawValue)).sorted().joined(separator: ", ")),
            .init(key: "mock_evidence", label: "mock evidence accepted", value: reference.acceptMockEvidence ? "yes" : "no"),
            .init(key: "release_policies", label: "release policies", value: String(policies.count)),
        ]
        let snapshot = metrics.ring.snapshot(window, tenant: tenant)
        return DashboardHTTP.data(DashboardData(process: "broker", tenant: tenant, window: window, snapshot: snapshot, facts: facts, now: now))
    }
}

/// Adds the Basic challenge to the broker dashboard's 401s (the admin authenticator answers them).
struct DashboardChallenge<Context: Hummingbird.RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        DashboardHTTP.challenging(try await next(request, context))
    }
}
