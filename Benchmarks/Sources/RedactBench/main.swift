// Throughput of the redaction engine, in UTF-8 megabytes (10^6 bytes) per CPU second of this process.
// Usage: RedactBench FILE.jsonl [SECONDS] [PROFILE]
// Reads the "text" field of each JSON line and measures, each for SECONDS (default 3):
//   whole     the texts joined with newlines, redacted as one text (`RedactionEngine.redact`);
//   per-text  each text redacted on its own (what `sealgate redact` does per line, and the gateway per answer);
//   scalars   each text's scalars redacted to UTF-8 bytes (`redact(_:profile:appendingUTF8To:)`: what `sealgate redact`
//             calls per line, without a String on either side);
//   stream    the joined text fed in 16-scalar deltas (the gateway's streamed answers), checked against `whole`;
// then each detector alone. Lines start with a keyword so scripts can parse them (Benchmarks/redact.sh).
// REDACTBENCH_ONLY=whole|per-text|scalars|stream runs just that part (for `perf record`).
// Pin to one core: `taskset -c 0 RedactBench …`.
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
let textBytes = texts.reduce(0) { $0 + $1.utf8.count }
let engine = RedactionEngine()

/// CPU seconds of this process so far.
func cpuSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// Runs `body` (one pass over `size` bytes) until `seconds` of CPU have passed; megabytes per CPU second.
func rate(size: Int, _ body: () -> Int) -> (mbps: Double, passes: Int, sink: Int) {
    let start = cpuSeconds()
    var passes = 0
    var sink = 0
    repeat {
        sink &+= body()
        passes += 1
    } while cpuSeconds() - start < seconds
    return (Double(size) * Double(passes) / (cpuSeconds() - start) / 1e6, passes, sink)
}

// Warm up, and report what one pass finds.
let first = engine.redact(corpus, profile: profile)
print("texts \(texts.count) bytes \(bytes) spans \(first.counts.values.reduce(0, +)) profile \(profile)")

let only = ProcessInfo.processInfo.environment["REDACTBENCH_ONLY"]
func runs(_ part: String) -> Bool { only == nil || only == part }

if runs("whole") {
    let whole = rate(size: bytes) { engine.redact(corpus, profile: profile).text.utf8.count }
    print(String(format: "whole %.1f MB/s (%d passes, sink %d)", whole.mbps, whole.passes, whole.sink))
}
if runs("per-text") {
    let perText = rate(size: textBytes) { texts.reduce(0) { $0 &+ engine.redact($1, profile: profile).text.utf8.count } }
    print(String(format: "per-text %.1f MB/s (%d passes, sink %d)", perText.mbps, perText.passes, perText.sink))
}
if runs("scalars") {
    let textScalars = texts.map { Array($0.unicodeScalars) }
    var out: [UInt8] = []
    let viaScalars = rate(size: textBytes) {
        textScalars.reduce(0) { sum, scalars in
            out.removeAll(keepingCapacity: true)
            let spans = engine.redact(scalars, profile: profile, appendingUTF8To: &out)
            return sum &+ out.count &+ spans.count
        }
    }
    print(String(format: "scalars %.1f MB/s (%d passes, sink %d)", viaScalars.mbps, viaScalars.passes, viaScalars.sink))
}
// Streaming: the corpus in 16-scalar deltas (LLM-sized), checked against the whole-text result.
let scalars = Array(corpus.unicodeScalars)
let deltas: [String] = stride(from: 0, to: scalars.count, by: 16).map { offset in
    var piece = String.UnicodeScalarView()
    piece.append(contentsOf: scalars[offset..<min(scalars.count, offset + 16)])
    return String(piece)
}
var streamedEqual = true
if runs("stream") {
    let stream = rate(size: bytes) {
        var session = engine.streaming(profile: profile)
        var streamed = ""
        for delta in deltas { streamed += session.feed(delta) }
        streamed += session.finish()
        if streamed != first.text { streamedEqual = false }
        return streamed.utf8.count
    }
    print(String(format: "stream %.2f MB/s (16-scalar deltas, %d passes, equal to whole: %@)", stream.mbps, stream.passes, streamedEqual ? "yes" : "NO"))
}
guard only == nil else { exit(0) }

// Per-detector cost, to see where time goes.
for detector in RedactionEngine.builtInDetectors {
    let t0 = cpuSeconds()
    var found = 0
    for _ in 0..<5 { found &+= detector.detect(scalars).count }
    print(String(format: "detector %-12@ %8.1f MB/s", detector.label, Double(bytes) * 5 / (cpuSeconds() - t0) / 1e6))
}
let t0 = cpuSeconds()
var sink = 0
for _ in 0..<5 { sink &+= Array(corpus.unicodeScalars).count }
print(String(format: "detector %-12@ %8.1f MB/s", "toScalars", Double(bytes) * 5 / (cpuSeconds() - t0) / 1e6))
