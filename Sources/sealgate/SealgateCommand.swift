import ArgumentParser
import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Logging
import SealgateConfig
import SealgateServer

@main
struct SealgateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sealgate",
        abstract: "Sealgate: a confidential RAG gateway. Keys reach it only after attestation; plaintext stays inside.",
        discussion: "Exit status: 64 for a usage error, 1 for a failure while running (one line naming the fix) unless a command documents others.",
        subcommands: [
            Serve.self, Measure.self, ConfigCommand.self, Ingest.self, AuditCommand.self, RedactCommand.self, AttestationCommand.self, VectorsCommand.self,
            BrokerCommand.self, KeysCommand.self, PolicyCommand.self, SigstoreCommand.self, ModelCommand.self, ImageCommand.self, TEEProxyCommand.self,
            VerifyGatewayCommand.self, WitnessCommand.self, ReceiptCommand.self,
        ])

    @Flag(help: "Print the version, the commit if embedded and the executable's SHA-384 digest.") var version = false

    func run() async throws {
        guard version else { throw CleanExit.helpRequest(self) }
        print(SealgateVersion.text())
    }

    /// Parses, then runs. A parse or `validate()` error prints the usage and exits 64; anything a command throws
    /// while running prints one line on standard error and exits 1 (``RuntimeFailure/report(_:)``).
    static func main() async {
        let parsed: any ParsableCommand
        do { parsed = try await asyncParseAsRoot() } catch { exit(withError: error) }
        do {
            if var command = parsed as? any AsyncParsableCommand {
                try await command.run()
            } else {
                var command = parsed
                try command.run()
            }
        } catch {
            // `--help` (and `help SUBCOMMAND`) reach here as ArgumentParser's own help command throwing its request:
            // ArgumentParser prints the help and exits 0. Everything else is a runtime failure.
            if exitCode(for: error) == .success && !(error is ExitCode) { exit(withError: error) }
            exit(withError: RuntimeFailure.report(error))
        }
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the gateway (embedded defaults without a configuration file).")

    @Option(help: "Address to listen on.") var host: String?
    @Option(help: "Port to listen on.") var port: Int?
    @Option(name: .customLong("data-dir"), help: "State directory (SQLite, audit log, broker and mock TEE keys).")
    var dataDir = ".sealgate"
    @Option(help: "A sealgate.yaml; default: <data-dir>/sealgate.yaml if present, else embedded defaults.")
    var config: String?
    @Flag(help: "Seed the demo tenants acme and globex and write <data-dir>/demo-credentials.json (idempotent).")
    var demo = false
    @Option(help: "A standalone key broker (sealgate broker) to attest to, e.g. http://127.0.0.1:8081; default: the embedded broker.")
    var broker: String?
    @Option(name: .customLong("broker-ca"), help: "CA certificates (PEM) to trust for an https broker instead of the system store.")
    var brokerCA: String?
    @Flag(
        name: .customLong("insecure-broker-http"),
        help: "Allow a broker reached over plain HTTP off loopback (anyone on that path could hand the gateway keys of their own).")
    var insecureBrokerHTTP = false
    @Option(name: .customLong("tls-cert"), help: "Serve the API over HTTPS with this certificate chain (PEM, leaf first); needs --tls-key.")
    var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "The private key (PEM) of --tls-cert.") var tlsKey: String?
    @Flag(
        name: .customLong("attested-tls"),
        help: "Serve HTTPS with a key generated in memory, certified by the broker's workload CA after attestation (clients trust <data-dir>/ca.pem).")
    var attestedTLS = false
    @Option(
        name: .customLong("workload-ca"),
        help: "Pin the workload CA certificates (PEM, from `sealgate keys ca`) trusted for attested upstream models; default: the broker's.")
    var workloadCA: String?
    @Option(help: "How this gateway produces evidence: mock, or configfs-tsm (SEV-SNP/TDX guests); default: attestation.tee.")
    var attester: String?
    @Option(name: .customLong("tsm-root"), help: "The configfs-tsm report directory.") var tsmRoot = "/sys/kernel/config/tsm/report"
    @Option(name: .customLong("lease-seconds"), help: "Key lease length in seconds (overrides lease.ttl_seconds).") var leaseSeconds: Double?
    @Option(name: .customLong("snp-vcek"), help: "configfs-tsm on SEV-SNP: the VCEK/VLEK (PEM) when auxblob carries none.")
    var snpVCEK: String?
    @Option(name: .customLong("snp-cert-chain"), help: "configfs-tsm on SEV-SNP: the ASK/ASVK + ARK chain (PEM).") var snpCertChain: String?
    @Option(
        name: .customLong("init-data"),
        help: "The init-data document this workload was started with (TOML, or JSON by extension): sent with the evidence; the mock TEE carries its SHA-256.")
    var initData: String?
    @Option(help: "This gateway's name among replicas on one database: its audit log's origin is <audit.origin>/<replica>.")
    var replica: String?
    @OptionGroup(title: "Listener") var listener: ListenerOptions

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("give both --tls-cert and --tls-key, or neither") }
        if attestedTLS && tlsCert != nil { throw ValidationError("--attested-tls and --tls-cert/--tls-key exclude each other: choose one") }
        if (snpVCEK == nil) != (snpCertChain == nil) { throw ValidationError("give both --snp-vcek and --snp-cert-chain, or neither") }
        if let broker, !insecureBrokerHTTP, let problem = BrokerTransport.problem(broker) { throw ValidationError(problem) }
    }

    func run() async throws {
        // Every file the gateway creates (SQLite and its WAL, keys, audit log, events) is readable by its owner only.
        _ = umask(0o077)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
            return handler
        }
        var options = ServeOptions(dataDir: dataDir, host: host, port: port, configPath: config, demo: demo, leaseSeconds: leaseSeconds)
        options.brokerURL = broker
        options.brokerCAPath = brokerCA
        options.insecureBrokerHTTP = insecureBrokerHTTP
        options.tlsCertificatePath = tlsCert
        options.tlsKeyPath = tlsKey
        options.attestedTLS = attestedTLS
        options.workloadCAPath = workloadCA
        options.listener = listener.limits
        options.attester = attester
        options.tsmRoot = tsmRoot
        options.snpVCEKPath = snpVCEK
        options.snpCertChainPath = snpCertChain
        options.initDataPath = initData
        if let replica, replica.isEmpty || !replica.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "._-".contains($0)) }) {
            throw ValidationError("--replica takes ASCII letters, digits, '.', '_' and '-'")
        }
        options.replica = replica
        let instance: SealgateInstance
        do { instance = try await Sealgate.build(options) } catch let error as ConfigError {
            FileHandle.standardError.write(Data("sealgate: invalid configuration\n\(error)\n".utf8))
            throw ExitCode(2)
        }
        let c = instance.configuration
        let attested = attestedTLS || c.server.tls == .attested
        var banner = "Sealgate listening on \(tlsCert == nil && !attested ? "http" : "https")://\(c.server.host):\(c.server.port)  measurement \(instance.measurement.measurement.prefix(16))…\n"
        if attested { banner += "Attested TLS: clients trust \(dataDir)/ca.pem (the broker's workload CA)\n" }
        if demo { banner += "Demo credentials: \(dataDir)/demo-credentials.json\n" }
        FileHandle.standardError.write(Data(banner.utf8))
        try await instance.application.runService()
    }
}

struct Measure: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the gateway's mock measurement (executable SHA-384 + policy digest), or reference values for a broker.")

    @Option(name: .customLong("data-dir")) var dataDir = ".sealgate"
    @Option(help: "A sealgate.yaml, as for serve.") var config: String?
    @Flag(help: "Resolve the configuration as serve --demo does (writes the demo configuration if absent).") var demo = false
    @Flag(name: .customLong("reference-values"), help: "Print reference values (JSON) that accept exactly this gateway's mock evidence.")
    var referenceValues = false
    @Option(name: .customLong("set-id"), help: "The reference value set id for --reference-values.") var setID = "sealgate-gateway"
    @Option(name: .customLong("lease-seconds"), help: "As for serve: the lease length is part of the measured policy.") var leaseSeconds: Double?

    func run() async throws {
        let options = ServeOptions(dataDir: dataDir, configPath: config, demo: demo)
        var configuration = try Sealgate.configuration(options)
        if let leaseSeconds { configuration.lease.ttlSeconds = leaseSeconds }
        let m = try Sealgate.measurement(configuration, executablePath: options.executablePath)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        if referenceValues {
            let values = try Sealgate.developmentReferenceValues(measurement: m, dataDir: dataDir, setID: setID)
            print(String(decoding: try encoder.encode(values), as: UTF8.self))
            return
        }
        struct Out: Encodable {
            var tee = "mock"
            var measurement: String
            var executable_digest: String
            var policy_digest: String
        }
        let data = try encoder.encode(Out(measurement: m.measurement, executable_digest: m.executableDigest, policy_digest: m.policyDigest))
        print(String(decoding: data, as: UTF8.self))
    }
}

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "config", abstract: "Configuration tools.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Validate a sealgate.yaml and explain every error with its location.")
        @Argument(help: "The file to check.") var file: String

        func run() async throws {
            do {
                let config = try ConfigLoader.load(path: file, knownRedactionProfiles: Sealgate.redactionProfiles)
                try Sealgate.checkComponents(config)
                for warning in ConfigLoader.warnings(config) { print("\(file): warning: \(warning)") }
                print("\(file): OK — \(config.tenants.count) tenants, \(config.dataClasses.count) data classes, \(config.models.count) model profiles; policy digest \(ConfigLoader.policyDigest(config))")
            } catch let error as ConfigError {
                for issue in error.issues {
                    let line = issue.line.map { ":\($0)" } ?? ""
                    print("\(file)\(line): \(issue.path.isEmpty ? "<root>" : issue.path): \(issue.message)")
                }
                throw ExitCode(1)
            }
        }
    }
}
