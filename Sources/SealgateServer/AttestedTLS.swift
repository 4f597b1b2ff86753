import Foundation
import HTTPHardening
import HummingbirdCore
import KeyLease
import Logging
import NIOCore
import NIOSSL
import SealgateCore
import Synchronization

/// TLS whose key never leaves the TEE: the listener serves the ``WorkloadIdentity``'s in-memory key with the
/// certificate the broker's workload CA issued for it. The TLS context is built once per issued certificate and
/// chosen when a connection is accepted, so a renewed certificate takes effect for new connections without
/// dropping open ones, and a handshake costs what it costs with a fixed certificate. With no valid certificate
/// (never issued, or expired without renewal) every new connection is closed before its handshake: the listener
/// never falls back to plain HTTP or a stale certificate.
enum AttestedTLS {
    /// Why a connection was refused.
    struct NoCertificate: Error {}

    /// The guarded HTTP/1.1 listener over attested TLS (call after the first issuance: it must hold a certificate).
    static func server(_ settings: ListenerSettings, identity: WorkloadIdentity) throws -> HTTPServerBuilder {
        let material = Material(identity: identity)
        guard material.context() != nil else {
            throw SealgateError(.attestationFailed, "attested TLS: no workload certificate from the broker yet")
        }
        return .guardedHTTP1(settings) { AttestedTLSChannel(base: $0, material: material) }
    }

    /// The identity's current certificate as a TLS server context, built once per issuance (not per handshake).
    final class Material: Sendable {
        let identity: WorkloadIdentity
        let key: NIOSSLPrivateKey?
        private let built = Mutex<(serial: String, context: NIOSSLContext)?>(nil)

        init(identity: WorkloadIdentity) {
            self.identity = identity
            self.key = try? NIOSSLPrivateKey(bytes: Array(identity.privateKey.pemRepresentation.utf8), format: .pem)
        }

        /// The context for the certificate valid now, or `nil` when there is none.
        func context() -> NIOSSLContext? {
            guard let key, let certificate = identity.certificate else { return nil }
            return built.withLock { cache -> NIOSSLContext? in
                if let cache, cache.serial == certificate.serial { return cache.context }
                guard let chain = try? certificate.servedChain.flatMap({ try NIOSSLCertificate.fromPEMBytes(Array($0.utf8)) }), !chain.isEmpty else {
                    return nil
                }
                var configuration = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
                configuration.minimumTLSVersion = .tlsv12
                guard let context = try? NIOSSLContext(configuration: configuration) else { return nil }
                cache = (certificate.serial, context)
                return context
            }
        }
    }
}

/// A child channel that puts TLS with the attested identity's current context in front of the guarded HTTP/1.1
/// channel.
struct AttestedTLSChannel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = GuardedHTTP1Channel.Value
    let base: GuardedHTTP1Channel
    let material: AttestedTLS.Material

    var responder: HTTPChannelHandler.Responder { base.responder }

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        guard let context = material.context() else { return channel.eventLoop.makeFailedFuture(AttestedTLS.NoCertificate()) }
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}
