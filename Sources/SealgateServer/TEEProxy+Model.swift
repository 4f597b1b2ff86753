import Foundation
#if canImport(Glibc)
    import Glibc
#endif
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
    /// The digest of the sealed model once its signature and manifest verify (no key yet): bound into the proxy's
    /// evidence, and so into its workload certificate.
    /// - Throws: ``SealgateError`` naming the ``ModelLoadError`` reason; the proxy does not attest then.
    static func boundModelDigest(_ model: TEEProxyModel, logger: Logger) throws -> String {
        switch ModelLoader.inspect(URL(fileURLWithPath: model.sealed), trust: model.trust) {
        case .failure(let error):
            logger.error("tee-proxy: sealed model refused", metadata: ["model.reason": "\(error.reason)", "model.detail": "\(error.message)"])
            throw SealgateError(.releaseDenied, "sealed model refused (\(error.reason)): \(error.message)")
        case .success(let value):
            if let expected = model.expected, expected != value.resource {
                throw SealgateError(.releaseDenied, "sealed model refused (\(ModelLoadReason.keyMismatch)): it is for \(value.resource), not \(expected)")
            }
            return value.digest
        }
    }

    /// Loads the sealed model into sealed memfds (attest → model key → decrypt → digests) and prepares its server.
    /// - Throws: ``SealgateError`` naming the ``ModelLoadError`` reason; nothing is started then.
    static func modelServer(_ model: TEEProxyModel, leases: LeaseManager, logger: Logger) async throws -> ModelServerService {
        let bound = leases.modelDigest
        let loader = ModelLoader(trust: model.trust, keys: LeaseModelKeySource(leases: leases))
        let started = ContinuousClock.now
        switch await loader.load(URL(fileURLWithPath: model.sealed), expected: model.expected, into: .memoryFile) {
        case .failure(let error):
            logger.error("tee-proxy: sealed model refused", metadata: ["model.reason": "\(error.reason)", "model.detail": "\(error.message)"])
            throw SealgateError(.releaseDenied, "sealed model refused (\(error.reason)): \(error.message)")
        case .success(let loaded):
            // The files were checked against the manifest read at start-up; a directory changed since is refused.
            guard bound == nil || bound == loaded.digest else {
                throw SealgateError(.releaseDenied, "sealed model refused (\(ModelLoadReason.manifestInvalid)): its digest changed after attestation")
            }
            let path: String
            do { path = try loaded.path(of: model.file) } catch let error as ModelLoadError {
                throw SealgateError(.malformedRequest, "--model-file refused (\(error.reason)): \(error.message)")
            }
            let elapsed = ContinuousClock.now - started
            logger.info(
                "tee-proxy: sealed model loaded into memfds",
                metadata: [
                    "model.resource": "\(loaded.resource)", "model.digest": "\(loaded.digest)", "model.files": "\(loaded.fileNames.count)",
                    "model.load_time": "\(elapsed)", "model.chunks": "\(loaded.statistics.chunks)",
                    "model.chunks_opened_by_hasher": "\(loaded.statistics.openedBySecondCore)",
                    "model.decrypt_time": "\(loaded.statistics.decryptTime)",
                ])
            return ModelServerService(model: loaded, argv: model.command.map { $0.replacingOccurrences(of: "{model}", with: path) }, logger: logger)
        }
    }
}

/// Runs the model server child while the proxy runs: started with the memfd path, terminated on shutdown or
/// cancellation. When the child exits on its own the service returns, which stops the proxy (nothing is served
/// without its model).
struct ModelServerService: Service, CustomStringConvertible {
    /// Kept alive for the child: its memfds close with it.
    let model: ProtectedModel
    let argv: [String]
    let logger: Logger
    private let started = StartedChild()

    init(model: ProtectedModel, argv: [String], logger: Logger) {
        self.model = model
        self.argv = argv
        self.logger = logger
    }

    var description: String { "model server for \(model.resource)" }

    /// Sends SIGTERM to the child if it runs (the proxy's shutdown calls this too, whatever the service order).
    func stop() { started.child?.terminate() }

    func run() async throws {
        let child = try ChildProcess(argv)
        started.child = child
        logger.info("tee-proxy: model server started", metadata: ["model.digest": "\(model.digest)", "child.pid": "\(child.pid)"])
        await withTaskCancellationOrGracefulShutdownHandler {
            while child.exitStatus() == nil {
                // Cancelled: the handler has sent SIGTERM; wait for the exit without the (throwing) task sleep.
                if Task.isCancelled { usleep(100_000) } else { try? await Task.sleep(nanoseconds: 100_000_000) }
            }
        } onCancelOrGracefulShutdown: {
            child.terminate()
        }
        logger.info("tee-proxy: model server exited", metadata: ["child.status": "\(child.exitStatus() ?? -1)"])
        withExtendedLifetime(model) {}
    }
}

/// The running child, shared with ``ModelServerService/stop()``.
private final class StartedChild: @unchecked Sendable {
    private let lock = NSLock()
    private var value: ChildProcess?
    var child: ChildProcess? {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}

/// A child process started with posix_spawn and reaped with waitpid (Foundation's `Process` does not report the
/// exit of a child reliably without a run loop).
private final class ChildProcess: @unchecked Sendable {
    let pid: pid_t
    private let lock = NSLock()
    private var status: Int32?

    init(_ argv: [String]) throws {
        guard let executable = argv.first else { throw SealgateError(.malformedRequest, "the model server command is empty") }
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArgs.append(nil)
        defer { for arg in cArgs { free(arg) } }
        // The proxy ignores SIGTERM/SIGINT (its signal sources) and the child would inherit that: restore the
        // defaults and an empty signal mask, so the child stops when told to.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, executable, nil, &attributes, cArgs, environ)
        guard rc == 0 else { throw SealgateError(.malformedRequest, "cannot start the model server \(executable) (errno \(rc))") }
        self.pid = pid
    }

    /// The exit status once the child has exited (reaped here), else nil.
    func exitStatus() -> Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let status { return status }
        var raw: Int32 = 0
        if waitpid(pid, &raw, WNOHANG) == pid { status = raw }
        return status
    }

    func terminate() {
        if exitStatus() == nil { kill(pid, SIGTERM) }
    }
}
