import Glibc
import Testing
@testable import GRPCServer
import Reactor

/// A connection's table of open streams (first stream inline, a dictionary
/// only for the rest). The streams are real: a GRPCStream needs a live
/// HTTP2Connection, which only a hub makes, so a hub on a real reactor
/// adopts one end of a socketpair, as the fuzz harness's ConnectionRig does.
@Suite struct StreamTableTests {
    private func withConnection(_ body: (HTTP2Connection) throws -> Void) throws {
        var fds: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0)
        defer { close(fds[1]) }
        let reactor = Reactor(backend: .epoll(try EpollPoller(eventCapacity: 8)))
        defer { reactor.close() }
        let delegate = NoCalls()
        let hub = ConnectionHub(reactor: reactor, limits: GRPCLimits(), delegate: delegate) { _, _, _ in }
        hub.adopt(fds[0])
        // The hub may not go with a connection open, and holds its delegate unowned.
        defer { withExtendedLifetime(delegate) { hub.closeAll(reason: "test over") } }
        var adopted: HTTP2Connection?
        hub.forEachConnection { adopted = $0 }
        try body(#require(adopted))
    }

    private func streams(_ ids: [Int32], on connection: HTTP2Connection) -> [GRPCStream] {
        ids.map { GRPCStream(id: $0, connection: connection, maxReceiveMessageBytes: 1024) }
    }

    /// Which stream holds the inline slot. Lookups cannot tell, and the slot
    /// is the point: a stream that missed it would cost a dictionary again.
    private func inlineID(_ table: StreamTable) -> Int32? {
        Mirror(reflecting: table).descendant("inlineID") as? Int32
    }

    @Test func oneStreamIsFoundUntilRemoved() throws {
        try withConnection { connection in
            let call = streams([1], on: connection)[0]
            var table = StreamTable()
            #expect(table.isEmpty && table.count == 0)
            table.insert(call)
            #expect(table[1] === call && table.count == 1 && !table.isEmpty)
            #expect(table.remove(1) === call)
            #expect(table[1] == nil && table.isEmpty && table.count == 0)
            #expect(table.remove(1) == nil, "removed once already")
        }
    }

    @Test func theInlineSlotIsFreedAndTakenByTheNextStream() throws {
        try withConnection { connection in
            let calls = streams([1, 3, 5, 7], on: connection)
            var table = StreamTable()
            for call in calls.prefix(3) { table.insert(call) }
            #expect(table.count == 3 && inlineID(table) == 1)
            #expect(table.remove(1) === calls[0] && table[1] == nil)
            // The others are untouched by the inline slot emptying.
            #expect(table[3] === calls[1] && table[5] === calls[2])
            #expect(table.count == 2 && inlineID(table) == 0)
            table.insert(calls[3])
            #expect(table[7] === calls[3] && table.count == 3 && inlineID(table) == 7)
        }
    }

    @Test func absentIDsAreNotFound() throws {
        try withConnection { connection in
            var table = StreamTable()
            // 0 is the free inline slot's id; it must never find a stream.
            #expect(table[0] == nil && table[1] == nil)
            for call in streams([1, 3], on: connection) { table.insert(call) }
            for absent: Int32 in [0, 5, -1, .max] { #expect(table[absent] == nil, "stream \(absent)") }
            #expect(table.remove(5) == nil && table.count == 2)
            table.remove(1)
            #expect(table[0] == nil, "the emptied inline slot")
            #expect(table.remove(0) == nil && table.count == 1)
        }
    }

    @Test func valuesYieldEveryStreamOnce() throws {
        try withConnection { connection in
            let calls = streams([1, 3, 5, 7], on: connection)
            var table = StreamTable()
            #expect(Array(table.values).isEmpty)
            for call in calls { table.insert(call) }
            #expect(table.values.map { ObjectIdentifier($0) }.sorted() == calls.map { ObjectIdentifier($0) }.sorted())
            table.remove(1)  // the inline one: only the dictionary is left to walk
            #expect(table.values.map(\.id).sorted() == [3, 5, 7])
        }
    }

    @Test func removeAllForgetsInlineAndOthers() throws {
        try withConnection { connection in
            let calls = streams([1, 3, 5], on: connection)
            var table = StreamTable()
            for call in calls { table.insert(call) }
            table.removeAll()
            #expect(table[1] == nil && table[3] == nil && table[5] == nil)
            #expect(Array(table.values).isEmpty)
            try #require(table.isEmpty && table.count == 0)  // else inserting again trips insert's precondition
            for call in calls { table.insert(call) }
            #expect(table.count == 3)
        }
    }
}

/// The hub needs a delegate; no call ever opens on these connections.
private final class NoCalls: GRPCServerDelegate {
    func rpcOpened(_ stream: GRPCStream) -> RPCAdmission { .accept }
    func rpcMessage(_ stream: GRPCStream, _ message: UnsafeRawBufferPointer) {}
    func rpcHalfClosed(_ stream: GRPCStream) {}
    func rpcTooSlow(_ stream: GRPCStream) {}
    func rpcClosed(_ stream: GRPCStream) {}
    func connectionClosed(_ connection: HTTP2Connection, reason: String) {}
}

/// `:path` against the server's method paths: a match keeps the server's
/// string, not a heap copy that would live as long as the call.
@Suite struct MethodPathSharingTests {
    /// Built at runtime and past 15 UTF-8 bytes, so a native heap string:
    /// a copy of it would have storage of its own.
    let known = String(repeating: "/tickwire.v1.PriceStream", count: 1) + "/StreamPrices"
    var sameLengthOther: String { String(known.dropLast()) + "X" }

    /// The value arrives in a buffer of its own, as nghttp2's would.
    private func recordedPath(_ value: String, methodPaths: [String]) -> String {
        let headers = RequestHeaders()
        Array(":path".utf8).withUnsafeBytes { name in
            Array(value.utf8).withUnsafeBytes { headers.record(name: name, value: $0, methodPaths: methodPaths) }
        }
        return headers.path
    }

    private func sharesStorage(_ a: String, _ b: String) -> Bool {
        var a = a, b = b
        return a.withUTF8 { pa in b.withUTF8 { pb in pa.baseAddress == pb.baseAddress } }
    }

    @Test func aKnownPathIsTheServersString() {
        // The same-length path first: equal length alone must not match.
        let path = recordedPath(known, methodPaths: [sameLengthOther, known])
        #expect(path == known)
        #expect(sharesStorage(path, known))
    }

    @Test func anUnknownPathOfTheSameLengthIsItself() {
        let path = recordedPath(sameLengthOther, methodPaths: [known])
        #expect(path == sameLengthOther)
        #expect(!sharesStorage(path, known))
    }

    /// A prefix of a known path, and a known path with more after it.
    @Test(arguments: [false, true])
    func aShorterOrLongerPathIsNotTakenForAKnownOne(longer: Bool) {
        let value = longer ? known + "s" : String(known.dropLast())
        #expect(recordedPath(value, methodPaths: [known]) == value)
    }
}
