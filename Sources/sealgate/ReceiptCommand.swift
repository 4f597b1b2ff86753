import ArgumentParser
import Audit
import Crypto
import Foundation
import SealgateCore

/// `sealgate receipt verify`: checks a per-response receipt's proof offline.
struct ReceiptCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receipt", abstract: "Check the per-response receipts a gateway returns (Sealgate-Receipt).", subcommands: [Verify.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Verify a C2SP tlog-proof from GET /v1/receipts/{index} offline: log signature, witness cosignatures, inclusion, record.",
            discussion: """
                Exit 0 only when the checkpoint is signed by --key, the witness policy holds (with --witness), the \
                inclusion proof leads to the checkpoint's root, the entry in the proof hashes to that leaf and, with \
                --receipt, the log, index, leaf and request id are the receipt's. With --question-file and \
                --question-key (GET /v1/receipts/key), the record's question digest must be that question's.
                """)
        @Argument(help: "The proof file (c2sp.org/tlog-proof@v1), or - for standard input.") var proof: String
        @Option(name: .customLong("key"), help: "The log's verifier key (GET /audit/key or /v1/attestation).") var key: String
        @Option(name: .customLong("receipt"), help: "The Sealgate-Receipt value the answer carried.") var receipt: String?
        @Option(name: .customLong("question-file"), help: "A file with the question exactly as sent.") var questionFile: String?
        @Option(name: .customLong("question-key"), help: "The tenant's question key (base64, GET /v1/receipts/key).") var questionKey: String?
        @OptionGroup(title: "Witness policy") var witnessPolicy: WitnessPolicyOptions
        @Flag(help: "Print the result as JSON.") var json = false

        func validate() throws {
            if (questionFile == nil) != (questionKey == nil) { throw ValidationError("--question-file and --question-key go together") }
        }

        func run() async throws {
            do { try check() } catch { throw RuntimeFailure.report(error) }
        }

        private func check() throws {
            let verifier: NoteVerifier
            do { verifier = try NoteVerifier(encoded: key.trimmingCharacters(in: .whitespacesAndNewlines)) } catch {
                throw RuntimeFailure("--key is not a note verifier key (name+id+key), as GET /audit/key serves it")
            }
            let data: Data
            if proof == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                guard let read = FileManager.default.contents(atPath: proof) else { throw RuntimeFailure("cannot read \(proof)") }
                data = read
            }
            let parsed: TlogProof
            let expected: Receipt?
            do {
                parsed = try TlogProof(parsing: String(decoding: data, as: UTF8.self))
                expected = try receipt.map { try Receipt(header: $0) }
            } catch let error as AuditError { throw RuntimeFailure("receipt_malformed: \(error.message)") }
            let policy = try witnessPolicy.policy()
            let verified: VerifiedReceipt
            do {
                verified = try AuditVerifier.verifyReceipt(
                    parsed, log: verifier, witnesses: policy?.witnesses ?? [], quorum: policy?.quorum ?? 0, receipt: expected)
            } catch let error as AuditError {
                let reason = error.code == .badSignature ? "checkpoint_invalid" : error.code == .corrupt ? "proof_invalid" : "receipt_mismatch"
                throw RuntimeFailure("\(reason): \(error.message)")
            }
            if let questionFile, let questionKey {
                guard let question = FileManager.default.contents(atPath: questionFile) else { throw RuntimeFailure("cannot read \(questionFile)") }
                guard let keyBytes = Data(base64Encoded: questionKey), keyBytes.count == 32 else {
                    throw RuntimeFailure("--question-key is not base64 of 32 bytes")
                }
                let digest = "hmac-sha256:" + Hex.encode(HMAC<SHA256>.authenticationCode(for: question, using: SymmetricKey(data: keyBytes)))
                guard let recorded = verified.leaf?.record.questionDigest else {
                    throw RuntimeFailure(
                        "no_question_digest: the record carries no question digest (the tenant's secret was not leased when it was written)")
                }
                guard recorded == digest else {
                    throw RuntimeFailure("question_mismatch: the record's question digest is not that question's under that key")
                }
            }
            report(verified)
        }

        private func report(_ verified: VerifiedReceipt) {
            let record = verified.leaf?.record
            if json {
                var out: [String: Any] = [
                    "verified": true, "log": verified.checkpoint.origin, "index": verified.index, "leaf_hash": verified.leafHash.base64EncodedString(),
                    "checkpoint_size": verified.checkpoint.size, "witnessed_by": verified.witnessedBy,
                ]
                if let record {
                    out["record"] = [
                        "kind": record.kind.rawValue, "time": record.time, "request_id": record.requestID, "tenant": record.tenant,
                        "outcome": record.outcome.rawValue, "question_digest": record.questionDigest ?? "", "model": record.model ?? "",
                        "data_class": record.dataClass ?? "", "policy_digest": record.policyDigest ?? "",
                    ]
                }
                let data = (try? JSONSerialization.data(withJSONObject: out, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
                print(String(decoding: data, as: UTF8.self))
                return
            }
            print("receipt verified: \(verified.checkpoint.origin) #\(verified.index) is in the checkpoint of size \(verified.checkpoint.size)")
            if !verified.witnessedBy.isEmpty { print("cosigned by: \(verified.witnessedBy.joined(separator: ", "))") }
            if let record {
                print("record: \(record.kind.rawValue) \(record.outcome.rawValue) at \(record.time), request \(record.requestID), tenant \(record.tenant)")
                if let digest = record.questionDigest { print("question digest: \(digest)") }
            }
        }
    }
}
