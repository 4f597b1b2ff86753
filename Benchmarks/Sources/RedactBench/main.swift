// Throughput of `RedactionEngine.redact(_:profile:)`.
// Usage: RedactBench FILE.jsonl [SECONDS] [PROFILE]
// Reads the "text" field of each JSON line, joins the texts with newlines, redacts the whole text repeatedly for
// SECONDS (default 3) and prints UTF-8 megabytes (10^6 bytes) per second. Pin to one core: `taskset -c 0 RedactBench …`.
import Foundation
import Redaction

let args = CommandLine.arguments
guard args.count >= 2, let data = FileManager.default.contents(atPath: args[1]) else {
    FileHandle.standardError.write(Data("usage: RedactBench FILE.jsonl [SECONDS] [PROFILE]\n".utf8))
    exit(2)
}
let seconds = args.count >= 3 ? Double(args[2]) ?? 3 : 3
let profile = args.count >= 4 ? args[3] : "all"
var texts: [String] = []
for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
    if let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any], let text = object["text"] as? String {
        texts.append(text)
    }
}
let corpus = texts.joined(separator: "\n")
let bytes = corpus.utf8.count
let engine = RedactionEngine()

// Warm up, and report what one pass finds.
let first = engine.redact(corpus, profile: profile)
print("texts: \(texts.count), bytes: \(bytes), spans: \(first.counts.values.reduce(0, +))")

let clock = ContinuousClock()
let start = clock.now
var iterations = 0
var sink = 0
while clock.now - start < .seconds(seconds) {
    sink &+= engine.redact(corpus, profile: profile).text.utf8.count
    iterations += 1
}
let elapsed = clock.now - start
let secs = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let mbps = Double(bytes) * Double(iterations) / secs / 1e6
print(String(format: "profile %@: %d iterations in %.2f s, %.1f MB/s (sink %d)", profile, iterations, secs, mbps, sink))

// Per-detector cost, to see where time goes.
let scalars = Array(corpus.unicodeScalars)
for detector in RedactionEngine.builtInDetectors {
    let t0 = clock.now
    var found = 0
    for _ in 0..<5 { found &+= detector.detect(scalars).count }
    let d = clock.now - t0
    let s = (Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18) / 5
    print(String(format: "  %-12@ %8.1f MB/s", detector.label, Double(bytes) / s / 1e6))
}
let t0 = clock.now
for _ in 0..<5 { sink &+= Array(corpus.unicodeScalars).count }
let d0 = clock.now - t0
print(String(format: "  %-12@ %8.1f MB/s", "toScalars", Double(bytes) / ((Double(d0.components.seconds) + Double(d0.components.attoseconds) / 1e18) / 5) / 1e6))

// Streaming: the corpus in 16-scalar deltas (LLM-sized), checked against the whole-text result.
var session = engine.streaming(profile: profile)
let streamStart = clock.now
var streamed = ""
var offset = 0
while offset < scalars.count {
    var piece = String.UnicodeScalarView()
    piece.append(contentsOf: scalars[offset..<min(scalars.count, offset + 16)])
    streamed += session.feed(String(piece))
    offset += 16
}
streamed += session.finish()
let ds = clock.now - streamStart
let streamSecs = Double(ds.components.seconds) + Double(ds.components.attoseconds) / 1e18
print(String(format: "streaming (16-scalar deltas): %.1f MB/s, equal to whole-text: %@", Double(bytes) / streamSecs / 1e6,
    streamed == first.text ? "yes" : "NO"))
