import ArgumentParser
import Foundation
import Redaction
import SealgateConfig
import SealgateCore
import SealgateServer

struct RedactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redact",
        abstract: "Redact JSON lines {\"text\": ...} from stdin; write {\"text\", \"spans\": [{start, end, label}]} per line.",
        discussion: """
            Offsets are Unicode scalar values of the input text (as Python counts code points), so the output can be \
            scored against a labelled corpus with scripts/redaction_eval.py. A line that is not a JSON object with a \
            string "text" gets {"error": ...} in its place, and the command exits 1 at the end.
            """)

    @Option(help: "Redaction profile: none, basic, all, or one defined in --config.") var profile = "all"
    @Option(help: "A sealgate.yaml whose redaction profiles and tenant detectors to use.") var config: String?
    @Option(help: "With --config: the tenant whose dictionaries and patterns apply.") var tenant: String?

    func validate() throws {
        if tenant != nil && config == nil { throw ValidationError("--tenant needs --config") }
    }

    func run() async throws {
        var engine = RedactionEngine()
        if let config {
            let parsed = try ConfigLoader.load(path: config, knownRedactionProfiles: Sealgate.redactionProfiles)
            let tenantID = try tenant.map {
                guard let id = TenantID($0), parsed.tenant(id) != nil else { throw ValidationError("unknown tenant \($0)") }
                return id
            }
            engine = try Sealgate.redactionEngine(parsed, tenant: tenantID)
            let hashed = parsed.redaction.profiles.first { $0.name == profile }?.actions.filter { $0.value == "hash_token" }.keys.sorted() ?? []
            if !hashed.isEmpty {
                // The gateway keys hash tokens per tenant with a broker-released secret; this tool has none.
                FileHandle.standardError.write(Data(
                    "note: profile \(profile) hashes \(hashed.joined(separator: ", ")) with hash_token; without the tenant's token key (held by the gateway) they are masked here instead\n".utf8))
            }
        }
        guard engine.hasProfile(profile) else { throw ValidationError("unknown profile '\(profile)'") }
        var bad = 0
        var lineNumber = 0
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        struct Span: Encodable {
            let start: Int
            let end: Int
            let label: String
        }
        struct Output: Encodable {
            let text: String
            let spans: [Span]
        }
        while let line = readLine(strippingNewline: true) {
            lineNumber += 1
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let text = object["text"] as? String
            else {
                bad += 1
                print("{\"error\":\"line \(lineNumber) is not a JSON object with a string text field\"}")
                continue
            }
            // One detection pass per line, with only the detectors the profile needs.
            let (redacted, spans) = engine.redactWithSpans(text, profile: profile)
            let output = Output(text: redacted.text, spans: spans.map { Span(start: $0.start, end: $0.end, label: $0.label) })
            print(String(decoding: try encoder.encode(output), as: UTF8.self))
        }
        if bad > 0 { throw ExitCode(1) }
    }
}
