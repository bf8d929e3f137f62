import AsgardGateway
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import Testing

@testable import AsgardServer

/// How a failure of AsyncHTTPClient (the transport of streams and `https://` vendors) reaches
/// the gateway: as `upstream_unreachable` (charged nothing) only when the request surely never
/// left, else as a timeout or a failure the worst case is settled for.
@Suite struct HTTPUpstreamErrorTests {
    @Test(arguments: [
        (HTTPClientError.connectTimeout as any Error, GatewayError.unreachableCode),
        // The deadline passed while the request waited in the pool's queue: it was never written.
        (HTTPClientError.getConnectionFromPoolTimeout, GatewayError.unreachableCode),
        (IOError(errnoCode: ECONNREFUSED, reason: "connect"), GatewayError.unreachableCode),
        (HTTPClientError.deadlineExceeded, "upstream_timeout"),
        (HTTPClientError.readTimeout, "upstream_timeout"),
        (HTTPClientError.remoteConnectionClosed, "upstream_failed"),
        (IOError(errnoCode: ECONNRESET, reason: "read"), "upstream_failed"),
    ])
    func aTransportFailureIsUnreachableOnlyWhenNothingWasSent(error: any Error, code: String) {
        let mapped = HTTPUpstream.unreachable(error, timeoutSeconds: 7)
        #expect(mapped.code == code, "\(error)")
    }
}
