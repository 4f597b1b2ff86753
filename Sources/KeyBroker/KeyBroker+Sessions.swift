import Attestation
import Foundation
import KBSProtocol
import SealgateCore

/// Sessions sealed into ``BrokerSessionRecord``s and read back: what the broker trusts of a session is only what
/// opens under its master key for that session's id.
extension KeyBroker {
    /// A session's state as sealed into its record.
    struct SessionState: Codable {
        /// The challenge nonce while challenged; `nil` once attested.
        var nonce: String?
        var tee: TEEType
        /// Seconds since 1970.
        var expires: Double
        /// The attestation token once attested.
        var token: String?
    }

    static func sessionAAD(_ idDigest: Data) -> Data { Data("sealgate-broker/session/v1:".utf8) + idDigest }

    func sealSession(_ state: SessionState, idDigest: Data) throws -> BrokerSessionRecord {
        BrokerSessionRecord(
            idDigest: idDigest, attested: state.token != nil, expires: Date(timeIntervalSince1970: state.expires),
            sealedState: try protector.seal(try Self.canonical(state), aad: Self.sessionAAD(idDigest)))
    }

    /// The record's state, or `nil` when it does not open (tampered, moved, or sealed under another master key).
    func openSession(_ record: BrokerSessionRecord) -> SessionState? {
        guard let plain = try? protector.open(record.sealedState, aad: Self.sessionAAD(record.idDigest)) else { return nil }
        return try? JSONDecoder().decode(SessionState.self, from: plain)
    }

    /// The state of session `id` if it is kept and opens, or the denial.
    func sessionState(_ id: String) async -> Result<SessionState, ReleaseDecision> {
        let key = BrokerSessionRecord.digest(id)
        let record: BrokerSessionRecord?
        do { record = try await sessions.session(idDigest: key) } catch { return .failure(.deny(.storageUnavailable, "session.store")) }
        guard let record, let state = openSession(record) else { return .failure(.deny(.unknownSession, "session")) }
        guard state.expires > now().timeIntervalSince1970 else {
            try? await sessions.remove(idDigest: key)
            return .failure(.deny(.sessionExpired, "session.expiry"))
        }
        return .success(state)
    }

    /// The evidence type a session was opened for, if the session exists.
    public func sessionTEE(_ id: String) async -> TEEType? {
        guard let record = try? await sessions.session(idDigest: BrokerSessionRecord.digest(id)) else { return nil }
        return openSession(record)?.tee
    }
}
