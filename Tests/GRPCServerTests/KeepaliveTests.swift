import Testing
@testable import GRPCServer

private let ms: Int64 = 1_000_000
private let second: Int64 = 1_000 * ms
private let minute: Int64 = 60 * second
private let hour: Int64 = 60 * minute

@Suite struct PingStrikePolicyTests {
    func policy(minInterval: Int64 = 5 * minute, permitWithoutCalls: Bool = false) -> PingStrikePolicy {
        PingStrikePolicy(minIntervalNanos: minInterval, permitWithoutCalls: permitWithoutCalls)
    }

    @Test func theFirstPingIsAlwaysAllowed() {
        var strikes = policy()
        #expect(strikes.pingReceived(atNanos: 0, activeCalls: 0) == .allowed)
    }

    @Test func pingsWithoutCallsEvery100msStrikeOutOnTheFourth() {
        var strikes = policy()
        let verdicts = (0..<5).map { strikes.pingReceived(atNanos: Int64($0) * 100 * ms, activeCalls: 0) }
        #expect(verdicts == [.allowed, .strike(1), .strike(2), .tooManyPings, .ignored])
    }

    @Test func withoutCallsTheIntervalIsTwoHoursUnlessPermitted() {
        var strict = policy(minInterval: 1 * second)
        #expect(strict.pingReceived(atNanos: 0, activeCalls: 0) == .allowed)
        #expect(strict.pingReceived(atNanos: 10 * second, activeCalls: 0) == .strike(1))
        #expect(strict.pingReceived(atNanos: 10 * second + 2 * hour, activeCalls: 0) == .allowed)

        var permissive = policy(minInterval: 1 * second, permitWithoutCalls: true)
        #expect(permissive.pingReceived(atNanos: 0, activeCalls: 0) == .allowed)
        #expect(permissive.pingReceived(atNanos: 10 * second, activeCalls: 0) == .allowed)
        #expect(permissive.pingReceived(atNanos: 10 * second + 500 * ms, activeCalls: 0) == .strike(1))
    }

    @Test func withCallsOpenTheMinimumIntervalApplies() {
        var strikes = policy(minInterval: 5 * minute)
        #expect(strikes.pingReceived(atNanos: 0, activeCalls: 1) == .allowed)
        #expect(strikes.pingReceived(atNanos: 5 * minute, activeCalls: 1) == .allowed)
        #expect(strikes.pingReceived(atNanos: 5 * minute + 1, activeCalls: 1) == .strike(1))
    }

    @Test func headersOrDataForgiveTheNextPingAndResetStrikes() {
        var strikes = policy()
        _ = strikes.pingReceived(atNanos: 0, activeCalls: 1)
        #expect(strikes.pingReceived(atNanos: 1 * ms, activeCalls: 1) == .strike(1))
        #expect(strikes.pingReceived(atNanos: 2 * ms, activeCalls: 1) == .strike(2))
        strikes.headersOrDataSent()
        #expect(strikes.pingReceived(atNanos: 3 * ms, activeCalls: 1) == .allowed)
        #expect(strikes.strikes == 0)
        // Only the one PING is forgiven: the next, with no DATA between, counts again.
        #expect(strikes.pingReceived(atNanos: 4 * ms, activeCalls: 1) == .strike(1))
    }

    @Test func bdpPingsAfterEveryDataFrameNeverStrike() {
        var strikes = policy()
        for index in 0..<1_000 {
            strikes.headersOrDataSent()
            #expect(strikes.pingReceived(atNanos: Int64(index) * ms, activeCalls: 1) == .allowed)
        }
    }

    @Test func everyPingMovesTheReferenceTimeEvenAStrike() {
        // grpc-go sets lastPingAt for every PING, so a client that pings every
        // 4 minutes against a 5 minute minimum strikes each time.
        var strikes = policy(minInterval: 5 * minute)
        let verdicts = (0..<4).map { strikes.pingReceived(atNanos: Int64($0) * 4 * minute, activeCalls: 1) }
        #expect(verdicts == [.allowed, .strike(1), .strike(2), .tooManyPings])
    }
}

@Suite struct KeepaliveProbeTests {
    func probe(time: Int64? = 1 * second, timeout: Int64 = 1 * second) -> KeepaliveProbe {
        var policy = KeepalivePolicy()
        policy.timeNanos = time
        policy.timeoutNanos = timeout
        return KeepaliveProbe(policy, openedAtNanos: 0)
    }

    @Test func aSilentPeerIsPingedThenClosed() {
        var keepalive = probe()
        #expect(keepalive.check(nowNanos: 900 * ms, heard: false) == .none)
        #expect(keepalive.check(nowNanos: 1_000 * ms, heard: false) == .sendPing)
        #expect(keepalive.check(nowNanos: 1_900 * ms, heard: false) == .none)
        #expect(keepalive.check(nowNanos: 2_000 * ms, heard: false) == .closeSilentPeer(silentNanos: 1_000 * ms))
        #expect(keepalive.check(nowNanos: 9_000 * ms, heard: false) == .none)
    }

    @Test func anyFrameAfterThePingProvesThePeerAlive() {
        var keepalive = probe()
        #expect(keepalive.check(nowNanos: 1_000 * ms, heard: false) == .sendPing)
        #expect(keepalive.check(nowNanos: 1_500 * ms, heard: true) == .none)
        #expect(keepalive.state == .listening(heardAtNanos: 1_500 * ms))
        #expect(keepalive.check(nowNanos: 2_400 * ms, heard: false) == .none)
        #expect(keepalive.check(nowNanos: 2_500 * ms, heard: false) == .sendPing)
    }

    @Test func aTalkingPeerIsNeverPinged() {
        var keepalive = probe()
        for step in 1...100 {
            #expect(keepalive.check(nowNanos: Int64(step) * 500 * ms, heard: true) == .none)
        }
    }

    @Test func offNeverPings() {
        var keepalive = probe(time: nil)
        #expect(keepalive.check(nowNanos: 100 * hour, heard: false) == .none)
    }
}

@Suite struct ConnectionAgeTests {
    func age(_ maxAge: Int64?, grace: Int64?, jitter: Int64 = 0) -> ConnectionAge {
        var policy = KeepalivePolicy()
        policy.maxConnectionAgeNanos = maxAge
        policy.maxConnectionAgeGraceNanos = grace
        policy.timeoutNanos = 2 * second
        return ConnectionAge(policy, openedAtNanos: 10 * second, jitterNanos: jitter)
    }

    @Test func retiresThenEndsCallsThenCloses() {
        var connection = age(2 * second, grace: 1 * second, jitter: -100 * ms)
        #expect(connection.check(nowNanos: 11_800 * ms) == .none)
        #expect(connection.check(nowNanos: 11_900 * ms) == .retire)
        #expect(connection.check(nowNanos: 12_800 * ms) == .none)
        #expect(connection.check(nowNanos: 12_900 * ms) == .endCalls)
        #expect(connection.check(nowNanos: 14_800 * ms) == .none)
        #expect(connection.check(nowNanos: 14_900 * ms) == .close)
        #expect(connection.check(nowNanos: 99 * second) == .none)
    }

    @Test func infiniteGraceNeverEndsCalls() {
        var connection = age(2 * second, grace: nil)
        #expect(connection.check(nowNanos: 12 * second) == .retire)
        #expect(connection.check(nowNanos: 100 * hour) == .none)
    }

    @Test func noAgeNeverRetires() {
        var connection = age(nil, grace: 1 * second)
        #expect(connection.check(nowNanos: .max) == .none)
    }

    @Test func jitterStaysWithinTenPercent() {
        var generator = SystemRandomNumberGenerator()
        let draws = (0..<1_000).map { _ in ConnectionAge.jitter(forAge: 10 * second, using: &generator) }
        #expect(draws.allSatisfy { abs($0) <= 1 * second })
        #expect(draws.contains { $0 < 0 } && draws.contains { $0 > 0 })
        #expect(ConnectionAge.jitter(forAge: nil, using: &generator) == 0)
    }

    @Test func hugeAgesSaturate() {
        var connection = age(.max, grace: .max)
        #expect(connection.check(nowNanos: .max - 1) == .none)
    }
}

@Suite struct KeepalivePolicyTests {
    @Test func sweepIntervalFollowsTheShortestSetting() {
        var policy = KeepalivePolicy()
        #expect(policy.sweepIntervalNanos == 1 * second)  // 2m / 20s, capped at 1s
        policy.timeNanos = 1 * second
        policy.timeoutNanos = 1 * second
        #expect(policy.sweepIntervalNanos == 100 * ms)
        policy.timeNanos = nil
        #expect(policy.sweepIntervalNanos == nil)
        policy.maxConnectionAgeNanos = 2 * second
        policy.maxConnectionAgeGraceNanos = 0
        #expect(policy.sweepIntervalNanos == 50 * ms)
    }
}
