/// The JSON bodies of the broker's admin API, decoded by type: a missing or mistyped member is refused as
/// `malformed_request` with the rule `admin.body.<member>`. Members the broker validates itself (identifiers,
/// names, the shred confirmation) may be absent: the broker then refuses with its own rule (`admin.tenant.id`, …).
enum AdminBodies {
    /// `POST /admin/v0/tenants`.
    struct Tenant: Decodable {
        let id: String?
    }

    /// `POST /admin/v0/tenants/{tenant}/keks`.
    struct KEK: Decodable {
        let dataClass: String?
        enum CodingKeys: String, CodingKey { case dataClass = "data_class" }
    }

    /// `PUT|POST /admin/v0/tenants/{tenant}/secrets/{name}`: base64url `value`, or none to generate one.
    struct Secret: Decodable {
        let value: String?
    }

    /// `POST` (optional) and `PUT /admin/v0/tenants/{tenant}/models/{name}`: the expected model `digest` (`sha256:<hex>`).
    struct ModelDigest: Decodable {
        let digest: String?
    }

    /// `POST /admin/v0/tenants/{tenant}/models/{name}/wrap`: a sealed model's data key, base64url.
    struct ModelDataKey: Decodable {
        let dataKey: String?
        enum CodingKeys: String, CodingKey { case dataKey = "data_key" }
    }

    /// `POST /admin/v0/tenants/{tenant}/shred`: `confirm` repeats the tenant id.
    struct Shred: Decodable {
        let confirm: String?
    }

    /// `POST /admin/v0/credentials`.
    struct Credential: Decodable {
        let name: String?
        let roles: [String]?
    }
}
