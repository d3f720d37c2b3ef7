import Logging

/// `--log-format text` (the default): one logfmt line per event on stderr,
/// readable as it stands and parsed as it stands by Loki, Vector or `hl`:
///
///     ts=2026-11-25T17:30:53.123Z level=info logger=tickwire module=Application address=0.0.0.0:50051 msg=listening
///     ts=2026-11-25T17:36:39.456Z level=warning logger=tickwire module=Application published=15863 msg="replay finished"
///
/// swift-log's event source (the module that logged) is `module=`, as some
/// events carry a `source` of their own (where a limit's value came from).
/// A value is quoted only when it must be (empty, or holding a space, `=`,
/// `"` or a control character), so addresses and counts stay bare. The
/// message comes last, where the eye looks for it (and where the old layout
/// had it). Each line goes out in one write(2), so lines never interleave.
struct LogfmtLogHandler: LogHandler {
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
        var out = "ts=\(LogTimestamp.now()) level=\(event.level.rawValue) logger="
        Self.appendValue(label, to: &out)
        out += " module="
        Self.appendValue(event.source, to: &out)
        for key in merged.keys.sorted() {
            out += " \(key)="
            Self.appendValue("\(merged[key]!)", to: &out)
        }
        out += " msg="
        Self.appendValue("\(event.message)", to: &out)
        out += "\n"
        StandardError.write(out)
    }

    /// A logfmt value: bare when it can be, else double-quoted with `"`, `\`
    /// and control characters escaped (so a value never breaks the line).
    static func appendValue(_ text: String, to out: inout String) {
        guard needsQuotes(text) else { out += text; return }
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default:
                out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    static func needsQuotes(_ text: String) -> Bool {
        text.isEmpty || text.unicodeScalars.contains {
            $0 == " " || $0 == "=" || $0 == "\"" || $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F
        }
    }
}
