import CNghttp2
import CTickwireShim
import Testing
@testable import GRPCServer

@Suite struct HeaderBlockBudgetTests {
    @Test func fieldsWithinTheLimitAreRecordedAndTheCrossingOneToo() {
        let budget = HeaderBlockBudget(listLimitBytes: 100)
        budget.blockStarted(payloadBytes: 90)
        do { let verdict = budget.admit(nameBytes: 10, valueBytes: 50); #expect(verdict == .record) }  // 92
        do { let verdict = budget.admit(nameBytes: 10, valueBytes: 50); #expect(verdict == .record) }  // 184: crosses
        do { let verdict = budget.admit(nameBytes: 10, valueBytes: 50); #expect(verdict == .skip) }
    }

    @Test func aBlockDecodingFarBeyondItsWireBytesIsABomb() {
        let budget = HeaderBlockBudget(listLimitBytes: 16_384)
        budget.blockStarted(payloadBytes: 16_384)
        // One 4,000-byte field, then 1-byte references to it: cut long before the whole frame.
        var admitted = 0
        var verdict = HeaderBlockBudget.Admission.record
        while verdict != .bomb && admitted < 16_384 {
            verdict = budget.admit(nameBytes: 6, valueBytes: 4_000)
            admitted += 1
        }
        #expect(verdict == .bomb)
        do { let exploded = budget.exploded; #expect(exploded) }
        #expect(admitted <= (16_384 + HeaderBlockBudget.bombRatio * 16_384) / 4_038 + 1)
    }

    @Test func continuationsAddToTheWireWeightAndANewBlockStartsAfresh() {
        let budget = HeaderBlockBudget(listLimitBytes: 0)
        budget.blockStarted(payloadBytes: 1)
        budget.blockContinued(payloadBytes: 1)
        do { let verdict = budget.admit(nameBytes: 0, valueBytes: 2 * HeaderBlockBudget.bombRatio - 32); #expect(verdict == .record) }
        do { let verdict = budget.admit(nameBytes: 0, valueBytes: 0); #expect(verdict == .bomb) }
        budget.blockStarted(payloadBytes: 10)
        #expect(budget.decodedBytes == 0 && budget.wireBytes == 10)
    }

    /// The gate nghttp2 calls: past the limit a request's fields stop in C,
    /// while trailer fields go on to Swift (which resets their stream).
    @Test func pastTheLimitARequestsFieldsNeverReachSwift() {
        let forwarded = UnsafeMutablePointer<Int>.allocate(capacity: 1)
        forwarded.initialize(to: 0)
        defer { forwarded.deallocate() }
        let count: tw_header_forward = { _, _, _, _, _, _, _, counter in
            counter!.assumingMemoryBound(to: Int.self).pointee += 1
            return 0
        }
        let budget = HeaderBlockBudget(listLimitBytes: 1_000, connection: UnsafeMutableRawPointer(forwarded), forward: count)
        func deliver(_ fields: Int) -> [Int32] {
            (0..<fields).map { _ in tw_header_gate_on_header(nil, nil, nil, 8, nil, 60, 0, UnsafeMutableRawPointer(budget.gate)) }
        }
        budget.blockStarted(payloadBytes: 16_000)
        budget.requestBlockBegan()
        #expect(deliver(200).allSatisfy { $0 == 0 })
        // 100 bytes a field: the first ten stay within 1,000 and the eleventh crosses it.
        #expect(forwarded.pointee == 11)
        forwarded.pointee = 0
        budget.blockStarted(payloadBytes: 16_000)  // a trailer block: no requestBlockBegan
        _ = deliver(20)
        #expect(forwarded.pointee == 20)
        budget.blockStarted(payloadBytes: 10)
        budget.requestBlockBegan()
        let verdicts = deliver(20)
        #expect(verdicts.last == NGHTTP2_ERR_CALLBACK_FAILURE.rawValue, "1,000 + 64 x 10 bytes: a bomb by the 17th field")
        do { let exploded = budget.exploded; #expect(exploded) }
    }

    @Test func aMerelyTooLargeLiteralListIsNeverABomb() {
        let budget = HeaderBlockBudget(listLimitBytes: 16_384)
        budget.blockStarted(payloadBytes: 16_384)
        budget.blockContinued(payloadBytes: 9_000)
        for _ in 0..<24 { let verdict = budget.admit(nameBytes: 8, valueBytes: 1_024); #expect(verdict != .bomb) }
    }
}

@Suite struct ClientStreamOrderTests {
    @Test func h2spec5112ASkippedLowerIdIsRefused() {
        var order = ClientStreamOrder()
        do { let verdict = order.headersBegan(streamID: 5); #expect(verdict) }
        do { let verdict = order.headersBegan(streamID: 3); #expect(!verdict) }
        do { let verdict = order.headersBegan(streamID: 1); #expect(!verdict) }
    }

    @Test func consecutiveIdsAndTrailersOnOpenedStreamsAreFine() {
        var order = ClientStreamOrder()
        for id in stride(from: Int32(1), through: 99, by: 2) { let verdict = order.headersBegan(streamID: id); #expect(verdict) }
        do { let verdict = order.headersBegan(streamID: 1); #expect(verdict) }  // trailers, or after our RST_STREAM
        do { let verdict = order.headersBegan(streamID: 51); #expect(verdict) }
        #expect(order.highestID == 99)
    }

    @Test func onlyTheMostRecentGapsAreRemembered() {
        var order = ClientStreamOrder()
        var id: Int32 = 1
        for _ in 0..<(ClientStreamOrder.rememberedGaps + 2) {
            do { let verdict = order.headersBegan(streamID: id); #expect(verdict) }
            id += 4  // skips one id each time
        }
        do { let verdict = order.headersBegan(streamID: id - 6); #expect(!verdict) }  // the newest gap
        do { let verdict = order.headersBegan(streamID: 3); #expect(verdict) }  // forgotten: ignored, as nghttp2 does
    }
}

@Suite struct StreamResetRateTests {
    let second: Int64 = 1_000_000_000

    @Test func theBurstPassesThenResetsAreRefusedUntilRefilled() {
        var rate = StreamResetRate(burst: 3, perSecond: 2, nowNanos: 0)
        for _ in 0..<3 { let verdict = rate.resetReceived(atNanos: 0); #expect(verdict) }
        do { let verdict = rate.resetReceived(atNanos: 1); #expect(!verdict) }
        do { let verdict = rate.resetReceived(atNanos: second / 2); #expect(verdict) }
        do { let verdict = rate.resetReceived(atNanos: second / 2); #expect(!verdict) }
    }

    @Test func refillStopsAtTheBurst() {
        var rate = StreamResetRate(burst: 2, perSecond: 1000, nowNanos: 0)
        for _ in 0..<2 { let verdict = rate.resetReceived(atNanos: 100 * second); #expect(verdict) }
        do { let verdict = rate.resetReceived(atNanos: 100 * second); #expect(!verdict) }
    }
}
