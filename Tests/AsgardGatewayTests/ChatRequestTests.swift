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
        let text =
            #"{"model":"model:databricks/llama-3-3-70b","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"},{"type":"text","text":"there"}]}],"temperature":0.70,"max_tokens":64,"data_class":"internal","stream":false}"#
        let request = try Self.parse(text)
        #expect(request.model == "databricks/llama-3-3-70b")
        #expect(request.messageCount == 2 && request.toolCount == 0 && request.choices == 1 && request.receivedBytes == text.utf8.count)
        #expect(request.maxTokens == 64 && request.maxCompletionTokens == nil && !request.stream && request.dataClass == .internal)
        let upstream = request.upstreamBody(
            request.body, upstreamModel: "databricks-meta-llama-3-3-70b-instruct", defaultCap: 4096, usageContextProject: "fraud")
        #expect(
            upstream.jsonText
                == #"{"model":"databricks-meta-llama-3-3-70b-instruct","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"},{"type":"text","text":"there"}]}],"temperature":0.70,"max_tokens":64,"stream":false,"usage_context":{"project":"fraud"}}"#
        )
    }

    @Test func capsTokensWhenNoneIsGivenAndAsksStreamsForUsage() throws {
        let request = try Self.parse(#"{"model":"openai/gpt-4o-mini","messages":[{"role":"user","content":"hello"}],"stream":true}"#)
        let upstream = request.upstreamBody(request.body, upstreamModel: "gpt-4o-mini", defaultCap: 4096, usageContextProject: nil)
        #expect(
            upstream.jsonText
                == #"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}],"stream":true,"max_tokens":4096,"stream_options":{"include_usage":true}}"#
        )
        #expect(request.tokenCap(default: 4096) == 4096)
    }

    /// `n` choices of the larger of the two caps: what the reservation counts.
    @Test(arguments: [
        (#""max_tokens":10"#, 10, 1), (#""max_completion_tokens":300"#, 300, 1), (#""max_tokens":10,"max_completion_tokens":300"#, 300, 1),
        (#""max_tokens":50,"n":4"#, 50, 4), (#""n":2"#, 777, 2),
    ])
    func readsEveryTokenCapAndTheChoiceCount(fields: String, cap: Int, choices: Int) throws {
        let request = try Self.parse(#"{"model":"a/b","messages":[{"role":"user","content":"x"}],"# + fields + "}")
        #expect(request.tokenCap(default: 777) == cap && request.choices == choices)
        let upstream = request.upstreamBody(request.body, upstreamModel: "b", defaultCap: 777, usageContextProject: nil)
        // The default cap is sent only when the request gave none.
        #expect((upstream["max_tokens"] == .integer(777)) == (request.maxTokens == nil && request.maxCompletionTokens == nil))
    }

    /// A repeated key is refused at any depth, naming where: a scanner and a vendor's parser
    /// could otherwise read different values.
    @Test(arguments: [
        (#"{"model":"a/b","messages":[{"role":"user","content":"hello","content":"AKIAIOSFODNN7EXAMPLE"}]}"#, "messages[0].content"),
        (#"{"model":"a/b","messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","name":"g"}}]}"#,
            "tools[0].function.name"),
        (#"{"model":"a/b","messages":[{"role":"user","content":[{"type":"text","text":"a","text":"b"}]}]}"#, "messages[0].content[0].text"),
    ])
    func refusesRepeatedKeysAtAnyDepth(text: String, path: String) {
        #expect(throws: GatewayError.invalidRequest("the field \(path) appears twice", param: path)) { try Self.parse(text) }
    }

    @Test func listsTheFieldsAnAllowlistDoesNotHave() throws {
        let request = try Self.parse(
            #"{"model":"a/b","messages":[{"role":"user","content":"x"}],"service_tier":"priority","extra_params":{},"data_class":"public"}"#)
        #expect(request.fields(notIn: OpenAICompatibleAdapter().requestFields) == ["extra_params", "service_tier"])
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
            (#"{"model":"a/b","messages":[{"role":"user","content":"x"}],"n":0}"#, 400, "n"),
            (#"{"model":"a/b","messages":[{"role":"user","content":"x"}],"n":129}"#, 400, "n"),
            (#"{"model":"a/b","messages":[{"role":"user","content":"x"}],"max_completion_tokens":-1}"#, 400, "max_completion_tokens"),
            (#"{"model":"a/b","messages":[{"role":"user","content":"x"}],"tools":{}}"#, 400, "tools"),
            (#"{"model":"a/b","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"http://x/y.png"}}]}]}"#, 400,
                "messages[0].content[0]"),
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
