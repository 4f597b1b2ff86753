import Foundation
import Hummingbird
import KeyBroker
import NIOCore
import SealgateCore

/// The broker's admin API for the workload CA: enrolments (which names a workload class's certificates carry),
/// the CA bundle and CA rotation.
extension BrokerAPI {
    func registerWorkloadAdmin(on router: Router<Context>) {
        let admin = router.group("/admin/v0").add(middleware: adminAuthentication())
        admin.get("/workload-ca") { _, context in
            await authorized(context, "get_workload_ca") { _ in
                Response(
                    status: .ok, headers: [.contentType: "application/x-pem-file"],
                    body: .init(byteBuffer: ByteBuffer(string: try await broker.caCertificates().joined())))
            }
        }
        admin.post("/workload-ca/rotate") { _, context in
            await authorized(context, "rotate_ca") { who in created(await broker.rotateCA(by: who).map { ["version": $0] }) }
        }
        admin.get("/workloads") { _, context in
            await authorized(context, "list_workloads") { _ in
                json(try await broker.enrolments().values.sorted { $0.workload.description < $1.workload.description })
            }
        }
        admin.put("/workloads/:workload") { request, context in
            await authorized(context, "enrol_workload") { who in
                guard let workload = context.parameters.get("workload").flatMap(WorkloadClass.init) else {
                    return BrokerProblem.bad("admin.workload")
                }
                let body = try await decodeBody(Enrolment.self, request)
                guard let names = body.names else { throw BadBody(field: "names") }
                let enrolment = WorkloadEnrolment(
                    workload: workload, names: names, scope: body.scope ?? WorkloadEnrolment.defaultScope,
                    maxValiditySeconds: body.maxValiditySeconds ?? 3600)
                guard (try? enrolment.alternativeNames()) != nil else { return BrokerProblem.bad("admin.workload.enrolment") }
                return ok(await broker.enrol(enrolment, by: who))
            }
        }
    }

    /// `PUT /admin/v0/workloads/{workload}`.
    struct Enrolment: Decodable {
        let names: [String]?
        let scope: String?
        let maxValiditySeconds: Int?
        enum CodingKeys: String, CodingKey {
            case names, scope
            case maxValiditySeconds = "max_validity_seconds"
        }
    }
}
