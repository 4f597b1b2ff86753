import Foundation
import Logging
import SealgateCore
import SealgateTestSupport
import StoragePostgres
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A database that stopped answering (a stopped server, a network black hole) refuses statements at the deadline
/// instead of holding every request until it comes back (review finding: a `kill -STOP` PostgreSQL hung the broker's
/// admin API for the 120 s the client waited). No PostgreSQL needed: a listener that accepts and never answers.
@Suite("PostgreSQL: statements fail at the deadline", .timeLimit(.minutes(4)))
struct PostgresDeadlineTests {
    @Test("Against a server that accepts and never answers, a query fails storage_unavailable within about its 1 s deadline")
    func silentServer() async throws {
        let (fd, port) = try #require(silentTCPListener())
        defer { close(fd) }

        let storage = try PostgresStorage(url: "postgres://sealgate@127.0.0.1:\(port)/sealgate?sslmode=disable", logger: Logger(label: "test"), deadline: .seconds(1))
        let started = ContinuousClock.now
        do {
            _ = try await storage.query("SELECT 1", "probe")
            Issue.record("a silent server answered")
        } catch let error as SealgateError {
            #expect(error.code == .storageUnavailable, "\(error)")
        }
        #expect(ContinuousClock.now - started < .seconds(20), "the deadline was not kept: \(ContinuousClock.now - started)")
        #expect(await !storage.ping())
        await storage.close()
    }

    @Test("A statement in flight past the deadline (pg_sleep stands in for a stopped server) fails at the deadline, and the pool still serves",
        .enabled(if: ProcessInfo.processInfo.environment["SEALGATE_TEST_POSTGRES_URL"] != nil))
    func statementInFlight() async throws {
        let url = try #require(ProcessInfo.processInfo.environment["SEALGATE_TEST_POSTGRES_URL"])
        let storage = try PostgresStorage(url: url, logger: Logger(label: "test"), deadline: .seconds(5))
        /// Whether the database answers within `seconds` of tries (a loaded machine may take a while to connect).
        func answers(within seconds: Int) async -> Bool {
            let until = ContinuousClock.now + .seconds(seconds)
            while ContinuousClock.now < until {
                if await storage.ping() { return true }
                try? await Task.sleep(for: .milliseconds(200))
            }
            return false
        }
        #expect(await answers(within: 60))
        let started = ContinuousClock.now
        do {
            _ = try await storage.query("SELECT pg_sleep(120)", "stall")
            Issue.record("the statement outlived its deadline and answered")
        } catch let error as SealgateError {
            #expect(error.code == .storageUnavailable, "\(error)")
        }
        // 5 s and scheduling; holding on until the statement ends would take 120 s.
        #expect(ContinuousClock.now - started < .seconds(60), "the deadline was not kept: \(ContinuousClock.now - started)")
        #expect(await answers(within: 60), "another connection of the pool answers meanwhile")
        await storage.close()
    }
}
