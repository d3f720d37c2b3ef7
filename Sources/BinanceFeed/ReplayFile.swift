import Glibc
import Reactor

/// A recording loaded into memory once at startup, with simdjson's padding
/// after the last byte so every line can be parsed in place, without a copy.
final class ReplayFile {
    let bytes: UnsafeMutableRawBufferPointer
    let length: Int

    init(path: String, padding: Int) throws(SystemError) {
        let fd: Int32
        do {
            fd = try systemCallOrThrow("open") { open(path, O_RDONLY | O_CLOEXEC) }
        } catch {
            // Name the file: "open: No such file" alone leaves the operator guessing.
            throw SystemError(call: "open(\(path))", errno: error.errno)
        }
        defer { closeDescriptor(fd) }
        var info = stat()
        try systemCallOrThrow("fstat") { fstat(fd, &info) }
        let size = Int(info.st_size)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size + padding, alignment: 64)
        buffer.initializeMemory(as: UInt8.self, repeating: 0)
        var filled = 0
        do throws(SystemError) {
            while filled < size {
                let result = try systemCallOrThrow("read") { read(fd, buffer.baseAddress! + filled, size - filled) }
                if result == 0 { break }
                filled += result
            }
        } catch {
            buffer.deallocate()
            throw error
        }
        bytes = buffer
        length = filled
    }

    deinit {
        bytes.deallocate()
    }

    /// The line starting at `offset`, without its newline (or carriage
    /// return), and the offset of the next line.
    func line(at offset: Int) -> (start: Int, length: Int, next: Int)? {
        guard offset < length else { return nil }
        let base = bytes.baseAddress! + offset
        let remaining = length - offset
        let newline = memchr(base, 0x0A, remaining)
        var lineLength = newline.map { $0 - UnsafeMutableRawPointer(mutating: base) } ?? remaining
        let next = offset + lineLength + (newline == nil ? 0 : 1)
        if lineLength > 0 && bytes[offset + lineLength - 1] == 0x0D { lineLength -= 1 }
        return (offset, lineLength, next)
    }
}
