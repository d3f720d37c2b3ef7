// libFuzzer harness for a whole server connection: bytes from a client go
// through ConnectionHub's read path into nghttp2 (libnghttp2, as the server
// links it), our session callbacks, gRPC stream handling and the delegate;
// everything the server answers is flushed to the socket and read back.
// Linked against the SwiftPM-built modules (fuzz/README.md, scripts/fuzz.sh).
//
// Input: byte 0 is the read size (0: the whole rest in one read; otherwise
// the client's bytes arrive in reads of that many), byte 1's low bit says
// whether the client hangs up after its last byte; the rest is what the
// client sends, starting with the HTTP/2 preface in every seed.
//
// Checked: the delegate hears of each call in order (opened, messages,
// half-close, closed once), hears connectionClosed once, after every call
// closed; after teardown no connection, stream or session is left alive.

@testable import GRPCServer

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGRPCConnection(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let readSize = input[0] == 0 ? max(size - 2, 1) : Int(input[0])
    let hangUp = input[1] & 1 == 1
    let client = input[2...]

    let rig = ConnectionRig()
    weak let connection = rig.connection
    var offset = client.startIndex
    while offset < client.endIndex, rig.connection != nil {
        let end = min(offset + readSize, client.endIndex)
        rig.deliver(client[offset..<end])
        offset = end
    }
    if hangUp { rig.clientHangsUp() }
    precondition(rig.bytesReceived > 0, "invariant broken: the server never sent its SETTINGS")

    let delegate = rig.delegate
    rig.tearDown()
    precondition(delegate.connectionsClosed == 1, "invariant broken: connectionClosed came \(delegate.connectionsClosed) times")
    precondition(connection == nil, "invariant broken: the HTTP2Connection outlived its hub")
    for entry in delegate.seen {
        precondition(entry.stream == nil, "invariant broken: a GRPCStream outlived its connection")
    }
    return 0
}
