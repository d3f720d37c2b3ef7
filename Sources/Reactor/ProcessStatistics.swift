import Glibc

/// The process figures every Prometheus client library exports
/// (`process_cpu_seconds_total`, `process_resident_memory_bytes`…), read from
/// /proc when /metrics is scraped: a few small reads and a directory walk on
/// the loop, no thread and nothing between scrapes.
public struct ProcessStatistics: Equatable, Sendable {
    /// User plus system CPU time.
    public var cpuSeconds: Double = 0
    public var residentBytes: Int = 0
    public var virtualBytes: Int = 0
    public var openDescriptors: Int = 0
    /// RLIMIT_NOFILE's soft limit.
    public var maxDescriptors: Int = 0
    /// Unix time the process started (boot time plus its start in ticks).
    public var startTimeSeconds: Double = 0

    public init() {}

    /// This process's figures now; a field /proc will not give stays 0.
    public static func current() -> ProcessStatistics {
        var s = ProcessStatistics()
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        let pageBytes = Int(sysconf(Int32(_SC_PAGESIZE)))
        if let stat = readSmallFile("/proc/self/stat"), let fields = StatFields(stat), ticks > 0 {
            s.cpuSeconds = Double(fields.userTicks + fields.systemTicks) / ticks
            s.residentBytes = fields.residentPages * pageBytes
            s.virtualBytes = fields.virtualBytes
            if let systemStat = readSmallFile("/proc/stat"), let bootTime = bootTimeSeconds(systemStat) {
                s.startTimeSeconds = Double(bootTime) + Double(fields.startTicks) / ticks
            }
        }
        s.openDescriptors = countDescriptors()
        s.maxDescriptors = DescriptorLimit.current().map { Int(clamping: $0.soft) } ?? 0
        return s
    }

    /// The fields of /proc/<pid>/stat that matter here (proc(5)). The
    /// command name, field 2, may hold spaces and parentheses, so fields are
    /// counted from the last ')'.
    public struct StatFields: Equatable {
        public var userTicks = 0, systemTicks = 0, startTicks = 0, virtualBytes = 0, residentPages = 0

        public init?(_ text: String) {
            guard let close = text.lastIndex(of: ")") else { return nil }
            // After ')': field 3 (state) is index 0, so field n is index n - 3.
            let rest = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
            func field(_ n: Int) -> Int? { n - 3 < rest.count ? Int(rest[n - 3].filter { $0 != "\n" }) : nil }
            guard let utime = field(14), let stime = field(15), let start = field(22), let vsize = field(23),
                  let rss = field(24) else { return nil }
            (userTicks, systemTicks, startTicks, virtualBytes, residentPages) = (utime, stime, start, vsize, rss)
        }
    }

    /// `btime` of /proc/stat: boot time, in Unix seconds.
    public static func bootTimeSeconds(_ text: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Int(line.dropFirst("btime ".count).filter { $0 != " " })
        }
        return nil
    }

    /// Entries of /proc/self/fd (the directory's own descriptor included, as
    /// client_golang counts it).
    static func countDescriptors() -> Int {
        guard let directory = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            // Safe because d_name is a NUL-terminated array inside the entry readdir just returned.
            let isDot = withUnsafeBytes(of: entry.pointee.d_name) { $0.first == UInt8(ascii: ".") }
            if !isDot { count += 1 }
        }
        return count
    }

    /// Reads a /proc file of at most 16 KiB (their size shows as 0, so the
    /// file is read until EOF rather than by its length).
    static func readSmallFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { closeDescriptor(fd) }
        var bytes = [UInt8](repeating: 0, count: 16 * 1024)
        var length = 0
        while length < bytes.count {
            // Safe because the pointer covers bytes[length...], inside the array.
            let result = try? bytes.withUnsafeMutableBytes { buffer throws(SystemError) in
                try systemCallOrThrow("read") { read(fd, buffer.baseAddress! + length, buffer.count - length) }
            }
            guard let got = result, got > 0 else { break }
            length += got
        }
        return String(decoding: bytes[..<length], as: UTF8.self)
    }
}
