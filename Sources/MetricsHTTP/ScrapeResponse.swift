/// The three responses the endpoint gives, each complete with
/// Content-Length and `Connection: close`: one request per connection keeps
/// the connection's life a straight line (read, write, close).
public enum ScrapeResponse {
    /// Prometheus text exposition format 0.0.4.
    public static let exposition = "text/plain; version=0.0.4; charset=utf-8"

    public static func ok(body: [UInt8]) -> [UInt8] {
        make(status: "200 OK", contentType: exposition, body: body)
    }

    public static var notFound: [UInt8] {
        make(status: "404 Not Found", contentType: "text/plain; charset=utf-8", body: Array("only GET /metrics is served here\n".utf8))
    }

    public static var badRequest: [UInt8] {
        make(status: "400 Bad Request", contentType: "text/plain; charset=utf-8", body: Array("bad request\n".utf8))
    }

    static func make(status: String, contentType: String, body: [UInt8]) -> [UInt8] {
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        var bytes = [UInt8]()
        bytes.reserveCapacity(head.utf8.count + body.count)
        bytes.append(contentsOf: head.utf8)
        bytes.append(contentsOf: body)
        return bytes
    }
}
