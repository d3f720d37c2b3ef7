import ArgumentParser
import GRPCServer

/// --handshake-timeout: how long a connection may take to earn its slot
/// (HandshakeDeadline in the gRPC layer).
extension TickwireCommand {
    func applyHandshakeTimeout(to limits: inout GRPCLimits) throws {
        // Below 100 ms a loaded loop or a TLS client on a slow link would be
        // cut before it could possibly finish; there is no "off": an endless
        // handshake is exactly the slot-holding attack this bounds.
        guard let timeout = GoDuration(parsing: handshakeTimeout), timeout.nanoseconds >= 100_000_000 else {
            throw ValidationError("--handshake-timeout '\(handshakeTimeout)' must be a duration of at least 100ms, such as 10s")
        }
        limits.handshakeTimeoutNanos = timeout.nanoseconds
    }
}
