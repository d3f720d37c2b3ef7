import Foundation

/// Writes one line to stderr in the format of Go's `log` with
/// `LstdFlags | Lmicroseconds` ("2006/01/02 15:04:05.000000 message"), so the
/// harness reads this peer's lines exactly as it reads the grpc-go peer's.
func logLine(_ message: String) {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    var seconds = now.tv_sec
    var local = tm()
    localtime_r(&seconds, &local)
    let stamp = String(format: "%04d/%02d/%02d %02d:%02d:%02d.%06d",
                       local.tm_year + 1900, local.tm_mon + 1, local.tm_mday,
                       local.tm_hour, local.tm_min, local.tm_sec, Int(now.tv_nsec / 1000))
    FileHandle.standardError.write(Data("\(stamp) \(message)\n".utf8))
}

/// Logs and exits 1, as Go's `log.Fatalf`.
func fatal(_ message: String) -> Never {
    logLine(message)
    exit(1)
}

/// The wall clock in Unix nanoseconds, for `ingest_unix_nanos`.
func unixNanosNow() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
}
