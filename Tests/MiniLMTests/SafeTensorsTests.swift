import Foundation
import MiniLM
import Testing

/// Builds a safetensors file: `header` (JSON text) then `buffer` bytes; `declared` overrides the length field.
func safetensors(_ header: String, buffer: Int, declared: UInt64? = nil) -> Data {
    let json = Data(header.utf8)
    var length = (declared ?? UInt64(json.count)).littleEndian
    var data = Data(bytes: &length, count: 8)
    data.append(json)
    data.append(Data(repeating: 0, count: buffer))
    return data
}

@Suite("safetensors: the header is checked whole before any tensor is read")
struct SafeTensorsTests {
    @Test("a well-formed file parses and its float32 tensors read back")
    func wellFormed() throws {
        var values: [Float] = [1.5, -2, 0.25, 4, 5, 6]
        let header = #"{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}}"#
        var data = safetensors(header, buffer: 0)
        data.append(Data(bytes: &values, count: 24))
        let file = try SafeTensors(data)
        #expect(try file.floats("a", shape: [2, 2]) == [1.5, -2, 0.25, 4])
        #expect(try file.floats("b", shape: [2]) == [5, 6])
        #expect(throws: MiniLMError.self) { try file.floats("a", shape: [4]) }
        #expect(throws: MiniLMError.self) { try file.floats("c", shape: [1]) }
    }

    @Test("headers that lie about sizes, offsets or dtypes are refused with safetensors_malformed", arguments: [
        ("header length past the file", safetensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, buffer: 4, declared: 1 << 40)),
        ("header length over 100 MB", safetensors("{}", buffer: 0, declared: 200_000_000)),
        ("shorter than 8 bytes", Data([1, 0, 0])),
        ("end offset past the buffer", safetensors(#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, buffer: 8)),
        ("offsets reversed", safetensors(#"{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}"#, buffer: 4)),
        ("negative offset", safetensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}"#, buffer: 4)),
        ("shape larger than the range", safetensors(#"{"a":{"dtype":"F32","shape":[1000000],"data_offsets":[0,4]}}"#, buffer: 4)),
        ("dtype size times shape disagrees", safetensors(#"{"a":{"dtype":"F64","shape":[1],"data_offsets":[0,4]}}"#, buffer: 4)),
        ("shape overflows", safetensors(#"{"a":{"dtype":"F32","shape":[4294967296,4294967296,4],"data_offsets":[0,4]}}"#, buffer: 4)),
        ("negative dimension", safetensors(#"{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#, buffer: 4)),
        ("unknown dtype", safetensors(#"{"a":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}}"#, buffer: 4)),
        ("overlapping tensors", safetensors(#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#, buffer: 12)),
        ("a hole in the buffer", safetensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#, buffer: 8)),
        ("trailing bytes no tensor covers", safetensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#, buffer: 12)),
        ("not JSON", safetensors("{not json", buffer: 0)),
        ("entry without offsets", safetensors(#"{"a":{"dtype":"F32","shape":[1]}}"#, buffer: 4)),
        ("fractional offset", safetensors(#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4.5]}}"#, buffer: 4)),
    ])
    func lyingHeaderRefused(_ name: String, _ data: Data) {
        do {
            _ = try SafeTensors(data)
            Issue.record("\(name): accepted")
        } catch let error as MiniLMError {
            #expect(error.reason == .safetensorsMalformed, "\(name): \(error)")
        } catch {
            Issue.record("\(name): \(error)")
        }
    }
}
