import Foundation
import HummingbirdTesting
import Logging
import SealgateServer
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `sealgate keys` against a live broker in this process.
@Suite("sealgate keys: tables for people, --json unchanged for scripts, credentials, timeouts")
struct KeysCLITests {
    @Test("keys credentials lists bootstrap-admin; listings print tables, and --json prints the broker's answer byte for byte")
    func listings() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let instance = try await SealgateBroker.build(BrokerOptions(port: 0, dataDir: dir.path, logger: Logger(label: "test")))
        let tokenFile = try #require(instance.bootstrapTokenPath)
        let token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        try await instance.application.test(.live) { client in
            let connection = ["--broker", "http://127.0.0.1:\(try #require(client.port))", "--token-file", tokenFile]
            let created = try await runCLI(["keys", "create-tenant", "acme"] + connection)
            #expect(created.status == 0, "\(created.both)")

            let credentials = try await runCLI(["keys", "credentials"] + connection)
            #expect(credentials.status == 0, "\(credentials.both)")
            let lines = credentials.stdout.split(separator: "\n").map(String.init)
            #expect(lines.first?.hasPrefix("CREDENTIAL") == true && lines.first?.contains("ROLES") == true, "\(credentials.stdout)")
            #expect(lines.contains { $0.hasPrefix("bootstrap-admin") && $0.contains("admin") && $0.contains("<data-dir>/admin-token") }, "\(credentials.stdout)")
            #expect(!credentials.both.contains(token))

            let table = try await runCLI(["keys", "tenants"] + connection)
            #expect(table.status == 0, "\(table.both)")
            #expect(table.stdout.hasPrefix("TENANT") && table.stdout.contains("\nacme  "), "\(table.stdout)")

            let direct = try await client.send(.get, "/admin/v0/tenants", key: token)
            for (command, path) in [(["tenants"], "/admin/v0/tenants"), (["credentials"], "/admin/v0/credentials"), (["list", "acme"], "/admin/v0/tenants/acme/keks")] {
                let json = try await runCLI(["keys"] + command + ["--json"] + connection)
                let answer = try await client.send(.get, path, key: token)
                #expect(json.status == 0 && json.stdout == answer.text + "\n", "\(command): \(json.both)")
            }
            #expect(direct.text.contains("\"id\":\"acme\""), "\(direct.text)")
        }
    }

    @Test("keys provision-model: idempotent; --digest records the expected model digest on a new or an existing key; keys models lists digests, never keys")
    func modelKeys() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let instance = try await SealgateBroker.build(BrokerOptions(port: 0, dataDir: dir.path, logger: Logger(label: "test")))
        let tokenFile = try #require(instance.bootstrapTokenPath)
        try await instance.application.test(.live) { client in
            let connection = ["--broker", "http://127.0.0.1:\(try #require(client.port))", "--token-file", tokenFile]
            #expect(try await runCLI(["keys", "create-tenant", "acme"] + connection).status == 0)
            let digest = "sha256:" + String(repeating: "ab", count: 32)

            let bare = try await runCLI(["keys", "provision-model", "acme/model/a"] + connection)
            #expect(bare.status == 0 && bare.stdout.contains(#""resource":"acme/model/a""#) && !bare.stdout.contains("digest"), "\(bare.both)")
            #expect(try await runCLI(["keys", "provision-model", "acme/model/a"] + connection).status == 0)
            // An existing key: the digest (upper case accepted, recorded lower case) is set on it.
            let existing = try await runCLI(["keys", "provision-model", "acme/model/a", "--digest", digest.uppercased()] + connection)
            #expect(existing.status == 0 && existing.stdout.contains(#""digest":"\#(digest)""#), "\(existing.both)")
            let fresh = try await runCLI(["keys", "provision-model", "acme/model/b", "--digest", digest] + connection)
            #expect(fresh.status == 0 && fresh.stdout.contains(#""digest":"\#(digest)","resource":"acme/model/b""#), "\(fresh.both)")
            let bad = try await runCLI(["keys", "provision-model", "acme/model/c", "--digest", "sha256:12"] + connection)
            #expect(bad.status == 3 && bad.stdout.contains("admin.model.digest"), "\(bad.both)")

            let table = try await runCLI(["keys", "models", "acme"] + connection)
            #expect(table.status == 0 && table.stdout.hasPrefix("RESOURCE"), "\(table.both)")
            for name in ["a", "b"] {
                #expect(table.stdout.split(separator: "\n").contains { $0.hasPrefix("acme/model/\(name) ") && $0.contains(digest) }, "\(table.stdout)")
            }
            #expect(!table.stdout.contains("acme/model/c"))
            let token = try String(contentsOfFile: tokenFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            let listing = try await client.send(.get, "/admin/v0/tenants/acme/models", key: token)
            #expect(!listing.text.contains("\"key\""), "\(listing.text)")
        }
    }

    @Test("A broker that never answers: the message names its URL and --timeout (exit 2)")
    func timeout() async throws {
        // A listening socket nobody accepts from: connections complete in the kernel, requests get no answer.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        #expect(bound == 0 && listen(fd, 16) == 0)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let url = "http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))"
        let run = try await runCLI(["keys", "tenants", "--broker", url, "--timeout", "1"], environment: ["SEALGATE_ADMIN_TOKEN": "sgk_test"])
        #expect(run.status == 2, "\(run.both)")
        #expect(run.stderr.contains("no answer from the broker at \(url) within 1 s (--timeout)"), "\(run.stderr)")
    }
}
