import Foundation
import Yams

/// YAML decoding for files other than the main configuration (reference values).
enum YAMLDecoderShim {
    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        try YAMLDecoder().decode(type, from: data)
    }
}
