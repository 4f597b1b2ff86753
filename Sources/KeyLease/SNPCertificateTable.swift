import Foundation

/// The SEV-SNP certificate table a host returns with an extended report (GHCB specification, MSG_REPORT_REQ;
/// configfs-tsm `auxblob` for the `sev_guest` provider).
///
/// The table is a list of 24-byte entries — a GUID (16 bytes, in RFC 4122 byte order), then the offset and length
/// of a DER certificate (little-endian 32-bit, offsets from the table's start) — ended by an all-zero entry.
/// Parsing is lenient: malformed or out-of-range entries are skipped, since the verifier checks every certificate.
struct SNPCertificateTable: Sendable {
    enum Kind: Sendable, CaseIterable {
        case vcek, vlek, ask, ark

        /// The GUID text of each certificate kind.
        var guid: String {
            switch self {
            case .vcek: return "63da758d-e664-4564-adc5-f4b93be8accd"
            case .vlek: return "a8074bc2-a25a-483e-aae6-39c045a0b8a1"
            case .ask: return "4ab7b379-bbac-4fe4-a02f-05aef327c782"
            case .ark: return "c0b406a4-a803-4952-9743-3fb6014cd0ae"
            }
        }

        /// The 16 bytes of ``guid``.
        var guidBytes: [UInt8] {
            let hex = Array(guid.replacingOccurrences(of: "-", with: "").utf8)
            return stride(from: 0, to: hex.count, by: 2).compactMap { UInt8(String(decoding: hex[$0..<$0 + 2], as: UTF8.self), radix: 16) }
        }
    }

    /// The most entries read.
    static let maxEntries = 64

    /// DER certificates by kind.
    let entries: [Kind: Data]

    init(entries: [Kind: Data]) {
        self.entries = entries
    }

    /// Parses a table.
    init(_ blob: Data) {
        let bytes = [UInt8](blob)
        var found: [Kind: Data] = [:]
        var position = 0
        func u32(_ at: Int) -> Int {
            Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24
        }
        while position + 24 <= bytes.count, position / 24 < Self.maxEntries {
            let guid = Array(bytes[position..<position + 16])
            if guid.allSatisfy({ $0 == 0 }) { break }
            let offset = u32(position + 16)
            let length = u32(position + 20)
            if let kind = Kind.allCases.first(where: { $0.guidBytes == guid }), length > 0, offset <= bytes.count,
                length <= bytes.count - offset, found[kind] == nil
            {
                found[kind] = Data(bytes[offset..<offset + length])
            }
            position += 24
        }
        entries = found
    }

    /// Builds a table (tests, and emulating a host).
    static func encode(_ certificates: [(Kind, Data)]) -> Data {
        let headerSize = (certificates.count + 1) * 24
        var header = Data()
        var body = Data()
        func le(_ value: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
        for (kind, der) in certificates {
            header.append(contentsOf: kind.guidBytes)
            header.append(contentsOf: le(headerSize + body.count))
            header.append(contentsOf: le(der.count))
            body.append(der)
        }
        header.append(Data(count: 24))
        return header + body
    }

    /// The certificate of `kind` as PEM, if present.
    func pem(_ kind: Kind) -> String? {
        guard let der = entries[kind] else { return nil }
        let base64 = Array(der.base64EncodedString())
        let lines = stride(from: 0, to: base64.count, by: 64).map { String(base64[$0..<min($0 + 64, base64.count)]) }
        return "-----BEGIN CERTIFICATE-----\n" + lines.joined(separator: "\n") + "\n-----END CERTIFICATE-----\n"
    }
}
