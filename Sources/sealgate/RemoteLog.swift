import AsyncHTTPClient
import Audit
import Foundation
import NIOCore

/// Reads a gateway's audit log over HTTP: the signed checkpoint and the tlog-tiles entry bundles.
struct RemoteLog {
    let base: String
    let key: String?

    /// GETs one path.
    /// - Throws: ``RuntimeFailure`` naming the fix: an unreachable gateway, a missing or wrong auditor key, another status.
    func get(_ path: String) async throws -> Data {
        let root = base.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        var request = HTTPClientRequest(url: root + path)
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        let (response, body) = try await Self.execute(request, gateway: root, timeout: .seconds(30), limit: 64 << 20)
        switch response.status.code {
        case 200: return Data(body.readableBytesView)
        case 401 where key == nil:
            throw RuntimeFailure("auditor key missing: pass --api-key (or set SEALGATE_AUDITOR_KEY) with a key listed in audit.auditor_api_key_sha256")
        case 401, 403:
            throw RuntimeFailure("auditor key missing or wrong: pass --api-key with a key listed in audit.auditor_api_key_sha256")
        default:
            throw RuntimeFailure("GET \(root)\(path): HTTP \(response.status.code): is --url a Sealgate gateway's base URL?")
        }
    }

    /// The CLI's client for gateways: a refused connection fails at once instead of being retried until the
    /// request's deadline (as `HTTPClient.shared` does). Lives as long as the process, so it is never shut down.
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        // A redirect would re-send a POST's body (a document's text for `sealgate ingest`) to the host it names.
        configuration.redirectConfiguration = .disallow
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// Sends a request to a gateway and collects the answer.
    /// - Throws: ``RuntimeFailure`` (``RuntimeFailure/unreachable``) naming `gateway` and `--url` when it cannot be
    ///   reached or the answer is too large.
    static func execute(_ request: HTTPClientRequest, gateway: String, timeout: TimeAmount, limit: Int) async throws
        -> (HTTPClientResponse, ByteBuffer)
    {
        do {
            let response = try await client.execute(request, timeout: timeout)
            return (response, try await response.body.collect(upTo: limit))
        } catch {
            throw RuntimeFailure(
                "cannot reach the gateway at \(gateway) (\(error)): check --url and that `sealgate serve` runs there", unreachable: true)
        }
    }

    /// The served checkpoint and the key that verifies it (given, or the served one).
    func checkpoint(verifier: NoteVerifier?) async throws -> (String, NoteVerifier) {
        let note = String(decoding: try await get("/audit/checkpoint"), as: UTF8.self)
        if let verifier { return (note, verifier) }
        return (note, try NoteVerifier(encoded: String(decoding: try await get("/audit/key"), as: UTF8.self)))
    }

    /// The first `size` entries, from full and partial entry bundles. Each bundle must hold exactly the entries its
    /// tile names (a short or long one is refused: a server that kept answering short bundles was asked forever).
    func entries(size: Int) async throws -> [Data] {
        guard size >= 0, size <= Self.maximumEntries else {
            throw RuntimeFailure("the served checkpoint names \(size) entries; more than \(Self.maximumEntries) are not fetched")
        }
        var out: [Data] = []
        var tile = 0
        while out.count < size {
            let width = min(TlogTiles.width, size - tile * TlogTiles.width)
            let suffix = width == TlogTiles.width ? "" : ".p/\(width)"
            let bundle = try TlogTiles.parseBundle(try await get("/audit/tile/entries/\(TlogTiles.encodeIndex(tile))\(suffix)"))
            guard bundle.count == width else {
                throw RuntimeFailure("entry bundle \(tile) holds \(bundle.count) entries where its tile names \(width): not a Sealgate audit log")
            }
            out += bundle
            tile += 1
        }
        return out
    }

    /// The most entries `audit verify --url` fetches (each is read into memory).
    static let maximumEntries = 100_000_000

    /// Verifies the served log up to its checkpoint.
    /// With `witnesses`, the served checkpoint must also carry their quorum of cosignatures.
    func verify(verifier: NoteVerifier?, witnesses: WitnessPolicyOptions.Policy? = nil) async throws -> AuditVerification {
        let (note, key) = try await checkpoint(verifier: verifier)
        let checkpoint = try Checkpoint(body: try key.open(note))
        var report = AuditVerifier.verify(entries: try await entries(size: checkpoint.size), notes: [note], verifier: key)
        if let witnesses {
            do {
                report.witnessed = try AuditVerifier.verifyWitnessedCheckpoint(note: note, log: key, witnesses: witnesses.witnesses, quorum: witnesses.quorum)
                report.witnessedBy = AuditVerifier.verifyCosignatures(note: note, witnesses: witnesses.witnesses, quorum: witnesses.quorum).cosigners
            } catch let error as AuditError {
                report.failures.append("served checkpoint: \(error.message)")
            }
        }
        return report
    }
}
