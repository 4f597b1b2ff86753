/// The error thrown by Sealgate's core and adapters for malformed input or failed dependencies.
///
/// Compared on ``code``; ``message`` is for operators and never contains plaintext.
public struct SealgateError: Error, Sendable, CustomStringConvertible {
    /// The error's code.
    public let code: ReasonCode
    /// An operator-facing message without content.
    public let message: String

    /// Creates an error.
    public init(_ code: ReasonCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
