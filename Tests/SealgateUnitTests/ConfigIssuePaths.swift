import SealgateConfig

/// The paths of the issues a configuration is refused with (empty when it is accepted), with the built-in
/// redaction profiles `none`, `basic` and `all`.
func configIssuePaths(_ yaml: String) -> [String] {
    do {
        _ = try ConfigLoader.parse(yaml, knownRedactionProfiles: ["none", "basic", "all"])
        return []
    } catch let error as ConfigError {
        return error.issues.map(\.path)
    } catch {
        return ["unexpected \(error)"]
    }
}
