import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A child process for tests: started with `posix_spawn`, reaped with `waitpid` on its own pid, every wait bounded.
///
/// Not Foundation's `Process`: its `waitUntilExit()` and `isRunning` learn of a child's exit from Foundation's own
/// SIGCHLD monitoring, and a CI run was seen to hang forever in a test that waited on a child which had exited (the
/// same suite passes in isolation). Here the state is read from the kernel, and a wait that runs out of time kills
/// the child and throws instead of blocking the run.
public final class ChildProcess: @unchecked Sendable {
    /// A child that could not be started, or did not exit in time.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// What `run` returns: the exit status and both outputs.
    public struct Output: Sendable {
        public let status: Int32
        public let stdout: Data
        public let stderr: Data
        /// Standard output as UTF-8 text (invalid bytes replaced).
        public var text: String { String(decoding: stdout, as: UTF8.self) }
        /// Standard error as UTF-8 text (invalid bytes replaced).
        public var errorText: String { String(decoding: stderr, as: UTF8.self) }
    }

    /// The child's pid.
    public let processIdentifier: pid_t
    private let lock = NSLock()
    private var status: Int32?

    /// Starts `executable` (a path, or a name looked up in `PATH`) with `arguments`.
    ///
    /// - Parameters:
    ///   - directory: the child's working directory (nil: this process's).
    ///   - environment: the child's whole environment (nil: this process's).
    ///   - stdin: a file the child reads as standard input (nil: `/dev/null`).
    ///   - stdout: a file standard output is appended to (nil: `/dev/null`).
    ///   - stderr: a file standard error is appended to (nil: `/dev/null`); may equal `stdout`.
    public init(
        _ executable: String, _ arguments: [String], directory: String? = nil, environment: [String: String]? = nil,
        stdin: String? = nil, stdout: String? = nil, stderr: String? = nil
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, stdin ?? "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o600)
        if let stderr, stderr == stdout {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, stderr ?? "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0o600)
        }
        // No descriptor of this process beyond the three reaches the child (a test's listening sockets, say), where
        // the C library can close them (glibc 2.34+).
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
            _ = unsafeBitCast(symbol, to: AddCloseFrom.self)(&actions, 3)
        }
        if let directory {
            guard let symbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else {
                throw Failure("this C library cannot start a child in another directory (no posix_spawn_file_actions_addchdir_np)")
            }
            typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
            let addChdir = unsafeBitCast(symbol, to: AddChdir.self)
            guard addChdir(&actions, directory) == 0 else { throw Failure("cannot change the child's directory to \(directory)") }
        }
        // Whatever this process ignores or blocks (a server under test in-process may ignore SIGTERM), the child starts
        // with default dispositions and an empty mask, so it stops when told to.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGQUIT, SIGCHLD] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let envStrings = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { envStrings?.forEach { free($0) } }
        var pid: pid_t = 0
        let rc: Int32 =
            if let envStrings {
                envStrings.withUnsafeBufferPointer { envp in
                    posix_spawnp(&pid, executable, &actions, &attributes, argv, UnsafeMutablePointer(mutating: envp.baseAddress))
                }
            } else {
                posix_spawnp(&pid, executable, &actions, &attributes, argv, environ)
            }
        guard rc == 0 else { throw Failure("cannot start \(executable): \(String(cString: strerror(rc)))") }
        processIdentifier = pid
    }

    /// The exit status once the child has exited: its exit code, or 128 + the signal that ended it; nil while it runs.
    public var exitStatus: Int32? {
        lock.lock()
        defer { lock.unlock() }
        if let status { return status }
        var raw: Int32 = 0
        var reaped = waitpid(processIdentifier, &raw, WNOHANG)
        while reaped == -1 && errno == EINTR { reaped = waitpid(processIdentifier, &raw, WNOHANG) }
        if reaped == processIdentifier {
            let signal = raw & 0x7f
            status = signal == 0 ? (raw >> 8) & 0xff : 128 + signal
        } else if reaped == -1 {
            status = -1  // reaped elsewhere (ECHILD): gone, with its status unknown
        }
        return status
    }

    /// Whether the child still runs.
    public var isRunning: Bool { exitStatus == nil }

    /// The exit status (see `exitStatus`); -1 while the child runs.
    public var terminationStatus: Int32 { exitStatus ?? -1 }

    /// Sends `signal` to the child unless it has exited.
    public func send(_ signal: Int32) {
        if isRunning { kill(processIdentifier, signal) }
    }

    /// Waits up to `seconds` for the child to exit; returns its status, or nil if it still runs.
    public func wait(seconds: Double) async throws -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        var pause: UInt64 = 2_000_000
        while true {
            if let exitStatus { return exitStatus }
            if Date() >= deadline { return nil }
            try await Task.sleep(nanoseconds: pause)
            pause = min(pause * 2, 50_000_000)
        }
    }

    /// `wait(seconds:)` for synchronous callers: blocks this thread, never longer than `seconds`.
    public func waitBlocking(seconds: Double) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        var pause: useconds_t = 2_000
        while true {
            if let exitStatus { return exitStatus }
            if Date() >= deadline { return nil }
            usleep(pause)
            pause = min(pause * 2, 50_000)
        }
    }

    /// Sends `signal`, waits up to `grace` seconds, then kills the child outright. Returns whether it exited within
    /// the grace period (false: it had to be killed, or could not be reaped at all).
    @discardableResult
    public func stop(signal: Int32 = SIGTERM, grace: Double = 20) -> Bool {
        guard isRunning else { return true }
        kill(processIdentifier, signal)
        if waitBlocking(seconds: grace) != nil { return true }
        kill(processIdentifier, SIGKILL)
        _ = waitBlocking(seconds: 10)
        return false
    }

    /// Runs `executable` to completion with `stdin` as its input and returns its status and outputs; after `timeout`
    /// seconds the child is killed and this throws with what it had written.
    public static func run(
        _ executable: String, _ arguments: [String], directory: String? = nil, environment: [String: String]? = nil,
        stdin: [UInt8] = [], mergingErrors: Bool = false, timeout: Double = 300
    ) throws -> Output {
        let (child, files) = try launch(executable, arguments, directory: directory, environment: environment, stdin: stdin, mergingErrors: mergingErrors)
        defer { files.remove() }
        return try child.finish(child.waitBlocking(seconds: timeout), files: files, timeout: timeout)
    }

    /// `run` for async callers: the wait suspends instead of blocking a thread.
    public static func runAsync(
        _ executable: String, _ arguments: [String], directory: String? = nil, environment: [String: String]? = nil,
        stdin: [UInt8] = [], mergingErrors: Bool = false, timeout: Double = 300
    ) async throws -> Output {
        let (child, files) = try launch(executable, arguments, directory: directory, environment: environment, stdin: stdin, mergingErrors: mergingErrors)
        defer { files.remove() }
        let status: Int32?
        do { status = try await child.wait(seconds: timeout) } catch {
            child.stop(signal: SIGKILL, grace: 10)
            throw error
        }
        return try child.finish(status, files: files, timeout: timeout)
    }

    /// Starts a child for ``run`` / ``runAsync`` with its input and outputs in temporary files.
    private static func launch(
        _ executable: String, _ arguments: [String], directory: String?, environment: [String: String]?, stdin: [UInt8], mergingErrors: Bool
    ) throws -> (ChildProcess, Files) {
        let files = try Files(stdin: stdin, label: ([executable] + arguments).joined(separator: " "))
        do {
            let child = try ChildProcess(
                executable, arguments, directory: directory, environment: environment, stdin: files.input, stdout: files.output,
                stderr: mergingErrors ? files.output : files.errors)
            return (child, files)
        } catch {
            files.remove()
            throw error
        }
    }

    /// The outputs of a run that exited with `status`; for nil (it did not exit in time) kills it and throws.
    private func finish(_ status: Int32?, files: Files, timeout: Double) throws -> Output {
        guard let status else {
            stop(signal: SIGKILL, grace: 10)
            throw Failure("\(files.label) did not exit within \(Int(timeout)) s; \(files.tails())")
        }
        let (out, err) = files.read()
        return Output(status: status, stdout: out, stderr: err)
    }

    /// Temporary files for a run's input and outputs: files, not pipes, so a chatty child never blocks on a full pipe.
    private struct Files {
        let input: String
        let output: String
        let errors: String
        /// The command line, for failure messages.
        let label: String

        init(stdin: [UInt8], label: String) throws {
            self.label = label
            let base = FileManager.default.temporaryDirectory.appendingPathComponent("child-\(UUID().uuidString)").path
            (input, output, errors) = (base + ".in", base + ".out", base + ".err")
            guard FileManager.default.createFile(atPath: input, contents: Data(stdin)) else { throw Failure("cannot write \(input)") }
        }

        /// The last 2,000 bytes of each output, as text, for a failure message.
        func tails() -> String {
            let (out, err) = read()
            return "stdout: \(String(decoding: out.suffix(2000), as: UTF8.self))\nstderr: \(String(decoding: err.suffix(2000), as: UTF8.self))"
        }

        func read() -> (Data, Data) {
            (FileManager.default.contents(atPath: output) ?? Data(), FileManager.default.contents(atPath: errors) ?? Data())
        }

        func remove() {
            for path in [input, output, errors] { try? FileManager.default.removeItem(atPath: path) }
        }
    }
}
