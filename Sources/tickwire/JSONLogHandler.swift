import Glibc
import Logging

/// `--log-format json`: one JSON object per line on stderr, the shape
/// Kubernetes log collectors (Fluent Bit, Vector, Loki's promtail) parse
/// without configuration:
///
///     {"timestamp":"2026-11-25T17:30:53.123Z","level":"info","message":"listening",
///      "logger":"tickwire","source":"FanOut","metadata":{"address":"0.0.0.0:50051"}}
///
/// Each line goes out in one write(2), so lines never interleave.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        var out = "{\"timestamp\":\"\(Self.timestamp())\",\"level\":\"\(event.level.rawValue)\",\"message\":"
        Self.appendString("\(event.message)", to: &out)
        out += ",\"logger\":"
        Self.appendString(label, to: &out)
        out += ",\"source\":"
        Self.appendString(event.source, to: &out)
        if !merged.isEmpty {
            out += ",\"metadata\":{"
            for (index, key) in merged.keys.sorted().enumerated() {
                if index > 0 { out += "," }
                Self.appendString(key, to: &out)
                out += ":"
                Self.appendString("\(merged[key]!)", to: &out)
            }
            out += "}"
        }
        out += "}\n"
        var bytes = Array(out.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }

    /// RFC 3339 UTC with milliseconds.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var parts = tm()
        var seconds = now.tv_sec
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + "\(pad(Int32(now.tv_nsec / 1_000_000), 3))Z"
    }

    /// A JSON string literal: quotes, backslashes and control characters escaped.
    static func appendString(_ text: String, to out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }
}
