import CLibFuzzer
import Foundation

/// The glue between a harness and libFuzzer.
///
/// A harness's `main` calls ``run(_:seeds:body:)``: with `SEALGATE_FUZZ_WRITE_SEEDS=DIR` in the environment it
/// writes its generated seeds (built from the shared vectors: evidence bundles, signed mock evidence, JWEs to the
/// harness's fixed keys) into DIR and exits; otherwise it hands `body` to libFuzzer's driver, which takes libFuzzer's
/// usual flags and corpus directories from the command line.
///
/// A harness asserts only two things: nothing crashes or hangs (libFuzzer's `-timeout` catches hangs), and every
/// rejection is a typed value (``typed(_:_:_:)``, ``rejection(_:reasons:)``).
public enum Fuzz {
    nonisolated(unsafe) private static var body: (Data) -> Void = { _ in }
    nonisolated(unsafe) private static var reported: Set<String> = []

    /// What an untyped rejection does: `abort` (the default; libFuzzer records the input as a crash) or `log`
    /// (print it once per call site and error type, and go on; for a long run past a known finding).
    public static let untypedMode = ProcessInfo.processInfo.environment["SEALGATE_FUZZ_UNTYPED"] ?? "abort"

    /// Runs the harness. Never returns.
    public static func run(_ name: String, seeds: () -> [String: Data] = { [:] }, body: @escaping (Data) -> Void)
        -> Never
    {
        if let directory = ProcessInfo.processInfo.environment["SEALGATE_FUZZ_WRITE_SEEDS"] {
            let generated = seeds()
            let url = URL(fileURLWithPath: directory, isDirectory: true)
            do {
                try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
                for (file, data) in generated { try data.write(to: url.appendingPathComponent(file)) }
            } catch {
                log("\(name): cannot write seeds to \(directory): \(error)")
                exit(1)
            }
            log("\(name): wrote \(generated.count) generated seeds to \(directory)")
            exit(0)
        }
        Fuzz.body = body
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            let input = size == 0 || data == nil ? Data() : Data(bytes: data!, count: size)
            Fuzz.body(input)
            return 0
        }
        exit(status)
    }

    /// Runs `body`; a thrown error must satisfy `isTyped`, else it is an untyped rejection (see ``untypedMode``).
    @discardableResult
    public static func typed<T>(_ site: String, _ isTyped: (any Error) -> Bool, _ body: () throws -> T) -> T? {
        do {
            return try body()
        } catch {
            if !isTyped(error) { untyped(site, "\(type(of: error)): \(error)") }
            return nil
        }
    }

    /// A verifier's rejection must carry at least one failure, each with a snake_case reason code.
    public static func rejection(_ site: String, reasons: [String]) {
        guard !reasons.isEmpty else { return untyped(site, "a rejection without any failure") }
        for reason in reasons where reason.isEmpty || !reason.utf8.allSatisfy({ (97...122).contains($0) || $0 == 95 }) {
            untyped(site, "reason code '\(reason)' is not snake_case")
        }
    }

    /// Reports an untyped rejection: a crash in `abort` mode, a log line (once per site and kind) in `log` mode.
    public static func untyped(_ site: String, _ what: String) {
        let message = "untyped rejection at \(site): \(what)"
        if untypedMode == "log" {
            // Once per call site and error type (what precedes the first ':'), at most 300 characters.
            let key = site + "|" + what.prefix { $0 != ":" }
            if reported.insert(key).inserted { log("SEALGATE-FUZZ: " + message.prefix(300)) }
            return
        }
        fatalError(message)
    }

    /// One line on standard error.
    public static func log(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
