import Crypto
import Foundation

/// The single-step KDF of NIST SP 800-56A §5.8.1 ("Concat KDF") as RFC 7518 §4.6.2 profiles it for ECDH-ES,
/// composed from swift-crypto's SHA-256. No primitive is implemented here: each round is one SHA-256 call over
/// `counter ‖ Z ‖ OtherInfo`.
package enum ConcatKDF {
    /// Derives `keyDataLengthBits` bits of key material.
    ///
    /// `OtherInfo = AlgorithmID ‖ PartyUInfo ‖ PartyVInfo ‖ SuppPubInfo` where the first three are each a 32-bit
    /// big-endian length followed by the octets, `SuppPubInfo` is `keydatalen` as a 32-bit big-endian integer and
    /// `SuppPrivInfo` is empty.
    ///
    /// - Parameters:
    ///   - sharedSecret: Z, the ECDH output.
    ///   - keyDataLengthBits: a positive multiple of 8 (128 or 256 here).
    ///   - algorithmID: the `alg` for the key-wrap modes (`ECDH-ES+A128KW`), the `enc` for direct agreement.
    ///   - partyUInfo: the decoded `apu`, empty when absent.
    ///   - partyVInfo: the decoded `apv`, empty when absent.
    package static func derive(
        sharedSecret: Data, keyDataLengthBits: Int, algorithmID: String, partyUInfo: Data = Data(),
        partyVInfo: Data = Data()
    ) -> Data {
        precondition(keyDataLengthBits > 0 && keyDataLengthBits % 8 == 0, "keydatalen must be a positive multiple of 8")
        var otherInfo = Data()
        otherInfo.append(lengthPrefixed(Data(algorithmID.utf8)))
        otherInfo.append(lengthPrefixed(partyUInfo))
        otherInfo.append(lengthPrefixed(partyVInfo))
        otherInfo.append(bigEndian32(UInt32(keyDataLengthBits)))

        let byteCount = keyDataLengthBits / 8
        var output = Data()
        var counter: UInt32 = 1
        while output.count < byteCount {
            var hasher = SHA256()
            hasher.update(data: bigEndian32(counter))
            hasher.update(data: sharedSecret)
            hasher.update(data: otherInfo)
            output.append(contentsOf: hasher.finalize())
            counter += 1
        }
        return output.prefix(byteCount)
    }

    private static func lengthPrefixed(_ data: Data) -> Data {
        bigEndian32(UInt32(data.count)) + data
    }

    private static func bigEndian32(_ value: UInt32) -> Data {
        withUnsafeBytes(of: value.bigEndian) { Data($0) }
    }
}
