import Audit

/// The `"text"` member of one JSON line, read without building the rest of the object.
///
/// `sealgate redact` reads corpora whose lines carry more than the text (ids, labelled spans, metadata);
/// `JSONSerialization` materialised all of it per line and took a third of the command's time. This scanner
/// validates the whole line as RFC 8259 JSON (structure, string escapes, UTF-8, numbers, literals, nesting up to
/// ``maxDepth``) and decodes only the top-level `"text"` string, straight into the Unicode scalars the redaction
/// engine works on (no `String` to build and decode again). A line that is not a JSON object, has no string
/// `"text"`, or has it twice (ambiguous: refused, not guessed) yields `nil`. Lone UTF-16 surrogates in `\u` escapes
/// become U+FFFD, one scalar each, so offsets still count code points as Python does.
enum JSONTextField {
    /// The deepest nesting accepted (objects and arrays), so hostile input cannot exhaust the stack.
    static let maxDepth = 128

    /// The decoded scalars of the `"text"` member of `line` (one JSON object, surrounding whitespace allowed), or
    /// `nil`.
    static func text(in line: UnsafeBufferPointer<UInt8>) -> [Unicode.Scalar]? {
        var scanner = Scanner(bytes: line)
        return scanner.document()
    }

    /// Where a string's decoded scalars go.
    protocol Sink {
        /// Takes one scalar.
        mutating func put(_ scalar: Unicode.Scalar)
        /// Takes a run of ASCII bytes (one scalar each).
        mutating func put(ascii: UnsafeBufferPointer<UInt8>)
    }

    /// Validation only: the scalars are dropped.
    struct Discard: Sink {
        @inline(__always) mutating func put(_ scalar: Unicode.Scalar) {}
        @inline(__always) mutating func put(ascii: UnsafeBufferPointer<UInt8>) {}
    }

    /// Scalars written into memory with room for them (a JSON string has at most one scalar per byte).
    struct Buffer: Sink {
        let out: UnsafeMutableBufferPointer<Unicode.Scalar>
        var count = 0

        @inline(__always) mutating func put(_ scalar: Unicode.Scalar) {
            out[count] = scalar
            count += 1
        }

        @inline(__always) mutating func put(ascii: UnsafeBufferPointer<UInt8>) {
            for byte in ascii {
                out[count] = Unicode.Scalar(byte)
                count += 1
            }
        }
    }

    struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func document() -> [Unicode.Scalar]? {
            skipSpace()
            guard peek == UInt8(ascii: "{") else { return nil }
            i += 1
            var text: [Unicode.Scalar]? = nil
            skipSpace()
            if peek == UInt8(ascii: "}") {
                i += 1
            } else {
                while true {
                    skipSpace()
                    guard let isText = key() else { return nil }
                    skipSpace()
                    guard peek == UInt8(ascii: ":") else { return nil }
                    i += 1
                    skipSpace()
                    if isText {
                        guard text == nil, peek == UInt8(ascii: "\""), let value = decodedString() else { return nil }
                        text = value
                    } else {
                        guard value(depth: 1) else { return nil }
                    }
                    skipSpace()
                    if peek == UInt8(ascii: ",") { i += 1; continue }
                    guard peek == UInt8(ascii: "}") else { return nil }
                    i += 1
                    break
                }
            }
            skipSpace()
            return i == bytes.count ? text : nil
        }

        var peek: UInt8 { i < bytes.count ? bytes[i] : 0 }

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
        }

        /// A member name; `true` when it is `text` (also when spelt with escapes), `nil` when malformed.
        mutating func key() -> Bool? {
            guard peek == UInt8(ascii: "\"") else { return nil }
            let start = i + 1
            guard validString() else { return nil }
            let raw = UnsafeBufferPointer(rebasing: bytes[start..<(i - 1)])
            if raw.elementsEqual("text".utf8) { return true }
            guard raw.contains(UInt8(ascii: "\\")) else { return false }
            i = start - 1
            guard let decoded = decodedString() else { return nil }
            return decoded.elementsEqual("text".unicodeScalars)
        }

        mutating func value(depth: Int) -> Bool {
            switch peek {
            case UInt8(ascii: "\""): return validString()
            case UInt8(ascii: "{"), UInt8(ascii: "["): return container(depth: depth)
            case UInt8(ascii: "t"): return literal("true")
            case UInt8(ascii: "f"): return literal("false")
            case UInt8(ascii: "n"): return literal("null")
            default: return number()
            }
        }

        mutating func container(depth: Int) -> Bool {
            guard depth < JSONTextField.maxDepth else { return false }
            let object = peek == UInt8(ascii: "{")
            let close = object ? UInt8(ascii: "}") : UInt8(ascii: "]")
            i += 1
            skipSpace()
            if peek == close { i += 1; return true }
            while true {
                skipSpace()
                if object {
                    guard peek == UInt8(ascii: "\""), validString() else { return false }
                    skipSpace()
                    guard peek == UInt8(ascii: ":") else { return false }
                    i += 1
                    skipSpace()
                }
                guard value(depth: depth + 1) else { return false }
                skipSpace()
                if peek == UInt8(ascii: ",") { i += 1; continue }
                guard peek == close else { return false }
                i += 1
                return true
            }
        }

        mutating func literal(_ word: StaticString) -> Bool {
            let n = word.utf8CodeUnitCount
            guard i + n <= bytes.count else { return false }
            for k in 0..<n where bytes[i + k] != word.utf8Start[k] { return false }
            i += n
            return true
        }

        mutating func number() -> Bool {
            if peek == UInt8(ascii: "-") { i += 1 }
            if peek == UInt8(ascii: "0") {
                i += 1
            } else {
                guard digits() > 0 else { return false }
            }
            if peek == UInt8(ascii: ".") {
                i += 1
                guard digits() > 0 else { return false }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                i += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { i += 1 }
                guard digits() > 0 else { return false }
            }
            return true
        }

        mutating func digits() -> Int {
            let start = i
            while i < bytes.count, bytes[i] >= UInt8(ascii: "0"), bytes[i] <= UInt8(ascii: "9") { i += 1 }
            return i - start
        }

        /// Whether the string starting at the opening quote is valid (then `i` is past its closing quote).
        mutating func validString() -> Bool {
            var sink = Discard()
            return string(into: &sink)
        }

        /// The decoded scalars of the string starting at the opening quote, or `nil` when it is not valid.
        mutating func decodedString() -> [Unicode.Scalar]? {
            var valid = false
            // At most one scalar per byte: every scalar takes at least one byte of the line.
            let scalars = [Unicode.Scalar](unsafeUninitializedCapacity: bytes.count - i) { out, count in
                var sink = Buffer(out: out)
                valid = string(into: &sink)
                count = sink.count
            }
            return valid ? scalars : nil
        }

        /// Validates the string starting at the opening quote, giving its scalars to `sink`.
        mutating func string<S: Sink>(into sink: inout S) -> Bool {
            i += 1
            while i < bytes.count {
                let b = bytes[i]
                if b == UInt8(ascii: "\"") {
                    i += 1
                    return true
                }
                if b < 0x20 { return false }
                if b < 0x80 && b != UInt8(ascii: "\\") {
                    // A run of plain ASCII (most text), found eight bytes at a time and taken at once.
                    let run = i
                    i += 1
                    if let base = UnsafeRawPointer(bytes.baseAddress) {
                        while i + 8 <= bytes.count, Self.plainASCII(base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) {
                            i += 8
                        }
                    }
                    while i < bytes.count, bytes[i] >= 0x20, bytes[i] < 0x80, bytes[i] != UInt8(ascii: "\""),
                        bytes[i] != UInt8(ascii: "\\")
                    {
                        i += 1
                    }
                    sink.put(ascii: UnsafeBufferPointer(rebasing: bytes[run..<i]))
                    continue
                }
                if b >= 0x80 {
                    guard let n = utf8Sequence(at: i) else { return false }
                    var v = UInt32(b) & (0x7F >> n)
                    for k in 1..<n { v = v << 6 | UInt32(bytes[i + k] & 0x3F) }
                    sink.put(Unicode.Scalar(v) ?? "\u{FFFD}")
                    i += n
                    continue
                }
                // An escape.
                i += 1
                guard i < bytes.count else { return false }
                let e = bytes[i]
                i += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): sink.put(Unicode.Scalar(e))
                case UInt8(ascii: "b"): sink.put("\u{08}")
                case UInt8(ascii: "f"): sink.put("\u{0C}")
                case UInt8(ascii: "n"): sink.put("\n")
                case UInt8(ascii: "r"): sink.put("\r")
                case UInt8(ascii: "t"): sink.put("\t")
                case UInt8(ascii: "u"):
                    guard var unit = hex4() else { return false }
                    if (0xD800..<0xDC00).contains(unit), bytes.count - i >= 6, bytes[i] == UInt8(ascii: "\\"),
                        bytes[i + 1] == UInt8(ascii: "u")
                    {
                        let save = i
                        i += 2
                        if let low = hex4(), (0xDC00..<0xE000).contains(low) {
                            unit = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                        } else {
                            i = save
                        }
                    }
                    sink.put(Unicode.Scalar(unit) ?? "\u{FFFD}")
                default: return false
                }
            }
            return false
        }

        mutating func hex4() -> UInt32? {
            guard i + 4 <= bytes.count else { return nil }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let c = bytes[i]
                let d: UInt8
                switch c {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = c - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = c - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = c - UInt8(ascii: "A") + 10
                default: return nil
                }
                v = v << 4 | UInt32(d)
                i += 1
            }
            return v
        }

        /// Whether all eight bytes of `word` are ASCII from 0x20 up, neither `"` nor `\\`: no byte a JSON string
        /// must escape (`JSONWriter.needsEscape`) and no top bit set.
        @inline(__always) static func plainASCII(_ word: UInt64) -> Bool {
            word & 0x8080_8080_8080_8080 == 0 && !JSONWriter.needsEscape(word)
        }

        /// The length of the well-formed UTF-8 sequence at `k` (Unicode Table 3-7), or `nil`.
        func utf8Sequence(at k: Int) -> Int? {
            let b0 = bytes[k]
            let n: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch b0 {
            case 0xC2...0xDF: n = 2
            case 0xE0: (n, low) = (3, 0xA0)
            case 0xE1...0xEC, 0xEE...0xEF: n = 3
            case 0xED: (n, high) = (3, 0x9F)
            case 0xF0: (n, low) = (4, 0x90)
            case 0xF1...0xF3: n = 4
            case 0xF4: (n, high) = (4, 0x8F)
            default: return nil
            }
            guard k + n <= bytes.count else { return nil }
            for j in 1..<n {
                let b = bytes[k + j]
                guard b >= (j == 1 ? low : 0x80), b <= (j == 1 ? high : 0xBF) else { return nil }
            }
            return n
        }
    }
}
