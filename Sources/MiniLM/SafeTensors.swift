import Foundation

/// A safetensors file held in memory, with its header checked whole before any tensor is read.
///
/// Format: an 8-byte little-endian header length `n`, `n` bytes of JSON mapping each tensor name to `dtype`,
/// `shape` and `data_offsets` `[begin, end)` relative to the byte buffer after the header (plus an optional
/// `__metadata__` map of strings). Refused (``MiniLMError/Reason/safetensorsMalformed``) before any tensor byte is
/// touched: a header length past the file or over 100 MB, JSON that is not that shape, an unknown dtype, a negative
/// or overflowing shape, offsets out of order, past the buffer, overlapping or leaving holes, or a byte range that
/// is not exactly the shape's element count × the dtype's size.
public struct SafeTensors: Sendable {
    /// One tensor's description.
    public struct Entry: Sendable, Equatable {
        public let dtype: String
        public let shape: [Int]
        /// Byte range within the data buffer.
        public let range: Range<Int>
    }

    /// Largest header accepted (the format's own readers use the same bound).
    public static let maxHeaderBytes = 100_000_000
    static let dtypeSizes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8,
    ]

    /// The tensors by name.
    public let entries: [String: Entry]
    private let data: Data
    private let dataStart: Int

    /// Parses and checks the header of `data` (the whole file).
    public init(_ data: Data) throws {
        func bad(_ message: String) -> MiniLMError { MiniLMError(.safetensorsMalformed, message) }
        let bytes = [UInt8](data.prefix(8))
        guard bytes.count == 8 else { throw bad("file shorter than the 8-byte header length") }
        let declared = bytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard declared <= UInt64(Self.maxHeaderBytes), Int(declared) <= data.count - 8 else {
            throw bad("header length \(declared) exceeds the file (\(data.count) bytes) or the 100 MB bound")
        }
        let headerLength = Int(declared)
        let headerStart = data.startIndex + 8
        let header = data.subdata(in: headerStart..<(headerStart + headerLength))
        guard let map = try? JSONDecoder().decode([String: HeaderValue].self, from: header) else {
            throw bad("header is not a JSON object of tensor entries")
        }
        let bufferSize = data.count - 8 - headerLength
        var entries: [String: Entry] = [:]
        for (name, value) in map {
            guard case .tensor(let dtype, let shapeValues, let offsetValues) = value else {
                guard name == "__metadata__" else { throw bad("entry is not a tensor") }
                continue
            }
            guard offsetValues.count == 2 else { throw bad("data_offsets is not [begin, end]") }
            guard let size = Self.dtypeSizes[dtype] else { throw bad("unknown dtype \(dtype)") }
            var elements = 1
            var shape: [Int] = []
            for dimension in shapeValues {
                guard dimension >= 0 else { throw bad("shape dimension is not a non-negative integer") }
                let (product, overflow) = elements.multipliedReportingOverflow(by: dimension)
                guard !overflow else { throw bad("shape element count overflows") }
                elements = product
                shape.append(dimension)
            }
            let begin = offsetValues[0], end = offsetValues[1]
            guard 0 <= begin, begin <= end,
                end <= bufferSize
            else { throw bad("data offsets outside the \(bufferSize)-byte buffer") }
            let (bytesNeeded, overflow) = elements.multipliedReportingOverflow(by: size)
            guard !overflow, bytesNeeded == end - begin else {
                throw bad("data offsets span \(end - begin) bytes; the shape and dtype need \(overflow ? "more" : String(bytesNeeded))")
            }
            entries[name] = Entry(dtype: dtype, shape: shape, range: begin..<end)
        }
        var cursor = 0
        for entry in entries.values.sorted(by: { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }) {
            guard entry.range.lowerBound == cursor else { throw bad("tensor byte ranges overlap or leave a hole at byte \(cursor)") }
            cursor = entry.range.upperBound
        }
        guard cursor == bufferSize else { throw bad("tensors cover \(cursor) of the \(bufferSize)-byte buffer") }
        self.entries = entries
        self.data = data
        self.dataStart = 8 + headerLength
    }

    /// The float32 values of tensor `name`, which must have exactly `shape`.
    public func floats(_ name: String, shape: [Int]) throws -> [Float] {
        guard let entry = entries[name] else { throw MiniLMError(.tensorMismatch, "tensor \(name) is missing") }
        guard entry.dtype == "F32", entry.shape == shape else {
            throw MiniLMError(.tensorMismatch, "tensor \(name) is \(entry.dtype) \(entry.shape); expected F32 \(shape)")
        }
        let count = entry.range.count / 4
        var values = [Float](repeating: 0, count: count)
        let start = data.startIndex + dataStart + entry.range.lowerBound
        values.withUnsafeMutableBytes { target in
            data.withUnsafeBytes { source in
                target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[(start - data.startIndex)..<(start - data.startIndex + entry.range.count)]))
            }
        }
        #if _endian(big)
        for i in 0..<count { values[i] = Float(bitPattern: UInt32(littleEndian: values[i].bitPattern)) }
        #endif
        return values
    }

    /// A header value: a tensor entry, or the `__metadata__` string map.
    enum HeaderValue: Decodable {
        case tensor(dtype: String, shape: [Int], offsets: [Int])
        case metadata([String: String])

        enum Keys: String, CodingKey { case dtype, shape, dataOffsets = "data_offsets" }

        init(from decoder: any Decoder) throws {
            if let strings = try? decoder.singleValueContainer().decode([String: String].self) {
                self = .metadata(strings)
                return
            }
            let c = try decoder.container(keyedBy: Keys.self)
            self = .tensor(
                dtype: try c.decode(String.self, forKey: .dtype), shape: try c.decode([Int].self, forKey: .shape),
                offsets: try c.decode([Int].self, forKey: .dataOffsets))
        }
    }
}
