/// The witness module's error.
public struct WitnessError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(_ rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The per-log state cannot be read or made durable.
        public static let stateUnavailable = Code("state_unavailable")
        /// A configured log key or witness setting is malformed.
        public static let badConfiguration = Code("bad_configuration")
    }

    public let code: Code
    /// An operator-facing message.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
