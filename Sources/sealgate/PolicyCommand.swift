import ArgumentParser
import Attestation
import Foundation
import ReleasePolicy
import Yams

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Release policy tools.", subcommands: [Explain.self, Operations.self])

    struct Explain: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Evaluate release policies against an attestation result and a resource, and explain the decision.",
            discussion: """
                Every policy that applies to the resource must pass; when none applies, the broker's default decides \
                (status affirming; also mock evidence appraised as warning when the broker's --reference-values accept \
                mock evidence, or with --allow-mock-fallback). A contraindicated result is denied before any policy, as \
                the broker does. Make the result with `sealgate attestation verify --type TYPE EVIDENCE \
                --reference-values FILE --json > result.json`, using the broker's reference values. \
                Exit status: 0 allowed, 3 denied, 2 bad input. See docs/release-policy.md.
                """)
        @Option(help: "The policy file: JSON, or YAML when it ends in .yaml or .yml.") var policy: String
        @Option(help: "An attestation result: the JSON of `sealgate attestation verify --json`, a bare result, or {\"ear\": result}.")
        var result: String
        @Option(help: "The requested resource, <repository>/<type>/<tag> (e.g. acme/kek/restricted).") var resource: String
        @Option(
            name: .customLong("model-digest"),
            help: "The model digest registered with the resource (the policy input model.digest), sha256:<64 hex>.")
        var modelDigest: String?
        @Flag(name: .customLong("allow-mock-fallback"), help: "The fallback also accepts mock evidence appraised as warning (development only).")
        var allowMockFallback = false
        @Option(
            name: .customLong("reference-values"),
            help: "The broker's reference values (YAML or JSON): their accept_mock_evidence sets the fallback, and a result appraised against another set is flagged.")
        var referenceValues: String?

        func validate() throws {
            if allowMockFallback && referenceValues != nil {
                throw ValidationError("give --reference-values (the fallback follows its accept_mock_evidence) or --allow-mock-fallback, not both")
            }
        }
        @Flag(help: "Print the decision as JSON instead of the explanation.") var json = false

        func run() async throws {
            let policies: [ReleasePolicyDocument]
            let request: ReleaseRequest
            var values: ReferenceValues?
            do {
                guard let ref = ResourceRef(path: resource) else {
                    throw InputError("--resource: '\(resource)' is not <repository>/<type>/<tag> of [A-Za-z0-9._-]")
                }
                policies = try ReleasePolicyLoader.decode(try Self.policyJSON(path: policy))
                if let modelDigest, ImageRequirement.normalized(modelDigest) == nil {
                    throw InputError("--model-digest: '\(modelDigest)' is not sha256:<64 hex>")
                }
                request = ReleaseRequest(
                    result: try Self.attestationResult(path: result), resource: ref, modelDigest: modelDigest.flatMap(ImageRequirement.normalized))
                if let referenceValues {
                    do { values = try AppraisalInputs.referenceValues(referenceValues) } catch {
                        throw InputError("\(referenceValues): not reference values (\(error))")
                    }
                }
            } catch let error as ReleasePolicyError {
                throw Self.fail(error.problems.map { "\(policy): \($0)" })
            } catch let error as InputError {
                throw Self.fail([error.message])
            }
            let set: PolicySet
            do { set = try PolicySet(policies) } catch let error as ReleasePolicyError { throw Self.fail(error.problems.map { "\(policy): \($0)" }) }
            if let values, let setID = request.result.referenceValueSet, !values.sets.contains(where: { $0.id == setID }) {
                FileHandle.standardError.write(Data(
                    "warning: the result was appraised against reference values \(setID), which \(referenceValues ?? "") does not hold: the broker would appraise this evidence differently; re-run `sealgate attestation verify --reference-values \(referenceValues ?? "") --json`\n".utf8))
            }
            let decision: PolicyDecision
            if request.result.status == .contraindicated {
                // The broker refuses a contraindicated result before evaluating any policy (KeyBroker.policyCheck).
                decision = PolicyDecision(allowed: false, policyID: "broker", rule: "token.status", reason: "attestation_contraindicated", trace: [])
            } else {
                decision = set.evaluate(request, fallback: .brokerDefault(allowMockEvidence: values?.acceptMockEvidence ?? allowMockFallback))
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(decision), as: UTF8.self))
            } else {
                print(Self.inputs(request))
                print(decision.explanation)
            }
            if !decision.allowed { throw ExitCode(3) }
        }

        /// The image and model inputs the policies can test, one line (`(missing)` when absent).
        static func inputs(_ request: ReleaseRequest) -> String {
            let image = request.result.image
            return "inputs: image.digest \(image?.digest ?? "(missing)"), image.signed_by \(image?.signedBy ?? "(missing)"), "
                + "model.digest \(request.modelDigest ?? "(missing)")"
        }

        struct InputError: Error {
            let message: String
            init(_ message: String) { self.message = message }
        }

        /// Prints the problems to standard error; the caller throws the returned exit code (2).
        static func fail(_ lines: [String]) -> ExitCode {
            FileHandle.standardError.write(Data(("sealgate policy explain: bad input\n" + lines.joined(separator: "\n") + "\n").utf8))
            return ExitCode(2)
        }

        /// The policy file as JSON; YAML files are converted value by value.
        static func policyJSON(path: String) throws -> Data {
            guard let data = FileManager.default.contents(atPath: path) else { throw InputError("cannot read \(path)") }
            guard path.hasSuffix(".yaml") || path.hasSuffix(".yml") else { return data }
            let value: Any?
            do { value = try Yams.load(yaml: String(decoding: data, as: UTF8.self)) } catch {
                throw InputError("\(path): not valid YAML: \(error)")
            }
            guard let value, JSONSerialization.isValidJSONObject(value) else {
                throw InputError("\(path): the YAML document is not a policy, a list of policies or {policies: [...]} of plain values")
            }
            return try JSONSerialization.data(withJSONObject: value)
        }

        /// Reads an attestation result: a bare result, `{"ear": result}`, the document of
        /// `sealgate attestation verify --json` (`{"result": result, "claims": …}`), or an older output with the
        /// result's JSON between other lines.
        static func attestationResult(path: String) throws -> AttestationResult {
            guard let data = FileManager.default.contents(atPath: path), data.count <= 1 << 20 else {
                throw InputError("cannot read \(path) (or larger than 1 MiB)")
            }
            struct Wrapped: Decodable { let ear: AttestationResult }
            struct VerifyDocument: Decodable { let result: AttestationResult }
            let decoder = JSONDecoder()
            if let result = try? decoder.decode(AttestationResult.self, from: data) { return result }
            if let wrapped = try? decoder.decode(Wrapped.self, from: data) { return wrapped.ear }
            if let document = try? decoder.decode(VerifyDocument.self, from: data) { return document.result }
            let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            if let start = lines.firstIndex(where: { $0.hasPrefix("{") }), let end = lines.lastIndex(where: { $0.hasPrefix("}") }), start <= end,
                let result = try? decoder.decode(AttestationResult.self, from: Data(lines[start...end].joined(separator: "\n").utf8))
            {
                return result
            }
            throw InputError("\(path): not an attestation result (the JSON of `sealgate attestation verify --json`, or {\"ear\": ...})")
        }
    }
}
