import CWslay
@testable import WebSocket

let textOpcode = UInt8(WSLAY_TEXT_FRAME.rawValue)
let binaryOpcode = UInt8(WSLAY_BINARY_FRAME.rawValue)
let closeOpcode = UInt8(WSLAY_CONNECTION_CLOSE.rawValue)
let pingOpcode = UInt8(WSLAY_PING.rawValue)
let pongOpcode = UInt8(WSLAY_PONG.rawValue)

/// A client session wired to a real wslay server through in-memory channels.
final class SessionHarness {
    let toClient = ByteChannel()
    let toServer = ByteChannel()
    let transport: MemoryTransport
    let server: WslayTestServer
    let delegate = RecordingDelegate()
    let session: WebSocketSession

    init(leftover: [UInt8] = []) {
        transport = MemoryTransport(incoming: toClient, outgoing: toServer)
        server = WslayTestServer(incoming: toServer, outgoing: toClient)
        session = WebSocketSession(transport: transport, leftover: leftover, delegate: delegate)
    }
}

/// A frame as a server would write it by hand: unmasked unless `mask` is given.
/// Only for payloads under 126 bytes, which is all the hand-made cases need.
func rawFrame(fin: Bool = true, opcode: UInt8, _ payload: [UInt8], mask: [UInt8]? = nil) -> [UInt8] {
    precondition(payload.count < 126)
    var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode, UInt8(payload.count) | (mask == nil ? 0 : 0x80)]
    guard let mask else { return frame + payload }
    frame += mask
    frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
    return frame
}

/// Splits a byte stream of client frames into (first byte, mask bit, payload length) for inspection.
func frameHeaders(_ bytes: [UInt8]) -> [(opcode: UInt8, fin: Bool, masked: Bool, length: Int)] {
    var headers: [(UInt8, Bool, Bool, Int)] = []
    var index = 0
    while index + 2 <= bytes.count {
        let masked = bytes[index + 1] & 0x80 != 0
        var length = Int(bytes[index + 1] & 0x7F)
        var headerLength = 2
        if length == 126 {
            length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
            headerLength = 4
        } else if length == 127 {
            length = (0..<8).reduce(0) { $0 << 8 | Int(bytes[index + 2 + $1]) }
            headerLength = 10
        }
        if masked { headerLength += 4 }
        headers.append((bytes[index] & 0x0F, bytes[index] & 0x80 != 0, masked, length))
        index += headerLength + length
    }
    return headers
}
