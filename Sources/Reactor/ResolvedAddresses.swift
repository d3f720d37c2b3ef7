/// The addresses a host name resolved to, in the order a connection tries them.
public struct ResolvedAddresses: Sendable {
    public let addresses: [SocketAddress]

    /// Keeps the resolver's order within each family (c-ares sorts by RFC
    /// 6724) but alternates the families, starting with the resolver's first
    /// choice, as RFC 8305 does: a family that is broken here (IPv6 without a
    /// route, say) then costs one failed attempt before the other family gets
    /// its turn, not one per address. Duplicates are dropped.
    public init(_ resolved: [SocketAddress]) {
        var unique: [SocketAddress] = []
        for address in resolved where !unique.contains(where: { $0.sameAddress(as: address) }) {
            unique.append(address)
        }
        guard let first = unique.first else {
            addresses = []
            return
        }
        let preferred = unique.filter { $0.family == first.family }
        let other = unique.filter { $0.family != first.family }
        var ordered: [SocketAddress] = []
        ordered.reserveCapacity(unique.count)
        for index in 0..<max(preferred.count, other.count) {
            if index < preferred.count { ordered.append(preferred[index]) }
            if index < other.count { ordered.append(other[index]) }
        }
        addresses = ordered
    }

    public var count: Int { addresses.count }
    public var isEmpty: Bool { addresses.isEmpty }
    public subscript(index: Int) -> SocketAddress { addresses[index] }
}
