/// A best guess at what a client that failed the HTTP/2 connection preface
/// was speaking, for the debug log: TLS or HTTP/1.1 on the plaintext port is
/// a misconfigured client, anything else is probably a scanner.
enum ForeignPreface {
    static func guess(_ bytes: UnsafeRawBufferPointer) -> String {
        guard let first = bytes.first else { return "nothing" }
        // A TLS record of type handshake (22) opens every ClientHello.
        if first == 0x16 { return "TLS (a ClientHello on the plaintext port)" }
        let methods = ["GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT "]
        if methods.contains(where: { bytes.starts(with: $0.utf8) }) { return "HTTP/1.x" }
        return "unknown bytes"
    }
}
