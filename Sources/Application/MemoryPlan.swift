/// How one server process divides the memory it may use, so that RSS stays
/// under the container's limit whatever the clients do (issue 20). What
/// clients can make it hold falls in two parts:
/// - bytes held for them (queued messages, connection output buffers,
///   partial request messages): at most `queuedBytes` (--max-queued-bytes),
///   enforced by cutting the largest holdings;
/// - fixed state per connection and per call: at most --max-connections and
///   `maxStreams` (--max-streams) of them.
/// The defaults split the limit so that both parts, the process's baseline
/// and an eighth of slack (malloc's fragmentation, one loop iteration's
/// overshoot of the budget) fit in it.
public struct MemoryPlan: Equatable, Sendable {
    /// What this process may use: the container's limit shared among the
    /// --workers, or `fallbackLimitBytes` without a limit.
    public let processLimitBytes: Int
    public let limitSource: String
    /// --max-queued-bytes.
    public let queuedBytes: Int
    public let queuedSource: String
    /// --max-streams: open calls on all connections together.
    public let maxStreams: Int
    public let maxStreamsSource: String
    /// False when the limit cannot hold --max-connections connections with
    /// the budget and the baseline: the startup log then warns.
    public let connectionsFit: Bool

    /// Without a cgroup limit: the shipped Deployment's 512Mi, so a pod and a
    /// bare `docker run` behave alike; an operator on a big host raises the
    /// flags deliberately.
    public static let fallbackLimitBytes = 512 * 1024 * 1024
    /// The process idle: 30 MiB measured for a release build with the
    /// replay file loaded, 40 MiB for a debug build; rounded up.
    public static let baselineBytes = 48 * 1024 * 1024
    /// Fixed state of one connection (nghttp2 session, HPACK tables, slot,
    /// timers): 15.7 KiB measured over 100 idle connections (release), rounded up.
    public static let connectionBytes = 20 * 1024
    /// Fixed state of one open call (GRPCStream, nghttp2's stream, a 16-slot
    /// queue): 1.24 KiB measured over 10,000 idle StreamPrices calls, rounded up.
    public static let streamBytes = 2 * 1024
    /// cgroup v1 reports "no limit" as a huge page-rounded number; anything
    /// from a petabyte up is that, not a real limit.
    static let unlimitedThreshold = 1 << 50

    /// `cgroupLimit`: the container's memory limit and where it was read, if any.
    public static func resolve(cgroupLimit: (bytes: Int, source: String)?, workers: Int,
                               queuedFlag: Int?, streamsFlag: Int?,
                               maxConnections: Int, maxConcurrentStreams: Int) -> MemoryPlan {
        let limit: Int
        let limitSource: String
        if let cgroupLimit {
            limit = cgroupLimit.bytes / max(1, workers)
            limitSource = workers > 1 ? "\(cgroupLimit.source) / \(workers) workers" : cgroupLimit.source
        } else {
            limit = fallbackLimitBytes
            limitSource = "fixed default (no cgroup memory limit)"
        }
        let queued = queuedFlag ?? limit / 2
        let queuedSource = queuedFlag != nil ? "--max-queued-bytes" : "half of \(limitSource)"
        let usable = limit - limit / 8
        let fixedRoom = usable - queued - baselineBytes - maxConnections * connectionBytes
        let oneConnection = Int(maxConcurrentStreams)
        let streams: Int
        let streamsSource: String
        if let streamsFlag {
            streams = streamsFlag
            streamsSource = "--max-streams"
        } else {
            let everyStream = maxConnections * oneConnection
            streams = min(everyStream, max(oneConnection, fixedRoom / streamBytes))
            streamsSource = "what \(limitSource) leaves after the budget, the baseline and --max-connections"
        }
        return MemoryPlan(processLimitBytes: limit, limitSource: limitSource, queuedBytes: queued,
                          queuedSource: queuedSource, maxStreams: streams, maxStreamsSource: streamsSource,
                          connectionsFit: fixedRoom >= oneConnection * streamBytes)
    }

    /// The container's memory limit, from cgroup v2 or v1; nil without one.
    public static func cgroupLimit(readFile: (String) -> String?) -> (bytes: Int, source: String)? {
        let candidates = [
            ("/sys/fs/cgroup/memory.max", "cgroup v2 memory.max"),
            ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "cgroup v1 memory.limit_in_bytes"),
        ]
        for (path, source) in candidates {
            guard let text = readFile(path) else { continue }
            // cgroup v2 writes "max" when there is no limit.
            guard let word = text.split(whereSeparator: { $0.isWhitespace }).first, let limit = Int(word),
                  limit > 0, limit < unlimitedThreshold else { return nil }
            return (limit, "\(source) (\(limit) bytes)")
        }
        return nil
    }
}
