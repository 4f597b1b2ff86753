import Crypto
import Foundation
import SealgateTestSupport
import Testing

/// One run of the `sealgate` binary.
struct CLIRun: Sendable {
    let status: Int32
    let stdout: String
    let stderr: String
    var both: String { stdout + "\n" + stderr }
}

/// Runs the `sealgate` binary, waiting without holding a thread (a live gateway in the same process keeps answering), with
/// an optional working directory, environment (default: this process's, without Sealgate's key variables) and stdin.
func runCLI(_ arguments: [String], cwd: String? = nil, environment: [String: String]? = nil, stdin: String? = nil) async throws -> CLIRun {
    try await runCLI(arguments, cwd: cwd, environment: environment, stdinBytes: Array((stdin ?? "").utf8))
}

/// `runCLI` with raw bytes on stdin (not necessarily UTF-8).
func runCLI(_ arguments: [String], cwd: String? = nil, environment: [String: String]? = nil, stdinBytes: [UInt8]) async throws -> CLIRun {
    var env = environment ?? ProcessInfo.processInfo.environment
    if environment == nil {
        for name in ["SEALGATE_API_KEY", "SEALGATE_ADMIN_TOKEN", "SEALGATE_AUDITOR_KEY"] { env[name] = nil }
    }
    let output = try await ChildProcess.runAsync(try sealgateBinary(), arguments, directory: cwd, environment: env, stdin: stdinBytes)
    return CLIRun(status: output.status, stdout: output.text, stderr: output.errorText)
}

@Suite("CLI: usage errors exit 64, runtime failures exit 1 with one line naming the fix")
struct CLIEdgeTests {
    @Test("--help and help SUBCOMMAND print the help and exit 0 (not an error line)")
    func help() async throws {
        for arguments in [["--help"], ["serve", "--help"], ["help", "keys"], ["verify-gateway", "--help"], ["tee-proxy", "--help"]] {
            let run = try await runCLI(arguments)
            #expect(run.status == 0, "\(arguments)")
            #expect(run.both.contains("USAGE:") && !run.both.contains("CommandError"), "\(arguments): \(run.both.prefix(200))")
        }
    }

    @Test("audit load appends exactly --records; proof of an index past the checkpoint is a runtime failure (1), not usage (64)")
    func loadAndProof() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let load = try await runCLI(["audit", "load", "--dir", dir.path + "/audit", "--records", "10", "--writers", "16"])
        #expect(load.status == 0, "\(load.both)")
        #expect(load.stdout.contains("appended=10 "), "\(load.stdout)")
        let tail = try await runCLI(["audit", "tail", "--data-dir", dir.path, "--json", "--lines", "100"])
        #expect(tail.status == 0, "\(tail.both)")
        #expect(tail.stdout.split(separator: "\n").count == 10, "\(tail.stdout)")

        let proof = try await runCLI(["audit", "proof", "--data-dir", dir.path, "--index", "999"])
        #expect(proof.status == 1, "\(proof.both)")
        #expect(proof.stderr.contains("index 999 is not covered by the latest checkpoint (size 10): give --index from 0 to 9"), "\(proof.stderr)")
        #expect(!proof.both.contains("Usage:"), "\(proof.both)")

        let usage = try await runCLI(["audit", "verify"])
        #expect(usage.status == 64, "\(usage.both)")
        #expect(usage.stderr.contains("Usage:"), "\(usage.stderr)")
    }

    @Test("audit tail on a missing directory exits 1 naming --data-dir")
    func tailMissing() async throws {
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("absent-\(UUID().uuidString)").path
        let run = try await runCLI(["audit", "tail", "--data-dir", missing])
        #expect(run.status == 1, "\(run.both)")
        #expect(run.stderr.contains("no audit log in \(missing)/audit: pass --data-dir"), "\(run.stderr)")
        #expect(!run.stderr.contains("Usage:"))
    }

    @Test("keys without an admin token exits 1 naming --token-file and SEALGATE_ADMIN_TOKEN, without usage")
    func keysWithoutToken() async throws {
        let run = try await runCLI(["keys", "tenants", "--broker", "http://127.0.0.1:9"])
        #expect(run.status == 1, "\(run.both)")
        #expect(run.stderr.contains("pass --token-file") && run.stderr.contains("SEALGATE_ADMIN_TOKEN"), "\(run.stderr)")
        #expect(!run.stderr.contains("Usage:"), "\(run.stderr)")
        // A flag that contradicts another is still a usage error.
        let shred = try await runCLI(["keys", "shred", "acme", "--confirm", "globex"])
        #expect(shred.status == 64, "\(shred.both)")
    }

    @Test("sealgate --version prints the release, the commit line and the executable's SHA-384")
    func version() async throws {
        let run = try await runCLI(["--version"])
        #expect(run.status == 0, "\(run.both)")
        let digest = SHA384.hash(data: try Data(contentsOf: URL(fileURLWithPath: try sealgateBinary())))
        let hex = digest.map { String(format: "%02x", $0) }.joined()
        #expect(run.stdout.hasPrefix("sealgate "), "\(run.stdout)")
        #expect(run.stdout.contains("commit: "), "\(run.stdout)")
        #expect(run.stdout.contains("executable sha-384: \(hex)"), "\(run.stdout)")
    }

    @Test("redact --config with a hash_token profile says on stderr that it masks instead")
    func hashTokenFallback() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let config = try dir.write(
            "sealgate.yaml", testConfiguration() + "\nredaction:\n  profiles:\n    - name: finance\n      actions: {EMAIL: hash_token, PHONE: mask}\n")
        let run = try await runCLI(["redact", "--config", config, "--profile", "finance"], stdin: "{\"text\":\"mail anna@example.com\"}\n")
        #expect(run.status == 0, "\(run.both)")
        #expect(run.stdout.contains("[EMAIL]"), "\(run.stdout)")
        #expect(run.stderr.contains("profile finance hashes EMAIL with hash_token") && run.stderr.contains("masked"), "\(run.stderr)")
        let plain = try await runCLI(["redact", "--profile", "all"], stdin: "{\"text\":\"mail anna@example.com\"}\n")
        #expect(plain.status == 0 && plain.stderr.isEmpty, "\(plain.both)")
    }
}
