import CTickwireShim

/// `--workers N|auto`.
public enum WorkerCount {
    public static let maximum = 256

    /// N from 1 to `maximum`, or `auto`: the CPUs this process may run on.
    /// Nil for anything else.
    public static func parse(_ text: String) -> Int? {
        if text.lowercased() == "auto" { return max(1, min(maximum, Int(tw_affinity_cpu_count()))) }
        guard let count = Int(text), (1...maximum).contains(count) else { return nil }
        return count
    }
}
