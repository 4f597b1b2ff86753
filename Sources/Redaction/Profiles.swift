/// What a profile does with a span of one label.
public enum RedactionAction: Sendable, Equatable {
    /// Replace by `[LABEL]`.
    case mask
    /// Replace every scalar but the last `keepLast` letters/digits by `*`, keeping separators' positions
    /// (`************1111` for a contiguous card number). Spans of `keepLast * 3` scalars or fewer are fully starred
    /// so that short values are not mostly revealed.
    case partialMask(keepLast: Int)
    /// Replace by `[LABEL:xxxxxxxx]`, the first 4 bytes (8 hex digits) of the engine's `RedactionTokenizer` digest of
    /// `LABEL`, a zero byte and the span's UTF-8: the same value gives the same token, for correlation across
    /// documents without revealing it. Without a tokenizer the engine falls back to `mask` (fail closed).
    case hashToken
    /// Remove the span.
    case drop
}

/// A keyed digest for `RedactionAction.hashToken`, injected so that this module stays dependency-free.
/// The gateway supplies HMAC-SHA256 with a per-tenant key; the digest must be at least 4 bytes.
public protocol RedactionTokenizer: Sendable {
    /// The keyed digest of `bytes`.
    func digest(_ bytes: [UInt8]) -> [UInt8]
}

/// A `RedactionTokenizer` from a closure, e.g. `ClosureTokenizer { Array(HMAC<SHA256>.authenticationCode(for: $0, using: key)) }`.
public struct ClosureTokenizer: RedactionTokenizer {
    let function: @Sendable ([UInt8]) -> [UInt8]

    /// Wraps `function`, which computes the keyed digest.
    public init(_ function: @escaping @Sendable ([UInt8]) -> [UInt8]) { self.function = function }

    public func digest(_ bytes: [UInt8]) -> [UInt8] { function(bytes) }
}

/// A named profile: which labels to redact and how. Labels the profile does not name are left alone.
public struct RedactionProfile: Sendable, Equatable {
    /// The profile's name (`none`, `basic`, `all`, or tenant-defined).
    public let name: String
    /// The action per label.
    public let actions: [String: RedactionAction]

    /// The labels this profile redacts.
    public var labels: Set<String> { Set(actions.keys) }

    /// A profile that masks each of `labels` as `[LABEL]`.
    public init(name: String, labels: Set<String>) {
        self.name = name
        var actions: [String: RedactionAction] = [:]
        for label in labels { actions[label] = .mask }
        self.actions = actions
    }

    /// A profile with an action per label.
    public init(name: String, actions: [String: RedactionAction]) {
        self.name = name
        self.actions = actions
    }
}

extension RedactionEngine {
    /// Writes the replacement of `value` (a span of `label`) under `action` into `out`.
    func appendReplacement(
        _ value: ArraySlice<Unicode.Scalar>, label: String, action: RedactionAction, to out: inout [UInt8]
    ) {
        switch action {
        case .drop:
            return
        case .partialMask(let keepLast):
            var significant = 0
            for s in value where isWordScalar(s) { significant += 1 }
            let keep = significant > keepLast * 3 ? max(0, keepLast) : 0
            var seen = 0
            for s in value {
                if isWordScalar(s) {
                    seen += 1
                    appendScalar(seen > significant - keep ? s : "*", to: &out)
                } else {
                    appendScalar(isSpace(s) ? s : (keep > 0 ? s : "*"), to: &out)
                }
            }
        case .hashToken:
            guard let tokenizer else {
                out.append(contentsOf: "[\(label)]".utf8)
                return
            }
            var bytes = Array(label.utf8)
            bytes.append(0)
            var scalars = String.UnicodeScalarView()
            scalars.append(contentsOf: value)
            bytes.append(contentsOf: String(scalars).utf8)
            let digest = tokenizer.digest(bytes)
            let hex = Array("0123456789abcdef".utf8)
            out.append(contentsOf: "[\(label):".utf8)
            for byte in digest.prefix(4) {
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 15)])
            }
            out.append(UInt8(ascii: "]"))
        case .mask:
            out.append(UInt8(ascii: "["))
            out.append(contentsOf: label.utf8)
            out.append(UInt8(ascii: "]"))
        }
    }
}

/// Appends the UTF-8 encoding of `s`.
@inline(__always) func appendScalar(_ s: Unicode.Scalar, to out: inout [UInt8]) {
    let v = s.value
    if v < 0x80 {
        out.append(UInt8(v))
    } else if v < 0x800 {
        out.append(UInt8(0xC0 | (v >> 6)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    } else if v < 0x10000 {
        out.append(UInt8(0xE0 | (v >> 12)))
        out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    } else {
        out.append(UInt8(0xF0 | (v >> 18)))
        out.append(UInt8(0x80 | ((v >> 12) & 0x3F)))
        out.append(UInt8(0x80 | ((v >> 6) & 0x3F)))
        out.append(UInt8(0x80 | (v & 0x3F)))
    }
}

/// Appends the UTF-8 encoding of `scalars`: sizes first, then writes without per-byte append checks.
@inline(__always) func appendUTF8(_ scalars: ArraySlice<Unicode.Scalar>, to out: inout [UInt8]) {
    var needed = 0
    for s in scalars {
        let v = s.value
        needed += v < 0x80 ? 1 : (v < 0x800 ? 2 : (v < 0x10000 ? 3 : 4))
    }
    guard needed > 0 else { return }
    var at = out.count
    out.append(contentsOf: repeatElement(0, count: needed))
    out.withUnsafeMutableBufferPointer { b in
        for s in scalars {
            let v = s.value
            if v < 0x80 {
                b[at] = UInt8(v)
                at &+= 1
            } else if v < 0x800 {
                b[at] = UInt8(0xC0 | (v >> 6))
                b[at + 1] = UInt8(0x80 | (v & 0x3F))
                at &+= 2
            } else if v < 0x10000 {
                b[at] = UInt8(0xE0 | (v >> 12))
                b[at + 1] = UInt8(0x80 | ((v >> 6) & 0x3F))
                b[at + 2] = UInt8(0x80 | (v & 0x3F))
                at &+= 3
            } else {
                b[at] = UInt8(0xF0 | (v >> 18))
                b[at + 1] = UInt8(0x80 | ((v >> 12) & 0x3F))
                b[at + 2] = UInt8(0x80 | ((v >> 6) & 0x3F))
                b[at + 3] = UInt8(0x80 | (v & 0x3F))
                at &+= 4
            }
        }
    }
}
