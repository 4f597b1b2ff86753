import Attestation
import AttestationSEVSNP
import Foundation
import SealgateCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Produces SEV-SNP or TDX evidence inside a confidential VM through the Linux configfs-tsm report interface
/// (`Documentation/ABI/testing/configfs-tsm-report`, Linux 6.7+).
///
/// Each call to ``evidence(reportData:now:)`` uses a fresh report entry, so concurrent callers never share one:
/// 1. `mkdir <root>/<unique name>`: the kernel creates the entry's attributes (`inblob`, `outblob`, `auxblob`,
///    `provider`, `generation`, ...);
/// 2. read `provider` (`sev_guest` → SNP, `tdx_guest` → TDX; it must match ``tee``) and `generation`;
/// 3. write the 64 bytes of report data to `inblob`;
/// 4. read `outblob` (the SNP report or the TDX quote) and, for SNP, `auxblob` (the GHCB certificate table with
///    the VCEK or VLEK, ASK and ARK, when the host provides it);
/// 5. re-read `generation`: more than our one write means another writer used the entry, and the call fails;
/// 6. `rmdir` the entry (on every path, best effort).
///
/// Evidence is packaged as each verifier expects it: SNP as an ``SNPEvidenceBundle`` (report, VCEK/VLEK, ASK+ARK
/// chain), TDX as the raw quote. When `auxblob` is absent or lacks certificates, the SNP certificates given at
/// creation are used (a guest fetches them from the host or AMD KDS); without either the call fails.
/// Errors are ``SealgateError``s with code `attestation_failed` naming the file; they never contain report data.
public struct ConfigfsTSMAttester: Attester {
    /// The kind of evidence produced.
    public let tee: TEEType
    /// The configfs-tsm report directory.
    public let root: String
    /// SNP certificates to use when `auxblob` does not carry them.
    public let certificates: SNPCertificates?
    let entries: EntryLifecycle

    /// The SEV-SNP VCEK (or VLEK) and its chain, PEM, as AMD KDS serves them.
    public struct SNPCertificates: Sendable, Equatable {
        /// The VCEK or VLEK certificate, PEM.
        public var vcekPEM: String
        /// The ASK (or ASVK) then the ARK, PEM.
        public var certChainPEM: String

        /// Creates the certificates.
        public init(vcekPEM: String, certChainPEM: String) {
            self.vcekPEM = vcekPEM
            self.certChainPEM = certChainPEM
        }
    }

    /// How report entries are created and removed.
    ///
    /// On configfs the kernel populates an entry's attribute files on `mkdir` and drops them on `rmdir`;
    /// ``configfs`` makes exactly those two calls. Everything else the attester does is ordinary file I/O on the
    /// attributes, so a test emulates the kernel on a plain directory by replacing only these two steps: `create`
    /// makes the entry with its attribute files (an empty `inblob`, a recorded `outblob`, `provider`,
    /// `generation`), `remove` deletes it with its files.
    public struct EntryLifecycle: Sendable {
        /// Creates the entry directory at the given path.
        public var create: @Sendable (_ path: String) throws -> Void
        /// Removes the entry directory at the given path.
        public var remove: @Sendable (_ path: String) throws -> Void

        /// Creates a lifecycle from its two steps.
        public init(create: @escaping @Sendable (_ path: String) throws -> Void, remove: @escaping @Sendable (_ path: String) throws -> Void) {
            self.create = create
            self.remove = remove
        }

        /// `mkdir` and `rmdir`, as configfs expects.
        public static let configfs = EntryLifecycle(
            create: { path in
                guard mkdir(path, 0o700) == 0 else { throw ConfigfsTSMAttester.failure("cannot create report entry \(path)", errno) }
            },
            remove: { path in
                guard rmdir(path) == 0 else { throw ConfigfsTSMAttester.failure("cannot remove report entry \(path)", errno) }
            })
    }

    /// The largest `outblob` read (the kernel's `TSM_REPORT_OUTBLOB_MAX` is 32 KiB).
    static let maxOutblob = 32 * 1024
    /// The largest `auxblob` read.
    static let maxAuxblob = 256 * 1024

    /// Creates an attester.
    /// - Parameters:
    ///   - root: the configfs-tsm report directory.
    ///   - tee: the evidence type; `nil` reads it from the `provider` of a probe entry (created and removed here).
    ///   - certificates: SNP VCEK/VLEK and chain for hosts whose `auxblob` does not carry them.
    ///   - entries: how entries are created and removed; tests replace ``EntryLifecycle/configfs``.
    /// - Throws: ``SealgateError`` (`attestation_failed`) when `tee` is `nil` and the provider cannot be read or is
    ///   neither `sev_guest` nor `tdx_guest`.
    public init(
        root: String = "/sys/kernel/config/tsm/report", tee: TEEType? = nil, certificates: SNPCertificates? = nil,
        entries: EntryLifecycle = .configfs
    ) throws {
        self.root = root
        self.certificates = certificates
        self.entries = entries
        if let tee {
            self.tee = tee
        } else {
            let probe = Self.entryPath(root: root)
            try entries.create(probe)
            defer { try? entries.remove(probe) }
            self.tee = try Self.provider(in: probe)
        }
    }

    /// Evidence binding `reportData` (exactly 64 bytes), from a fresh report entry.
    /// - Throws: ``SealgateError`` (`attestation_failed`) naming the file that failed, for a provider that does not
    ///   match ``tee``, a concurrent writer, or SNP evidence without certificates.
    public func evidence(reportData: Data, now: Date) throws -> Evidence {
        guard reportData.count == 64 else { throw Self.failure("report data must be 64 bytes, not \(reportData.count)") }
        let entry = Self.entryPath(root: root)
        try entries.create(entry)
        defer { try? entries.remove(entry) }
        let provider = try Self.provider(in: entry)
        guard provider == tee else { throw Self.failure("\(entry)/provider is \(provider), not \(tee)") }
        let before = try Self.generation(in: entry)
        try Self.writeAttribute(reportData, to: entry + "/inblob")
        guard let outblob = try Self.readAttribute(entry + "/outblob", max: Self.maxOutblob), !outblob.isEmpty else {
            throw Self.failure("\(entry)/outblob is missing or empty")
        }
        let auxblob = try tee == .snp ? Self.readAttribute(entry + "/auxblob", max: Self.maxAuxblob) : nil
        try Self.checkGeneration(before: before, after: try Self.generation(in: entry), entry: entry)
        guard tee == .snp else { return Evidence(tee: tee, bytes: outblob) }
        return Evidence(tee: .snp, bytes: try snpBundle(report: outblob, auxblob: auxblob, entry: entry))
    }

    /// Fails unless `generation` moved by at most our one write to `inblob`.
    ///
    /// The kernel counts every write to the entry's attributes. More than one write between our two reads means
    /// another writer changed `inblob` or an option, so `outblob` may not be ours. An unchanged counter is
    /// accepted: it cannot hide another writer, and a plain directory standing in for configfs counts nothing.
    static func checkGeneration(before: UInt64, after: UInt64, entry: String) throws {
        guard after >= before, after - before <= 1 else {
            throw failure("\(entry)/generation went from \(before) to \(after): another writer used the report entry")
        }
    }

    func snpBundle(report: Data, auxblob: Data?, entry: String) throws -> Data {
        let table = auxblob.map(SNPCertificateTable.init) ?? SNPCertificateTable(entries: [:])
        let vcek = table.pem(.vcek) ?? table.pem(.vlek) ?? certificates?.vcekPEM
        let chain = table.pem(.ask).flatMap { ask in table.pem(.ark).map { ask + $0 } } ?? certificates?.certChainPEM
        guard let vcek, let chain else {
            throw Self.failure("\(entry)/auxblob carries no VCEK/VLEK and ASK/ARK, and no SNP certificates were configured")
        }
        do {
            return try JSONEncoder().encode(SNPEvidenceBundle(report: report, vcekPEM: vcek, certChainPEM: chain))
        } catch {
            throw Self.failure("cannot encode the SNP evidence bundle")
        }
    }

    // MARK: Files

    static func failure(_ message: String, _ code: Int32? = nil) -> SealgateError {
        let cause = code.map { ": " + String(cString: strerror($0)) } ?? ""
        return SealgateError(.attestationFailed, "configfs-tsm: \(message)\(cause)")
    }

    static func entryPath(root: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let suffix = String(generator.next() as UInt64, radix: 16)
        return "\(root)/sealgate-\(getpid())-\(suffix)"
    }

    static func provider(in entry: String) throws -> TEEType {
        guard let data = try readAttribute(entry + "/provider", max: 256) else { throw failure("\(entry)/provider is missing") }
        let name = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        switch name {
        case "sev_guest": return .snp
        case "tdx_guest": return .tdx
        default: throw failure("\(entry)/provider names an unsupported TSM")
        }
    }

    static func generation(in entry: String) throws -> UInt64 {
        guard let data = try readAttribute(entry + "/generation", max: 64),
            let value = UInt64(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        else { throw failure("\(entry)/generation is missing or not a number") }
        return value
    }

    /// The file's bytes, or `nil` when it does not exist.
    static func readAttribute(_ path: String, max: Int) throws -> Data? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else {
            if errno == ENOENT { return nil }
            throw failure("cannot open \(path)", errno)
        }
        defer { close(fd) }
        var result = Data()
        var buffer = [UInt8](repeating: 0, count: 8192)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("cannot read \(path)", errno)
            }
            if n == 0 { return result }
            result.append(contentsOf: buffer[0..<n])
            guard result.count <= max else { throw failure("\(path) is larger than \(max) bytes") }
        }
    }

    /// Writes `data` to an existing attribute file in one `write` (configfs binary attributes take the whole blob).
    static func writeAttribute(_ data: Data, to path: String) throws {
        let fd = open(path, O_WRONLY)
        guard fd >= 0 else { throw failure("cannot open \(path)", errno) }
        var written = 0
        while written < data.count {
            let n = data.withUnsafeBytes { write(fd, $0.baseAddress.map { $0 + written }, data.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                throw failure("cannot write \(path)", code)
            }
            written += n
        }
        guard close(fd) == 0 else { throw failure("cannot write \(path)", errno) }
    }
}
