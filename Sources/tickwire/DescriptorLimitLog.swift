import Logging
import Reactor

/// Says at startup how many descriptors the process may hold, and warns when
/// --max-connections cannot be reached under that limit: the clients past it
/// would be refused with EMFILE at accept, long before the configured bound.
func logDescriptorLimit(_ limit: DescriptorLimit?, maxConnections: Int, _ logger: Logger) {
    guard let limit else {
        logger.warning("cannot read the open-file limit (RLIMIT_NOFILE)")
        return
    }
    let metadata: Logger.Metadata = ["soft": "\(limit.soft)", "hard": "\(limit.hard)",
                                     "max_connections": "\(maxConnections)"]
    if limit.admits(connections: maxConnections) {
        logger.info("open-file limit", metadata: metadata)
    } else {
        logger.warning("open-file limit is below --max-connections plus \(DescriptorLimit.reservedForServer) for the server; raise `ulimit -n` or lower --max-connections", metadata: metadata)
    }
}
