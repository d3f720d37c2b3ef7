import MetricsHTTP
import Testing

@Suite struct ScrapeResponseTests {
    @Test func okCarriesTheExpositionTypeLengthAndClose() {
        let text = String(decoding: ScrapeResponse.ok(body: Array("a 1\n".utf8)), as: UTF8.self)
        #expect(text.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(text.contains("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"))
        #expect(text.contains("\r\nContent-Length: 4\r\n"))
        #expect(text.contains("\r\nConnection: close\r\n"))
        #expect(text.hasSuffix("\r\n\r\na 1\n"))
    }

    @Test func errorsAreCompleteResponses() {
        #expect(String(decoding: ScrapeResponse.notFound, as: UTF8.self).hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        #expect(String(decoding: ScrapeResponse.badRequest, as: UTF8.self).hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
    }
}
