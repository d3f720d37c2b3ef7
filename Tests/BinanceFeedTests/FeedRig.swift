@testable import BinanceFeed
import MarketData

/// Drives a FeedMachine the way LiveFeed does, but with a fake clock and
/// scripted events instead of sockets. Nothing is applied automatically: a
/// test sees every action and scripts the outcome itself (an `.end` comes
/// back only when the test says the connection ended).
struct FeedRig {
    static let url = "wss://stream.binance.com:9443/stream?streams=btcusdt@trade/ethusdt@trade"
    static let ms: Int64 = 1_000_000
    static let s: Int64 = 1_000_000_000

    var machine: FeedMachine
    var now: Int64 = 1_000 * FeedRig.s
    /// When each connection last received a frame (BinanceConnection's job in the server).
    var lastFrame: [UInt32: Int64] = [:]

    init(staleTimeout: Int64 = 2 * FeedRig.s, maxAge: Int64 = 60 * FeedRig.s, seed: UInt64 = 7) throws {
        let endpoint = try BinanceEndpoint(url: "wss://stream.binance.com:9443/stream")
        let settings = LiveFeedSettings(endpoint: endpoint, staleTimeoutNanos: staleTimeout, maxConnectionAgeNanos: maxAge,
                                        backoffBaseNanos: 1 * Self.s, backoffCapNanos: 30 * Self.s)
        machine = FeedMachine(settings: settings, url: Self.url, symbolCount: 2, jitterSeed: seed)
    }

    var settings: LiveFeedSettings { machine.settings }

    mutating func advance(_ nanos: Int64) { now += nanos }

    mutating func start() -> [FeedAction] { machine.start(nowNanos: now) }

    mutating func retryDue() -> [FeedAction] { machine.retryDue(nowNanos: now) }

    mutating func opened(_ serial: UInt32) -> [FeedAction] {
        lastFrame[serial] = now
        return machine.connectionOpened(serial: serial, nowNanos: now)
    }

    mutating func ended(_ serial: UInt32, _ reason: String, retryAfterSeconds: Int? = nil) -> [FeedAction] {
        machine.connectionEnded(serial: serial, reason: reason, retryAfterSeconds: retryAfterSeconds, nowNanos: now)
    }

    /// A frame that is not data (a pong): it only proves the connection alive.
    mutating func pong(_ serial: UInt32) { lastFrame[serial] = now }

    /// A trade frame on `serial` (symbol 0 is BTCUSDT, 1 is ETHUSDT).
    mutating func trade(_ symbol: Int, _ id: Int64, on serial: UInt32) -> TradeVerdict {
        lastFrame[serial] = now
        return machine.tradeArrived(Self.trade(symbol, id), on: serial)
    }

    static func trade(_ symbol: Int, _ id: Int64) -> Trade {
        Trade(symbolIndex: symbol, tradeID: id, price: 100, quantity: 1, tradeTimeMs: id, eventTimeMs: id, ingestUnixNanos: 0)
    }

    mutating func serverShutdown(on serial: UInt32) -> [FeedAction] {
        lastFrame[serial] = now
        return machine.serverShutdownNotice(serial: serial, eventTimeMs: 1_723_100_000_000, nowNanos: now)
    }

    /// The tick's first step: handshake timeouts, stale detection, pings.
    mutating func checkLiveness() -> [FeedAction] {
        let frames = lastFrame
        let now = self.now
        return machine.checkLiveness(nowNanos: now) { frames[$0] ?? now }
    }

    /// The tick's second step, after the first one's outcome.
    mutating func maintain() -> [FeedAction] { machine.maintain(nowNanos: now) }

    /// The end of every event (a socket read or a tick).
    mutating func settle() -> [FeedAction] { machine.settleRotation(nowNanos: now) }

    /// Streaming on connection 1, as after a clean start.
    mutating func streamingOnFirst() {
        _ = start()
        _ = opened(1)
    }

    /// Streaming on 1, then the age rotation started with candidate 2.
    mutating func rotatingToSecond() -> [FeedAction] {
        streamingOnFirst()
        advance(settings.maxConnectionAgeNanos)
        pong(1)
        return maintain()
    }

    var phaseName: String {
        switch machine.phase {
        case .idle: return "idle"
        case .connecting(let c): return "connecting(\(c.serial))"
        case .streaming(let s): return "streaming(\(s.connection.serial))"
        case .rotating(let r): return "rotating(\(r.current.serial) → \(r.candidate.serial))"
        case .backoff: return "backoff"
        case .closed: return "closed"
        }
    }
}

extension [FeedAction] {
    /// The wait a `.scheduleRetry` in these actions asks for, from `now`.
    func retryDelay(from now: Int64) -> Int64? {
        for case .scheduleRetry(let at) in self { return at - now }
        return nil
    }

    /// The connections these actions close or end.
    var serialsTornDown: [UInt32] {
        compactMap {
            switch $0 {
            case .close(let serial, _), .end(let serial, _): return serial
            default: return nil
            }
        }
    }
}
