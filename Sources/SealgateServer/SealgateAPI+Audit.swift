import Audit
import Foundation
import Gateway
import HTTPTypes
import Hummingbird
import NIOCore
import SealgateCore

extension SealgateAPI {
    /// `/audit/*`: the signed checkpoint and key (public), and for auditors the C2SP tlog-tiles, entries and proofs.
    /// Entries and tiles carry tenant and principal ids and timings: only auditors may read them; a refusal is
    /// audited and counted like any other (kind `audit_read`).
    func registerAudit(on router: Router<Context>) {
        router.get("/audit/checkpoint") { _, _ -> Response in
            do {
                let signed = try await auditLog.checkpointNote()
                let note = await witnesses?.servedNote(latest: signed) ?? signed
                return Response(
                    status: .ok, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                    body: .init(byteBuffer: ByteBuffer(string: note)))
            } catch {
                return Problem.response(Denial(.auditUnavailable, "No checkpoint is available."))
            }
        }
        router.get("/audit/key") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: auditLog.verifier.encoded + "\n")))
        }
        let auditor = router.group().add(middleware: auditorAuthentication())
        auditor.get("/audit/tile/**") { _, context -> Response in
            let rest = context.parameters.getCatchAll().joined(separator: "/")
            guard let path = TlogTiles.parse(rest) else { return await refuseAuditRead(.notFound, "Not a tile path.", context) }
            do {
                let data: Data
                if let level = path.level {
                    data = try await auditLog.tile(level: level, index: path.index, width: path.width)
                } else {
                    data = try await auditLog.entryBundle(index: path.index, width: path.width)
                }
                // Full tiles never change; partial ones are replaced by wider ones. Tiles are read with an auditor key
                // (entry bundles hold whole records): a shared cache must not keep them for callers without one.
                let cache = path.width == TlogTiles.width ? "private, max-age=31536000, immutable" : "no-store"
                return Response(
                    status: .ok, headers: [.contentType: "application/octet-stream", .cacheControl: cache],
                    body: .init(byteBuffer: ByteBuffer(bytes: data)))
            } catch {
                return await refuseAuditRead(.notFound, "The log does not have that tile yet.", context)
            }
        }
        auditor.get("/audit/entries/:index") { _, context -> Response in
            guard let index = context.parameters.get("index").flatMap(Int.init), let entry = await auditLog.entry(index) else {
                return await refuseAuditRead(.notFound, "No such audit entry.", context)
            }
            do {
                let note = try await auditLog.checkpointNote()
                let size = try Checkpoint(body: try auditLog.verifier.open(note)).size
                var body: [String: Any] = ["index": index, "entry": String(decoding: entry, as: UTF8.self), "checkpoint": note]
                if index < size {
                    let proof = try await auditLog.inclusionProof(index: index, size: size)
                    body["inclusion"] = ["tree_size": size, "leaf_hash": proof.leafHash.base64EncodedString(), "proof": proof.proof.map { $0.base64EncodedString() }]
                }
                return rawJSON(body)
            } catch {
                return await refuseAuditRead(.auditUnavailable, "The entry's proof is not available yet.", context)
            }
        }
        auditor.get("/audit/proof/inclusion") { request, context -> Response in
            guard let index = request.uri.queryParameters.get("index").flatMap({ Int($0) }),
                let size = request.uri.queryParameters.get("size").flatMap({ Int($0) }),
                let proof = try? await auditLog.inclusionProof(index: index, size: size)
            else { return await refuseAuditRead(.malformedRequest, "Give index < size ≤ the log size.", context) }
            return rawJSON([
                "index": index, "tree_size": size, "leaf_hash": proof.leafHash.base64EncodedString(),
                "root": proof.root.base64EncodedString(), "proof": proof.proof.map { $0.base64EncodedString() },
            ])
        }
        auditor.get("/audit/proof/consistency") { request, context -> Response in
            guard let from = request.uri.queryParameters.get("from").flatMap({ Int($0) }),
                let to = request.uri.queryParameters.get("to").flatMap({ Int($0) }),
                let proof = try? await auditLog.consistencyProof(from: from, to: to)
            else { return await refuseAuditRead(.malformedRequest, "Give from ≤ to ≤ the log size.", context) }
            return rawJSON([
                "from": from, "to": to, "from_root": proof.oldRoot.base64EncodedString(),
                "to_root": proof.newRoot.base64EncodedString(), "proof": proof.proof.map { $0.base64EncodedString() },
            ])
        }
    }
}

func rawJSON(_ object: [String: Any]) -> Response {
    let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
    return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}
