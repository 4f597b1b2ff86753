import ArgumentParser
import Audit
import Foundation
#if canImport(Glibc)
    import Glibc
#endif
import Logging
import SealgateServer

/// `sealgate witness`: a C2SP tlog-witness that cosigns the checkpoints of the logs it is given.
struct WitnessCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witness",
        abstract: "Run a transparency-log witness (C2SP tlog-witness): cosign checkpoints that are consistent with what it cosigned before.",
        discussion: """
            Serves POST /add-checkpoint. Keeps the size and root hash of the latest checkpoint it cosigned per log in \
            <data-dir>/logs (written, synced, renamed; never rolled back) and refuses a checkpoint that contradicts it. \
            On first start it creates <data-dir>/witness.key (0600); `sealgate witness key` prints its verifier key. \
            See docs/witness.md.
            """,
        subcommands: [Run.self, Key.self], defaultSubcommand: Run.self)

    /// Options both subcommands read.
    struct Common: ParsableArguments {
        @Option(name: .customLong("data-dir"), help: "Witness state: witness.key, logs/, security-events.jsonl.")
        var dataDir = ".sealgate-witness"
        @Option(help: "The witness's key name (in its cosignatures and verifier key): a schema-less URL, no spaces or '+'.")
        var name = "sealgate.local/witness"
    }

    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "run", abstract: "Serve the witness (the default subcommand).")
        @OptionGroup var common: Common
        @Option(help: "Address to listen on.") var host = "127.0.0.1"
        @Option(help: "Port to listen on.") var port = 8082
        @Option(
            name: .customLong("log"),
            help: "A log to witness: its verifier key (`sealgate audit key`), or ORIGIN=VERIFIER_KEY (repeatable; the key's name must be the origin).")
        var logs: [String] = []
        @Option(name: .customLong("logs-file"), help: "A file with one --log value per line (# starts a comment).") var logsFile: String?
        @OptionGroup(title: "Listener") var listener: ListenerOptions

        /// Bad `--log` values are usage errors (exit 64), found before anything starts.
        func validate() throws { _ = try logVerifiers() }

        func logVerifiers() throws -> [NoteVerifier] {
            var values = logs
            if let logsFile {
                guard let text = try? String(contentsOfFile: logsFile, encoding: .utf8) else { throw ValidationError("cannot read --logs-file \(logsFile)") }
                values += text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
            }
            guard !values.isEmpty else { throw ValidationError("give at least one --log (a log's verifier key, from `sealgate audit key`)") }
            return try values.map(Self.parseLog)
        }

        /// `VERIFIER_KEY` or `ORIGIN=VERIFIER_KEY` (the `=` must come before the key's first `+`).
        static func parseLog(_ value: String) throws -> NoteVerifier {
            var origin: String?
            var key = value
            if let equals = value.firstIndex(of: "="), value.firstIndex(of: "+").map({ equals < $0 }) ?? true {
                origin = String(value[..<equals])
                key = String(value[value.index(after: equals)...])
            }
            guard let verifier = try? NoteVerifier(encoded: key) else {
                throw ValidationError("--log \(value): not a log verifier key (name+keyid+base64), as `sealgate audit key` prints")
            }
            if let origin, origin != verifier.name {
                throw ValidationError("--log \(value): the key's name '\(verifier.name)' is not the origin '\(origin)'")
            }
            return verifier
        }

        func run() async throws {
            _ = umask(0o077)
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
                return handler
            }
            var options = WitnessOptions()
            options.host = host
            options.port = port
            options.dataDir = common.dataDir
            options.name = common.name
            options.logs = try logVerifiers()
            options.listener = listener.limits
            let instance = try SealgateWitness.build(options)
            let banner = "Sealgate witness listening on http://\(host):\(port)  key \(instance.witness.signer.verifier.encoded)\n"
                + "Witnessing: \(options.logs.map(\.name).joined(separator: ", "))\n"
            FileHandle.standardError.write(Data(banner.utf8))
            try await instance.application.runService()
        }
    }

    struct Key: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the witness's cosignature/v1 verifier key (creating the witness key if absent).")
        @OptionGroup var common: Common

        func run() async throws {
            _ = umask(0o077)
            try FileManager.default.createDirectory(atPath: common.dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            print(try SealgateWitness.signer(dataDir: common.dataDir, name: common.name).verifier.encoded)
        }
    }
}
