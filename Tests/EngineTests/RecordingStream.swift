// A ClientStream with no transport behind it, for driving the engine in unit
// tests and in the indicator-request fuzz harness (Tests/Fuzz builds this
// file into its rig too). It queues what the engine sends, reports that as
// its backlog until the test reads it, and overflows like GRPCStream does.

import Engine
import GRPCWire
import SwiftProtobuf
import TickwireProto

final class RecordingStream: ClientStream {
    private(set) var queued: [WireMessage] = []
    private(set) var backlogBytes = 0
    /// How the stream ended (finish or abandon), nil while open.
    private(set) var ending: GRPCStatus?
    private(set) var abandoned = false
    /// Like --stream-hard-limit: a message that would take a non-empty
    /// backlog past it overflows the stream.
    let hardLimitBytes: Int
    /// The client connection the stream shares with others, if any; alone, it is its own.
    let connection: AnyObject?

    init(hardLimitBytes: Int = .max, connection: AnyObject? = nil) {
        self.hardLimitBytes = hardLimitBytes
        self.connection = connection
    }

    var connectionKey: ObjectIdentifier { connection.map(ObjectIdentifier.init) ?? ObjectIdentifier(self) }

    var isOpen: Bool { ending == nil }
    /// A reader that has taken nothing and cannot (a zero window from the start).
    var windowNeverOpened = false

    @discardableResult
    func send(_ message: WireMessage) -> StreamSendOutcome {
        guard isOpen else { return .notOpen }
        if backlogBytes > 0 && backlogBytes + message.count > hardLimitBytes {
            abandon(GRPCStatus(.resourceExhausted, "client too slow"))
            return .overflowed
        }
        queued.append(message)
        backlogBytes += message.count
        return .queued
    }

    func finish(_ status: GRPCStatus) {
        if ending == nil { ending = status }
    }

    func abandon(_ status: GRPCStatus) {
        guard isOpen else { return }
        queued.removeAll()
        backlogBytes = 0
        abandoned = true
        ending = status
    }

    /// The client reads everything queued: the backlog is empty again.
    func read() -> [Tickwire_V1_StreamResponse] {
        defer {
            queued.removeAll()
            backlogBytes = 0
        }
        return queued.map { message in
            do {
                return try Tickwire_V1_StreamResponse(serializedBytes: message.payload)
            } catch {
                preconditionFailure("invariant broken: the engine queued an undecodable StreamResponse: \(error)")
            }
        }
    }

    /// The trade ids of the prices read, in order.
    func readTradeIDs() -> [Int64] {
        read().compactMap { response in
            if case .price(let price)? = response.payload { return price.tradeID }
            return nil
        }
    }
}
