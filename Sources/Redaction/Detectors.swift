/// A detected span of sensitive text, in Unicode scalar offsets of the input.
public struct DetectedSpan: Sendable, Equatable {
    public let start: Int
    public let end: Int
    public let label: String

    public init(start: Int, end: Int, label: String) {
        self.start = start
        self.end = end
        self.label = label
    }
}

/// Finds one kind of entity in text. Implementations scan in linear time.
public protocol Detector: Sendable {
    /// The label of what it finds (`EMAIL`, ...).
    var label: String { get }
    /// Higher wins when spans of two detectors overlap.
    var priority: Int { get }
    /// The spans it finds.
    func detect(_ text: [Unicode.Scalar]) -> [DetectedSpan]
}

@inline(__always) func isDigit(_ s: Unicode.Scalar) -> Bool { s.value >= 48 && s.value <= 57 }
@inline(__always) func isASCIIAlnum(_ s: Unicode.Scalar) -> Bool {
    isDigit(s) || (s.value >= 65 && s.value <= 90) || (s.value >= 97 && s.value <= 122)
}
@inline(__always) func isWordScalar(_ s: Unicode.Scalar) -> Bool {
    isASCIIAlnum(s) || (s.value > 127 && s.properties.isAlphabetic)
}

/// E-mail addresses: `local@domain.tld`, with a dotted domain whose last label is alphabetic.
public struct EmailDetector: Detector {
    public let label = "EMAIL"
    public let priority = 30
    public init() {}

    public func detect(_ t: [Unicode.Scalar]) -> [DetectedSpan] {
        // Internationalised addresses (RFC 6531) may use any letters in both parts.
        func isLocal(_ s: Unicode.Scalar) -> Bool { isWordScalar(s) || "._%+-'".unicodeScalars.contains(s) }
        func isDomain(_ s: Unicode.Scalar) -> Bool { isWordScalar(s) || s == "-" || s == "." }
        var spans: [DetectedSpan] = []
        var lastEnd = 0
        for at in t.indices where t[at] == "@" && at >= lastEnd {
            var start = at
            while start > lastEnd, isLocal(t[start - 1]), at - start < 64 { start -= 1 }
            while start < at, t[start] == "." { start += 1 }
            guard start < at else { continue }
            var end = at + 1
            while end < t.count, isDomain(t[end]), end - at < 255 { end += 1 }
            while end > at + 1, t[end - 1] == "." || t[end - 1] == "-" { end -= 1 }
            let domain = t[(at + 1)..<end]
            guard let lastDot = domain.lastIndex(of: "."), lastDot > at + 1 else { continue }
            let tld = t[(lastDot + 1)..<end]
            guard tld.count >= 2, tld.allSatisfy({ !isDigit($0) && isWordScalar($0) }) else { continue }
            spans.append(DetectedSpan(start: start, end: end, label: label))
            lastEnd = end
        }
        return spans
    }
}

/// Payment card numbers: 13–19 digits, optionally grouped by single spaces or hyphens, passing Luhn.
public struct CardNumberDetector: Detector {
    public let label = "CREDIT_CARD"
    public let priority = 50
    public init() {}

    public func detect(_ t: [Unicode.Scalar]) -> [DetectedSpan] {
        var spans: [DetectedSpan] = []
        var i = 0
        while i < t.count {
            guard isDigit(t[i]), i == 0 || !isWordScalar(t[i - 1]) else {
                i += 1
                continue
            }
            var digits: [UInt8] = []
            var j = i
            var end = i
            while j < t.count {
                if isDigit(t[j]) {
                    digits.append(UInt8(t[j].value - 48))
                    j += 1
                    end = j
                } else if (t[j] == " " || t[j] == "-"), j + 1 < t.count, isDigit(t[j + 1]), !digits.isEmpty {
                    j += 1
                } else {
                    break
                }
                if digits.count > 19 { break }
            }
            let bounded = end >= t.count || !isWordScalar(t[end])
            if bounded, (13...19).contains(digits.count), Self.luhn(digits) {
                spans.append(DetectedSpan(start: i, end: end, label: label))
            }
            i = max(end, i + 1)
        }
        return spans
    }

    /// The Luhn (mod 10) check.
    public static func luhn(_ digits: [UInt8]) -> Bool {
        var sum = 0
        for (n, digit) in digits.reversed().enumerated() {
            var d = Int(digit)
            if n % 2 == 1 {
                d *= 2
                if d > 9 { d -= 9 }
            }
            sum += d
        }
        return sum % 10 == 0
    }
}

/// Phone numbers: 10–15 digits with separators (space, `-`, `.`, parentheses), or `+` and 8–15 digits.
public struct PhoneDetector: Detector {
    public let label = "PHONE"
    public let priority = 20
    public init() {}

    public func detect(_ t: [Unicode.Scalar]) -> [DetectedSpan] {
        var spans: [DetectedSpan] = []
        var i = 0
        while i < t.count {
            let starts = t[i] == "+" || t[i] == "(" || isDigit(t[i])
            guard starts, i == 0 || !isWordScalar(t[i - 1]) else {
                i += 1
                continue
            }
            let plus = t[i] == "+"
            var j = plus ? i + 1 : i
            var digits = 0
            var end = j
            var separatorsInRow = 0
            while j < t.count {
                let s = t[j]
                if isDigit(s) {
                    digits += 1
                    separatorsInRow = 0
                    j += 1
                    end = j
                } else if s == ")" {
                    separatorsInRow = 0
                    j += 1
                } else if (s == " " || s == "-" || s == "." || s == "(") && separatorsInRow < 2 {
                    separatorsInRow += 1
                    j += 1
                } else {
                    break
                }
                if digits > 15 { break }
            }
            let bounded = end >= t.count || !isWordScalar(t[end])
            let enough = plus ? (8...15).contains(digits) : (10...15).contains(digits)
            if bounded && enough {
                spans.append(DetectedSpan(start: i, end: end, label: label))
                i = end
            } else {
                i = max(i + 1, plus ? i + 1 : end)
            }
        }
        return spans
    }
}
