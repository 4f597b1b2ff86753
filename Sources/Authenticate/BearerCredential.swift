import HTTPTypes

/// Why a request carried no usable bearer credential. Each case maps to one reason code at the edge.
public enum BearerCredentialProblem: Error, Sendable, Equatable {
    /// No `Authorization` field was sent.
    case missing
    /// The field does not use the `Bearer` scheme.
    case wrongScheme
    /// The scheme is `Bearer` but no credential follows it.
    case empty
    /// More than one `Authorization` field, more than one credential, or characters outside `b64token`.
    case malformed
}

/// The one parser of `Authorization: Bearer <token>` (RFC 6750 §2.1) for every listener: the gateway routes,
/// the auditor routes and the broker's admin API.
///
/// - The scheme is matched case-insensitively (RFC 9110 §11.1), followed by one or more spaces.
/// - Exactly one credential: the rest of the field must be one `b64token`
///   (`1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`); whitespace inside it is refused.
/// - Exactly one `Authorization` field: a request that sends two is refused, whatever they hold.
/// - Leading and trailing optional whitespace of the field value is not part of the value (RFC 9110 §5.5).
public enum BearerCredential {
    /// The bearer token of a request, or why there is none.
    public static func parse(_ fields: HTTPFields) -> Result<String, BearerCredentialProblem> {
        let values = fields[values: .authorization]
        guard let value = values.first else { return .failure(.missing) }
        guard values.count == 1 else { return .failure(.malformed) }
        return parse(value)
    }

    /// The bearer token in one `Authorization` field value, or why there is none.
    public static func parse(_ value: String) -> Result<String, BearerCredentialProblem> {
        let bytes = Array(value.utf8)
        var start = 0
        var end = bytes.count
        while start < end, isOWS(bytes[start]) { start += 1 }
        while end > start, isOWS(bytes[end - 1]) { end -= 1 }
        let scheme = Array("bearer".utf8)
        guard end - start >= scheme.count,
            zip(bytes[start..<(start + scheme.count)], scheme).allSatisfy({ lowercase($0.0) == $0.1 })
        else { return .failure(end == start ? .missing : .wrongScheme) }
        var cursor = start + scheme.count
        guard cursor == end || bytes[cursor] == UInt8(ascii: " ") else { return .failure(.wrongScheme) }
        while cursor < end, bytes[cursor] == UInt8(ascii: " ") { cursor += 1 }
        guard cursor < end else { return .failure(.empty) }
        let token = bytes[cursor..<end]
        guard isB64Token(token) else { return .failure(.malformed) }
        return .success(String(decoding: token, as: UTF8.self))
    }

    static func isOWS(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }

    static func lowercase(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte + 32 : byte
    }

    /// `b64token`: token characters, then only `=` padding.
    static func isB64Token(_ token: ArraySlice<UInt8>) -> Bool {
        var padding = false
        var characters = 0
        for byte in token {
            if byte == UInt8(ascii: "=") {
                padding = true
                continue
            }
            guard !padding, isTokenCharacter(byte) else { return false }
            characters += 1
        }
        return characters > 0
    }

    static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"):
            return true
        default:
            return false
        }
    }
}
