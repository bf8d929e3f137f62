import AsgardJSON
import FakeDatabricks
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

@Suite("Invocations")
struct InvocationTests {
    @Test("a completion has the real shape, usage and served-model-name header")
    func shape() async throws {
        try await withFake { _, client in
            let result = try await client.invoke(chat("hello there"))
            #expect(result.status == 200, "\(result.body)")
            #expect(result.header("Content-Type")?.hasPrefix("application/json") == true)
            #expect(result.header("served-model-name") == llama)
            let json = try #require(result.json)
            #expect(json.members?.map(\.key) == ["choices", "created", "id", "model", "object", "usage"])
            #expect(json["object"] == "chat.completion")
            #expect(json["id"]?.stringValue?.hasPrefix("chatcmpl-") == true)
            #expect(json["created"]?.intValue == 1_735_689_600)
            #expect(json["model"] == "meta-llama-3.3-70b-instruct-121024")
            let choice = try #require(json["choices"]?[0])
            #expect(json["choices"]?.arrayValue?.count == 1)
            #expect(choice["index"] == 0)
            #expect(choice["finish_reason"] == "stop")
            #expect(choice["message"]?["role"] == "assistant")
            let content = try #require(choice["message"]?["content"]?.stringValue)
            #expect(content == FakeModel.reply(endpoint: llama, messages: [.init(role: "user", content: "hello there")]))
            #expect(content.hasPrefix("This is a deterministic answer from \(llama) to message "))
            // prompt: 2 words + 1; completion: the reply's words.
            #expect(json["usage"]?["prompt_tokens"] == 3)
            #expect(json["usage"]?["completion_tokens"]?.intValue == FakeModel.words(content).count)
            #expect(json["usage"]?["total_tokens"]?.intValue == 3 + FakeModel.words(content).count)
        }
    }

    @Test("the same request gives byte-identical answers; another message another reply")
    func determinism() async throws {
        try await withFake { _, client in
            let first = try await client.invoke(chat("same question"))
            let second = try await client.invoke(chat("same question"))
            let other = try await client.invoke(chat("different question"))
            #expect(first.body == second.body)
            #expect(first.json?["choices"]?[0]?["message"]?["content"] != other.json?["choices"]?[0]?["message"]?["content"])
            #expect(first.json?["id"] != other.json?["id"])
        }
        // And across server instances.
        let again = try await withFake { _, client in try await client.invoke(chat("same question")).body }
        let once = try await withFake { _, client in try await client.invoke(chat("same question")).body }
        #expect(again == once)
    }

    @Test("prompt_tokens counts the words of every message plus one per message")
    func promptTokens() async throws {
        try await withFake { _, client in
            let body: JSONValue = [
                "messages": [
                    ["role": "system", "content": "You are terse."],
                    ["role": "user", "content": "Summarise   the\nquarter"],
                    ["role": "assistant", "content": "Fine."],
                    ["role": "user", "content": [["type": "text", "text": "and costs"]]],
                ]
            ]
            let result = try await client.invoke(body)
            #expect(result.status == 200, "\(result.body)")
            #expect(result.json?["usage"]?["prompt_tokens"] == .integer((3 + 1) + (3 + 1) + (1 + 1) + (2 + 1)))
        }
    }

    @Test("max_tokens truncates with finish_reason length; stop cuts; n gives n choices")
    func parameters() async throws {
        try await withFake { _, client in
            let short = try await client.invoke(chat("hi", ["max_tokens": 3]))
            #expect(short.json?["choices"]?[0]?["message"]?["content"] == "This is a")
            #expect(short.json?["choices"]?[0]?["finish_reason"] == "length")
            #expect(short.json?["usage"]?["completion_tokens"] == 3)

            let stopped = try await client.invoke(chat("hi", ["stop": ["answer"]]))
            #expect(stopped.json?["choices"]?[0]?["message"]?["content"] == "This is a deterministic ")
            #expect(stopped.json?["choices"]?[0]?["finish_reason"] == "stop")

            let many = try await client.invoke(chat("hi", ["n": 3, "temperature": 0.2]))
            let choices = try #require(many.json?["choices"]?.arrayValue)
            #expect(choices.map { $0["index"] } == [0, 1, 2])
            #expect(Set(choices.compactMap { $0["message"]?["content"]?.stringValue }).count == 3)
            let words = choices.reduce(0) { $0 + FakeModel.words($1["message"]?["content"]?.stringValue ?? "").count }
            #expect(many.json?["usage"]?["completion_tokens"]?.intValue == words)
        }
    }

    @Test("the request body is recorded, usage_context included")
    func recordsRequests() async throws {
        try await withFake { fake, client in
            let body = chat("cost?", ["usage_context": ["project": "fraud-detection"], "client_request_id": "req-1"])
            _ = try await client.invoke(body, on: "fraud-triage")
            #expect(fake.controls.callCount(for: "fraud-triage") == 1)
            #expect(fake.controls.callCount(for: llama) == 0)
            let recorded = try #require(fake.controls.lastRequest(for: "fraud-triage"))
            #expect(recorded.json?["usage_context"]?["project"] == "fraud-detection")
            #expect(recorded.json == body)
            #expect(recorded.headers["authorization"] == "Bearer \(testToken)")
            #expect(recorded.path == "/serving-endpoints/fraud-triage/invocations")
        }
    }

    @Test("the OpenAI-compatible route takes the endpoint from model")
    func openAICompatible() async throws {
        try await withFake { fake, client in
            var body = chat("hi")
            body["model"] = "fraud-triage"
            let result = try await client.post("/serving-endpoints/chat/completions", body)
            #expect(result.status == 200, "\(result.body)")
            #expect(result.json?["model"] == "fraud-triage-llm")
            #expect(result.header("served-model-name") == "fraud-triage-llm-1")
            #expect(fake.controls.callCount(for: "fraud-triage") == 1)
            let missing = try await client.post("/serving-endpoints/chat/completions", chat("hi"))
            expectError(missing, status: 400, errorCode: "INVALID_PARAMETER_VALUE")
        }
    }

    @Test("the model is pure: same request, same completion; stream pieces rebuild the text")
    func pureModel() throws {
        let request = try FakeModel.parse(chat("hello")).get()
        let completion = FakeModel.complete(endpoint: llama, request: request)
        #expect(completion == FakeModel.complete(endpoint: llama, request: request))
        #expect(completion.choices.count == 1)
        #expect(completion.promptTokens == 2)
        #expect(FakeModel.streamPieces("a b  c").joined() == "a b  c")
        #expect(FakeModel.streamPieces("a b  c") == ["a", " b", "  c"])
    }

    @Test("the router also answers in memory (HummingbirdTesting .router, no socket)")
    func inMemoryRouter() async throws {
        let fake = FakeDatabricks(FakeDatabricksConfiguration(token: testToken))
        let app = Application(router: fake.router())
        try await app.test(.router) { client in
            var headers = HTTPFields()
            headers[.authorization] = "Bearer \(testToken)"
            headers[.contentType] = "application/json"
            try await client.execute(
                uri: "/serving-endpoints/fraud-triage/invocations", method: .post, headers: headers,
                body: ByteBuffer(string: chat("hi").jsonText)
            ) { response in
                #expect(response.status == .ok)
                let json = try? JSONValue.parse(String(buffer: response.body))
                #expect(json?["object"] == "chat.completion")
                #expect(response.headers[HTTPField.Name("served-model-name")!] == "fraud-triage-llm-1")
            }
            try await client.execute(uri: "/api/2.0/serving-endpoints", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect((try? JSONValue.parse(String(buffer: response.body)))?["error_code"] == "UNAUTHENTICATED")
            }
        }
        #expect(fake.controls.callCount(for: "fraud-triage") == 1)
    }
}
