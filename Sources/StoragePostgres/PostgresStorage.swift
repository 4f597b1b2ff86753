import Foundation
import Logging
import NIOSSL
import PostgresNIO
import SealgateCore
import Synchronization

/// A pool of connections to one PostgreSQL database, shared by the stores that live in it. Every statement runs
/// under a deadline and every failure becomes ``SealgateError`` `storage_unavailable` without the statement's values,
/// so a stopped server turns into a refusal rather than a hang, and nothing stored leaks into an error.
public final class PostgresStorage: Sendable {
    let client: PostgresClient
    let logger: Logger
    let deadline: Duration
    private let runner: Task<Void, Never>
    /// Where the database is, without credentials (for logs and `/readyz`).
    public let endpoint: String

    /// Connects lazily to `url` (`postgres://user[:password]@host[:port]/database[?sslmode=disable|require]`).
    /// - Parameter deadline: how long one statement or transaction may take, waiting for a connection included.
    /// - Throws: ``SealgateError`` `malformed_request` when the URL is not a PostgreSQL URL.
    public init(url: String, logger: Logger, deadline: Duration = .seconds(5)) throws {
        let parsed = try PostgresURL(url)
        var configuration = PostgresClient.Configuration(
            host: parsed.host, port: parsed.port, username: parsed.user, password: parsed.password, database: parsed.database,
            tls: parsed.requireTLS ? .require(TLSConfiguration.makeClientConfiguration()) : .disable)
        configuration.options.connectTimeout = .seconds(Int64(max(1, deadline.components.seconds)))
        configuration.options.maximumConnections = 16
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .warning)
        let client = PostgresClient(configuration: configuration, backgroundLogger: quiet)
        self.client = client
        self.logger = quiet
        self.deadline = deadline
        self.endpoint = "\(parsed.host):\(parsed.port)/\(parsed.database)"
        runner = Task { await client.run() }
    }

    /// Closes every connection; call once at shutdown.
    public func close() async {
        runner.cancel()
        _ = await runner.value
    }

    /// Runs one statement and collects its rows.
    public func query(_ query: PostgresQuery, _ what: String) async throws -> [PostgresRow] {
        try await bounded(what) { [client, logger] in
            var rows: [PostgresRow] = []
            for try await row in try await client.query(query, logger: logger) { rows.append(row) }
            return rows
        }
    }

    /// Runs `body` in one transaction on one connection, rolled back when it throws.
    public func transaction<T: Sendable>(
        _ what: String, _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T
    ) async throws -> T {
        try await bounded(what) { [client, logger] in
            try await client.withConnection { connection in
                try await connection.withTransaction(logger: logger) { try await body($0, logger) }
            }
        }
    }

    /// Whether the database answers `SELECT 1` within the deadline.
    public func ping() async -> Bool {
        (try? await query("SELECT 1", "ping")) != nil
    }

    /// Runs `body`, giving up at the deadline. The caller gets its answer then even if the statement is still in flight:
    /// postgres-nio does not abandon a query when its task is cancelled, and a task group waits for its children, so
    /// a server that stopped answering (stopped, or a network black hole) held every request until it came back.
    func bounded<T: Sendable>(_ what: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let deadline = deadline
        let race = Race<T>()
        let work = Task {
            do { race.finish(.success(try await body())) } catch { race.finish(.failure(error)) }
        }
        let timer = Task {
            try await Task.sleep(for: deadline)
            if race.finish(.failure(SealgateError(.storageUnavailable, "PostgreSQL did not answer within \(deadline) (\(what))"))) { work.cancel() }
        }
        defer { timer.cancel() }
        do {
            return try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { race.install($0) }
            } onCancel: {
                work.cancel()
                race.finish(.failure(CancellationError()))
            }
        } catch let error as SealgateError {
            throw error
        } catch let error as PSQLError {
            // The server's SQLSTATE only: never the query or its binds.
            let state = error.serverInfo?[.sqlState].map { " SQLSTATE \($0)" } ?? ""
            throw SealgateError(.storageUnavailable, "PostgreSQL statement failed (\(what))\(state)")
        } catch {
            throw SealgateError(.storageUnavailable, "PostgreSQL statement failed (\(what))")
        }
    }
}

/// The first of a statement's result and its deadline, handed to the one waiting caller.
final class Race<T: Sendable>: Sendable {
    private let state = Mutex<(continuation: CheckedContinuation<T, any Error>?, result: Result<T, any Error>?, done: Bool)>((nil, nil, false))

    /// Settles the race with `result` unless it is settled already; whether this call settled it.
    @discardableResult
    func finish(_ result: Result<T, any Error>) -> Bool {
        let waiting = state.withLock { state -> (CheckedContinuation<T, any Error>?, Bool) in
            guard !state.done else { return (nil, false) }
            state.done = true
            guard let continuation = state.continuation else {
                state.result = result
                return (nil, true)
            }
            state.continuation = nil
            return (continuation, true)
        }
        waiting.0?.resume(with: result)
        return waiting.1
    }

    /// The caller waits here; settled already, it resumes at once.
    func install(_ continuation: CheckedContinuation<T, any Error>) {
        let settled = state.withLock { state -> Result<T, any Error>? in
            if let result = state.result { return result }
            state.continuation = continuation
            return nil
        }
        if let settled { continuation.resume(with: settled) }
    }
}

/// The parts of a `postgres://` URL the client needs.
struct PostgresURL {
    let host: String
    let port: Int
    let user: String
    let password: String?
    let database: String
    let requireTLS: Bool

    init(_ text: String) throws {
        guard let url = URLComponents(string: text), ["postgres", "postgresql"].contains(url.scheme ?? ""),
            let host = url.host, !host.isEmpty, let user = url.user, !user.isEmpty
        else {
            throw SealgateError(.malformedRequest, "not a PostgreSQL URL (postgres://user@host[:port]/database)")
        }
        let database = String(url.path.drop { $0 == "/" })
        guard !database.isEmpty else { throw SealgateError(.malformedRequest, "the PostgreSQL URL names no database") }
        let mode = url.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        guard ["disable", "require"].contains(mode) else {
            throw SealgateError(.malformedRequest, "sslmode must be disable or require")
        }
        self.host = host
        self.port = url.port ?? 5432
        self.user = user.removingPercentEncoding ?? user
        self.password = url.password.map { $0.removingPercentEncoding ?? $0 }
        self.database = database
        self.requireTLS = mode == "require"
    }
}
