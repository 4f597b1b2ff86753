/// A detected span of sensitive text, in Unicode scalar offsets of the input.
///
/// Callers hand the engine Swift `String`s, which are always valid Unicode: bytes that are not valid UTF-8 must be
/// decoded lossily (`String(decoding: bytes, as: UTF8.self)`, which substitutes U+FFFD) before redaction.
public struct DetectedSpan: Sendable, Equatable {
    /// First scalar of the span.
    public let start: Int
    /// One past the last scalar of the span.
    public let end: Int
    /// What was found (`EMAIL`, `SECRET`, ...).
    public let label: String

    /// A span of `label` over scalars `start..<end`.
    public init(start: Int, end: Int, label: String) {
        self.start = start
        self.end = end
        self.label = label
    }
}

/// Finds one kind of entity in text. Implementations scan in linear time (bounded work per input scalar).
public protocol Detector: Sendable {
    /// The label of what it finds (`EMAIL`, ...).
    var label: String { get }
    /// Higher wins when spans of two detectors overlap.
    var priority: Int { get }
    /// The spans it finds.
    func detect(_ text: [Unicode.Scalar]) -> [DetectedSpan]
    /// For streaming: the start of a match still in progress at the end of `text` that may grow longer than the
    /// engine's holdback (a PEM block before its END line), or `nil`. The stream holds text from there on, up to
    /// the detector's own hard cap. The default is `nil`: every match fits in the holdback.
    func unfinishedMatchStart(in text: [Unicode.Scalar]) -> Int?
    /// For streaming: a line of `text` that the text from `position` on still needs as context, however far behind
    /// it falls (the header line of a delimited table with rows at or after `position`, or still open at the end),
    /// or `nil`. The stream keeps a copy of it (up to `StreamRedactor.retainedCap` scalars) in front of its window.
    /// The default is `nil`.
    func retainedContext(in text: [Unicode.Scalar], from position: Int) -> Range<Int>?
}

extension Detector {
    /// No match of this detector outgrows the holdback.
    public func unfinishedMatchStart(in text: [Unicode.Scalar]) -> Int? { nil }
    /// No context beyond the stream's window.
    public func retainedContext(in text: [Unicode.Scalar], from position: Int) -> Range<Int>? { nil }
}

// MARK: - Scalar classes (ASCII fast paths; no String indexing in hot loops)

@inline(__always) func isDigit(_ s: Unicode.Scalar) -> Bool { s.value &- 48 < 10 }
@inline(__always) func isUpper(_ s: Unicode.Scalar) -> Bool { s.value &- 65 < 26 }
@inline(__always) func isLower(_ s: Unicode.Scalar) -> Bool { s.value &- 97 < 26 }
@inline(__always) func isASCIIAlpha(_ s: Unicode.Scalar) -> Bool { (s.value | 0x20) &- 97 < 26 }
@inline(__always) func isASCIIAlnum(_ s: Unicode.Scalar) -> Bool { isDigit(s) || isASCIIAlpha(s) }
@inline(__always) func isHex(_ s: Unicode.Scalar) -> Bool { isDigit(s) || (s.value | 0x20) &- 97 < 6 }
@inline(__always) func isWordScalar(_ s: Unicode.Scalar) -> Bool {
    s.value < 128 ? isASCIIAlnum(s) : s.properties.isAlphabetic
}
@inline(__always) func isSpace(_ s: Unicode.Scalar) -> Bool {
    s == " " || s == "\t" || s == "\n" || s == "\r" || s.value == 0xA0
}
/// A hyphen: `-`, or a Unicode hyphen or dash (U+2010–U+2015, minus sign U+2212), as word processors write them.
@inline(__always) func isDash(_ s: Unicode.Scalar) -> Bool { s == "-" || s.value &- 0x2010 < 6 || s.value == 0x2212 }
@inline(__always) func lowerASCII(_ s: Unicode.Scalar) -> UInt32 { isUpper(s) ? s.value | 0x20 : s.value }
@inline(__always) func digitValue(_ s: Unicode.Scalar) -> Int { Int(s.value) - 48 }

/// Whether `t[i...]` starts with `word` (ASCII), optionally ignoring case.
@inline(__always)
func hasPrefix(_ t: [Unicode.Scalar], at i: Int, _ word: [UInt8], ignoringCase: Bool = false) -> Bool {
    guard i >= 0, i + word.count <= t.count else { return false }
    for k in 0..<word.count {
        let c = ignoringCase ? lowerASCII(t[i + k]) : t[i + k].value
        if c != UInt32(word[k]) { return false }
    }
    return true
}

/// Whether `t[i...]` starts with the ASCII literal `word`, optionally ignoring case (no allocation).
@inline(__always)
func hasPrefix(_ t: [Unicode.Scalar], at i: Int, _ word: StaticString, ignoringCase: Bool = false) -> Bool {
    let count = word.utf8CodeUnitCount
    guard i >= 0, i + count <= t.count else { return false }
    let p = word.utf8Start
    for k in 0..<count {
        let c = ignoringCase ? lowerASCII(t[i + k]) : t[i + k].value
        if c != UInt32(p[k]) { return false }
    }
    return true
}

/// Whether the scalar before `i` (if any) is not a letter or digit.
@inline(__always) func leftBoundary(_ t: [Unicode.Scalar], _ i: Int) -> Bool { i == 0 || !isWordScalar(t[i - 1]) }
/// Whether the scalar at `i` (if any) is not a letter or digit.
@inline(__always) func rightBoundary(_ t: [Unicode.Scalar], _ i: Int) -> Bool { i >= t.count || !isWordScalar(t[i]) }

/// The number of decimal digits in `t[i...]`, at most `limit`.
@inline(__always) func digitRun(_ t: [Unicode.Scalar], _ i: Int, limit: Int = 32) -> Int {
    var j = i
    while j < t.count, j - i < limit, isDigit(t[j]) { j += 1 }
    return j - i
}

/// The integer value of `t[i..<i+n]`, which must be digits.
@inline(__always) func number(_ t: [Unicode.Scalar], _ i: Int, _ n: Int) -> Int {
    var v = 0
    for k in i..<(i + n) { v = v * 10 + digitValue(t[k]) }
    return v
}

/// ASCII bytes of a literal, for `hasPrefix`.
@inline(__always) func ascii(_ s: StaticString) -> [UInt8] {
    Array(UnsafeBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
}

/// A set of 64-bit hashes with open addressing: cheap lookups for dictionary words (no String hashing).
struct HashSet64: Sendable {
    private var slots: [UInt64]
    private let mask: Int

    init(_ keys: some Sequence<UInt64>) {
        let keys = Array(keys)
        var size = 16
        while size < keys.count * 4 { size *= 2 }
        mask = size - 1
        slots = [UInt64](repeating: 0, count: size)
        for key in keys where key != 0 {
            var i = Int(truncatingIfNeeded: key ^ (key >> 29)) & mask
            while slots[i] != 0, slots[i] != key { i = (i + 1) & mask }
            slots[i] = key
        }
    }

    @inline(__always) func contains(_ key: UInt64) -> Bool {
        var i = Int(truncatingIfNeeded: key ^ (key >> 29)) & mask
        while true {
            let v = slots[i]
            if v == key { return key != 0 }
            if v == 0 { return false }
            i = (i + 1) & mask
        }
    }
}

/// The first index at or after `i` whose scalar value satisfies `hit`, or `t.count`.
@inline(__always) func skip(_ t: [Unicode.Scalar], _ i: Int, _ hit: (UInt32) -> Bool) -> Int {
    t.withUnsafeBufferPointer { b in
        var j = i
        let n = b.count
        while j < n, !hit(b[j].value) { j &+= 1 }
        return j
    }
}
