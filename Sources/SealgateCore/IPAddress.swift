#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// IP address literals, as certificates and TLS server identity checks need them.
public enum IPAddress {
    /// The 4 bytes of an IPv4 or the 16 bytes of an IPv6 literal (`inet_pton`), or `nil` for anything else.
    public static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    /// Whether `text` is an IPv4 or IPv6 literal.
    public static func isLiteral(_ text: String) -> Bool { bytes(text) != nil }
}
