import Foundation
import KeyLease
import NIOCore
import NIOSSL
import SealgateCore
import Synchronization

/// TLS whose key never leaves the TEE: the listener serves the ``WorkloadIdentity``'s in-memory key with the
/// certificate the broker's workload CA issued for it, looked up at every handshake, so a renewed certificate
/// takes effect for new connections without dropping open ones. With no valid certificate (never issued, or
/// expired without renewal) every handshake fails: the listener never falls back to plain HTTP or a stale
/// certificate.
enum AttestedTLS {
    /// Why a handshake was refused.
    struct NoCertificate: Error {}

    /// The server configuration for `identity` (it must hold a certificate: call after the first issuance).
    static func server(_ identity: WorkloadIdentity) throws -> TLSConfiguration {
        let material = Material(identity: identity)
        guard let (chain, key) = material.current() else {
            throw SealgateError(.attestationFailed, "attested TLS: no workload certificate from the broker yet")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        configuration.sslContextCallback = { _, promise in
            guard let (chain, key) = material.current() else {
                promise.fail(NoCertificate())
                return
            }
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = chain.map { .certificate($0) }
            override.privateKey = .privateKey(key)
            promise.succeed(override)
        }
        return configuration
    }

    /// The identity's certificate and key parsed for NIOSSL once per issuance (not per handshake).
    final class Material: Sendable {
        let identity: WorkloadIdentity
        let key: NIOSSLPrivateKey?
        private let parsed = Mutex<(serial: String, chain: [NIOSSLCertificate])?>(nil)

        init(identity: WorkloadIdentity) {
            self.identity = identity
            self.key = try? NIOSSLPrivateKey(bytes: Array(identity.privateKey.pemRepresentation.utf8), format: .pem)
        }

        func current() -> ([NIOSSLCertificate], NIOSSLPrivateKey)? {
            guard let key, let certificate = identity.certificate else { return nil }
            return parsed.withLock { cache -> ([NIOSSLCertificate], NIOSSLPrivateKey)? in
                if let cache, cache.serial == certificate.serial { return (cache.chain, key) }
                guard let chain = try? certificate.chain.flatMap({ try NIOSSLCertificate.fromPEMBytes(Array($0.utf8)) }), !chain.isEmpty else {
                    return nil
                }
                cache = (certificate.serial, chain)
                return (chain, key)
            }
        }
    }
}
