import Foundation

/// Refuses JSON that two readers could read differently: an object with the same key twice. Foundation's decoders
/// keep one of the values silently (the first, where the Python library keeps the last), so a bundle with two
/// `dsseEnvelope` or `mediaType` members would verify here as one thing and be acted on elsewhere as another.
///
/// Keys are compared after unescaping, as Swift strings: `"a"` and `"\u0061"` are the same key, and so are two
/// keys that are only canonically equivalent (`"publicKey"` and `"public\u212Aey"`), which the decoder would merge.
/// The scan checks structure only as far as it needs to find the keys; the decoder still validates the rest.
enum StrictJSON {
    /// Deepest nesting accepted (Foundation's decoder stops at 512 too).
    static let maximumDepth = 512

    /// - Throws: ``SigstoreError`` with `reason` when a key repeats within an object, or the text is not JSON.
    static func requireUniqueKeys(_ data: Data, reason: SigstoreReason, what: String) throws {
        let ok = data.withUnsafeBytes { raw -> Bool in
            var scanner = Scanner(bytes: raw.bindMemory(to: UInt8.self))
            return scanner.document()
        }
        guard ok else { throw SigstoreError(reason, "\(what) is not JSON with unique keys in every object") }
    }

    private struct Scanner {
        let bytes: UnsafeBufferPointer<UInt8>
        var at = 0
        var depth = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func document() -> Bool {
            guard value() else { return false }
            skipSpace()
            return at == bytes.count
        }

        mutating func skipSpace() {
            while at < bytes.count, bytes[at] == 0x20 || bytes[at] == 0x0A || bytes[at] == 0x0D || bytes[at] == 0x09 { at += 1 }
        }

        mutating func value() -> Bool {
            skipSpace()
            guard at < bytes.count else { return false }
            switch bytes[at] {
            case UInt8(ascii: "{"): return container(close: UInt8(ascii: "}"))
            case UInt8(ascii: "["): return container(close: UInt8(ascii: "]"))
            case UInt8(ascii: "\""): return string() != nil
            default:
                // A number or a literal: the decoder checks its form; here it only has to end.
                let start = at
                while at < bytes.count, !Self.isDelimiter(bytes[at]) { at += 1 }
                return at > start
            }
        }

        static func isDelimiter(_ byte: UInt8) -> Bool {
            switch byte {
            case 0x20, 0x0A, 0x0D, 0x09, UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), UInt8(ascii: ":"): true
            case UInt8(ascii: "{"), UInt8(ascii: "["), UInt8(ascii: "\""): true
            default: false
            }
        }

        /// An object (keys unique) or an array at `at` (its opening bracket): elements separated by commas up to
        /// `close`; each object element is a key, a colon, then a value.
        mutating func container(close: UInt8) -> Bool {
            depth += 1
            defer { depth -= 1 }
            at += 1
            guard depth <= StrictJSON.maximumDepth else { return false }
            var seen: Set<String>? = close == UInt8(ascii: "}") ? [] : nil
            skipSpace()
            if at < bytes.count, bytes[at] == close {
                at += 1
                return true
            }
            while true {
                skipSpace()
                if seen != nil {
                    guard at < bytes.count, bytes[at] == UInt8(ascii: "\""), let key = string(), seen?.insert(key).inserted == true else { return false }
                    skipSpace()
                    guard at < bytes.count, bytes[at] == UInt8(ascii: ":") else { return false }
                    at += 1
                }
                guard value() else { return false }
                skipSpace()
                guard at < bytes.count, bytes[at] == UInt8(ascii: ",") || bytes[at] == close else { return false }
                at += 1
                if bytes[at - 1] == close { return true }
            }
        }

        /// A string at `at` (its opening quote), unescaped; nil if it is not a well-formed JSON string.
        mutating func string() -> String? {
            let bytes = self.bytes
            at += 1
            var scalars = String.UnicodeScalarView()
            var runStart = at
            func flush(_ end: Int) -> Bool {
                guard end > runStart else { return true }
                guard let run = String(validating: UnsafeBufferPointer(rebasing: bytes[runStart..<end]), as: UTF8.self) else { return false }
                scalars.append(contentsOf: run.unicodeScalars)
                return true
            }
            while at < bytes.count {
                let byte = bytes[at]
                if byte == UInt8(ascii: "\"") {
                    guard flush(at) else { return nil }
                    at += 1
                    return String(scalars)
                }
                if byte < 0x20 { return nil }
                if byte != UInt8(ascii: "\\") {
                    at += 1
                    continue
                }
                guard flush(at), at + 1 < bytes.count else { return nil }
                let escaped = bytes[at + 1]
                at += 2
                switch escaped {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scalars.append(Unicode.Scalar(escaped))
                case UInt8(ascii: "b"): scalars.append("\u{08}")
                case UInt8(ascii: "f"): scalars.append("\u{0C}")
                case UInt8(ascii: "n"): scalars.append("\n")
                case UInt8(ascii: "r"): scalars.append("\r")
                case UInt8(ascii: "t"): scalars.append("\t")
                case UInt8(ascii: "u"):
                    guard let unit = hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(unit) {
                        guard at + 1 < bytes.count, bytes[at] == UInt8(ascii: "\\"), bytes[at + 1] == UInt8(ascii: "u") else { return nil }
                        at += 2
                        guard let low = hex4(), (0xDC00..<0xE000).contains(low),
                            let scalar = Unicode.Scalar(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))
                        else { return nil }
                        scalars.append(scalar)
                    } else {
                        guard let scalar = Unicode.Scalar(unit) else { return nil }
                        scalars.append(scalar)
                    }
                default: return nil
                }
                runStart = at
            }
            return nil
        }

        mutating func hex4() -> UInt32? {
            guard at + 4 <= bytes.count else { return nil }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let b = bytes[at]
                let digit: UInt32
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(b - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(b - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(b - UInt8(ascii: "A") + 10)
                default: return nil
                }
                value = value << 4 | digit
                at += 1
            }
            return value
        }
    }
}
