import ArgumentParser
import AsyncHTTPClient
import Audit
import Foundation
import NIOCore

/// Reads a gateway's audit log over HTTP: the signed checkpoint and the tlog-tiles entry bundles.
struct RemoteLog {
    let base: String
    let key: String?

    func get(_ path: String) async throws -> Data {
        var request = HTTPClientRequest(url: base.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + path)
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 64 << 20)
        guard response.status.code == 200 else { throw ValidationError("GET \(path): HTTP \(response.status.code)") }
        return Data(body.readableBytesView)
    }

    /// The served checkpoint and the key that verifies it (given, or the served one).
    func checkpoint(verifier: NoteVerifier?) async throws -> (String, NoteVerifier) {
        let note = String(decoding: try await get("/audit/checkpoint"), as: UTF8.self)
        if let verifier { return (note, verifier) }
        return (note, try NoteVerifier(encoded: String(decoding: try await get("/audit/key"), as: UTF8.self)))
    }

    /// The first `size` entries, from full and partial entry bundles.
    func entries(size: Int) async throws -> [Data] {
        var out: [Data] = []
        var tile = 0
        while out.count < size {
            let width = min(TlogTiles.width, size - tile * TlogTiles.width)
            let suffix = width == TlogTiles.width ? "" : ".p/\(width)"
            out += try TlogTiles.parseBundle(try await get("/audit/tile/entries/\(TlogTiles.encodeIndex(tile))\(suffix)"))
            tile += 1
        }
        return out
    }

    /// Verifies the served log up to its checkpoint.
    func verify(verifier: NoteVerifier?) async throws -> AuditVerification {
        let (note, key) = try await checkpoint(verifier: verifier)
        let checkpoint = try Checkpoint(body: try key.open(note))
        return AuditVerifier.verify(entries: try await entries(size: checkpoint.size), notes: [note], verifier: key)
    }
}
