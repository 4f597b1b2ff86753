import AccessPolicy
import Crypto
import Foundation
import Gateway
import SealgateConfig
import SealgateCore
import Yams

/// The demo tenants (`acme`, `globex`), their credentials and synthetic documents written for this project.
enum DemoSeed {
    struct Credentials: Codable {
        struct Entry: Codable {
            var apiKey: String
            enum CodingKeys: String, CodingKey { case apiKey = "api_key" }
        }
        var tenants: [String: Entry]
        /// A key that may read the audit log's entries, tiles and proofs.
        var auditor: Entry?
    }

    /// Loads `<dir>/demo-credentials.json`, creating keys (mode 0600) on first use.
    static func credentials(dataDir: String) throws -> Credentials {
        let path = dataDir + "/demo-credentials.json"
        if let data = FileManager.default.contents(atPath: path),
            let existing = try? JSONDecoder().decode(Credentials.self, from: data)
        {
            return existing
        }
        func newKey() -> String {
            "sg_" + Base64URL.encode(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
        }
        let created = Credentials(
            tenants: ["acme": .init(apiKey: newKey()), "globex": .init(apiKey: newKey())], auditor: .init(apiKey: newKey()))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        guard FileManager.default.createFile(atPath: path, contents: try encoder.encode(created), attributes: [.posixPermissions: 0o600])
        else { throw SealgateError(.storageUnavailable, "cannot write \(path)") }
        return created
    }

    /// The demo configuration: default classes and models plus one principal per demo tenant (key hashes only).
    static func configuration(_ credentials: Credentials) -> Configuration {
        var config = Configuration.embeddedDefault
        if let auditor = credentials.auditor { config.audit.auditorAPIKeySHA256 = [Gateway.hashAPIKey(auditor.apiKey)] }
        config.tenants = credentials.tenants.keys.sorted().compactMap { name in
            guard let tenant = TenantID(name), let key = credentials.tenants[name]?.apiKey else { return nil }
            return TenantSettings(
                id: tenant,
                principals: [
                    PrincipalSettings(
                        id: PrincipalID(unchecked: "\(name)-app"), apiKeySHA256: Gateway.hashAPIKey(key), read: ["*"],
                        write: ["*"], dataClasses: ["*"])
                ])
        }
        return config
    }

    /// Writes the demo configuration to `<dir>/sealgate.yaml` once, so later runs (and `sealgate measure`) read the same policy.
    static func writeConfiguration(_ config: Configuration, dataDir: String) throws -> String {
        let path = dataDir + "/sealgate.yaml"
        if !FileManager.default.fileExists(atPath: path) {
            let yaml = "# Written by `sealgate serve --demo`. API keys appear here only as SHA-256 hashes.\n"
                + (try YAMLEncoder().encode(config))
            guard FileManager.default.createFile(atPath: path, contents: Data(yaml.utf8), attributes: [.posixPermissions: 0o600])
            else { throw SealgateError(.storageUnavailable, "cannot write \(path)") }
        }
        return path
    }

    struct Document {
        let tenant: String
        let collection: String
        let id: String
        let title: String
        let dataClass: String
        let text: String
    }

    /// Synthetic documents written for this project; names, numbers and addresses are invented.
    static let documents: [Document] = [
        Document(
            tenant: "acme", collection: "handbook", id: "remote-work", title: "Remote work policy", dataClass: "internal",
            text: """
                Acme employees may work remotely up to three days per week after their probation period ends. \
                Remote days must be agreed with the team lead one week in advance.

                Equipment: Acme provides a laptop and a monitor for home offices. Home internet costs are reimbursed \
                up to 40 euros per month through the expense tool.

                Security: laptops must use full-disk encryption and the company VPN when working remotely. Lost devices \
                are reported to the IT help desk at helpdesk@acme.example or +1 415 555 0142 within one hour.
                """),
        Document(
            tenant: "acme", collection: "handbook", id: "expenses", title: "Travel and expenses", dataClass: "public",
            text: """
                Travel must be booked through the Acme travel portal. Economy class is the default for flights under \
                six hours; business class needs director approval.

                Expense claims are submitted within 30 days with receipts. Meals during travel are reimbursed up to \
                60 euros per day. The corporate card may not be used for personal purchases.
                """),
        Document(
            tenant: "acme", collection: "clinical", id: "sepsis-protocol", title: "Sepsis escalation protocol",
            dataClass: "restricted",
            text: """
                Patients with suspected sepsis are screened with qSOFA at triage. A score of two or more triggers the \
                sepsis pathway: blood cultures, lactate measurement and broad-spectrum antibiotics within one hour.

                Escalation: the on-call intensivist is paged when lactate exceeds 4 mmol/L or systolic pressure stays \
                below 90 mmHg after fluids. The sepsis coordinator can be reached at sepsis-team@acme.example or \
                (415) 555-0199.

                Billing test card for the pilot clinic: 4111 1111 1111 1111. Never share it outside the finance team.
                """),
        Document(
            tenant: "globex", collection: "handbook", id: "security-policy", title: "Information security policy",
            dataClass: "internal",
            text: """
                Globex staff must enable multi-factor authentication on every company account. Passwords are stored \
                only in the company password manager.

                Remote work at Globex is allowed two days per week; laptops must stay encrypted and locked when \
                unattended. Incidents go to security@globex.example or +44 20 7946 0321.
                """),
        Document(
            tenant: "globex", collection: "finance", id: "q3-plan", title: "Q3 budget plan", dataClass: "confidential",
            text: """
                Globex plans to raise its cloud budget by 12 percent in Q3 to cover the new analytics cluster. \
                Hiring is frozen except for two security engineers.

                The board will review the plan on the second Tuesday of the quarter. Questions go to the CFO office at \
                cfo-office@globex.example.
                """),
    ]

    /// Ingests every demo document that is not stored yet, through the normal pipeline.
    static func seed(gateway: Gateway, configuration: Configuration) async throws -> Int {
        var added = 0
        for document in documents {
            guard let tenant = configuration.tenant(TenantID(unchecked: document.tenant)),
                let grants = tenant.principals.first, let collection = CollectionName(document.collection),
                let id = DocumentID(document.id)
            else { continue }
            let caller = Caller(principal: Principal(tenant: tenant.id, id: grants.id), grants: grants.grants)
            if await gateway.documents.hasDocument(tenant: tenant.id, collection: collection, id: id) { continue }
            // A class whose KEK the broker withholds (restricted data from a mock TEE) is skipped without asking:
            // asking would only write a refusal record, a log notice and an event.
            guard let dataClass = DataClass(document.dataClass), await gateway.keyRing.holdsKey(tenant: tenant.id, dataClass: dataClass) else {
                continue
            }
            let request = IngestRequest(id: id, title: document.title, text: document.text, dataClass: document.dataClass, metadata: ["source": "demo"])
            switch await gateway.documents.ingest(request, collection: collection, caller: caller, requestID: Gateway.newRequestID()) {
            case .success: added += 1
            case .failure(let failure) where failure.denial.reason == .releaseDenied:
                // The broker's policies may withhold a class's KEK (restricted data from a mock TEE): skip its documents.
                continue
            case .failure(let failure):
                throw SealgateError(failure.denial.reason, "demo document \(document.tenant)/\(document.id) was refused: \(failure.denial.detail)")
            }
        }
        return added
    }
}

/// Seeds the demo documents once: at start-up when a lease is held, else after the first renewal that brings one.
/// Later renewals do nothing, so a document the broker withholds is not retried every lease period.
actor DemoSeeder {
    let gateway: Gateway
    let configuration: Configuration
    private(set) var done = false

    init(gateway: Gateway, configuration: Configuration) {
        self.gateway = gateway
        self.configuration = configuration
    }

    /// Seeds if not yet done; returns how many documents were added (0 when already done).
    func seedOnce() async throws -> Int {
        guard !done else { return 0 }
        let added = try await DemoSeed.seed(gateway: gateway, configuration: configuration)
        done = true
        return added
    }
}
