import CNghttp2
import GRPCWire

/// A connection's life over time: the keepalive probe, the client PING
/// policy and the age limit. The pure machines decide; this does the HTTP/2.
extension HTTP2Connection {
    /// The status of calls ended at max connection age + grace.
    static let maxAgeStatus = GRPCStatus(.unavailable, "max connection age reached; reconnect")

    /// The hub's periodic sweep, at `nowNanos`.
    func sweep(nowNanos: Int64) {
        guard phase.servesSession, session != nil else { return }
        let heard = heardFromPeer
        heardFromPeer = false
        switch keepaliveProbe.check(nowNanos: nowNanos, heard: heard) {
        case .none:
            break
        case .sendPing:
            sendKeepalivePing()
            guard phase.servesSession else { return }  // the PING could not be submitted
        case .closeSilentPeer(let silentNanos):
            let waitedMs = silentNanos / 1_000_000
            hub.log(.info, "keepalive timeout; closing the connection", [
                "slot": "\(token.slot)", "peer": peer, "waited_ms": "\(waitedMs)", "streams": "\(streams.count)",
            ])
            hub.keepaliveEvents[.keepaliveTimeout, default: 0] += 1
            hub.apply(phase.closeRequested("keepalive: no answer to PING within \(waitedMs) ms"), to: self)
            return
        }
        switch age.check(nowNanos: nowNanos) {
        case .none:
            break
        case .retire where !phase.isOpen:
            break  // the server is draining: its own GOAWAY is under way
        case .retire:
            hub.log(.info, "max connection age reached; sending GOAWAY", [
                "slot": "\(token.slot)", "peer": peer, "age_ms": "\((nowNanos - openedAtNanos) / 1_000_000)",
                "streams": "\(streams.count)",
                "grace_ms": age.graceNanos.map { "\($0 / 1_000_000)" } ?? "infinite",
            ])
            hub.keepaliveEvents[.maxConnectionAge, default: 0] += 1
            startGracefulGoAway()
        case .endCalls:
            endCallsForAge()
        case .close:
            hub.log(.info, "max connection age: client still connected after its streams ended; closing", [
                "slot": "\(token.slot)", "peer": peer, "streams": "\(streams.count)",
            ])
            hub.apply(phase.closeRequested("max connection age reached"), to: self)
        }
    }

    private func sendKeepalivePing() {
        guard let session else { return }
        let result = nghttp2_submit_ping(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), PingPayload.keepalive.bytes)
        if result != 0 {
            hub.apply(phase.closeRequested("nghttp2_submit_ping: \(String(cString: nghttp2_strerror(result)))"), to: self)
            return
        }
        hub.log(.debug, "keepalive PING sent to a silent peer", ["slot": "\(token.slot)", "peer": peer])
        requestFlush()
    }

    /// Grace is over: every call still open ends with UNAVAILABLE through the
    /// normal finish path (queued messages, then trailers). The final GOAWAY
    /// goes out too, in case the notice's PING was never answered, so the
    /// session ends, and the connection closes, once the last stream does.
    private func endCallsForAge() {
        let live = streams.values.filter { $0.phase.isLive }.sorted { $0.id < $1.id }
        hub.log(.info, "max connection age grace over; ending streams with UNAVAILABLE", [
            "slot": "\(token.slot)", "peer": peer, "streams": "\(live.count)",
        ])
        for stream in live { stream.finish(Self.maxAgeStatus) }
        sendFinalGoAway()
        requestFlush()
    }

    // MARK: Frames (called from the nghttp2 callbacks)

    /// A PING from the client (not an ACK), judged as grpc-go judges it.
    /// nghttp2 has already queued its ACK.
    func clientPingReceived() {
        let verdict = pingStrikes.pingReceived(atNanos: hub.monotonicNanos, activeCalls: streams.count)
        guard verdict == .tooManyPings, let session else { return }
        hub.log(.warning, "client sends PINGs too often; GOAWAY too_many_pings", [
            "slot": "\(token.slot)", "peer": peer, "strikes": "\(pingStrikes.strikes)", "streams": "\(streams.count)",
            "min_ping_interval_ms": "\(pingStrikes.minIntervalNanos / 1_000_000)",
            "permit_without_calls": "\(pingStrikes.permitWithoutCalls)",
        ])
        hub.keepaliveEvents[.tooManyPings, default: 0] += 1
        let debugData = Array("too_many_pings".utf8)
        // goAwayFrameSent closes the connection once this is on the wire.
        let result = nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue),
                                           nghttp2_session_get_last_proc_stream_id(session),
                                           NGHTTP2_ENHANCE_YOUR_CALM.rawValue, debugData, debugData.count)
        if result != 0 { failInsideSession("too many pings") }
        requestFlush()
    }

    /// We sent HEADERS or DATA: the client's next PING is forgiven.
    func headersOrDataSent() {
        pingStrikes.headersOrDataSent()
    }
}
