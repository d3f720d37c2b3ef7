import Glibc

/// The process's open-file limit (RLIMIT_NOFILE), which bounds how many
/// connections one reactor can hold: every client costs one descriptor.
///
/// Containers and systemd often start processes with a soft limit of 1024
/// under a hard limit a thousand times larger; a server that keeps the soft
/// one would refuse its 1,000th client with EMFILE while the kernel would
/// allow far more. So the soft limit is raised to the hard one at startup, as
/// Go's runtime and nginx's worker_rlimit_nofile do.
public struct DescriptorLimit: Equatable, Sendable {
    public let soft: UInt64
    public let hard: UInt64

    /// The current limit, or nil if the kernel will not say.
    public static func current() -> DescriptorLimit? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        return DescriptorLimit(soft: UInt64(limit.rlim_cur), hard: UInt64(limit.rlim_max))
    }

    /// Raises the soft limit to the hard limit; returns the limit in force
    /// afterwards (unchanged if raising was refused).
    @discardableResult
    public static func raiseSoftToHard() -> DescriptorLimit? {
        guard let before = current() else { return nil }
        guard before.soft < before.hard else { return before }
        var wanted = rlimit(rlim_cur: rlim_t(before.hard), rlim_max: rlim_t(before.hard))
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &wanted)
        return current()
    }

    /// Descriptors the server needs besides its clients: listeners, epoll,
    /// signalfd, timerfds, the Binance connections, metrics scrapes, stdio.
    public static let reservedForServer: UInt64 = 64

    /// Whether `connections` clients fit under the soft limit.
    public func admits(connections: Int) -> Bool {
        UInt64(connections) + Self.reservedForServer <= soft
    }
}
