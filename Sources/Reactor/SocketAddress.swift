import Glibc

/// One IPv4 or IPv6 address with its port, held by value in a sockaddr_storage
/// so that it can outlive the resolver's list it came from.
public struct SocketAddress: Sendable, CustomStringConvertible {
    /// AF_INET or AF_INET6.
    public let family: Int32
    private let storage: sockaddr_storage
    private let length: socklen_t

    /// Copies `length` bytes of a sockaddr_in or sockaddr_in6; nil for any
    /// other family or a length that does not fit.
    public init?(copying address: UnsafePointer<sockaddr>, length: socklen_t) {
        let family = Int32(address.pointee.sa_family)
        guard family == AF_INET || family == AF_INET6,
              Int(length) <= MemoryLayout<sockaddr_storage>.size else { return nil }
        var storage = sockaddr_storage()
        // Safe because `length` bytes are readable at `address` (the caller's
        // contract) and fit in `storage` (checked above).
        withUnsafeMutableBytes(of: &storage) { target in
            target.copyMemory(from: UnsafeRawBufferPointer(start: address, count: Int(length)))
        }
        self.family = family
        self.storage = storage
        self.length = length
    }

    /// `127.0.0.1` or `::1` (no brackets), without any lookup; nil for a name.
    public init?(ipLiteral host: String, port: UInt16) {
        if let v4 = Self.parse(host, as: in_addr(), family: AF_INET) {
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = port.bigEndian
            address.sin_addr = v4
            self.init(raw: &address, length: MemoryLayout<sockaddr_in>.size)
        } else if let v6 = Self.parse(host, as: in6_addr(), family: AF_INET6) {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            address.sin6_addr = v6
            self.init(raw: &address, length: MemoryLayout<sockaddr_in6>.size)
        } else {
            return nil
        }
    }

    private init?<Raw>(raw: inout Raw, length: Int) {
        // Safe because `raw` is a sockaddr_in or sockaddr_in6 of `length` bytes.
        let copied = withUnsafePointer(to: &raw) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                SocketAddress(copying: $0, length: socklen_t(length))
            }
        }
        guard let copied else { return nil }
        self = copied
    }

    private static func parse<Address>(_ text: String, as empty: Address, family: Int32) -> Address? {
        var address = empty
        // Safe because `Address` is the in_addr or in6_addr that `family` makes inet_pton write.
        let parsed = withUnsafeMutableBytes(of: &address) { inet_pton(family, text, $0.baseAddress) }
        return parsed == 1 ? address : nil
    }

    /// Calls `body` with the address as connect(2) takes it.
    public func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        var copy = storage
        // Safe because `storage` holds a sockaddr of `length` bytes (see the initialisers).
        return withUnsafePointer(to: &copy) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    /// `1.2.3.4` or `[2001:db8::1]`, without the port, for logs.
    public var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        var copy = storage
        // Safe because `family` says which struct `storage` holds, and `text`
        // has room for the longest address inet_ntop writes.
        let written: UnsafePointer<CChar>? = withUnsafePointer(to: &copy) { pointer in
            if family == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    var bytes = address.pointee.sin6_addr
                    return inet_ntop(AF_INET6, &bytes, &text, socklen_t(text.count))
                }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                var bytes = address.pointee.sin_addr
                return inet_ntop(AF_INET, &bytes, &text, socklen_t(text.count))
            }
        }
        guard written != nil else { return "?" }
        let shown = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return family == AF_INET6 ? "[\(shown)]" : shown
    }

    /// Same family and same bytes: the resolver may list one address twice.
    func sameAddress(as other: SocketAddress) -> Bool {
        guard family == other.family, length == other.length else { return false }
        var a = storage
        var b = other.storage
        return memcmp(&a, &b, Int(length)) == 0
    }
}
