import Foundation

/// Just enough DER to read a PKCS #1 `RSAPrivateKey` (a SEQUENCE of INTEGERs), because swift-crypto has no
/// accessor for an RSA private key's numbers. Nothing here is cryptographic.
enum DER {
    struct RSANumbers {
        var n, e, d, p, q, dp, dq, qi: Data
    }

    /// Reads `RSAPrivateKey ::= SEQUENCE { version, n, e, d, p, q, dp, dq, qi }` (RFC 8017 §A.1.2), two-prime only.
    static func rsaPrivateKey(_ der: Data) throws -> RSANumbers {
        let bytes = [UInt8](der)
        var index = 0
        let body = try element(bytes, at: &index, tag: 0x30)
        guard index == bytes.count else { throw JOSEError.malformedJWK("trailing bytes after RSAPrivateKey") }
        var inner = body.lowerBound
        var integers: [Data] = []
        while inner < body.upperBound {
            let range = try element(bytes, at: &inner, tag: 0x02, limit: body.upperBound)
            integers.append(Data(bytes[range]))
        }
        guard integers.count == 9, minimal(integers[0]).isEmpty else {
            throw JOSEError.malformedJWK("only two-prime RSA private keys (version 0) are supported")
        }
        let v = integers.map(minimal)
        return RSANumbers(n: v[1], e: v[2], d: v[3], p: v[4], q: v[5], dp: v[6], dq: v[7], qi: v[8])
    }

    /// Unsigned big-endian without leading zero bytes (the JWK "Base64urlUInt" form).
    static func minimal(_ value: Data) -> Data {
        guard let first = value.firstIndex(where: { $0 != 0 }) else { return Data() }
        return Data(value[first...])
    }

    /// Reads one TLV with the expected tag and returns the content range; advances `index`.
    private static func element(_ bytes: [UInt8], at index: inout Int, tag: UInt8, limit: Int? = nil) throws -> Range<
        Int
    > {
        let end = limit ?? bytes.count
        func fail() -> JOSEError { JOSEError.malformedJWK("RSA private key DER is malformed") }
        guard index + 2 <= end, bytes[index] == tag else { throw fail() }
        var length = Int(bytes[index + 1])
        index += 2
        if length & 0x80 != 0 {
            let count = length & 0x7f
            guard count >= 1, count <= 4, index + count <= end else { throw fail() }
            length = 0
            for _ in 0..<count {
                length = (length << 8) | Int(bytes[index])
                index += 1
            }
        }
        guard length <= end - index else { throw fail() }
        let range = index..<(index + length)
        index += length
        return range
    }
}
