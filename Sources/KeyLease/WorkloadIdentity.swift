import Crypto
import Foundation
import JOSE
import KBSProtocol
import Synchronization

/// The TLS identity of a workload inside its TEE: an ECDSA P-256 key generated in memory when the process starts
/// (never written anywhere, never sent), and the certificate the broker's workload CA issued for it with the
/// current lease. ``LeaseManager`` binds the key into its evidence and renews the certificate with the lease.
public final class WorkloadIdentity: Sendable {
    /// The class the certificate names (`gateway`, `model:<id>`).
    public let workload: WorkloadClass
    /// The in-memory key.
    public let privateKey: P256.Signing.PrivateKey
    let now: @Sendable () -> Date
    private let state = Mutex<WorkloadCertificate?>(nil)
    private let listeners = Mutex<[@Sendable (WorkloadCertificate) -> Void]>([])

    /// Generates a fresh key for `workload`.
    public init(workload: WorkloadClass, now: @escaping @Sendable () -> Date = { Date() }) {
        self.workload = workload
        self.privateKey = P256.Signing.PrivateKey()
        self.now = now
    }

    /// The public key as the JWK that runtime data binds and the certificate request names.
    public var publicJWK: JWK {
        // The same point as a key-agreement key: the JWK carries only the curve and coordinates.
        (try? P256.KeyAgreement.PublicKey(x963Representation: privateKey.publicKey.x963Representation)).map { JWK.ec($0) } ?? JWK(kty: "EC")
    }

    /// SHA-256 of the public key's SubjectPublicKeyInfo (DER), as clients pin it.
    public var publicKeySHA256: Data { Data(SHA256.hash(data: privateKey.publicKey.derRepresentation)) }

    /// The current certificate while it is valid; `nil` before the first issuance and after expiry, so a TLS
    /// listener that asks fails its handshakes rather than serve an expired or absent certificate.
    public var certificate: WorkloadCertificate? {
        state.withLock { current in
            guard let current, now() < current.expiry else { return nil }
            return current
        }
    }

    /// The last certificate issued, valid or not (for logs and renewal decisions).
    public var lastCertificate: WorkloadCertificate? { state.withLock { $0 } }

    /// Installs a newly issued certificate and tells every listener.
    public func install(_ certificate: WorkloadCertificate) {
        state.withLock { $0 = certificate }
        for listener in listeners.withLock({ $0 }) { listener(certificate) }
    }

    /// Calls `listener` after every installation (e.g. to write the CA bundle for clients).
    public func onInstall(_ listener: @escaping @Sendable (WorkloadCertificate) -> Void) {
        listeners.withLock { $0.append(listener) }
    }
}
