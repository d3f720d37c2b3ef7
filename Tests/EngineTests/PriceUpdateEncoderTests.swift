import MarketData
import Foundation
import SwiftProtobuf
import Testing
import TickwireProto
@testable import Engine

@Suite struct PriceUpdateEncoderTests {
    let symbols = try! SymbolTable(["btcusdt", "ethusdt"])

    func reference(_ trade: Trade) throws -> [UInt8] {
        var update = Tickwire_V1_PriceUpdate()
        update.symbol = symbols.upperCased[trade.symbolIndex]
        update.price = trade.price
        update.quantity = trade.quantity
        update.tradeID = trade.tradeID
        update.tradeTimeMs = trade.tradeTimeMs
        update.eventTimeMs = trade.eventTimeMs
        update.ingestUnixNanos = trade.ingestUnixNanos
        update.backfilled = trade.isBackfilled
        var response = Tickwire_V1_StreamResponse()
        response.price = update
        return try response.serializedBytes()
    }

    @Test func bytesMatchSwiftProtobufExactly() throws {
        var generator = SystemRandomNumberGenerator()
        let edgeIDs: [Int64] = [0, 1, -1, 127, 128, Int64.max, Int64.min, 3_735_683_259]
        let edgeDoubles: [Double] = [0, -0.0, 61837.63, 1e-8, .greatestFiniteMagnitude, -2683.8]
        var cases: [Trade] = []
        for id in edgeIDs {
            for value in edgeDoubles {
                for backfilled in [false, true] {
                    cases.append(Trade(symbolIndex: Int(id & 1), tradeID: id, price: value, quantity: value,
                                       tradeTimeMs: id, eventTimeMs: 0 &- id, ingestUnixNanos: id,
                                       isBackfilled: backfilled))
                }
            }
        }
        for _ in 0..<2000 {
            cases.append(Trade(symbolIndex: Int.random(in: 0...1, using: &generator),
                               tradeID: Int64.random(in: Int64.min...Int64.max, using: &generator),
                               price: Double.random(in: -1e6...1e6, using: &generator),
                               quantity: Double.random(in: 0...1e3, using: &generator),
                               tradeTimeMs: Int64.random(in: 0...(1 << 42), using: &generator),
                               eventTimeMs: Int64.random(in: 0...(1 << 42), using: &generator),
                               ingestUnixNanos: Int64.random(in: 0...Int64.max, using: &generator),
                               isBackfilled: Bool.random(using: &generator)))
        }
        // One encoder for all cases: its recycled buffers are rewritten in turn.
        var encoder = PriceUpdateEncoder(symbols: symbols)
        for trade in cases {
            let message = encoder.encode(trade)
            let expected = try reference(trade)
            #expect(message.payload == expected, "\(trade)")
            message.withBytes { bytes in
                let length = bytes[1..<5].reduce(0) { $0 << 8 | Int($1) }
                #expect(bytes[0] == 0 && length == expected.count)
            }
        }
    }

    @Test func decodesBackToTheSameTrade() throws {
        let trade = Trade(symbolIndex: 1, tradeID: 1520538925, price: 2683.8, quantity: 0.002,
                          tradeTimeMs: 1723161255611, eventTimeMs: 1723161255612, ingestUnixNanos: 1_795_616_633_306_585_358)
        var encoder = PriceUpdateEncoder(symbols: symbols)
        let decoded = try Tickwire_V1_StreamResponse(serializedBytes: encoder.encode(trade).payload)
        #expect(decoded.price.symbol == "ETHUSDT")
        #expect(decoded.price.price == 2683.8)
        #expect(decoded.price.tradeID == 1520538925)
        #expect(decoded.price.ingestUnixNanos == 1_795_616_633_306_585_358)
        #expect(!decoded.price.backfilled)
    }

    /// A live trade's bytes do not change with the new field (proto3 leaves
    /// false out); a backfilled one carries `backfilled = 8` as two more bytes.
    @Test func backfilledFlagOnlyAddsTwoBytes() throws {
        var live = Trade(symbolIndex: 0, tradeID: 3735683259, price: 61837.63, quantity: 0.02,
                         tradeTimeMs: 1723161255342, eventTimeMs: 1723161255343, ingestUnixNanos: 42)
        var encoder = PriceUpdateEncoder(symbols: symbols)
        let liveBytes = encoder.encode(live).payload
        live.isBackfilled = true
        let backfilledBytes = encoder.encode(live).payload
        #expect(backfilledBytes.count == liveBytes.count + 2)
        #expect(Array(backfilledBytes.suffix(2)) == [0x40, 0x01])
        #expect(try Tickwire_V1_StreamResponse(serializedBytes: backfilledBytes).price.backfilled)
    }
}

@Suite struct GapNoticeTests {
    @Test func gapNoticeDecodesWithEveryField() throws {
        let gap = TradeGap(symbolIndex: 1, firstMissingID: 1520538926, lastMissingID: 1520538930,
                           reason: .historyMissing, detail: "not in history")
        let decoded = try Tickwire_V1_StreamResponse(serializedBytes: GapNoticeMessage.make(gap, symbol: "ETHUSDT").payload)
        #expect(decoded.gap.symbol == "ETHUSDT")
        #expect(decoded.gap.firstMissingID == 1520538926)
        #expect(decoded.gap.lastMissingID == 1520538930)
        #expect(decoded.gap.reason == .historyMissing)
        #expect(decoded.gap.detail == "not in history")
    }

    @Test func everyReasonHasItsOwnWireValue() {
        let values = TradeGap.Reason.allCases.map { GapNoticeMessage.reason($0).rawValue }
        #expect(values == TradeGap.Reason.allCases.map(\.rawValue))
    }
}

@Suite struct GeneratedCodeTests {
    /// Fails when a .proto changed but scripts/regenerate-protos.sh was not run.
    @Test func committedCodeMatchesTheProtos() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        #expect(!ProtoDigests.sha256.isEmpty)
        for (path, digest) in ProtoDigests.sha256 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
            process.arguments = [root.appendingPathComponent("Protos").appendingPathComponent(path).path]
            let pipe = Pipe()
            process.standardOutput = pipe
            try process.run()
            process.waitUntilExit()
            let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(output.split(separator: " ").first.map(String.init) == digest,
                    "Protos/\(path) changed since the Swift code was generated: run scripts/regenerate-protos.sh")
        }
    }

    @Test func streamResponseRoundTrips() throws {
        var status = Tickwire_V1_SubscriptionStatus()
        status.requestID = "r-1"
        status.code = 3
        status.message = "period must be 2 or more"
        status.type = .rsi
        status.period = 1
        var response = Tickwire_V1_StreamResponse()
        response.status = status
        let decoded = try Tickwire_V1_StreamResponse(serializedBytes: try response.serializedBytes() as [UInt8])
        #expect(decoded == response)
        var shutdown = Tickwire_V1_StreamResponse()
        shutdown.shutdown.deadlineUnixMs = 1_700_000_005_000
        shutdown.shutdown.reason = "rolling"
        #expect(try Tickwire_V1_StreamResponse(serializedBytes: try shutdown.serializedBytes() as [UInt8]) == shutdown)
    }
}
