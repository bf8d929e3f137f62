import AsgardCore
import Testing

/// A serving endpoint's `shared_with`: the projects must exist, and a key may name an
/// endpoint's model only when the endpoint serves the key's project.
@Suite struct EndpointSharingTests {
    /// A model served by an endpoint of project `alpha`, shared as `shared`, and a key of `beta` allowed `models`.
    static func sharing(_ shared: String, keyModels: String = "[acme/*]") -> LoadResult {
        load([
            "services/acme/service.yaml": acmeService,
            "p.yaml": project("alpha") + "\n---\n" + project("beta"),
            "e.yaml": """
            kind: ServingEndpoint
            id: alpha-bot
            project: alpha
            service: acme
            provisioner: acme-warehouse
            model: acme/alpha-bot
            max_data_class: internal
            price_per_1m_input_usd: 1
            price_per_1m_output_usd: 2
            \(shared)
            """,
            "k.yaml": """
            kind: Key
            id: beta-key
            project: beta
            digest: sha256:\(String(repeating: "cd", count: 32))
            allowed_models: \(keyModels)
            max_data_class: internal
            """,
        ])
    }

    @Test func anEndpointSharesOnlyWithProjectsThatExistAndAKeyMayNameOnlyWhatIsSharedWithIt() throws {
        let shared = Self.sharing("shared_with: [beta]", keyModels: "[acme/alpha-bot]")
        #expect(shared.isValid, "\(shared.messages)")
        #expect(shared.state.servingEndpoints["alpha-bot"]?.sharedWith == ["beta"])
        // Unshared: a wildcard is fine (Cedar refuses the call), naming the model is an error now.
        #expect(Self.sharing("").isValid)
        #expect(Self.sharing("").state.servingEndpoints["alpha-bot"]?.sharedWith == nil)
        #expect(
            Self.sharing("", keyModels: "[acme/alpha-bot]").messages == [
                "test/k.yaml:5:18: error: Key/beta-key allowed_models[0]: model \"acme/alpha-bot\" is ServingEndpoint/alpha-bot of Project/alpha, which does not share it with Project/beta (its shared_with)"
            ])
        #expect(
            Self.sharing("shared_with: [gamma, alpha, beta, beta, Bad]").messages == [
                "test/e.yaml:10:41: error: ServingEndpoint/alpha-bot shared_with[4]: \"Bad\" is not a valid project id"
            ])
        #expect(
            Self.sharing("shared_with: [gamma, alpha, beta, beta]").messages == [
                "test/e.yaml:10:15: error: ServingEndpoint/alpha-bot shared_with[0]: unknown project \"gamma\" (no Project with that id)",
                "test/e.yaml:10:22: error: ServingEndpoint/alpha-bot shared_with[1]: \"alpha\" is the endpoint's own project, whose keys may call it anyway",
                "test/e.yaml:10:35: error: ServingEndpoint/alpha-bot shared_with[3]: \"beta\" is named twice",
            ])
    }
}
