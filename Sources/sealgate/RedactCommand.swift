import ArgumentParser
import Audit
import Foundation
import Redaction
import SealgateConfig
import SealgateCore
import SealgateServer
import Synchronization

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

    @Option(help: "Threads to redact with (default: the processors available).") var threads: Int?

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
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
        var input = LineReader()
        let threads = max(1, min(self.threads ?? ProcessInfo.processInfo.activeProcessorCount, 64))
        // Lines are redacted in batches, each batch split over the threads; output keeps the input's order.
        var batch: [ArraySlice<UInt8>] = []
        var done = false
        while !done {
            batch.removeAll(keepingCapacity: true)
            var bytes = 0
            while bytes < (1 << 20) * threads, let line = input.next() {
                batch.append(line)
                bytes += line.count
            }
            done = batch.isEmpty
            let parts = Self.redact(batch, firstLine: lineNumber + 1, engine: engine, profile: profile, threads: threads)
            // Each part is up to a MiB of lines: written as it is, without another copy.
            for part in parts where !part.bytes.isEmpty {
                bad += part.bad
                try FileHandle.standardOutput.write(contentsOf: part.bytes)
            }
            lineNumber += batch.count
        }
        if bad > 0 { throw ExitCode(1) }
    }
}

extension RedactCommand {
    /// `lines` redacted, as JSON lines (each ending in a newline), in `threads` contiguous parts in order; `bad`
    /// counts the lines of each part that were not a JSON object with a string `text`.
    static func redact(
        _ lines: [ArraySlice<UInt8>], firstLine: Int, engine: RedactionEngine, profile: String, threads: Int
    ) -> [(bytes: [UInt8], bad: Int)] {
        guard !lines.isEmpty else { return [] }
        let parts = min(threads, lines.count)
        let results = Mutex([(bytes: [UInt8], bad: Int)](repeating: ([], 0), count: parts))
        DispatchQueue.concurrentPerform(iterations: parts) { part in
            let range = (lines.count * part / parts)..<(lines.count * (part + 1) / parts)
            // One writer per part; the redacted UTF-8 reuses its buffer from line to line.
            var json = JSONWriter(capacity: lines[range].reduce(0) { $0 + $1.count } + 64)
            var redacted: [UInt8] = []
            var bad = 0
            for index in range {
                guard let scalars = lines[index].withUnsafeBufferPointer({ JSONTextField.text(in: $0) }) else {
                    bad += 1
                    json.beginObject()
                    json.member("error", "line \(firstLine + index) is not a JSON object with a string text field")
                    json.endObject()
                    json.endLine()
                    continue
                }
                // One detection pass per line, with only the detectors the profile needs.
                redacted.removeAll(keepingCapacity: true)
                let spans = engine.redact(scalars, profile: profile, appendingUTF8To: &redacted)
                json.beginObject()
                json.key("spans")
                json.beginArray()
                for span in spans {
                    json.beginObject()
                    json.member("end", span.end)
                    json.member("label", span.label)
                    json.member("start", span.start)
                    json.endObject()
                }
                json.endArray()
                json.key("text")
                redacted.withUnsafeBufferPointer { json.string(utf8: $0) }
                json.endObject()
                json.endLine()
            }
            results.withLock { $0[part] = (json.bytes, bad) }
        }
        return results.withLock { $0 }
    }
}

/// Standard input split into lines (`\n`, an optional `\r` before it dropped), read in 1 MiB blocks.
struct LineReader {
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false

    /// The next line, or `nil` at the end of input (a last line without a newline counts).
    mutating func next() -> ArraySlice<UInt8>? {
        while true {
            let found = buffer.withUnsafeBufferPointer { all -> Int? in
                guard start < all.count, let base = all.baseAddress,
                    let hit = memchr(base + start, Int32(UInt8(ascii: "\n")), all.count - start)
                else { return nil }
                return UnsafePointer(hit.assumingMemoryBound(to: UInt8.self)) - base
            }
            if let newline = found {
                var end = newline
                if end > start, buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                defer { start = newline + 1 }
                return buffer[start..<end]
            }
            if atEnd {
                guard start < buffer.count else { return nil }
                defer { start = buffer.count }
                return buffer[start...]
            }
            // The lines handed out share the old buffer: the unread rest moves to a new one (removing the read part
            // in place made copy-on-write copy the whole buffer first).
            let block = FileHandle.standardInput.readData(ofLength: 1 << 20)
            var next: [UInt8] = []
            next.reserveCapacity(buffer.count - start + block.count)
            next.append(contentsOf: buffer[start...])
            if block.isEmpty { atEnd = true } else { next.append(contentsOf: block) }
            buffer = next
            start = 0
        }
    }
}
