import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A blocking TCP connection to 127.0.0.1 for requests no HTTP client would send: partial heads and bodies,
/// malformed framing, connections left idle. Reads and writes time out after `timeout` seconds.
final class RawHTTPConnection {
    let fd: Int32
    private var buffered: [UInt8] = []

    struct Failure: Error, CustomStringConvertible { let description: String }

    /// A parsed answer.
    struct Answer {
        var status: Int
        var headers: [String: String]
        var body: String
        var object: [String: Any] { ((try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any]) ?? [:] }
    }

    init(port: Int, timeout: Double = 10, sendBuffer: Int32? = nil) throws {
        #if canImport(Glibc)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #else
        fd = socket(AF_INET, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw Failure(description: "socket() failed") }
        if var size = sendBuffer { setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size)) }
        setTimeout(timeout)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw Failure(description: "connect() failed: errno \(errno)")
        }
    }

    deinit { close(fd) }

    func setTimeout(_ seconds: Double) {
        var tv = timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends all of `bytes`; `false` when the connection refused them (reset, closed, or the send timed out).
    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { rawSend(fd, $0) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    @discardableResult
    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    enum ReadResult: Equatable { case data, eof, reset, timeout }

    /// Reads what is available into the buffer.
    func readSome() -> ReadResult {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n > 0 {
            buffered += chunk[0..<n]
            return .data
        }
        if n == 0 { return .eof }
        return errno == EAGAIN || errno == EWOULDBLOCK ? .timeout : .reset
    }

    /// Reads one answer (head and a `Content-Length` body).
    func readAnswer() throws -> Answer {
        let separator: [UInt8] = [13, 10, 13, 10]
        func headEnd() -> Int? {
            guard buffered.count >= 4 else { return nil }
            return (0...(buffered.count - 4)).first { Array(buffered[$0..<$0 + 4]) == separator }
        }
        while headEnd() == nil {
            let result = readSome()
            guard result == .data else { throw Failure(description: "no answer head: \(result)") }
        }
        guard let end = headEnd() else { throw Failure(description: "unreachable") }
        let lines = String(decoding: buffered[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure(description: "bad status line \(lines[0])") }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while buffered.count < end + 4 + length {
            let result = readSome()
            guard result == .data else { throw Failure(description: "answer body cut short: \(result)") }
        }
        let body = String(decoding: buffered[(end + 4)..<(end + 4 + length)], as: UTF8.self)
        buffered.removeFirst(end + 4 + length)
        return Answer(status: status, headers: headers, body: body)
    }

    /// Whether the server closed (EOF or reset) within `seconds`, reading and discarding anything else.
    func closedByServer(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        setTimeout(0.25)
        while Date() < deadline {
            switch readSome() {
            case .eof, .reset: return true
            case .data, .timeout: continue
            }
        }
        return false
    }

    /// Whether the server's socket is gone within `seconds`: keeps sending `chunk`-sized pieces of body (at most
    /// `limit` bytes) until a send fails with a reset or broken pipe. A server that merely stopped reading, or
    /// only shut its output down, accepts them (or lets the send time out) and never resets.
    func refusesFurtherBytes(within seconds: Double, chunk: Int = 16 * 1024, limit: Int) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        setTimeout(0.25)
        let piece = [UInt8](repeating: 0x61, count: chunk)
        var sent = 0
        while Date() < deadline, sent + chunk <= limit {
            let n = piece.withUnsafeBytes { rawSend(fd, $0) }
            if n < 0, errno == EPIPE || errno == ECONNRESET { return true }
            if n > 0 { sent += n }
            usleep(20_000)
        }
        return false
    }
}

/// `send(2)` without SIGPIPE.
private func rawSend(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int {
    #if canImport(Glibc)
    Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
    #else
    Darwin.send(fd, bytes.baseAddress, bytes.count, 0)
    #endif
}
