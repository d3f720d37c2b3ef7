import CNghttp2
import CTickwireShim
import Foundation
import Testing
@testable import GRPCServer

/// The session pages (nghttp2_session_pages.c): where each session's struct,
/// stream map and decoder ring live, so that the map's buckets a one-stream
/// connection never writes cost no memory. Measured with the kernel's own
/// figure, the Rss of the pages' mapping in /proc/self/smaps.
@Suite struct NGHTTP2SessionPagesTests {
    /// Resident bytes of the allocator's session pages, from smaps.
    private static func residentBytes(of allocator: OpaquePointer) -> Int? {
        var bytes = 0
        // Read to the end, not by the file's size: procfs reports 0.
        guard let start = tw_nghttp2_allocator_session_pages(allocator, &bytes),
              let file = FileHandle(forReadingAtPath: "/proc/self/smaps"),
              let smaps = String(data: file.readDataToEndOfFile(), encoding: .utf8) else { return nil }
        defer { try? file.close() }
        let prefix = String(UInt(bitPattern: start), radix: 16) + "-"
        var inRange = false
        for line in smaps.split(separator: "\n") {
            if line.first?.isHexDigit == true, line.contains("-"), !line.hasPrefix("Rss") {
                inRange = line.hasPrefix(prefix)
            } else if inRange, line.hasPrefix("Rss:") {
                let kib = line.split(separator: " ").dropFirst().first.flatMap { Int($0) }
                return kib.map { $0 * 1024 }
            }
        }
        return nil
    }

    /// A StreamPrices connection's shape: one call, stream 1, answered.
    private static func openOneCall(_ pair: SessionPair) {
        pair.request()
        pair.exchange()
        pair.respond(streamID: 1)
        pair.exchange()
    }

    /// 64 one-stream sessions: each unit of four pages holds two, and its
    /// page of map buckets nobody writes stays the kernel's zeros, so the
    /// pages cost 6 KiB a session (three pages per two, plus the region's
    /// last page) where malloc's blocks cost 7.9.
    @Test func oneStreamSessionsCostThreePagesForTwo() throws {
        let allocator = tw_nghttp2_allocator_new(1, 1, 64)!
        defer { tw_nghttp2_allocator_del(allocator) }
        do {
            let pairs = try (0..<64).map { _ in try SessionPair(GRPCLimits(), allocator: allocator) }
            for pair in pairs { Self.openOneCall(pair) }
            for pair in pairs {
                #expect(pair.requests.pointee == 1)
                #expect(pair.responses.pointee == 1)
            }
            #expect(tw_nghttp2_allocator_counts(allocator).sessions_placed == 64)
            let resident = try #require(Self.residentBytes(of: allocator))
            // 32 units × 3 pages; B's ring of the last unit is on the extra page.
            #expect(resident == (32 * 3 + 1) * 4096, "resident \(resident) bytes")
        }
        let counts = tw_nghttp2_allocator_counts(allocator)
        #expect(counts.sessions_placed == 0)
        #expect(counts.live_bytes == 0)
        #expect(counts.live_blocks == 0)
    }

    /// A connection with more calls writes other buckets, some on the page of
    /// zeros: that costs its page, and the map still reads as zeros when the
    /// next session takes the same place while its neighbour lives on. A
    /// stale bucket would make the next session's streams look open already
    /// (or point at freed ones).
    @Test func aMapWrittenAnywhereIsZeroAgainForTheNextSession() throws {
        let allocator = tw_nghttp2_allocator_new(1, 1, 2)!
        defer { tw_nghttp2_allocator_del(allocator) }
        let streams: [Int32] = [1, 3, 5, 7, 9, 11]
        func openCalls(_ pair: SessionPair, _ label: String) {
            #expect(nghttp2_session_find_stream(pair.server, 3) == nil, "\(label): stream 3 before it opened")
            for stream in streams {
                pair.request()
                pair.exchange()
                pair.respond(streamID: stream)
                pair.exchange()
            }
            #expect(pair.requests.pointee == streams.count, "\(label)")
            #expect(pair.responses.pointee == streams.count, "\(label)")
            for stream in streams {
                #expect(nghttp2_session_find_stream(pair.server, stream) != nil, "\(label), stream \(stream)")
            }
            #expect(nghttp2_session_find_stream(pair.server, 13) == nil, "\(label)")
        }
        do {
            // Each round replaces one of the unit's two sessions; the other,
            // its map on the same page of zeros, stays open.
            var pairs: [SessionPair?] = try (0..<2).map { _ in try SessionPair(GRPCLimits(), allocator: allocator) }
            for (index, pair) in pairs.enumerated() { openCalls(pair!, "first \(index)") }
            for round in 0..<4 {
                pairs[round % 2] = nil  // its slot is the next one taken
                let replacement = try SessionPair(GRPCLimits(), allocator: allocator)
                pairs[round % 2] = replacement
                #expect(tw_nghttp2_allocator_counts(allocator).sessions_placed == 2, "round \(round)")
                openCalls(replacement, "round \(round)")
                for stream in streams {
                    #expect(nghttp2_session_find_stream(pairs[(round + 1) % 2]!.server, stream) != nil,
                            "round \(round), the neighbour's stream \(stream)")
                }
            }
            // Stream 3's bucket (218) is on the page of zeros: all five pages
            // (the unit and the region's last) are resident.
            let resident = try #require(Self.residentBytes(of: allocator))
            #expect(resident == 5 * 4096, "resident \(resident) bytes")
        }
        // Every session gone: the written page of zeros went back to the kernel.
        let resident = try #require(Self.residentBytes(of: allocator))
        #expect(resident == 4 * 4096, "resident \(resident) bytes")
        #expect(tw_nghttp2_allocator_counts(allocator).live_bytes == 0)
    }

    /// Past the reserved slots, sessions get malloc's blocks and work the same.
    @Test func sessionsPastTheSlotsUseMalloc() throws {
        let allocator = tw_nghttp2_allocator_new(1, 1, 2)!
        defer { tw_nghttp2_allocator_del(allocator) }
        do {
            let pairs = try (0..<3).map { _ in try SessionPair(GRPCLimits(), allocator: allocator) }
            #expect(tw_nghttp2_allocator_counts(allocator).sessions_placed == 2)
            for pair in pairs {
                Self.openOneCall(pair)
                #expect(pair.responses.pointee == 1)
            }
        }
        #expect(tw_nghttp2_allocator_counts(allocator).live_bytes == 0)
    }

    /// With no slots at all there are no pages.
    @Test func noSlotsNoPages() throws {
        let allocator = tw_nghttp2_allocator_new(1, 1, 0)!
        defer { tw_nghttp2_allocator_del(allocator) }
        var bytes = 1
        #expect(tw_nghttp2_allocator_session_pages(allocator, &bytes) == nil)
        #expect(bytes == 0)
        let pair = try SessionPair(GRPCLimits(), allocator: allocator)
        Self.openOneCall(pair)
        #expect(pair.responses.pointee == 1)
        #expect(tw_nghttp2_allocator_counts(allocator).sessions_placed == 0)
    }
}
