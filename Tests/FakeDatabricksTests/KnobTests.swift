import FakeDatabricks
import Foundation
import Testing

@Suite("Knobs")
struct KnobTests {
    @Test("a fault for the next N calls, then normal answers")
    func faultForNextCalls() async throws {
        try await withFake { fake, client in
            fake.controls.injectFault(status: 503, errorCode: "TEMPORARILY_UNAVAILABLE", times: 2, for: llama)
            expectError(try await client.invoke(chat()), status: 503, errorCode: "TEMPORARILY_UNAVAILABLE")
            expectError(try await client.invoke(chat()), status: 503, errorCode: "TEMPORARILY_UNAVAILABLE")
            #expect(try await client.invoke(chat()).status == 200)
            #expect(fake.controls.knobs(for: llama).fault == nil)
            #expect(fake.controls.callCount(for: llama) == 3)
        }
    }

    @Test("a fault configured as always stays until cleared")
    func faultAlways() async throws {
        var configuration = FakeDatabricksConfiguration(token: testToken)
        configuration.setKnobsForAll { $0.fault = .internalError() }
        try await withFake(configuration) { fake, client in
            for _ in 0..<3 { expectError(try await client.invoke(chat()), status: 500, errorCode: "INTERNAL_ERROR") }
            fake.controls.setFault(nil, for: llama)
            #expect(try await client.invoke(chat()).status == 200)
            fake.controls.reset()
            expectError(try await client.invoke(chat()), status: 500, errorCode: "INTERNAL_ERROR")
            #expect(fake.controls.callCount(for: llama) == 1)
        }
    }

    @Test("fixed latency delays every answer")
    func latency() async throws {
        try await withFake { fake, client in
            // A wide margin: the lower bound is exact, the upper one only tells the two apart
            // (on 2 cores busy with the whole suite, a plain call has taken over 2 s).
            fake.controls.setLatency(.seconds(5), for: llama)
            let clock = ContinuousClock()
            let start = clock.now
            let slow = try await client.invoke(chat())
            #expect(slow.status == 200)
            #expect(clock.now - start >= .seconds(5))
            fake.controls.setLatency(.zero, for: llama)
            let fastStart = clock.now
            let fast = try await client.invoke(chat())
            #expect(fast.status == 200)
            #expect(clock.now - fastStart < .seconds(5))
        }
    }

    @Test("429 REQUEST_LIMIT_EXCEEDED after N calls per minute, per endpoint")
    func rateLimit() async throws {
        try await withFake { fake, client in
            fake.controls.setRateLimit(perMinute: 2, for: llama)
            #expect(try await client.invoke(chat()).status == 200)
            #expect(try await client.invoke(chat()).status == 200)
            let limited = try await client.invoke(chat())
            expectError(limited, status: 429, errorCode: "REQUEST_LIMIT_EXCEEDED")
            #expect(limited.json?["message"]?.stringValue?.hasPrefix("REQUEST_LIMIT_EXCEEDED:") == true)
            #expect(limited.header("Retry-After") == "1")
            #expect(try await client.invoke(chat(), on: "fraud-triage").status == 200)
            fake.controls.setRateLimit(perMinute: nil, for: llama)
            #expect(try await client.invoke(chat()).status == 200)
        }
    }
}
