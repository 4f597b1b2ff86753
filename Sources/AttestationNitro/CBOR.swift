import Foundation

/// A CBOR data item (RFC 8949), as much of CBOR as attestation documents use: integers, byte and text strings,
/// arrays, maps, tags, booleans and null. No floats, no indefinite lengths.
public indirect enum CBORValue: Equatable, Sendable {
    case unsigned(UInt64)
    /// A negative integer: the value is `-1 - n`.
    case negative(UInt64)
    case bytes(Data)
    case text(String)
    case array([CBORValue])
    case map([(CBORValue, CBORValue)])
    case tagged(UInt64, CBORValue)
    case bool(Bool)
    case null

    public static func == (a: CBORValue, b: CBORValue) -> Bool {
        switch (a, b) {
        case (.unsigned(let x), .unsigned(let y)), (.negative(let x), .negative(let y)): return x == y
        case (.bytes(let x), .bytes(let y)): return x == y
        case (.text(let x), .text(let y)): return x == y
        case (.array(let x), .array(let y)): return x == y
        case (.map(let x), .map(let y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.tagged(let t, let x), .tagged(let u, let y)): return t == u && x == y
        case (.bool(let x), .bool(let y)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }

    /// The value for a text key of a map.
    public subscript(key: String) -> CBORValue? {
        guard case .map(let pairs) = self else { return nil }
        return pairs.first { $0.0 == .text(key) }?.1
    }

    public var bytes: Data? { if case .bytes(let d) = self { return d } else { return nil } }
    public var text: String? { if case .text(let s) = self { return s } else { return nil } }
    public var unsigned: UInt64? { if case .unsigned(let n) = self { return n } else { return nil } }
    public var array: [CBORValue]? { if case .array(let a) = self { return a } else { return nil } }
}

/// Why CBOR could not be decoded.
public struct CBORError: Error, Equatable, Sendable {
    public let reason: String
}

/// A bounded, non-recursive-on-input-size CBOR decoder: limits on nesting depth, items per container, string
/// length and total size, so hostile input is rejected in linear time.
public struct CBORDecoder: Sendable {
    public var maxDepth = 8
    public var maxItems = 4096
    public var maxSize = 256 * 1024

    public init() {}

    /// Decodes exactly one item that spans all of `data`.
    /// - Throws: ``CBORError`` for malformed, oversized or trailing input.
    public func decode(_ data: Data) throws -> CBORValue {
        guard data.count <= maxSize else { throw CBORError(reason: "input of \(data.count) bytes exceeds \(maxSize)") }
        let bytes = [UInt8](data)
        var offset = 0
        let value = try item(bytes, &offset, depth: 0)
        guard offset == bytes.count else { throw CBORError(reason: "\(bytes.count - offset) trailing bytes") }
        return value
    }

    private func head(_ b: [UInt8], _ o: inout Int) throws -> (major: UInt8, argument: UInt64) {
        guard o < b.count else { throw CBORError(reason: "truncated") }
        let initial = b[o]
        o += 1
        let major = initial >> 5
        let info = initial & 0x1f
        switch info {
        case 0..<24: return (major, UInt64(info))
        case 24, 25, 26, 27:
            let width = 1 << Int(info - 24)
            guard b.count - o >= width else { throw CBORError(reason: "truncated") }
            var value: UInt64 = 0
            for _ in 0..<width {
                value = value << 8 | UInt64(b[o])
                o += 1
            }
            return (major, value)
        default:
            throw CBORError(reason: "unsupported additional information \(info) (indefinite lengths are not accepted)")
        }
    }

    private func item(_ b: [UInt8], _ o: inout Int, depth: Int) throws -> CBORValue {
        guard depth <= maxDepth else { throw CBORError(reason: "nesting deeper than \(maxDepth)") }
        let (major, argument) = try head(b, &o)
        switch major {
        case 0: return .unsigned(argument)
        case 1: return .negative(argument)
        case 2, 3:
            guard argument <= UInt64(b.count - o) else { throw CBORError(reason: "string longer than the input") }
            let slice = b[o..<(o + Int(argument))]
            o += Int(argument)
            if major == 2 { return .bytes(Data(slice)) }
            guard let text = String(bytes: slice, encoding: .utf8) else { throw CBORError(reason: "text is not UTF-8") }
            return .text(text)
        case 4:
            guard argument <= UInt64(maxItems), argument <= UInt64(b.count - o) else { throw CBORError(reason: "array too long") }
            var items: [CBORValue] = []
            for _ in 0..<argument { items.append(try item(b, &o, depth: depth + 1)) }
            return .array(items)
        case 5:
            guard argument <= UInt64(maxItems), argument * 2 <= UInt64(b.count - o) else { throw CBORError(reason: "map too long") }
            var pairs: [(CBORValue, CBORValue)] = []
            for _ in 0..<argument {
                let key = try item(b, &o, depth: depth + 1)
                pairs.append((key, try item(b, &o, depth: depth + 1)))
            }
            return .map(pairs)
        case 6: return .tagged(argument, try item(b, &o, depth: depth + 1))
        default:
            switch argument {
            case 20: return .bool(false)
            case 21: return .bool(true)
            case 22: return .null
            default: throw CBORError(reason: "unsupported simple value or float")
            }
        }
    }
}

/// Canonical encoding of the few shapes COSE needs for its `Sig_structure`.
enum CBOREncoder {
    static func head(_ major: UInt8, _ n: UInt64) -> [UInt8] {
        switch n {
        case 0..<24: return [major << 5 | UInt8(n)]
        case 24..<256: return [major << 5 | 24, UInt8(n)]
        case 256..<65_536: return [major << 5 | 25, UInt8(n >> 8), UInt8(n & 0xff)]
        case 65_536..<4_294_967_296: return [major << 5 | 26] + (0..<4).reversed().map { UInt8(n >> (8 * UInt64($0)) & 0xff) }
        default: return [major << 5 | 27] + (0..<8).reversed().map { UInt8(n >> (8 * UInt64($0)) & 0xff) }
        }
    }

    static func bytes(_ d: Data) -> [UInt8] { head(2, UInt64(d.count)) + [UInt8](d) }
    static func text(_ s: String) -> [UInt8] { head(3, UInt64(s.utf8.count)) + Array(s.utf8) }
}
