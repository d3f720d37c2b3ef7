import CNghttp2
import CTickwireShim
import Reactor

/// The HTTP/2 flood guards every server session gets. Most are nghttp2
/// options; the header list bound is our own check (RequestHeaders), since
/// nghttp2 advertises SETTINGS_MAX_HEADER_LIST_SIZE but does not enforce it.
///
/// Two options, the CONTINUATION cap and the RST_STREAM rate limit, exist in
/// a 1.52 libnghttp2 only where the distribution backported them. The shim
/// references them weakly, so the same binary runs on either library and
/// `summary` tells the operator which guards this process really has.
public enum HTTP2Protections {
    /// A fresh option object for one session; the caller deletes it once the
    /// session exists (nghttp2 copies what it needs).
    static func makeOption(_ limits: GRPCLimits) throws(ConnectionSetupError) -> OpaquePointer {
        var option: OpaquePointer?
        let created = nghttp2_option_new(&option)
        guard created == 0, let option else {
            throw .nghttp2(call: "nghttp2_option_new", code: created)
        }
        nghttp2_option_set_max_settings(option, limits.maxSettingsEntries)
        nghttp2_option_set_max_outbound_ack(option, limits.maxOutboundAcks)
        nghttp2_option_set_max_deflate_dynamic_table_size(option, Int(limits.responseHeaderTableBytes))
        _ = tw_nghttp2_set_max_continuations(option, limits.maxContinuations)
        // A backstop only, at twice our burst: StreamResetRate trips first and
        // answers ENHANCE_YOUR_CALM, where nghttp2's answers INTERNAL_ERROR.
        _ = tw_nghttp2_set_stream_reset_rate_limit(option, UInt64(limits.streamResetBurst) * 2,
                                                   UInt64(limits.streamResetsPerSecond))
        return option
    }

    /// True when the loaded libnghttp2 has every option we set.
    public static var allAvailable: Bool {
        tw_nghttp2_has_max_continuations() != 0 && tw_nghttp2_has_stream_reset_rate_limit() != 0
    }

    /// One log line's metadata: each guard with its bound, or why it is off.
    public static func summary(_ limits: GRPCLimits) -> [String: String] {
        let missing = "unavailable: libnghttp2 lacks "
        return [
            "max_header_list_bytes": "\(limits.maxHeaderListBytes)",
            "max_settings_entries": "\(limits.maxSettingsEntries)",
            "max_outbound_acks": "\(limits.maxOutboundAcks)",
            "max_continuations": tw_nghttp2_has_max_continuations() != 0
                ? "\(limits.maxContinuations)" : missing + "nghttp2_option_set_max_continuations",
            // Ours (StreamResetRate) always applies; nghttp2's is a backstop.
            "stream_reset_limit": "\(limits.streamResetBurst) burst, \(limits.streamResetsPerSecond)/s",
            "stream_reset_backstop": tw_nghttp2_has_stream_reset_rate_limit() != 0
                ? "\(limits.streamResetBurst * 2) burst" : missing + "nghttp2_option_set_stream_reset_rate_limit",
            "hpack_bomb_ratio": "\(HeaderBlockBudget.bombRatio)",
            "libnghttp2": String(cString: nghttp2_version(0).pointee.version_str),
        ]
    }
}
