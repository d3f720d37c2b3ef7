import Foundation

/// The default of --max-queued-bytes: half the container's memory limit, so
/// that queued messages (counted at their full size, though streams share
/// them) plus the rest of the process (about 20 MiB idle, per-connection and
/// per-stream state) stay under it. Without a limit, 256 MiB: half of the
/// 512Mi the shipped Deployment sets, so a pod and a bare `docker run` behave
/// alike, and an operator on a big host raises it deliberately.
struct QueuedBytesBudget: Equatable {
    let bytes: Int
    /// Where the value came from, for the startup log line.
    let source: String

    static let fallbackBytes = 256 * 1024 * 1024
    /// cgroup v1 reports "no limit" as a huge page-rounded number; anything
    /// from a petabyte up is that, not a real limit.
    static let unlimitedThreshold = 1 << 50

    /// `flag`: --max-queued-bytes (or its environment variable), if given.
    static func resolve(flag: Int?, readFile: (String) -> String? = Self.read) -> QueuedBytesBudget {
        if let flag { return QueuedBytesBudget(bytes: flag, source: "--max-queued-bytes") }
        let candidates = [
            ("/sys/fs/cgroup/memory.max", "half of cgroup v2 memory.max"),
            ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "half of cgroup v1 memory.limit_in_bytes"),
        ]
        for (path, source) in candidates {
            guard let text = readFile(path) else { continue }
            // cgroup v2 writes "max" when there is no limit.
            guard let limit = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)),
                  limit > 0, limit < unlimitedThreshold else { break }
            return QueuedBytesBudget(bytes: limit / 2, source: "\(source) (\(limit) bytes)")
        }
        return QueuedBytesBudget(bytes: fallbackBytes, source: "fixed default (no cgroup memory limit)")
    }

    private static func read(_ path: String) -> String? {
        try? String(contentsOfFile: path, encoding: .utf8)
    }
}
