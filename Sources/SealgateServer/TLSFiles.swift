import Foundation
import NIOSSL
import SealgateCore

/// TLS settings from PEM files: the gateway's and the broker's listeners, and the gateway's client of a standalone
/// broker. TLS 1.2 or later; certificates are verified with full chain and hostname (or IP address) checks.
///
/// Key releases are end-to-end encrypted to the attested TEE (JWE) whatever the transport; TLS protects the rest
/// of the traffic: admin bearer tokens, attestation tokens and session cookies, and API keys on the gateway.
public enum TLSFiles {
    /// A server configuration from a certificate chain (leaf first, PEM) and its private key (PEM).
    /// - Throws: ``SealgateError`` naming the file that could not be used (never its contents).
    public static func server(certificatePath: String, keyPath: String) throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificatePath) } catch {
            throw SealgateError(.internalError, "cannot read the TLS certificate chain \(certificatePath) (PEM expected)")
        }
        guard !chain.isEmpty else { throw SealgateError(.internalError, "no certificate in \(certificatePath)") }
        let key: NIOSSLPrivateKey
        do { key = try NIOSSLPrivateKey(file: keyPath, format: .pem) } catch {
            throw SealgateError(.internalError, "cannot read the TLS private key \(keyPath) (PEM expected)")
        }
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        configuration.minimumTLSVersion = .tlsv12
        return configuration
    }

    /// A client configuration that trusts only the CA certificates in `caPath` (PEM) — a private CA for the
    /// broker — or, without it, the system's trust store.
    public static func client(caPath: String?) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let caPath {
            let roots: [NIOSSLCertificate]
            do { roots = try NIOSSLCertificate.fromPEMFile(caPath) } catch {
                throw SealgateError(.internalError, "cannot read the CA certificates \(caPath) (PEM expected)")
            }
            guard !roots.isEmpty else { throw SealgateError(.internalError, "no certificate in \(caPath)") }
            configuration.trustRoots = .certificates(roots)
        }
        return configuration
    }
}
