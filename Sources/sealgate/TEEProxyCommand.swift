import ArgumentParser
import Foundation
import KeyBroker
import Logging
import SealgateCore
import SealgateServer
import Sigstore

/// `sealgate tee-proxy`: an attested HTTPS front for a model server in the same TEE.
struct TEEProxyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tee-proxy",
        abstract: "Serve a local model server over attested TLS: attest to the broker, get a workload certificate for an in-memory key, forward.")

    @Option(help: "The local model server, e.g. http://127.0.0.1:8000.") var upstream: String
    @Option(help: "The workload class the certificate names: model:<id>.") var workload: String
    @Option(help: "The key broker to attest to, e.g. http://127.0.0.1:8081.") var broker: String
    @Option(name: .customLong("broker-ca"), help: "CA certificates (PEM) to trust for an https broker.") var brokerCA: String?
    @Flag(
        name: .customLong("insecure-broker-http"),
        help: "Allow a broker reached over plain HTTP off loopback (anyone on that path could hand the proxy keys of their own).")
    var insecureBrokerHTTP = false
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to serve HTTPS on.") var port = 8443
    @Option(name: .customLong("data-dir"), help: "Where the mock TEE's development key lives.") var dataDir = ".sealgate-proxy"
    @Option(help: "How this proxy produces evidence: mock or configfs-tsm.") var attester = "mock"
    @Option(name: .customLong("tsm-root"), help: "The configfs-tsm report directory.") var tsmRoot = "/sys/kernel/config/tsm/report"
    @Option(name: .customLong("lease-seconds"), help: "Certificate renewal period: renewed at two thirds of it.") var leaseSeconds: Double = 300
    @Option(name: .customLong("max-body-bytes"), help: "Largest request body forwarded.") var maxBodyBytes = 8 << 20
    @Option(name: .customLong("timeout"), help: "Deadline of one forwarded request in seconds (streams included).") var timeout: Double = 300
    @Option(
        name: .customLong("init-data"),
        help: "The init-data document this workload was started with (TOML, or JSON by extension): sent with the evidence; the mock TEE carries its SHA-256.")
    var initData: String?
    @Flag(name: .customLong("reference-values"), help: "Print reference values (JSON) that accept exactly this proxy's mock evidence, and exit.")
    var printReferenceValues = false
    @OptionGroup(title: "Listener") var listener: ListenerOptions
    @Option(help: "A sealed model directory (sealgate model seal) to load through the protected loader before serving.") var model: String?
    @Option(name: .customLong("model-signer-key"), help: "The PEM public key the model's OpenSSF signature must verify under.")
    var modelSignerKey: String?
    @Option(name: .customLong("model-resource"), help: "The model key the sealed model must be sealed for: <scope>/model/<name>.")
    var modelResource: String?
    @Option(name: .customLong("model-file"), help: "The model's file handed to the model server (its memfd path replaces {model}).")
    var modelFile: String?
    @Argument(parsing: .postTerminator, help: "After --: the model server command; {model} is replaced by the model file's memfd path.")
    var modelCommand: [String] = []

    func validate() throws {
        if !insecureBrokerHTTP, let problem = BrokerTransport.problem(broker) { throw ValidationError(problem) }
        guard let workloadClass = WorkloadClass(workload), workloadClass.kind == "model", workloadClass.id != nil else {
            throw ValidationError("--workload must be model:<id> (letters, digits, '.', '_', '-')")
        }
        if !["mock", "configfs-tsm"].contains(attester) { throw ValidationError("--attester is mock or configfs-tsm") }
        if !(leaseSeconds >= 3) { throw ValidationError("--lease-seconds must be at least 3") }
        if model != nil && (modelSignerKey == nil || modelFile == nil || modelCommand.isEmpty) {
            throw ValidationError("--model needs --model-signer-key, --model-file and the model server command after --")
        }
        // The certificate names the sealed model's digest: the proxy must forward to the server it starts on that model,
        // not to another one elsewhere.
        if model != nil && !modelCommand.contains(where: { $0.contains("{model}") }) {
            throw ValidationError("with --model the model server command must take the model file: put {model} where its path goes")
        }
        if model != nil && !BrokerTransport.isLoopbackURL(upstream) {
            throw ValidationError("with --model, --upstream must be the model server this proxy starts, on loopback (http://127.0.0.1:PORT)")
        }
        if let modelResource, ModelKeyResource(modelResource) == nil { throw ValidationError("--model-resource must be <scope>/model/<name>") }
    }

    func run() async throws {
        _ = umask(0o077)
        guard let workloadClass = WorkloadClass(workload) else { throw ValidationError("--workload must be model:<id>") }
        var options = TEEProxyOptions(upstream: upstream, workload: workloadClass, brokerURL: broker)
        options.brokerCAPath = brokerCA
        options.insecureBrokerHTTP = insecureBrokerHTTP
        options.host = host
        options.port = port
        options.dataDir = dataDir
        options.attester = attester
        options.tsmRoot = tsmRoot
        options.leaseSeconds = leaseSeconds
        options.maxBodyBytes = maxBodyBytes
        options.timeoutSeconds = timeout
        options.initDataPath = initData
        options.listener = listener.limits
        if let model, let modelSignerKey, let modelFile {
            let key: SigstoreKey
            do { key = try SigstoreKey(pem: try readText(modelSignerKey, what: "model signer key")) } catch let error as RuntimeFailure { throw error } catch {
                throw RuntimeFailure("\(modelSignerKey) holds no usable PEM public key")
            }
            options.model = TEEProxyModel(
                sealed: model, trust: .key(key), expected: modelResource.flatMap(ModelKeyResource.init), file: modelFile, command: modelCommand)
        }
        if printReferenceValues {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(try TEEProxy.referenceValues(options)), as: UTF8.self))
            return
        }
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = ProcessInfo.processInfo.environment["LOG_LEVEL"].flatMap { Logger.Level(rawValue: $0) } ?? .info
            return handler
        }
        options.logger = Logger(label: "sealgate-tee-proxy")
        let application = try await TEEProxy.build(options)
        FileHandle.standardError.write(Data("sealgate tee-proxy: https://\(host):\(port) → \(URLOrigin.of(upstream)) as \(workload)\n".utf8))
        try await application.runService()
    }
}
