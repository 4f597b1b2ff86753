/// The audit module's error.
public struct AuditError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A request for a size, index or tile the log does not have.
        public static let badRequest = Code("bad_request")
        /// The log cannot be written or made durable (disk full, I/O error).
        public static let unavailable = Code("audit_unavailable")
        /// The stored log is inconsistent with its own signed checkpoints: tampering or lost records.
        public static let corrupt = Code("audit_corrupt")
        /// A signed note does not verify.
        public static let badSignature = Code("bad_signature")
    }

    public let code: Code
    /// An operator-facing message, never record content.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
