import Foundation

/// The part of a configured URL that may be logged or shown: scheme, host and port. A URL's user information, path
/// and query can carry a credential (`https://user:pass@…`, a webhook's secret path or `?token=`), so logs, events
/// and error messages name the origin only.
public enum URLOrigin {
    /// `scheme://host[:port]` of `url`, or `"(unparsable URL)"`.
    public static func of(_ url: String) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host, !host.isEmpty else {
            return "(unparsable URL)"
        }
        let bracketed = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(scheme)://\(bracketed)" + (components.port.map { ":\($0)" } ?? "")
    }
}
