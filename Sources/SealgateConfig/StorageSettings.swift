import Foundation

/// Where the gateway keeps its documents (`storage:` in `sealgate.yaml`): the embedded SQLite file by default, or
/// a PostgreSQL database shared by several gateway replicas.
public struct StorageSettings: Sendable, Codable, Equatable {
    /// The backend.
    public enum Kind: String, Sendable, Codable, Equatable {
        case sqlite
        case postgres
    }

    /// `sqlite` (default) or `postgres`.
    public var type: Kind = .sqlite
    /// The PostgreSQL URL (`postgres://user@host:port/database`); a password in it is better given through `url_env`.
    public var url: String?
    /// The environment variable holding the PostgreSQL URL (read at start; wins over `url`).
    public var urlEnv: String?

    enum CodingKeys: String, CodingKey {
        case type, url
        case urlEnv = "url_env"
    }

    /// The embedded default.
    public init() {}

    /// A PostgreSQL store at `url`.
    public init(postgres url: String) {
        type = .postgres
        self.url = url
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        type = try c.decodeIfPresent(Kind.self, forKey: .type) ?? .sqlite
        url = try c.decodeIfPresent(String.self, forKey: .url)
        urlEnv = try c.decodeIfPresent(String.self, forKey: .urlEnv)
    }

    /// The PostgreSQL URL to use: `url_env`'s variable when set, else `url`.
    public func resolvedURL(environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        if let name = urlEnv, let value = environment[name], !value.isEmpty { return value }
        return url
    }
}
