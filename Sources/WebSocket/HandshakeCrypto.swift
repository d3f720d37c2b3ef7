import COpenSSL

/// The OpenSSL primitives the handshake and frame masking need, wrapped once so
/// that no other file in the target handles their pointers.
enum HandshakeCrypto {
    static let sha1Length = 20

    /// Fills `count` bytes at `destination` from OpenSSL's CSPRNG.
    /// False only if the generator could not be seeded.
    static func fillRandom(_ destination: UnsafeMutablePointer<UInt8>, count: Int) -> Bool {
        precondition(count >= 0 && count <= Int(Int32.max))
        // Safe because the caller hands us `count` writable bytes.
        return RAND_bytes(destination, Int32(count)) == 1
    }

    /// `count` random bytes. An unseeded generator is fatal: a predictable key
    /// or mask is worse than no connection at all.
    static func randomBytes(count: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let filled = bytes.withUnsafeMutableBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return true }
            return fillRandom(base, count: buffer.count)
        }
        precondition(filled, "RAND_bytes failed: OpenSSL's random generator is not seeded")
        return bytes
    }

    static func sha1(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: sha1Length)
        bytes.withUnsafeBufferPointer { input in
            digest.withUnsafeMutableBufferPointer { output in
                // Safe because SHA1 reads input.count bytes and writes exactly 20.
                _ = SHA1(input.baseAddress, input.count, output.baseAddress)
            }
        }
        return digest
    }

    /// Standard base64 with padding (RFC 4648 section 4), as the handshake headers use.
    static func base64(_ bytes: [UInt8]) -> String {
        precondition(bytes.count <= (Int(Int32.max) / 4) * 3)
        // EVP_EncodeBlock writes 4 characters per 3 input bytes plus a NUL.
        let capacity = (bytes.count + 2) / 3 * 4 + 1
        var encoded = [UInt8](repeating: 0, count: capacity)
        let length = bytes.withUnsafeBufferPointer { input in
            encoded.withUnsafeMutableBufferPointer { output in
                // Safe because `output` holds the full encoded length plus the NUL.
                EVP_EncodeBlock(output.baseAddress, input.baseAddress, Int32(input.count))
            }
        }
        return String(decoding: encoded[0..<Int(length)], as: UTF8.self)
    }
}
