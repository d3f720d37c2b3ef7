import Testing
@testable import BinanceFeed
import MarketData

/// The live feed's pure rules: the URL, the backoff schedule and trade-id
/// sequencing. The connection itself is exercised end to end against a fake
/// Binance in Tests/Integration/test_binance_feed.py.
@Suite struct BinanceEndpointTests {
    @Test func defaultBinanceURL() throws {
        let endpoint = try BinanceEndpoint(url: "wss://stream.binance.com:9443/stream")
        #expect(endpoint.host == "stream.binance.com")
        #expect(endpoint.port == 9443)
        #expect(endpoint.path == "/stream")
        let symbols = try SymbolTable(list: "BTCUSDT,ethusdt")
        #expect(endpoint.target(symbols: symbols, stream: .trade) == "/stream?streams=btcusdt@trade/ethusdt@trade")
        #expect(endpoint.target(symbols: symbols, stream: .aggTrade) == "/stream?streams=btcusdt@aggTrade/ethusdt@aggTrade")
    }

    @Test func defaultsAndLiterals() throws {
        let noPort = try BinanceEndpoint(url: "WSS://example.com")
        #expect(noPort.port == 443 && noPort.path == "/")
        let v6 = try BinanceEndpoint(url: "wss://[::1]:9443/stream")
        #expect(v6.host == "::1" && v6.port == 9443)
        #expect("\(v6)" == "wss://[::1]:9443/stream")
    }

    @Test(arguments: ["ws://127.0.0.1:9443/stream", "https://x/stream", "wss://:9443/stream",
                      "wss://host:0/stream", "wss://host:99999/", "wss://host:abc/", "wss://host/stream?streams=x",
                      "wss://[::1/stream"])
    func rejects(_ url: String) {
        #expect(throws: BinanceEndpoint.URLError.self) { try BinanceEndpoint(url: url) }
    }
}

@Suite struct ReconnectBackoffTests {
    @Test func growsWithinHalfToFullOfTheCeilingAndCaps() {
        var backoff = ReconnectBackoff(baseNanos: 1_000_000_000, capNanos: 30_000_000_000)
        let expectedCeilings: [Int64] = [1, 2, 4, 8, 16, 30, 30, 30].map { $0 * 1_000_000_000 }
        for ceiling in expectedCeilings {
            var low = backoff
            var high = backoff
            #expect(low.nextDelay(unit: 0) == ceiling / 2)
            #expect(high.nextDelay(unit: 0.999_999) <= ceiling)
            #expect(high.nextDelay(unit: 0) >= ceiling / 2)
            _ = backoff.nextDelay(unit: 0.5)
        }
        #expect(backoff.failures == expectedCeilings.count)
        backoff.reset()
        #expect(backoff.nextDelay(unit: 1) == 1_000_000_000)
    }

    @Test func consecutiveWaitsNeverShrinkBeforeTheCap() {
        var backoff = ReconnectBackoff(baseNanos: 1_000_000_000, capNanos: 30_000_000_000)
        var previous: Int64 = 0
        for step in 0..<5 {
            // The worst case for growth: a high draw followed by a low one.
            let delay = backoff.nextDelay(unit: step % 2 == 0 ? 1 : 0)
            #expect(delay >= previous)
            #expect(delay >= 100_000_000)
            previous = delay
        }
    }

    @Test func retryAfterIsAFloor() {
        var backoff = ReconnectBackoff(baseNanos: 1_000_000_000, capNanos: 30_000_000_000)
        #expect(backoff.nextDelay(unit: 0, retryAfterNanos: 7_000_000_000) == 7_000_000_000)
        #expect(backoff.nextDelay(unit: 0, retryAfterNanos: 1) == 1_000_000_000)
    }

    @Test func hugeFailureCountsStayAtTheCap() {
        var backoff = ReconnectBackoff(baseNanos: 100_000_000, capNanos: 30_000_000_000)
        for _ in 0..<200 { _ = backoff.nextDelay(unit: 0.5) }
        #expect(backoff.nextDelay(unit: 1) == 30_000_000_000)
    }
}
