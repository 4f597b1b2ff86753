import Foundation
import SealgateCore

/// The CloudEvents 1.0 JSON envelope of a ``SecurityEvent``: one JSON object per line.
public enum CloudEvent {
    /// Encodes an event as a structured-mode CloudEvent (`specversion`, `id`, `source`, `type`, `time`, `subject`,
    /// `datacontenttype`, `data`), sorted keys, no trailing newline.
    public static func encode(_ event: SecurityEvent, source: String, id: String = UUID().uuidString.lowercased()) -> Data {
        struct Envelope: Encodable {
            let specversion = "1.0"
            let id: String
            let source: String
            let type: String
            let time: String
            let subject: String?
            let datacontenttype = "application/json"
            let data: [String: String]
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let envelope = Envelope(
            id: id, source: source, type: event.type, time: AuditRecord.timestamp(event.time), subject: event.subject,
            data: event.data)
        return (try? encoder.encode(envelope)) ?? Data()
    }
}

/// Writes events as JSON lines to a file handle (stdout or an append-only file), in order, off the caller's thread.
///
/// `@unchecked Sendable`: the handle is used only on `queue`.
public final class LineEventSink: SecurityEventSink, @unchecked Sendable {
    let handle: FileHandle
    let source: String
    let queue = DispatchQueue(label: "sealgate.security-events")

    /// Events to standard output.
    public static func standardOutput(source: String) -> LineEventSink {
        LineEventSink(handle: FileHandle.standardOutput, source: source)
    }

    /// Events appended to a file (created with mode 0600).
    /// - Throws: ``SealgateError`` `internal_error` when the file cannot be opened.
    public static func file(path: String, source: String) throws -> LineEventSink {
        let fm = FileManager.default
        if !fm.fileExists(atPath: path) {
            guard fm.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw SealgateError(.internalError, "cannot create the security event file \(path)")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw SealgateError(.internalError, "cannot open the security event file \(path)")
        }
        handle.seekToEndOfFile()
        return LineEventSink(handle: handle, source: source)
    }

    init(handle: FileHandle, source: String) {
        self.handle = handle
        self.source = source
    }

    public func emit(_ event: SecurityEvent) {
        var encoded = CloudEvent.encode(event, source: source)
        encoded.append(0x0A)
        let line = encoded
        queue.async { [handle] in handle.write(line) }
    }

    /// Waits until every event emitted so far is written.
    public func flush() { queue.sync {} }
}

/// Sends every event to several sinks.
public struct FanOutEventSink: SecurityEventSink {
    let sinks: [any SecurityEventSink]
    public init(_ sinks: [any SecurityEventSink]) { self.sinks = sinks }
    public func emit(_ event: SecurityEvent) { for sink in sinks { sink.emit(event) } }
}
