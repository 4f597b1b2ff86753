import Foundation
import KBSProtocol
import KeyLease
import Logging
import ModelLoader
import SealgateCore
import ServiceLifecycle
import Sigstore

/// A sealed model `tee-proxy` loads through the protected loader and serves with a child model server.
public struct TEEProxyModel: Sendable {
    /// The sealed model directory.
    public var sealed: String
    /// Who must have signed the model (OMS).
    public var trust: ModelSignatureVerifier.Trust
    /// The model key resource the proxy means to load; another model is refused.
    public var expected: ModelKeyResource?
    /// The file of the model handed to the server (for example the GGUF).
    public var file: String
    /// The model server's argv; every `{model}` becomes the file's memfd path (`/proc/<pid>/fd/<n>`).
    public var command: [String]

    public init(sealed: String, trust: ModelSignatureVerifier.Trust, expected: ModelKeyResource?, file: String, command: [String]) {
        self.sealed = sealed
        self.trust = trust
        self.expected = expected
        self.file = file
        self.command = command
    }
}

extension TEEProxy {
    /// Loads the sealed model into sealed memfds (attest → model key → decrypt → digests) and prepares its server.
    /// - Throws: ``SealgateError`` naming the ``ModelLoadError`` reason; nothing is started then.
    static func modelServer(_ model: TEEProxyModel, leases: LeaseManager, logger: Logger) async throws -> ModelServerService {
        let loader = ModelLoader(trust: model.trust, keys: LeaseModelKeySource(leases: leases))
        let started = ContinuousClock.now
        switch await loader.load(URL(fileURLWithPath: model.sealed), expected: model.expected, into: .memoryFile) {
        case .failure(let error):
            logger.error("tee-proxy: sealed model refused", metadata: ["model.reason": "\(error.reason)", "model.detail": "\(error.message)"])
            throw SealgateError(.releaseDenied, "sealed model refused (\(error.reason)): \(error.message)")
        case .success(let loaded):
            let path: String
            do { path = try loaded.path(of: model.file) } catch let error as ModelLoadError {
                throw SealgateError(.malformedRequest, "--model-file refused (\(error.reason)): \(error.message)")
            }
            let elapsed = ContinuousClock.now - started
            logger.info(
                "tee-proxy: sealed model loaded into memfds",
                metadata: [
                    "model.resource": "\(loaded.resource)", "model.digest": "\(loaded.digest)", "model.files": "\(loaded.fileNames.count)",
                    "model.load_time": "\(elapsed)",
                ])
            return ModelServerService(model: loaded, argv: model.command.map { $0.replacingOccurrences(of: "{model}", with: path) }, logger: logger)
        }
    }
}

/// Runs the model server child while the proxy runs: started with the memfd path, terminated on shutdown. When the
/// child exits on its own the service returns, which stops the proxy (nothing is served without its model).
struct ModelServerService: Service, CustomStringConvertible {
    /// Kept alive for the child: its memfds close with it.
    let model: ProtectedModel
    let argv: [String]
    let logger: Logger

    var description: String { "model server for \(model.resource)" }

    func run() async throws {
        guard let executable = argv.first else { throw SealgateError(.malformedRequest, "--model-command is empty") }
        let child = ChildProcess()
        child.process.executableURL = URL(fileURLWithPath: executable)
        child.process.arguments = Array(argv.dropFirst())
        try child.process.run()
        logger.info("tee-proxy: model server started", metadata: ["model.digest": "\(model.digest)", "child.pid": "\(child.process.processIdentifier)"])
        await withGracefulShutdownHandler {
            while child.process.isRunning { try? await Task.sleep(nanoseconds: 200_000_000) }
        } onGracefulShutdown: {
            child.process.terminate()
        }
        logger.info("tee-proxy: model server exited", metadata: ["child.status": "\(child.process.terminationStatus)"])
        withExtendedLifetime(model) {}
    }
}

/// `Process` shared between the waiting loop and the shutdown handler (its methods are thread-safe).
private final class ChildProcess: @unchecked Sendable {
    let process = Process()
}
