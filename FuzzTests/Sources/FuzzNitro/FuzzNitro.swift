// AWS Nitro: every input goes through the bounded CBOR decoder (and, when it is a COSE_Sign1 array, its payload
// too), then through the verifier, directly and through the AttestationVerifier protocol at the document's time.
import Attestation
import AttestationNitro
import Foundation
import FuzzSupport

func check(_ site: String, _ outcome: VerificationOutcome) {
    if case .rejected(let failures) = outcome { Fuzz.rejection(site, reasons: failures.map(\.reason.rawValue)) }
}

/// Reads every part of a decoded value, the way the verifier does.
func walk(_ value: CBORValue, _ budget: inout Int) {
    budget -= 1
    guard budget > 0 else { return }
    _ = (value.bytes, value.text, value.unsigned, value == value)
    switch value {
    case .array(let items): for item in items { walk(item, &budget) }
    case .map(let pairs):
        for (key, item) in pairs {
            walk(key, &budget)
            walk(item, &budget)
        }
        for key in [
            "module_id", "digest", "timestamp", "pcrs", "certificate", "cabundle", "public_key", "user_data", "nonce",
        ] { _ = value[key] }
    case .tagged(_, let inner): walk(inner, &budget)
    default: break
    }
}

@main
enum FuzzNitro {
    static func main() {
        let vectors = Vectors()
        let samples = vectors.samples("nitro")
        Fuzz.log("FuzzNitro: \(samples.count) Nitro samples from \(vectors.root?.path ?? "(no shared vectors)")")
        let verifier = NitroAttestationVerifier()
        let fallbackDate = samples.first?.asOf ?? Date(timeIntervalSince1970: 1_722_457_107)
        let isTyped: (any Error) -> Bool = { $0 is CBORError }

        Fuzz.run("FuzzNitro") { data in
            var date = fallbackDate
            if let top = Fuzz.typed("CBORDecoder.decode", isTyped, { try CBORDecoder().decode(data) }) {
                var budget = 10_000
                walk(top, &budget)
                var inner = top
                if case .tagged(18, let value) = top { inner = value }
                if let parts = inner.array, parts.count == 4, let payload = parts[2].bytes,
                    let body = Fuzz.typed("CBORDecoder.decode(payload)", isTyped, { try CBORDecoder().decode(payload) })
                {
                    walk(body, &budget)
                    if let milliseconds = body["timestamp"]?.unsigned {
                        date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
                    }
                }
            }
            // verify(_:now:) runs verifyDocument, then the freshness check and the claims mapping.
            check(
                "NitroAttestationVerifier.verify(_:now:)",
                verifier.verify(Evidence(tee: .nitro, bytes: data), now: date))
        }
    }
}
