import Crypto
import Dispatch
import Foundation

/// A model directory compared with a signed manifest: names first (extra and missing files are refused before
/// anything is hashed), then every file hashed once, streaming, several at a time.
public enum ModelDirectory {
    /// Bytes read per call while hashing.
    static let chunkSize = 1 << 20

    /// Requires that `directory` holds exactly `resources`.
    /// - Throws: ``SigstoreError`` `model_extra_file`, `model_missing_file`, `model_file_changed` or `unreadable_input`.
    public static func check(
        _ directory: URL, against resources: [ModelSignatureVerifier.Resource], ignoring: [String], parallelism: Int
    ) throws {
        // Names compare as bytes, as the file system and the model-signing tool compare them: Swift's `String`
        // equality is Unicode canonical equivalence, under which an unsigned "\u{212A}ernel.bin" (Kelvin sign) would
        // pass for a signed "Kernel.bin", or an NFD name for its NFC twin.
        let present = try files(in: directory, ignoring: ignoring)
        let presentBytes = Set(present.map { Array($0.utf8) })
        let signed = Set(resources.map { Array($0.name.utf8) })
        if let extra = present.first(where: { !signed.contains(Array($0.utf8)) }) {
            throw SigstoreError(.modelExtraFile, "'\(extra)' is in the model directory but not in the signature")
        }
        if let missing = resources.map(\.name).first(where: { !presentBytes.contains(Array($0.utf8)) }) {
            throw SigstoreError(.modelMissingFile, "'\(missing)' is signed but missing from the model directory")
        }
        let digests = try hash(resources.map { directory.appendingPathComponent($0.name) }, parallelism: parallelism)
        for (resource, digest) in zip(resources, digests) where digest != resource.digest {
            throw SigstoreError(.modelFileChanged, "'\(resource.name)' differs from its signed digest")
        }
    }

    /// Regular files under `directory`, relative, '/'-separated, in byte order, without ignored paths (an ignored
    /// directory hides everything below it; a path is ignored only if its bytes equal an entry's). Symbolic links
    /// are refused, as the model-signing tool does by default.
    /// - Throws: ``SigstoreError`` `unreadable_input`.
    public static func files(in directory: URL, ignoring: [String]) throws -> [String] {
        let ignored = Set(ignoring.map { Array($0.utf8) })
        var out: [String] = []
        var pending = [""]
        let fm = FileManager.default
        while let relative = pending.popLast() {
            let url = relative.isEmpty ? directory : directory.appendingPathComponent(relative)
            guard let names = try? fm.contentsOfDirectory(atPath: url.path) else {
                throw SigstoreError(.unreadableInput, "cannot list '\(url.path)'")
            }
            for name in names {
                let path = relative.isEmpty ? name : "\(relative)/\(name)"
                if ignored.contains(Array(path.utf8)) { continue }
                let attributes = try? fm.attributesOfItem(atPath: url.appendingPathComponent(name).path)
                let type = attributes?[.type] as? FileAttributeType
                if type == .typeDirectory {
                    pending.append(path)
                } else if type == .typeRegular {
                    out.append(path)
                } else if type == .typeSymbolicLink {
                    throw SigstoreError(.unreadableInput, "'\(path)' is a symbolic link")
                } else {
                    throw SigstoreError(.unreadableInput, "'\(path)' is not a regular file")
                }
            }
        }
        return out.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    /// SHA-256 of each file, `parallelism` files at a time, each read once in ``chunkSize`` pieces.
    /// - Throws: ``SigstoreError`` `unreadable_input`.
    public static func hash(_ urls: [URL], parallelism: Int) throws -> [Data] {
        let results = ResultSlots(count: urls.count)
        let lanes = max(1, min(parallelism, urls.count))
        DispatchQueue.concurrentPerform(iterations: lanes) { lane in
            for index in stride(from: lane, to: urls.count, by: lanes) {
                results.set(index, sha256(of: urls[index]))
            }
        }
        return try results.values().enumerated().map { index, digest in
            guard let digest else { throw SigstoreError(.unreadableInput, "cannot read '\(urls[index].path)'") }
            return digest
        }
    }

    /// Streams one file through SHA-256; nil when it cannot be read.
    public static func sha256(of url: URL) -> Data? {
        guard let handle = try? FileHandle(forReadingFrom: url) else { return nil }
        defer { try? handle.close() }
        var hasher = SHA256()
        do {
            // nil or empty: end of file.
            while let chunk = try handle.read(upToCount: chunkSize), !chunk.isEmpty { hasher.update(data: chunk) }
        } catch { return nil }
        return Data(hasher.finalize())
    }
}

/// Results written by concurrent workers, one slot each.
private final class ResultSlots: @unchecked Sendable {
    private var slots: [Data?]
    private let lock = NSLock()

    init(count: Int) { slots = Array(repeating: nil, count: count) }

    func set(_ index: Int, _ value: Data?) {
        lock.lock()
        slots[index] = value
        lock.unlock()
    }

    func values() -> [Data?] {
        lock.lock()
        defer { lock.unlock() }
        return slots
    }
}
