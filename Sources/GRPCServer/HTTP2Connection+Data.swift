import CNghttp2

/// The response DATA path, around nghttp2.
///
/// nghttp2 frames DATA through its scheduler: for every frame it pops the
/// stream from a priority queue, asks a data provider, checks the stream
/// four times in its map, packs the header and runs its after-send passes,
/// ~900 instructions a frame (docs/performance.md), paid once per message
/// per stream on the fan-out path. The server writes DATA itself instead:
/// nghttp2 still writes every other frame (HEADERS, trailers, SETTINGS,
/// PING, RST_STREAM, GOAWAY), and the server keeps the client's flow-control
/// windows, which nghttp2 would otherwise keep: the WINDOW_UPDATE frames
/// that move them are taken out of the input (InboundFrameSplitter), and
/// SETTINGS_INITIAL_WINDOW_SIZE and SETTINGS_MAX_FRAME_SIZE are read from
/// nghttp2 after it has checked them.
///
/// Order on the wire: `fillOutput` pulls all of nghttp2's frames before any
/// DATA, so a response's HEADERS precede its DATA, no DATA falls between a
/// HEADERS frame and its CONTINUATION, and a stream nghttp2 resets or
/// closes is gone from the table (on_stream_close) before DATA is written
/// for it. Trailers are submitted once a finishing stream's queue is empty,
/// and pulled in the next pass, after that DATA.
extension HTTP2Connection {
    /// A WINDOW_UPDATE frame the splitter took out. Returns false for one
    /// nghttp2 must judge: a zero increment (PROTOCOL_ERROR), or a stream
    /// the server does not hold (an idle one is a connection error, a closed
    /// one is ignored, and only nghttp2 knows which).
    func windowUpdateReceived(streamID: Int32, increment: UInt32) -> Bool {
        guard increment > 0, let session else { return false }
        if streamID == 0 {
            guard let widened = Self.widened(sendWindow, by: Int(increment)) else {
                _ = nghttp2_session_terminate_session(session, NGHTTP2_FLOW_CONTROL_ERROR.rawValue)
                return true
            }
            sendWindow = widened
            return true
        }
        guard let stream = streams[streamID] else { return false }
        guard let widened = Self.widened(stream.sendWindow, by: Int(increment)) else {
            _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), streamID,
                                          NGHTTP2_FLOW_CONTROL_ERROR.rawValue)
            return true
        }
        stream.sendWindow = widened
        return true
    }

    /// A client SETTINGS frame was applied by nghttp2, which refused values
    /// out of range: a new initial window size moves every stream's window
    /// by the difference (RFC 9113 §6.9.2), and the frame size bounds DATA.
    func peerSettingsApplied() {
        guard let session else { return }
        peerMaxFrameBytes = Int32(clamping: nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_MAX_FRAME_SIZE))
        let initial = Int32(clamping: nghttp2_session_get_remote_settings(session, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE))
        let delta = Int(initial) - Int(peerInitialWindow)
        peerInitialWindow = initial
        guard delta != 0 else { return }
        for stream in streams.values {
            guard let moved = Self.widened(stream.sendWindow, by: delta) else {
                _ = nghttp2_session_terminate_session(session, NGHTTP2_FLOW_CONTROL_ERROR.rawValue)
                return
            }
            stream.sendWindow = moved
        }
    }

    /// RFC 9113 §6.9.1: a window may not pass 2^31 − 1.
    private static func widened(_ window: Int32, by change: Int) -> Int32? {
        let result = Int(window) + change
        return result <= Int(Int32.max) ? Int32(result) : nil
    }

    /// Writes DATA for every stream with queued messages whose response
    /// headers are out, one frame per stream per pass so that no stream
    /// holds the others back, until the queues are empty, the windows are
    /// spent or the output reaches its high-water mark. Submits the trailers
    /// of finishing streams whose queues are empty. Returns true when it
    /// submitted any: nghttp2 has frames to be pulled before more DATA.
    ///
    /// Streams take turns across calls: each call starts with the stream
    /// after the last one that wrote. A client that opens its connection
    /// window a frame's worth at a time would otherwise feed the same stream
    /// every time and starve its others (nghttp2's scheduler rotated too).
    func writeStreamData(highWater: Int) -> Bool {
        if let sole = streams.soleStream {
            return sole._withUnsafeGuaranteedRef { writeData(of: $0, framesAtMost: .max, highWater: highWater) }
        }
        let count = streams.count
        guard count > 0 else { return false }
        let first = dataPassStart % count
        var lastWriter = -1  // where the next call starts: after it
        var submittedTrailers = false
        var wrote = true
        while wrote && output.count < highWater {
            wrote = false
            // The table's order from `first` to its end, then what came before
            // `first`. When every stream wrote, the last one did, and the next
            // call starts at 0 with one walk over the table, as without turns.
            for round in 0..<(first == 0 ? 1 : 2) {  // a range, not an array literal: nothing allocated
                var index = -1
                for stream in streams.values where output.count < highWater {
                    index += 1
                    if round == 0 ? index < first : index >= first { continue }
                    let before = stream.outbound.pendingBytes
                    submittedTrailers = writeData(of: stream, framesAtMost: 1, highWater: highWater) || submittedTrailers
                    if stream.outbound.pendingBytes < before {
                        wrote = true
                        lastWriter = index
                    }
                }
            }
        }
        if lastWriter >= 0 { dataPassStart = lastWriter + 1 }
        return submittedTrailers
    }

    /// Up to `framesAtMost` DATA frames of `stream`, then its trailers if it
    /// is finishing and its queue is empty. Returns true if it submitted them.
    @inline(__always)
    private func writeData(of stream: GRPCStream, framesAtMost: Int, highWater: Int) -> Bool {
        guard stream.responseHeadersWritten else { return false }
        var frames = 0
        while frames < framesAtMost && output.count < highWater && stream.outbound.pendingBytes > 0 && sendWindow > 0
                && stream.writeDataFrame(connectionWindow: sendWindow, maxFrameBytes: peerMaxFrameBytes) {
            frames += 1
        }
        guard stream.outbound.isEmpty, case .finishing(let status) = stream.phase else { return false }
        stream.phase = .ended
        submitTrailers(stream, status: status)
        return true
    }

    /// nghttp2 serialized a stream's response HEADERS: its DATA may follow.
    func responseHeadersSent(streamID: Int32) {
        streams[streamID]?.responseHeadersWritten = true
    }
}
