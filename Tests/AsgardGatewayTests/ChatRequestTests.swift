import AsgardCore
import AsgardGateway
import AsgardJSON
import Foundation
import Testing

@Suite struct ChatRequestTests {
    static func parse(_ text: String, limit: Int = 1 << 20) throws(GatewayError) -> ChatRequest {
        try ChatRequest(bytes: Array(text.utf8), limit: limit)
    }

    @Test func readsTheFieldsAndKeepsTheRest() throws {
        let request = try Self.parse(
            #"{"model":"model:databricks/llama-3-3-70b","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"},{"type":"text","text":"there"}]}],"temperature":0.70,"max_tokens":64,"data_class":"internal","stream":false}"#
        )
        #expect(request.model == "databricks/llama-3-3-70b")
        #expect(request.messageTexts == ["be brief", "hi\nthere"])
        #expect(request.maxTokens == 64 && !request.stream && request.dataClass == .internal)
        let upstream = request.upstreamBody(
            upstreamModel: "databricks-meta-llama-3-3-70b-instruct", maxTokens: 64,
            redactedTexts: nil, usageContextProject: "fraud")
        #expect(
            upstream.jsonText
                == #"{"model":"databricks-meta-llama-3-3-70b-instruct","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"},{"type":"text","text":"there"}]}],"temperature":0.70,"max_tokens":64,"stream":false,"usage_context":{"project":"fraud"}}"#
        )
    }

    @Test func capsTokensRedactsAndAsksStreamsForUsage() throws {
        let request = try Self.parse(
            #"{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"my card 4111 1111 1111 1111"}],"stream":true}"#)
        let upstream = request.upstreamBody(
            upstreamModel: "gpt-4o-mini", maxTokens: 4096, redactedTexts: ["my card [REDACTED:credit_card]"], usageContextProject: nil)
        #expect(
            upstream.jsonText
                == #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"my card [REDACTED:credit_card]"}],"stream":true,"max_tokens":4096,"stream_options":{"include_usage":true}}"#
        )
    }

    @Test(
        arguments: [
            ("not json", 400, nil as String?), (#"[]"#, 400, nil), (#"{"messages":[]}"#, 400, "model"),
            (#"{"model":1,"messages":[]}"#, 400, "model"), (#"{"model":"a/b"}"#, 400, "messages"),
            (#"{"model":"a/b","messages":[]}"#, 400, "messages"),
            (#"{"model":"a/b","messages":[{"role":"wizard","content":"x"}]}"#, 400, "messages[0].role"),
            (#"{"model":"a/b","messages":[{"role":"user","content":5}]}"#, 400, "messages[0].content"),
            (#"{"model":"a/b","messages":[{"role":"user","content":"x"}],"max_tokens":0}"#, 400, "max_tokens"),
            (#"{"model":"a/b","messages":[{"role":"user","content":"x"}],"max_tokens":1.5}"#, 400, "max_tokens"),
            (#"{"model":"a/b","messages":[{"role":"user","content":"x"}],"stream":"yes"}"#, 400, "stream"),
            (#"{"model":"a/b","messages":[{"role":"user","content":"x"}],"data_class":"secret"}"#, 400, "data_class"),
            (#"{"model":"a/b","model":"c/d","messages":[{"role":"user","content":"x"}]}"#, 400, "model"),
        ] as [(String, Int, String?)])
    func refusesBadBodiesNamingTheField(text: String, status: Int, param: String?) {
        #expect { try Self.parse(text) } throws: { error in
            guard let error = error as? GatewayError else { return false }
            return error.statusCode == status && error.param == param && error.type == "invalid_request_error"
        }
    }

    @Test func refusesOversizedBodiesBeforeParsing() {
        #expect(throws: GatewayError.bodyTooLarge(limit: 10)) { try Self.parse(String(repeating: " ", count: 11), limit: 10) }
    }

    @Test func errorBodiesAreOpenAIErrorObjects() throws {
        let error = GatewayError.invalidRequest("messages must not be \"empty\"", param: "messages")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(error.body.utf8)) as? [String: [String: Any]])
        #expect(json["error"]?["message"] as? String == "messages must not be \"empty\"")
        #expect(json["error"]?["type"] as? String == "invalid_request_error" && json["error"]?["code"] as? String == "invalid_request")
        #expect(json["error"]?["param"] as? String == "messages")
        #expect(GatewayError.invalidAPIKey.body.contains(#""param":null"#))
    }
}
