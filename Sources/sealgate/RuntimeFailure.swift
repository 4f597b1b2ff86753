import ArgumentParser
import Foundation

/// A command that failed while running (a refused key, an unreachable server, a missing file): one line on
/// standard error that names the fix, exit status 1. Usage errors keep ArgumentParser's usage block and 64.
struct RuntimeFailure: Error, CustomStringConvertible {
    let description: String
    /// Whether the failure is a server that could not be reached (a loop over many requests stops at the first).
    let unreachable: Bool
    init(_ message: String, unreachable: Bool = false) {
        description = message
        self.unreachable = unreachable
    }

    /// Prints a failure thrown by a command's `run()` as one line and returns the status to exit with.
    /// `ExitCode` and `CleanExit` pass through; a `ValidationError` thrown while running is a runtime failure too.
    static func report(_ error: any Error) -> any Error {
        let message: String
        switch error {
        case is ExitCode, is CleanExit: return error
        case let failure as RuntimeFailure: message = failure.description
        case let validation as ValidationError: message = validation.message
        default: message = String(describing: error)
        }
        FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
        return ExitCode.failure
    }
}
