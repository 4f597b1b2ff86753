import Foundation
import SealgateCore

/// What the transport to a standalone key broker must be. A release is a JWE to the TEE's ephemeral key, which
/// keeps it secret but says nothing of who sent it: whoever sits on a plain-HTTP path to the broker can pass
/// authentication and attestation through and answer `resource` with a key of their own, and the gateway would
/// then seal new data under it. So a broker is reached over `https` (with `--broker-ca` for a private CA), or over
/// plain HTTP on loopback only, unless the operator says `--insecure-broker-http`.
public enum BrokerTransport {
    /// Why `url` may not be used as the broker's address without `--insecure-broker-http`; `nil` when it may
    /// (`https`, or `http` to a loopback address).
    public static func problem(_ url: String) -> String? {
        problem(url, exposure: "anyone on that path could hand this workload keys of their own (a release is encrypted to it, not signed)")
    }

    /// Why `url` may not be used without `--insecure-broker-http`, naming what plain HTTP would expose (`exposure`).
    public static func problem(_ url: String, exposure: String) -> String? {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), let host = components.host, !host.isEmpty
        else { return "the broker URL \(URLOrigin.of(url)) is not an http(s) URL with a host" }
        switch scheme {
        case "https": return nil
        case "http":
            if isLoopback(host) { return nil }
            return "the broker at \(URLOrigin.of(url)) would be reached over plain HTTP: \(exposure). "
                + "Use https:// (with a CA option for a private CA), or say --insecure-broker-http"
        default: return "the broker URL \(URLOrigin.of(url)) must be http or https"
        }
    }

    /// Whether `url` is an http(s) URL whose host is this machine's loopback interface.
    public static func isLoopbackURL(_ url: String) -> Bool {
        guard let components = URLComponents(string: url), let host = components.host, ["http", "https"].contains(components.scheme?.lowercased())
        else { return false }
        return isLoopback(host)
    }

    /// Whether `host` names this machine's loopback interface (`localhost`, 127.0.0.0/8, `::1`).
    static func isLoopback(_ host: String) -> Bool {
        let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
        if bare == "localhost" || bare == "::1" { return true }
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127" && octets.allSatisfy { UInt8($0) != nil }
    }
}
