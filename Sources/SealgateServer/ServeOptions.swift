import Attestation
import Foundation
import HTTPHardening
import Logging
import SealgateCore

/// How to run a gateway: the command line of `sealgate serve`, plus injection points for tests.
public struct ServeOptions: Sendable {
    public var host: String?
    public var port: Int?
    /// Where state lives: SQLite files, audit log, broker keys, mock TEE key.
    public var dataDir: String
    /// A `sealgate.yaml`; when absent, `<data-dir>/sealgate.yaml` if it exists, else the embedded default.
    public var configPath: String?
    /// Seed the demo tenants and documents (idempotent).
    public var demo: Bool
    /// The clock for leases, tokens and audit times.
    public var now: @Sendable () -> Date
    /// Reference values for the in-process broker, overriding configuration and development enrolment.
    public var referenceValues: ReferenceValues?
    /// The file whose SHA-384 is the mock measurement's executable digest.
    public var executablePath: String
    /// The logger for the gateway and its libraries.
    public var logger: Logger
    /// Lease length override (seconds).
    public var leaseSeconds: Double?
    /// Whether to run the background lease renewal service.
    public var renewLeases: Bool
    /// A standalone key broker (`sealgate broker`) to attest to; `nil` runs the embedded in-process broker.
    public var brokerURL: String?
    /// CA certificates (PEM) to trust for an `https` broker instead of the system trust store.
    public var brokerCAPath: String?
    /// Reach a plain-HTTP `brokerURL` off loopback anyway (`--insecure-broker-http`; ``BrokerTransport``).
    public var insecureBrokerHTTP = false
    /// Serve the gateway API over TLS with this certificate chain and private key (PEM files).
    public var tlsCertificatePath: String?
    public var tlsKeyPath: String?
    /// Serve TLS with a key generated in memory and a certificate from the broker's workload CA (`--attested-tls`);
    /// `server.tls: attested` in the configuration does the same.
    public var attestedTLS = false
    /// Pins the workload CA certificates (PEM) trusted for attested upstream models (`--workload-ca`); without it,
    /// the broker's bundle.
    public var workloadCAPath: String?
    /// Listener deadlines and connection limit (docs/listener.md).
    public var listener = ListenerLimits()
    /// How the gateway produces evidence: `mock` (development key) or `configfs-tsm` (SEV-SNP/TDX guests);
    /// `nil` takes `attestation.tee` from the configuration.
    public var attester: String?
    /// The configfs-tsm report directory (tests point it at an emulated tree).
    public var tsmRoot: String = "/sys/kernel/config/tsm/report"
    /// SEV-SNP guests whose `auxblob` carries no certificates: the VCEK/VLEK and the AMD chain (PEM files).
    public var snpVCEKPath: String?
    public var snpCertChainPath: String?
    /// An init-data document (`--init-data`: TOML, or JSON by extension) the workload was started with: sent with the
    /// evidence; the mock TEE carries its SHA-256 as hardware carries HOST_DATA / MRCONFIGID.
    public var initDataPath: String?
    /// This replica's name when several gateways share one database (`--replica`): its audit log's origin is
    /// `<audit.origin>/<replica>`, and it names the replica's hold on shared jobs.
    public var replica: String?
    /// Wraps the audit sink the gateway writes through (mirroring, fault injection in tests).
    public var auditDecorator: (@Sendable (any AuditSink) -> any AuditSink)?

    public init(
        dataDir: String = ".sealgate", host: String? = nil, port: Int? = nil, configPath: String? = nil, demo: Bool = false,
        now: @escaping @Sendable () -> Date = { Date() }, referenceValues: ReferenceValues? = nil,
        executablePath: String = MockMeasurement.runningExecutablePath, logger: Logger = Logger(label: "sealgate"),
        leaseSeconds: Double? = nil, renewLeases: Bool = true
    ) {
        self.dataDir = dataDir
        self.host = host
        self.port = port
        self.configPath = configPath
        self.demo = demo
        self.now = now
        self.referenceValues = referenceValues
        self.executablePath = executablePath
        self.logger = logger
        self.leaseSeconds = leaseSeconds
        self.renewLeases = renewLeases
        self.auditDecorator = nil
    }
}
