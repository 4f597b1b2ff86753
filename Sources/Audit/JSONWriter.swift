/// JSON text written byte by byte, for the fixed shapes on the request path (audit leaves, chat responses), where
/// `JSONEncoder` cost more than the rest of the encoding.
///
/// The output is what `JSONEncoder` with `[.sortedKeys, .withoutEscapingSlashes]` writes for the same values: no
/// insignificant whitespace, strings escaped as Foundation escapes them (`\"`, `\\`, `\b`, `\t`, `\n`, `\f`, `\r`,
/// other control characters as `\u00xx`; `/` and non-ASCII as they are), integers in decimal, doubles in their
/// shortest round-trip form without a trailing `.0`. The caller writes object members in sorted key order
/// (``AuditEncoding`` and the tests compare the result with `JSONEncoder`, byte for byte).
public struct JSONWriter: Sendable {
    /// The text written so far (UTF-8).
    public private(set) var bytes: [UInt8] = []
    /// Per open object or array: whether it has a member yet (the next one needs a comma).
    private var hasMember: [Bool] = []
    /// A key was just written: the next value is its value, not a new member.
    private var afterKey = false

    /// An empty writer with room for `capacity` bytes.
    public init(capacity: Int = 512) {
        bytes.reserveCapacity(capacity)
        hasMember.reserveCapacity(8)
    }

    private mutating func separate() {
        if afterKey {
            afterKey = false
            return
        }
        guard let last = hasMember.indices.last else { return }
        if hasMember[last] { bytes.append(UInt8(ascii: ",")) }
        hasMember[last] = true
    }

    private mutating func open(_ bracket: Unicode.Scalar) {
        separate()
        bytes.append(UInt8(ascii: bracket))
        hasMember.append(false)
    }

    private mutating func close(_ bracket: Unicode.Scalar) {
        _ = hasMember.popLast()
        bytes.append(UInt8(ascii: bracket))
    }

    /// Opens an object (`{`).
    public mutating func beginObject() { open("{") }

    /// Closes the innermost object (`}`).
    public mutating func endObject() { close("}") }

    /// Opens an array (`[`).
    public mutating func beginArray() { open("[") }

    /// Closes the innermost array (`]`).
    public mutating func endArray() { close("]") }

    /// Writes an object member's key; its value follows.
    public mutating func key(_ name: String) {
        separate()
        appendQuoted(name)
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    /// Writes a string value.
    public mutating func string(_ value: String) {
        separate()
        appendQuoted(value)
    }

    /// Writes a string value from its UTF-8, which must be valid UTF-8: the bytes ``string(_:)`` writes for the same
    /// text, without a `String` to build first.
    public mutating func string(utf8 value: UnsafeBufferPointer<UInt8>) {
        separate()
        appendQuoted(utf8: value)
    }

    /// Ends a line of JSON lines: appends a newline after a complete top-level value (the next value starts the next
    /// line).
    public mutating func endLine() {
        bytes.append(UInt8(ascii: "\n"))
    }

    /// Writes an integer value.
    public mutating func integer(_ value: some BinaryInteger) {
        separate()
        guard let value = Int64(exactly: value), value != .min else {
            bytes.append(contentsOf: String(value).utf8)
            return
        }
        // Digits into a stack buffer from the last, then appended at once (`String(value)` allocated a string per
        // number).
        var magnitude = value.magnitude
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var at = digits.count
            repeat {
                at -= 1
                digits[at] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0 && at > 0
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[at...]))
        }
    }

    /// Writes a finite double as `JSONEncoder` does (`1` for 1.0, `0.25`, `1e+20`). Returns false, writing nothing,
    /// for NaN and infinities, which JSON cannot hold (`JSONEncoder` refuses them too).
    @discardableResult
    public mutating func double(_ value: Double) -> Bool {
        guard value.isFinite else { return false }
        separate()
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        bytes.append(contentsOf: text.utf8)
        return true
    }

    /// Writes `true` or `false`.
    public mutating func bool(_ value: Bool) {
        separate()
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    /// Writes `key` and a string value, or nothing when `value` is nil (as `encodeIfPresent`).
    public mutating func member(_ name: String, _ value: String?) {
        guard let value else { return }
        key(name)
        string(value)
    }

    /// Writes `key` and an integer value, or nothing when `value` is nil.
    public mutating func member(_ name: String, _ value: Int?) {
        guard let value else { return }
        key(name)
        integer(value)
    }

    /// Writes `key` and an object of integers in sorted key order, or nothing when `value` is nil.
    public mutating func member(_ name: String, _ value: [String: Int]?) {
        guard let value else { return }
        key(name)
        beginObject()
        for label in value.keys.sorted() {
            key(label)
            integer(value[label] ?? 0)
        }
        endObject()
    }

    /// Writes `key` and an array of strings, or nothing when `value` is nil.
    public mutating func member(_ name: String, _ value: [String]?) {
        guard let value else { return }
        key(name)
        beginArray()
        for item in value { string(item) }
        endArray()
    }

    private static let hex = Array("0123456789abcdef".utf8)

    /// Whether any of the eight bytes of `word` is below 0x20, `"` or `\\`. SWAR: some byte of `w` is below `k`
    /// (at most 0x80) exactly when `(w - k·0x01…01) & ~w` has a byte's top bit set; a byte equals `c` when that
    /// byte of `w ^ c·0x01…01` is below 1.
    @inline(__always) public static func needsEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let tops: UInt64 = 0x8080_8080_8080_8080
        let quote = word ^ (ones &* 0x22)
        let backslash = word ^ (ones &* 0x5C)
        let control = (word &- (ones &* 0x20)) & ~word
        let found = ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | control
        return found & tops != 0
    }

    private mutating func appendQuoted(_ value: String) {
        var value = value
        value.withUTF8 { appendQuoted(utf8: $0) }
    }

    /// Appends `utf8` quoted and escaped: runs that need no escape (most text) are found eight bytes at a time and
    /// copied whole.
    private mutating func appendQuoted(utf8: UnsafeBufferPointer<UInt8>) {
        bytes.append(UInt8(ascii: "\""))
        var start = 0
        var i = 0
        let n = utf8.count
        while i < n {
            if i &+ 8 <= n, let base = utf8.baseAddress,
                !Self.needsEscape(UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
            {
                i &+= 8
                continue
            }
            let byte = utf8[i]
            guard byte < 0x20 || byte == 0x22 || byte == 0x5C else {
                i &+= 1
                continue
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i]))
            i &+= 1
            start = i
            bytes.append(UInt8(ascii: "\\"))
            switch byte {
            case 0x22: bytes.append(UInt8(ascii: "\""))
            case 0x5C: bytes.append(UInt8(ascii: "\\"))
            case 0x08: bytes.append(UInt8(ascii: "b"))
            case 0x09: bytes.append(UInt8(ascii: "t"))
            case 0x0A: bytes.append(UInt8(ascii: "n"))
            case 0x0C: bytes.append(UInt8(ascii: "f"))
            case 0x0D: bytes.append(UInt8(ascii: "r"))
            default:
                bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), Self.hex[Int(byte >> 4)], Self.hex[Int(byte & 0xF)]])
            }
        }
        bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<n]))
        bytes.append(UInt8(ascii: "\""))
    }
}
