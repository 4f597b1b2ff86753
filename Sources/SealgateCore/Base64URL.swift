import Foundation

/// Base64url without padding (RFC 4648 §5), as JOSE uses it.
///
/// Foundation does the base64; this maps the alphabet and padding on bytes (the broker decodes and encodes
/// several values per request, and string replacement with `Character` classification cost more than its
/// cryptography).
public enum Base64URL {
    /// Encodes bytes.
    public static func encode(_ data: Data) -> String {
        var bytes = [UInt8](data.base64EncodedData())
        var count = bytes.count
        while count > 0 && bytes[count - 1] == UInt8(ascii: "=") { count -= 1 }
        for i in 0..<count {
            if bytes[i] == UInt8(ascii: "+") {
                bytes[i] = UInt8(ascii: "-")
            } else if bytes[i] == UInt8(ascii: "/") {
                bytes[i] = UInt8(ascii: "_")
            }
        }
        return String(decoding: bytes[..<count], as: UTF8.self)
    }

    /// Decodes text; returns `nil` when it is not base64url.
    public static func decode(_ text: String) -> Data? {
        var bytes = [UInt8](text.utf8)
        for i in bytes.indices {
            switch bytes[i] {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                continue
            case UInt8(ascii: "-"): bytes[i] = UInt8(ascii: "+")
            case UInt8(ascii: "_"): bytes[i] = UInt8(ascii: "/")
            default: return nil
            }
        }
        let remainder = bytes.count % 4
        if remainder == 1 { return nil }
        if remainder > 0 { bytes.append(contentsOf: repeatElement(UInt8(ascii: "="), count: 4 - remainder)) }
        // Only the canonical encoding is accepted, so one byte string has exactly one text form (no malleability).
        guard let data = Data(base64Encoded: Data(bytes)), encode(data) == text else { return nil }
        return data
    }
}

/// Hex encoding helpers.
public enum Hex {
    /// Lowercase hex of bytes.
    public static func encode<D: Sequence>(_ bytes: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes hex (either case); `nil` when malformed.
    public static func decode(_ text: String) -> Data? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case 48...57: return c - 48
            case 97...102: return c - 87
            case 65...70: return c - 55
            default: return nil
            }
        }
        var out = Data(capacity: chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = value(chars[i]), let lo = value(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }
}
