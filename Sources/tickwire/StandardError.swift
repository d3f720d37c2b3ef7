import Glibc

/// Log lines and startup errors go to stderr, each in one write(2) (or as
/// few as the kernel allows), so lines from a supervisor and its workers
/// never interleave mid-line.
enum StandardError {
    static func write(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = Glibc.write(STDERR_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
