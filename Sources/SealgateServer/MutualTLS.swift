import AttestedUpstream
import Foundation
import HummingbirdCore
import HummingbirdTLS
import KeyBroker
import NIOCore
import NIOSSL
import SealgateCore
import SwiftASN1
import X509

/// The broker's side of mutual TLS with workload certificates: the listener asks every client for a certificate
/// (optional at the TLS layer, so `auth` and `attest` still work without one), verifies a presented chain against
/// the broker's current workload CA bundle, and the resource route then requires the certificate to certify the
/// key the token's evidence bound (``KeyBroker/checkClientCertificate(_:claims:)``).
enum MutualTLS {
    /// The broker's HTTPS listener with optional client certificates verified against `broker`'s CA bundle.
    static func brokerServer(_ base: HTTPServerBuilder, tls: TLSConfiguration, broker: KeyBroker) throws -> HTTPServerBuilder {
        var configuration = tls
        configuration.certificateVerification = .optionalVerification
        let trust = TrustRoots()
        return try .tls(
            base,
            configuration: TLSChannelConfiguration(
                tlsConfiguration: configuration,
                customAsyncVerificationCallback: { presented in
                    let roots = trust.roots((try? await broker.caCertificates()) ?? [])
                    return await verify(presented, roots: roots, now: Date()) ? .certificateVerified : .failed
                }))
    }

    /// A client chain that leads to one of `roots` (the broker's CA bundle), valid now, whose leaf carries the
    /// workload extension.
    static func verify(_ presented: [NIOSSLCertificate], roots: [Certificate], now: Date) async -> Bool {
        guard let chain = try? presented.map({ try Certificate(derEncoded: try $0.toDERBytes()) }),
            let leaf = await ChainCheck.verifiedLeaf(chain, roots: roots, host: nil, now: now)
        else { return false }
        return leaf.extensions[oid: WorkloadExtension.oid] != nil
    }

    /// The verified client certificate of the connection, if any.
    static func clientCertificate(on channel: any Channel) async -> ClientCertificate {
        let der = try? await channel.eventLoop.submit { () throws -> [UInt8]? in
            try channel.pipeline.syncOperations.handler(type: NIOSSLServerHandler.self).peerCertificate?.toDERBytes()
        }.get()
        guard let der = der ?? nil, let certificate = try? Certificate(derEncoded: der) else { return .missing }
        return .presented(certificate.publicKey)
    }
}
