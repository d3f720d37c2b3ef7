import CNghttp2
import CTickwireShim
import Testing
@testable import GRPCServer

/// A client and a server session wired back to back in memory, the server
/// made the way NGHTTP2Session makes it (our option, our allocator, our
/// SETTINGS), with no callbacks beyond one that counts request HEADERS.
final class SessionPair {
    let allocator: OpaquePointer
    private let ownsAllocator: Bool
    var server: OpaquePointer?
    var client: OpaquePointer?
    /// HEADERS frames each side received.
    let requests = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    let responses = UnsafeMutablePointer<Int>.allocate(capacity: 1)

    /// `allocator`: one shared with another pair, else the pair's own.
    init(_ limits: GRPCLimits, allocator shared: OpaquePointer? = nil) throws {
        allocator = shared ?? tw_nghttp2_allocator_new(limits.sharedFrameBuffer ? 1 : 0, limits.responseHeaderTableBytes == 0 ? 1 : 0, 64)!
        ownsAllocator = shared == nil
        requests.initialize(to: 0)
        responses.initialize(to: 0)
        var callbacks: OpaquePointer?
        #expect(nghttp2_session_callbacks_new(&callbacks) == 0)
        defer { nghttp2_session_callbacks_del(callbacks) }
        nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks) { _, frame, userData in
            if let userData, frame!.pointee.hd.type == UInt8(NGHTTP2_HEADERS.rawValue) {
                userData.assumingMemoryBound(to: Int.self).pointee += 1
            }
            return 0
        }
        let option = try HTTP2Protections.makeOption(limits)
        defer { nghttp2_option_del(option) }
        let memory = tw_nghttp2_allocator_mem(allocator).assumingMemoryBound(to: nghttp2_mem.self)
        tw_nghttp2_allocator_creating_session(allocator, 1)
        #expect(nghttp2_session_server_new3(&server, callbacks, requests, option, memory) == 0)
        tw_nghttp2_allocator_creating_session(allocator, 0)
        #expect(nghttp2_session_client_new(&client, callbacks, responses) == 0)
        var settings = HTTP2Connection.advertisedSettings(limits)
        #expect(nghttp2_submit_settings(server, 0, &settings, settings.count) == 0)
        #expect(nghttp2_submit_settings(client, 0, nil, 0) == 0)
    }

    deinit {
        nghttp2_session_del(server)
        nghttp2_session_del(client)
        if ownsAllocator { tw_nghttp2_allocator_del(allocator) }
        requests.deallocate()
        responses.deallocate()
    }

    var counts: tw_nghttp2_memory_counts { tw_nghttp2_allocator_counts(allocator) }

    /// Moves bytes both ways until neither session has anything to send.
    func exchange() {
        var moved = true
        while moved {
            moved = false
            for (from, to) in [(client, server), (server, client)] {
                var chunk: UnsafePointer<UInt8>?
                while case let length = nghttp2_session_mem_send(from, &chunk), length > 0 {
                    #expect(nghttp2_session_mem_recv(to, chunk, length) == length)
                    moved = true
                }
            }
        }
    }

    /// One frame from `from` to `to`, the way HTTP2Connection.fillOutput
    /// takes it: copied out, then the shared frame buffer scribbled over
    /// (as debug builds do after every fill). False when nothing was waiting.
    func step(serverSide: Bool) -> Bool {
        let (from, to) = serverSide ? (server, client) : (client, server)
        var chunk: UnsafePointer<UInt8>?
        let length = nghttp2_session_mem_send(from, &chunk)
        guard length > 0, let chunk else { return false }
        let copy = Array(UnsafeBufferPointer(start: chunk, count: length))
        tw_nghttp2_allocator_scribble_frame_buffer(allocator)
        #expect(copy.withUnsafeBufferPointer { nghttp2_session_mem_recv(to, $0.baseAddress, length) } == length)
        return true
    }

    /// A StreamPrices request as a gRPC client sends it, with the fields an
    /// encoder indexes.
    func request() {
        let fields = [(":method", "POST"), (":scheme", "http"), (":path", "/tickwire.v1.PriceStream/StreamPrices"),
                      (":authority", "127.0.0.1:50051"), ("content-type", "application/grpc"), ("te", "trailers"),
                      ("user-agent", "grpc-python/1.66.1 grpc-c/43.0.0 (linux; chttp2)"),
                      ("grpc-accept-encoding", "identity,deflate,gzip")]
        _ = HeaderBlock.with(fields) { nva, count in
            nghttp2_submit_request(client, nil, nva, count, nil, nil)
        }
    }

    func respond(streamID: Int32, extra: [(String, String)] = []) {
        _ = HeaderBlock.with([(":status", "200"), ("content-type", "application/grpc")] + extra) { nva, count in
            nghttp2_submit_response(server, streamID, nva, count, nil)
        }
    }
}

@Suite struct NGHTTP2MemoryTests {
    /// Everything a session allocates goes through our allocator, and all of
    /// it comes back when the session is deleted. With its own frame buffer
    /// that is 16 KiB of it.
    @Test(arguments: [false, true])
    func aSessionAllocatesThroughTheAllocatorAndGivesItAllBack(sharedFrameBuffer: Bool) throws {
        var limits = GRPCLimits()
        limits.sharedFrameBuffer = sharedFrameBuffer
        let pair = try SessionPair(limits)
        pair.request()
        pair.exchange()
        pair.respond(streamID: 1)
        pair.exchange()
        #expect(pair.responses.pointee == 1)
        let held = pair.counts
        #expect(held.frame_buffers_lent == (sharedFrameBuffer ? 1 : 0))
        // The session itself is ~3 KiB and (in 1.52) its stream map 4 KiB.
        #expect(held.live_bytes > 7_000)
        #expect((held.live_bytes > 16_394 + 7_000) == !sharedFrameBuffer)
        #expect(held.live_blocks > 3)
        #expect(held.allocations >= held.live_blocks)
        nghttp2_session_del(pair.server)
        pair.server = nil
        let after = pair.counts
        #expect(after.live_bytes == 0)
        #expect(after.live_blocks == 0)
    }

    /// Two sessions on one frame buffer, their frames interleaved one at a
    /// time with the buffer scribbled over between them: each client gets
    /// its own responses whole, a header block over 16 KiB (CONTINUATION,
    /// which takes a second chunk that must be private) included.
    @Test func sessionsSharingTheFrameBufferSendTheirOwnFrames() throws {
        let allocator = tw_nghttp2_allocator_new(1, 1, 64)!
        defer { tw_nghttp2_allocator_del(allocator) }
        do {
            let pairs = try [SessionPair(GRPCLimits(), allocator: allocator), SessionPair(GRPCLimits(), allocator: allocator)]
            #expect(tw_nghttp2_allocator_counts(allocator).frame_buffers_lent == 2)
            func interleave() {
                var moved = true
                while moved {
                    moved = false
                    for pair in pairs {
                        if pair.step(serverSide: false) { moved = true }
                        if pair.step(serverSide: true) { moved = true }
                    }
                }
            }
            for pair in pairs { pair.request() }
            interleave()
            pairs[0].respond(streamID: 1, extra: [("x-big", String(repeating: "a", count: 40_000))])
            pairs[1].respond(streamID: 1)
            interleave()
            for pair in pairs {
                #expect(pair.requests.pointee == 1)
                #expect(pair.responses.pointee == 1)
            }
        }
        #expect(tw_nghttp2_allocator_counts(allocator).live_bytes == 0)
    }

    /// By default our encoder keeps no table and the client's keeps HTTP/2's
    /// 4,096: the SETTINGS we send do not mention the table, so a client
    /// whose encoder never sends a table size update (h2spec's) is served.
    @Test func theDefaultsLeaveTheClientsTableAloneAndKeepNoneOfOurs() throws {
        let advertised = HTTP2Connection.advertisedSettings(GRPCLimits())
        #expect(!advertised.contains { $0.settings_id == Int32(NGHTTP2_SETTINGS_HEADER_TABLE_SIZE.rawValue) })
        let pair = try SessionPair(GRPCLimits())
        pair.request()
        pair.exchange()
        #expect(nghttp2_session_get_local_settings(pair.server, NGHTTP2_SETTINGS_HEADER_TABLE_SIZE) == 4_096)
        pair.respond(streamID: 1)
        pair.request()
        pair.exchange()
        #expect(pair.requests.pointee == 2)
        #expect(nghttp2_session_get_hd_inflate_dynamic_table_size(pair.server) > 0)
        #expect(nghttp2_session_get_hd_deflate_dynamic_table_size(pair.server) == 0)
    }

    /// A decoder table of 0 is a setting: once the client ACKs, nghttp2
    /// empties what the first request indexed (it was sent before our
    /// SETTINGS arrived), and the next request opens with the table size
    /// update nghttp2 insists on.
    @Test func aDecoderTableOfZeroHoldsNoHeaderOnceAcknowledged() throws {
        var limits = GRPCLimits()
        limits.requestHeaderTableBytes = 0
        let pair = try SessionPair(limits)
        pair.request()
        pair.exchange()
        #expect(pair.requests.pointee == 1)
        #expect(nghttp2_session_get_local_settings(pair.server, NGHTTP2_SETTINGS_HEADER_TABLE_SIZE) == 0)
        #expect(nghttp2_session_get_hd_inflate_dynamic_table_size(pair.server) == 0)
        pair.respond(streamID: 1)
        pair.request()
        pair.exchange()
        #expect(pair.requests.pointee == 2)
        #expect(nghttp2_session_get_hd_inflate_dynamic_table_size(pair.server) == 0)
    }

    /// Our encoder indexes when told to.
    @Test func aNonZeroEncoderTableIndexes() throws {
        var limits = GRPCLimits()
        limits.responseHeaderTableBytes = 4_096
        let pair = try SessionPair(limits)
        pair.request()
        pair.exchange()
        pair.respond(streamID: 1)
        pair.exchange()
        #expect(nghttp2_session_get_hd_deflate_dynamic_table_size(pair.server) > 0)
    }

    /// With our encoder's table at 0 every session is lent one encoder ring
    /// (nghttp2_memory.c): sessions made on one allocator all get it, none
    /// writes into it however many headers they encode, and each is still
    /// answered whole. Its own 1,024 bytes are what a session no longer holds.
    @Test func theEncoderRingIsLentAndNeverWritten() throws {
        let allocator = tw_nghttp2_allocator_new(1, 1, 64)!
        defer { tw_nghttp2_allocator_del(allocator) }
        do {
            let pairs = try (0..<3).map { _ in try SessionPair(GRPCLimits(), allocator: allocator) }
            #expect(tw_nghttp2_allocator_counts(allocator).encoder_rings_lent == 3)
            for pair in pairs {
                pair.request()
                pair.exchange()
                let extra = (0..<40).map { ("x-header-\($0)", String(repeating: "v", count: 30)) }
                pair.respond(streamID: 1, extra: extra)
                pair.exchange()
                #expect(pair.responses.pointee == 1)
            }
            #expect(tw_nghttp2_allocator_encoder_ring_untouched(allocator) == 1)
        }
        #expect(tw_nghttp2_allocator_counts(allocator).live_bytes == 0)
    }

    /// An encoder that indexes keeps a ring of its own.
    @Test func anIndexingEncoderKeepsItsOwnRing() throws {
        var limits = GRPCLimits()
        limits.responseHeaderTableBytes = 4_096
        let pair = try SessionPair(limits)
        #expect(pair.counts.encoder_rings_lent == 0)
    }
}
