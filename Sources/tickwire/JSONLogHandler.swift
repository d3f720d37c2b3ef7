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
        var out = "{\"timestamp\":\"\(LogTimestamp.now())\",\"level\":\"\(event.level.rawValue)\",\"message\":"
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
        StandardError.write(out)
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
