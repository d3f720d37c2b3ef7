import MetricsHTTP
import Testing

/// The request parser judged on whole requests and on every split of them,
/// as bytes arrive from a socket in any pieces.
@Suite struct ScrapeRequestTests {
    private func parse(_ text: String) -> ScrapeRequest {
        parse(Array(text.utf8))
    }

    private func parse(_ bytes: [UInt8]) -> ScrapeRequest {
        bytes.withUnsafeBytes { ScrapeRequest.parse($0) }
    }

    @Test func getMetricsIsServed() {
        #expect(parse("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n") == .metrics)
        #expect(parse("GET /metrics?name[]=a HTTP/1.0\r\n\r\n") == .metrics)
    }

    @Test func otherPathsAndMethodsAreNotFound() {
        #expect(parse("GET / HTTP/1.1\r\n\r\n") == .notFound)
        #expect(parse("GET /metricsx HTTP/1.1\r\n\r\n") == .notFound)
        #expect(parse("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n") == .notFound)
    }

    @Test func garbageIsMalformedAsSoonAsItShows() {
        #expect(parse("hello\r\n") == .malformed)
        #expect(parse("GET /metrics HTTP/2.0\r\n\r\n") == .malformed)
        #expect(parse("GET metrics HTTP/1.1\r\n\r\n") == .malformed)
        #expect(parse("GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n") == .malformed)
        #expect(parse([0x16, 0x03, 0x01, 0x02, 0x00]) == .malformed)  // a TLS ClientHello
    }

    @Test func anUnfinishedHeaderBlockWaitsThenIsTooLarge() {
        let partial = "GET /metrics HTTP/1.1\r\nX-Pad: " + String(repeating: "a", count: 100)
        #expect(parse(partial) == .incomplete)
        let huge = "GET /metrics HTTP/1.1\r\nX-Pad: " + String(repeating: "a", count: ScrapeRequest.maxHeaderBytes)
        #expect(parse(huge) == .tooLarge)
        #expect(parse(huge + "\r\n\r\n") == .tooLarge)
    }

    @Test func everySplitOfAGoodRequestIsIncompleteUntilTheEnd() {
        let request = Array("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9090\r\nUser-Agent: Prometheus/2\r\n\r\n".utf8)
        for cut in 0..<request.count {
            #expect(parse(Array(request[..<cut])) == .incomplete, "cut at \(cut)")
        }
        #expect(parse(request) == .metrics)
    }
}
