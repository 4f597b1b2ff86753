import ArgumentParser
import Foundation
import Logging
import SealgateConfig
import SealgateServer

@main
struct SealgateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sealgate",
        abstract: "Sealgate: a confidential RAG gateway. Keys reach it only after attestation; plaintext stays inside.",
        subcommands: [Serve.self, Measure.self, ConfigCommand.self, Ingest.self, AuditCommand.self, RedactCommand.self, AttestationCommand.self, VectorsCommand.self, PolicyCommand.self])
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

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
            return handler
        }
        let options = ServeOptions(dataDir: dataDir, host: host, port: port, configPath: config, demo: demo)
        let instance: SealgateInstance
        do { instance = try await Sealgate.build(options) } catch let error as ConfigError {
            FileHandle.standardError.write(Data("sealgate: invalid configuration\n\(error)\n".utf8))
            throw ExitCode(2)
        }
        let c = instance.configuration
        var banner = "Sealgate listening on http://\(c.server.host):\(c.server.port)  measurement \(instance.measurement.measurement.prefix(16))…\n"
        if demo { banner += "Demo credentials: \(dataDir)/demo-credentials.json\n" }
        FileHandle.standardError.write(Data(banner.utf8))
        try await instance.application.runService()
    }
}

struct Measure: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the gateway's mock measurement (executable SHA-384 + policy digest).")

    @Option(name: .customLong("data-dir")) var dataDir = ".sealgate"
    @Option(help: "A sealgate.yaml, as for serve.") var config: String?

    func run() async throws {
        let options = ServeOptions(dataDir: dataDir, configPath: config)
        let configuration = try Sealgate.configuration(options)
        let m = try Sealgate.measurement(configuration, executablePath: options.executablePath)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
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
