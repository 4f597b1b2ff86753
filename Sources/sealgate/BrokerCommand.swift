import ArgumentParser
import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Logging
import SealgateServer

/// `sealgate broker`: the standalone key broker (KBS RCAR protocol and admin API).
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run the standalone key broker: attestation-gated release of tenant KEKs and secrets over the KBS protocol.",
        discussion: """
            Speaks the Confidential Containers KBS "RCAR" protocol v0 (POST /kbs/v0/auth, POST /kbs/v0/attest, \
            GET /kbs/v0/resource/<tenant>/<type>/<tag>) and the admin API under /admin/v0 (see docs/broker-openapi.yaml). \
            On first start it creates <data-dir>/master.key (0600; or set SEALGATE_BROKER_MASTER_KEY), the token key, and \
            a bootstrap admin token in <data-dir>/admin-token.
            """)

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8081
    @Option(name: .customLong("data-dir"), help: "Broker state: SQLite store, master key, token key, audit log.")
    var dataDir = ".sealgate-broker"
    @Option(name: .customLong("reference-values"), help: "Reference values (JSON or YAML, docs/reference-values.md); replace the stored ones.")
    var referenceValues: String?
    @Option(help: "Release policies (JSON, docs/release-policy.md); stored at start, replacing policies with the same id.")
    var policies: String?
    @Option(name: .customLong("operations-policy"), help: "Operational access policy (JSON, docs/broker.md): roles per admin action, quorum approvals, break-glass.")
    var operationsPolicy: String?
    @Option(name: .customLong("token-ttl"), help: "Lifetime of attestation tokens and attested sessions, in seconds.")
    var tokenTTL: Double = 300
    @Option(name: .customLong("tdx-collateral"), help: "Intel PCS collateral directory (tcb_info.json, qe_identity.json, tcb_signing_chain.pem, CRLs) to rate TDX TCB status.")
    var tdxCollateral: String?
    @Option(name: .customLong("amd-cert-chain"), help: "AMD cert_chain PEM (ASK/ASVK + ARK) for Azure SNP vTPM evidence without one (repeatable).")
    var amdCertChain: [String] = []
    @Option(name: .customLong("tls-cert"), help: "Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key.")
    var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "The private key (PEM) of --tls-cert.") var tlsKey: String?
    @Flag(
        name: .customLong("require-client-cert"),
        help: "Mutual TLS: resource requests must come over TLS with the workload certificate of the token's key (needs --tls-cert).")
    var requireClientCert = false
    @Option(help: "A PostgreSQL URL (postgres://user@host:port/db) for the store, sessions and token key, shared by several brokers; default: SQLite in --data-dir. Every broker on one database needs the same SEALGATE_BROKER_MASTER_KEY.")
    var database: String?
    @Option(
        help: "The name of an environment variable holding the PostgreSQL URL, instead of --database: a URL with a password on the command line is readable by every local user (/proc/<pid>/cmdline).")
    var databaseEnv: String?
    @Option(help: "This broker's name among several on one database: its audit log's origin is sealgate-broker/<replica>.")
    var replica: String?
    @Option(
        name: .customLong("adopt-unsealed-records"),
        help: "Once, after an upgrade: seal the policies, reference values, admin credentials and settings an earlier release kept in clear, if they are still what the refusal at start described by this digest (docs/broker.md).")
    var adoptUnsealedRecords: String?
    @OptionGroup(title: "Listener") var listener: ListenerOptions

    func run() async throws {
        // Every file the broker creates (SQLite and its WAL, keys, audit log, events) is readable by its owner only.
        _ = umask(0o077)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
            return handler
        }
        var options = BrokerOptions(
            host: host, port: port, dataDir: dataDir, referenceValuesPath: referenceValues, policiesPath: policies, tokenTTL: tokenTTL)
        options.tdxCollateralPath = tdxCollateral
        switch (database, databaseEnv) {
        case (.some, .some): throw ValidationError("give --database or --database-env, not both")
        case (let url, nil): options.databaseURL = url
        case (nil, let name?):
            guard let url = ProcessInfo.processInfo.environment[name], !url.isEmpty else {
                throw ValidationError("--database-env \(name): that environment variable is not set")
            }
            options.databaseURL = url
        }
        if let replica, replica.isEmpty || !replica.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) {
            throw ValidationError("--replica takes ASCII letters, digits, '.', '_' and '-'")
        }
        options.replica = replica
        options.amdCertChainPaths = amdCertChain
        options.operationsPolicyPath = operationsPolicy
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("give both --tls-cert and --tls-key, or neither") }
        if requireClientCert && tlsCert == nil { throw ValidationError("--require-client-cert needs --tls-cert and --tls-key") }
        options.tlsCertificatePath = tlsCert
        options.tlsKeyPath = tlsKey
        options.requireClientCertificate = requireClientCert
        options.listener = listener.limits
        if let digest = adoptUnsealedRecords, digest.count != 64 || !digest.allSatisfy(\.isHexDigit) {
            throw ValidationError("--adopt-unsealed-records takes the 64-hex-digit digest the refusal at start printed")
        }
        options.adoptUnsealedDigest = adoptUnsealedRecords
        let instance = try await SealgateBroker.build(options)
        let scheme = tlsCert == nil ? "http" : "https"
        var banner = "Sealgate broker listening on \(scheme)://\(host):\(port)  issuer \(instance.broker.issuer)\n"
        if let path = instance.bootstrapTokenPath { banner += "Bootstrap admin token: \(path)\n" }
        FileHandle.standardError.write(Data(banner.utf8))
        try await instance.application.runService()
    }
}
