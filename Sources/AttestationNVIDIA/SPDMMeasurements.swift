import Foundation

/// A malformed NVIDIA attestation report or evidence bundle: the module's one error.
public struct NVIDIAError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// An NVIDIA GPU attestation report: an SPDM 1.1 GET_MEASUREMENTS request followed by the MEASUREMENTS response the
/// GPU signed (DMTF DSP0274 1.1, 10.11). The signature covers the request and the response up to the signature.
public struct SPDMMeasurementReport: Sendable, Equatable {
    /// One measurement block (DMTF measurement specification).
    public struct Block: Sendable, Equatable {
        /// The measurement index (1-based).
        public let index: UInt8
        /// `DMTFSpecMeasurementValueType` (bit 7: raw bit stream rather than a digest).
        public let valueType: UInt8
        /// The measurement value (a digest, 48 bytes on Hopper).
        public let value: Data
    }

    /// One NVIDIA opaque-data item (type, value), in report order.
    public struct OpaqueItem: Sendable, Equatable {
        public let type: UInt16
        public let value: Data
    }

    /// SPDM 1.1: the only version whose signature covers the bare request and response.
    public static let version: UInt8 = 0x11
    static let getMeasurements: UInt8 = 0xE0
    static let measurements: UInt8 = 0x60
    static let requestSize = 37
    /// ECDSA P-384 `r ‖ s`.
    public static let signatureSize = 96
    /// Upper bound on the whole report.
    public static let maxSize = 64 * 1024

    /// The request's nonce: the verifier's freshness challenge.
    public let requestNonce: Data
    /// The request's measurement operation (0xFF: all measurements).
    public let requestedOperation: UInt8
    /// The responder's nonce.
    public let responseNonce: Data
    public let blocks: [Block]
    /// The opaque data bytes.
    public let opaqueData: Data
    /// The measurement record bytes as signed.
    public let measurementRecord: Data
    /// What the GPU signed: the request and the response without the signature.
    public let signedRegion: Data
    /// ECDSA P-384 `r ‖ s`, big-endian.
    public let signature: Data

    /// Parses a report; every length is checked before it is read and nothing may follow the signature.
    /// - Throws: ``NVIDIAError`` when truncated, oversized, not SPDM 1.1 GET_MEASUREMENTS/MEASUREMENTS with a signature,
    ///   or with a measurement record whose blocks do not fill it exactly.
    public init(_ data: Data) throws {
        guard data.count <= Self.maxSize else { throw NVIDIAError("report larger than \(Self.maxSize) bytes") }
        let b = [UInt8](data)
        var o = 0
        func take(_ n: Int) throws -> [UInt8] {
            guard n >= 0, b.count - o >= n else { throw NVIDIAError("report truncated at offset \(o)") }
            defer { o += n }
            return Array(b[o..<(o + n)])
        }
        func le(_ n: Int) throws -> Int { try take(n).reversed().reduce(0) { $0 << 8 | Int($1) } }

        let request = try take(4)
        guard request[0] == Self.version, request[1] == Self.getMeasurements else { throw NVIDIAError("not an SPDM 1.1 GET_MEASUREMENTS request") }
        guard request[2] & 1 == 1 else { throw NVIDIAError("the request did not ask for a signature") }
        requestedOperation = request[3]
        requestNonce = Data(try take(32))
        _ = try take(1)  // SlotIDParam
        let header = try take(4)
        guard header[0] == Self.version, header[1] == Self.measurements else { throw NVIDIAError("not an SPDM 1.1 MEASUREMENTS response") }
        let count = try le(1)
        let recordLength = try le(3)
        let record = try take(recordLength)
        var blocks: [Block] = []
        var r = 0
        for _ in 0..<count {
            guard record.count - r >= 4 else { throw NVIDIAError("measurement block \(blocks.count) truncated") }
            let index = record[r]
            guard record[r + 1] & 1 == 1 else { throw NVIDIAError("measurement block \(index) is not in the DMTF format") }
            let size = Int(record[r + 2]) | Int(record[r + 3]) << 8
            r += 4
            guard size >= 3, record.count - r >= size else { throw NVIDIAError("measurement block \(index) runs past the record") }
            let valueSize = Int(record[r + 1]) | Int(record[r + 2]) << 8
            guard valueSize == size - 3 else { throw NVIDIAError("measurement block \(index) value size disagrees with the block size") }
            blocks.append(Block(index: index, valueType: record[r], value: Data(record[(r + 3)..<(r + size)])))
            r += size
        }
        guard r == record.count else { throw NVIDIAError("\(record.count - r) bytes of the measurement record are not in any block") }
        self.blocks = blocks
        measurementRecord = Data(record)
        responseNonce = Data(try take(32))
        opaqueData = Data(try take(try le(2)))
        signedRegion = Data(b[0..<o])
        signature = Data(try take(Self.signatureSize))
        guard o == b.count else { throw NVIDIAError("\(b.count - o) bytes after the signature") }
    }

    /// The opaque data as NVIDIA's type-length-value items (u16 LE type, u16 LE length), or `nil` when it is not.
    public var opaqueItems: [OpaqueItem]? {
        let b = [UInt8](opaqueData)
        var items: [OpaqueItem] = []
        var o = 0
        while o < b.count {
            guard b.count - o >= 4 else { return nil }
            let type = UInt16(b[o]) | UInt16(b[o + 1]) << 8
            let size = Int(b[o + 2]) | Int(b[o + 3]) << 8
            o += 4
            guard b.count - o >= size else { return nil }
            items.append(OpaqueItem(type: type, value: Data(b[o..<(o + size)])))
            o += size
        }
        return items
    }

    /// Opaque item 3, the driver version (NUL-terminated text), when present.
    public var driverVersion: String? {
        opaqueItems?.first { $0.type == 3 }.map { String(decoding: $0.value.prefix { $0 != 0 }, as: UTF8.self) }
    }

    /// Opaque item 6, the VBIOS version as NVIDIA prints it (first half of the bytes reversed, then the next byte,
    /// dot-separated hex), when present.
    public var vbiosVersion: String? {
        guard let value = opaqueItems?.first(where: { $0.type == 6 })?.value, value.count >= 2 else { return nil }
        let bytes = [UInt8](value)
        let half = bytes.count / 2
        return (bytes[..<half].reversed() + [bytes[half]]).map { String(format: "%02x", $0) }.joined(separator: ".")
    }
}
