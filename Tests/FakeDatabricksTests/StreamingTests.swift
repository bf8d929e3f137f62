import AsgardJSON
import FakeDatabricks
import Foundation
import Testing

@Suite("Streaming")
struct StreamingTests {
    @Test("stream: true answers SSE chunks with deltas, a usage chunk on request, then [DONE]")
    func frames() async throws {
        try await withFake { _, client in
            let plain = try await client.invoke(chat("stream me"))
            let expected = try #require(plain.json?["choices"]?[0]?["message"]?["content"]?.stringValue)

            let result = try await client.invoke(chat("stream me", ["stream": true, "stream_options": ["include_usage": true]]))
            #expect(result.status == 200)
            #expect(result.header("Content-Type")?.hasPrefix("text/event-stream") == true)
            #expect(result.header("served-model-name") == llama)
            #expect(!result.truncated)
            let data = result.sseData
            #expect(data.last == "[DONE]")
            let chunks = data.dropLast().compactMap { try? JSONValue.parse($0) }
            #expect(chunks.count == data.count - 1)
            for chunk in chunks {
                #expect(chunk["object"] == "chat.completion.chunk")
                #expect(chunk["id"] == chunks[0]["id"])
                #expect(chunk["id"]?.stringValue?.hasPrefix("chatcmpl-") == true)
                #expect(chunk["model"] == plain.json?["model"])
                #expect(chunk["created"] == plain.json?["created"])
            }
            let usageChunk = try #require(chunks.last)
            #expect(usageChunk["choices"]?.arrayValue?.isEmpty == true)
            #expect(usageChunk["usage"] == plain.json?["usage"])

            let contentChunks = Array(chunks.dropLast())
            #expect(contentChunks.first?["choices"]?[0]?["delta"]?["role"] == "assistant")
            #expect(contentChunks.dropFirst().allSatisfy { $0["choices"]?[0]?["delta"]?["role"] == nil })
            // finish_reason is an explicit null until the last chunk.
            #expect(contentChunks.dropLast().allSatisfy { $0["choices"]?[0]?["finish_reason"] == .null })
            #expect(contentChunks.last?["choices"]?[0]?["finish_reason"] == "stop")
            let text = contentChunks.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined()
            #expect(text == expected)
            // Word by word.
            #expect(contentChunks.count == FakeModel.words(expected).count + 1)
        }
    }

    @Test("without include_usage there is no usage chunk; knobs can force it, or drop [DONE]")
    func usageAndDoneKnobs() async throws {
        try await withFake { fake, client in
            let body = chat("stream", ["stream": true])
            let plain = try await client.invoke(body)
            #expect(plain.sseData.compactMap { try? JSONValue.parse($0) }.allSatisfy { $0["usage"] == nil })
            #expect(plain.sseData.last == "[DONE]")

            fake.controls.update(llama) {
                $0.streamUsage = .always
                $0.streamDone = false
            }
            let forced = try await client.invoke(body)
            #expect(forced.sseData.last != "[DONE]")
            #expect((try? JSONValue.parse(forced.sseData.last ?? ""))?["usage"]?["total_tokens"] != nil)

            fake.controls.update(llama) {
                $0.streamUsage = .never
                $0.streamDone = true
            }
            let never = try await client.invoke(chat("stream", ["stream": true, "stream_options": ["include_usage": true]]))
            #expect(never.sseData.compactMap { try? JSONValue.parse($0) }.allSatisfy { $0["usage"] == nil })
        }
    }

    @Test("n choices stream each with its own index; max_tokens ends with length")
    func choicesAndLength() async throws {
        try await withFake { _, client in
            let result = try await client.invoke(chat("x", ["stream": true, "n": 2, "max_tokens": 4]))
            let chunks = result.sseData.compactMap { try? JSONValue.parse($0) }
            for index in 0..<2 {
                let mine = chunks.filter { $0["choices"]?[0]?["index"]?.intValue == index }
                let text = mine.compactMap { $0["choices"]?[0]?["delta"]?["content"]?.stringValue }.joined()
                #expect(text == "This is a deterministic")
                #expect(mine.last?["choices"]?[0]?["finish_reason"] == "length")
            }
        }
    }

    @Test("a dropped stream ends the connection after K frames")
    func dropped() async throws {
        try await withFake { fake, client in
            fake.controls.setDropStream(afterChunks: 3, for: llama)
            // A pause between frames lets the client read them before the connection closes
            // (AsyncHTTPClient drops unread parts when the body fails).
            fake.controls.update(llama) { $0.chunkDelay = .milliseconds(50) }
            let result = try await client.invoke(chat("drop", ["stream": true]))
            #expect(result.status == 200)
            #expect(result.truncated)
            #expect(result.sseData.count == 3)
            #expect(!result.sseData.contains("[DONE]"))
            // The server still answers afterwards.
            fake.controls.setDropStream(afterChunks: nil, for: llama)
            let next = try await client.invoke(chat("drop", ["stream": true]))
            #expect(!next.truncated)
            #expect(next.sseData.last == "[DONE]")
        }
    }
}
