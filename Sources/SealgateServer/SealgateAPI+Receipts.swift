import Audit
import Authenticate
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import NIOCore
import SealgateCore

extension SealgateAPI {
    static let receiptHeader = HTTPField.Name.constant("Sealgate-Receipt")

    /// The receipt of the record at `index`: one stored hash read, no proof (proofs are fetched later). `nil` when
    /// the hash cannot be read, or the receipt cannot be an RFC 8941 value (`audit.origin` is checked to be printable
    /// ASCII when the configuration loads; an index past 10^15 - 1 is the one other case).
    func receipt(index: UInt64, requestID: String) async -> Receipt? {
        // The latest entries' hashes are read without a turn on the log's actor; older ones from the tree files.
        var found = auditLog.recentLeafHash(Int(index))
        if found == nil { found = await auditLog.leafHash(Int(index)) }
        guard let leaf = found else { return nil }
        return try? Receipt(origin: auditLog.origin, index: index, leafHash: leaf, requestID: requestID)
    }

    /// `response` with the `Sealgate-Receipt` field of its record.
    func withReceipt(_ response: Response, _ receipt: Receipt?) -> Response {
        guard let receipt else { return response }
        var response = response
        response.headers[Self.receiptHeader] = receipt.headerValue
        return response
    }

    /// `GET /v1/receipts/key` and `GET /v1/receipts/{index}`: the tenant's question key, and the C2SP `tlog-proof` of
    /// a record for the principal whose request it records or an auditor (another tenant's or principal's record is
    /// the same 404 as a missing one).
    /// Every refusal is audited (kind `audit_read`, no index or content in the record) and counted in
    /// `sealgate_denials_total`, like the authentication refusals of these routes.
    func registerReceipts(on router: Router<Context>) {
        let group = router.group().add(middleware: receiptAuthentication())
        group.get("/v1/receipts/key") { _, context -> Response in
            guard case .caller(let caller) = context.identity else {
                return await refuseAuditRead(.notFound, "Auditors have no question key; it belongs to a tenant.", context)
            }
            guard let key = await gateway.keyRing.questionKey(for: caller.principal.tenant) else {
                return await refuseAuditRead(.keyLeaseUnavailable, "The tenant's secret is not leased; its records carry no question digest.", context)
            }
            var response = json(["algorithm": "hmac-sha256", "key": key.base64EncodedString(), "tenant": caller.principal.tenant.rawValue])
            response.headers[.cacheControl] = "no-store"
            return response
        }
        group.get("/v1/receipts/:index") { _, context -> Response in
            await proof(context)
        }
    }

    /// A refusal of a route that reads the audit log (receipts, tiles, entries, proofs), recorded (an `audit_read`
    /// record without the index or content asked for, a metric) and answered as a problem.
    func refuseAuditRead(_ code: ReasonCode, _ detail: String, _ context: Context) async -> Response {
        await refuse(code, detail, .auditRead, context.requestID, context.caller?.principal)
    }

    private func proof(_ context: Context) async -> Response {
        // The entry is read once: for the tenant check, then as the proof's `extra` line.
        guard let raw = context.parameters.get("index"), raw.count <= 19, raw.allSatisfy(\.isASCII), raw.allSatisfy(\.isNumber),
            let index = Int(raw), let entry = await auditLog.entry(index)
        else { return await refuseAuditRead(.notFound, "No such receipt.", context) }
        if case .caller(let caller) = context.identity {
            // The caller's own records only: another principal of the tenant may hold classes this one may not read,
            // and with the tenant's question key it could test guesses of that principal's questions.
            guard let leaf = try? JSONDecoder().decode(AuditLeaf.self, from: entry), leaf.record.tenant == caller.principal.tenant.rawValue,
                leaf.record.principal == caller.principal.id.rawValue
            else {
                return await refuseAuditRead(.notFound, "No such receipt.", context)
            }
        }
        do {
            var signed = try await auditLog.checkpointNote()
            if witnesses == nil, try Checkpoint(body: try auditLog.verifier.open(signed)).size <= index {
                // Without witnesses a checkpoint covering the record is signed now: at most one per log growth.
                signed = try await auditLog.checkpointIfNeeded() ?? signed
            }
            let note = await witnesses?.servedNote(latest: signed) ?? signed
            let covered = try Checkpoint(body: try auditLog.verifier.open(note)).size
            guard index < covered else {
                return await refuseAuditRead(.receiptPending, "No witnessed checkpoint covers record \(index) yet; retry in a second.", context)
            }
            let proof = try await auditLog.receiptProof(index: index, entry: entry, note: note)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: proof.encoded)))
        } catch {
            return await refuseAuditRead(.auditUnavailable, "The record's proof is not available.", context)
        }
    }

    /// A tenant key or an auditor key; refusals are audited as `audit_read`.
    func receiptAuthentication() -> Authenticator<GatewayRequestContext> {
        let credentials = gateway.credentials
        let auditors = auditorKeys
        let recorder = gateway.recorder
        return Authenticator(
            resolve: { token in credentials.identity(for: token).map(GatewayIdentity.caller) ?? auditors.identity(for: token) },
            refuse: { refusal, _, context in
                let failure = await recorder.deny(
                    Refusal(Self.denial(refusal, key: "an API key or an auditor key"), kind: .auditRead, requestID: context.requestID, principal: nil))
                return Problem.response(failure.denial, auditIndex: failure.auditIndex)
            })
    }
}
