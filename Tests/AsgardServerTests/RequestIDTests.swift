import AsgardGateway
import Testing

@Suite struct RequestIDTests {
    /// `req_` and 24 lowercase hex digits; one process's ids share their first 8 digits and differ.
    @Test func idsAreDistinctAndWellFormed() {
        let ids = (0..<1_000).map { _ in Gateway.newRequestID() }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            #expect(id.hasPrefix("req_") && id.count == 28)
            #expect(id.dropFirst(4).allSatisfy { "0123456789abcdef".contains($0) }, "\(id)")
        }
        #expect(Set(ids.map { $0.prefix(12) }).count == 1)
    }
}
