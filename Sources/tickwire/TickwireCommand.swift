import ArgumentParser
import Foundation
import Glibc
import BinanceFeed
import Application
import GRPCServer
import Logging
import Reactor
import Supervisor
import MarketData

struct TickwireCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tickwire",
        abstract: "Streams Binance trades to gRPC clients over one bidirectional StreamPrices RPC.",
        discussion: """
            Every option can also be set through the environment as TICKWIRE_<OPTION>, upper case \
            with dashes as underscores (for example TICKWIRE_REPLAY_SPEED=max). A flag on the command \
            line wins over the environment. Durations are written as in Go and Kubernetes: 100ms, 5s, 23h50m. \
            Every on/off flag has a --no- form that turns it off (for example --no-replay-loop over \
            TICKWIRE_REPLAY_LOOP=true).
            """,
        version: "tickwire \(TickwireVersion.current)"
    )

    /// The long options, for EnvironmentDefaults. Keep in step with the @Options below.
    static let environmentOptions = [
        "listen", "metrics-listen", "workers", "symbols", "replay", "replay-speed", "replay-rate", "replay-wait-streams", "log-level", "log-format", "io",
        "max-connections", "max-concurrent-streams", "stream-soft-limit", "stream-hard-limit", "slow-consumer-timeout", "drain-timeout",
        "connection-hard-limit", "write-idle-timeout", "flush-linger", "flush-budget", "handshake-timeout",
        "max-header-list-bytes", "max-settings-entries", "max-outbound-acks", "max-continuations",
        "stream-reset-burst", "stream-reset-rate",
        "keepalive-time", "keepalive-timeout", "keepalive-min-ping-interval", "keepalive-permit-without-calls",
        "max-connection-age", "max-connection-age-grace",
        "indicator-interval", "history", "max-period", "max-indicators", "max-subscriptions-per-stream",
        "max-indicators-per-connection", "max-queued-bytes", "max-streams", "socket-send-buffer",
        "max-candle-history", "candle-close-grace",
        "stop-flush-timeout", "binance-url", "binance-ca-file", "stream", "stale-timeout",
        "binance-max-connection-age", "reconnect-base", "reconnect-cap", "tls-cert", "tls-key", "tls-client-ca",
        "dns-servers", "binance-api-url", "backfill-timeout", "backfill-max-trades", "warm-intervals",
    ]

    /// The boolean flags, for EnvironmentDefaults (TICKWIRE_<FLAG>=true|false).
    static let environmentFlags = ["replay-loop", "busy-poll"]

    @Option(help: ArgumentHelp("gRPC listen address, HOST:PORT. Port 0 picks a free port (the log says which). [env: TICKWIRE_LISTEN]",
                               valueName: "host:port"))
    var listen = "0.0.0.0:50051"

    @Option(help: ArgumentHelp("Prometheus /metrics address, HOST:PORT, served on the same loop; 'off' disables it. Port 0 picks a free port (the log says which). [env: TICKWIRE_METRICS_LISTEN]",
                               valueName: "host:port|off"))
    var metricsListen = "0.0.0.0:20051"

    @Option(help: ArgumentHelp("Worker processes: N (1 to 256) or 'auto' (one per CPU this process may run on). With more than 1, tickwire becomes a small supervisor that starts N copies of the server, each with its own loop and feed, sharing the --listen port through SO_REUSEPORT; worker i serves /metrics on the --metrics-listen port + i. [env: TICKWIRE_WORKERS]",
                               valueName: "n|auto"))
    var workers = "1"

    @Option(help: ArgumentHelp("Comma-separated symbols to serve, any case. [env: TICKWIRE_SYMBOLS]", valueName: "list"))
    var symbols = "btcusdt,ethusdt"

    @Option(help: ArgumentHelp("Play a recording of Binance's combined stream (JSON Lines, one {\"stream\":…,\"data\":{…}} per line) instead of connecting to Binance. [env: TICKWIRE_REPLAY]",
                               valueName: "file"))
    var replay: String?

    @Option(help: ArgumentHelp("Replay pace: a multiple of the recorded pace (1, 20, 0.5) or 'max' for as fast as the clients drain. Default 1. [env: TICKWIRE_REPLAY_SPEED]",
                               valueName: "x|max"))
    var replaySpeed: String?

    @Option(help: ArgumentHelp("Replay at a fixed rate of N trades per second, whatever the recorded pace (for benchmarks: the offered load is then known). Instead of --replay-speed. [env: TICKWIRE_REPLAY_RATE]",
                               valueName: "n"))
    var replayRate: Double?

    @Flag(inversion: .prefixedNo,
          help: ArgumentHelp("Start the recording over at its end, without end: each pass shifts trade ids (per symbol, by the number of ids the recording spans) and times (by its duration + 50 ms), so ids keep increasing and pacing continues. Without it the replay plays once, then clients get no more prices (a warning says so). --no-replay-loop overrides the environment. [env: TICKWIRE_REPLAY_LOOP=true|false]"))
    var replayLoop = false

    @Option(help: ArgumentHelp("Hold the replay until this many StreamPrices streams are open (0: start at once). [env: TICKWIRE_REPLAY_WAIT_STREAMS]",
                               valueName: "n"))
    var replayWaitStreams = 0

    @Option(help: ArgumentHelp("Log level: trace, debug, info, notice, warning, error or critical. Logs go to stderr. [env: TICKWIRE_LOG_LEVEL]",
                               valueName: "level"))
    var logLevel = "info"

    @Option(help: ArgumentHelp("Log format: text (one logfmt line per event: ts=… level=… logger=… module=… key=value… msg=…, values quoted only when they hold a space, '=' or a quote; millisecond UTC timestamps) or json (one JSON object per line: timestamp, level, message, logger, source, metadata; for Kubernetes log collectors). Logs go to stderr. [env: TICKWIRE_LOG_FORMAT]",
                               valueName: "text|json"))
    var logFormat = "text"

    @Option(help: ArgumentHelp("I/O backend: epoll (level-triggered epoll_wait, one sendmsg per connection written) or io_uring (poll requests queued during an iteration and submitted together with the wait, in one io_uring_enter; and each iteration's writes to h2c connections sent together in another). When io_uring cannot be set up (for example a container's seccomp profile blocks it, as Docker's and containerd's defaults do) the server logs a warning saying why and runs on epoll. The startup log names the backend in use (io=) and how connections write (sends=). [env: TICKWIRE_IO]",
                               valueName: "epoll|io_uring"))
    var io = "epoll"

    @Option(help: ArgumentHelp("Connections held at once; more are closed on accept. [env: TICKWIRE_MAX_CONNECTIONS]", valueName: "n"))
    var maxConnections = 4096

    @Option(help: ArgumentHelp("SETTINGS_MAX_CONCURRENT_STREAMS advertised to each HTTP/2 connection. [env: TICKWIRE_MAX_CONCURRENT_STREAMS]", valueName: "n"))
    var maxConcurrentStreams: UInt32 = 100

    @Option(help: ArgumentHelp("Slow consumers: past this many queued bytes a stream's prices are conflated to the latest trade per symbol (counted as conflated trades) and its indicator batches wait (the next one carries the latest values) until its reader catches up. [env: TICKWIRE_STREAM_SOFT_LIMIT]", valueName: "bytes"))
    var streamSoftLimit = 256 * 1024

    @Option(help: ArgumentHelp("Slow consumers: a stream with this many bytes queued ends at once with RESOURCE_EXHAUSTED (client too slow). [env: TICKWIRE_STREAM_HARD_LIMIT]", valueName: "bytes"))
    var streamHardLimit = 4 * 1024 * 1024

    @Option(parsing: .unconditional, help: ArgumentHelp("Slow consumers: a stream above --stream-soft-limit for this long ends with RESOURCE_EXHAUSTED (client too slow). [env: TICKWIRE_SLOW_CONSUMER_TIMEOUT]", valueName: "duration"))
    var slowConsumerTimeout = "10s"

    @Option(help: ArgumentHelp("Slow consumers: bytes queued across all of one connection's streams; past it the streams with the largest backlogs end with RESOURCE_EXHAUSTED (client too slow) until the connection is under it again. At least --stream-soft-limit. Default: 16 MiB or 4 × --stream-hard-limit, whichever is larger. [env: TICKWIRE_CONNECTION_HARD_LIMIT]", valueName: "bytes"))
    var connectionHardLimit: Int?

    @Option(parsing: .unconditional, help: ArgumentHelp("Close a connection that has output waiting (a full socket, or HTTP/2 flow-control windows the client never reopens) and sends none of it for this long; 0 turns the check off. [env: TICKWIRE_WRITE_IDLE_TIMEOUT]", valueName: "duration"))
    var writeIdleTimeout = "30s"

    @Option(parsing: .unconditional, help: ArgumentHelp("Time a new connection has, from accept, to finish its TLS handshake (on a TLS listener) and send the HTTP/2 client preface and first SETTINGS; slower is closed. While every --max-connections slot is taken, the oldest connection still in its handshake is closed to admit a new one. At least 100ms. [env: TICKWIRE_HANDSHAKE_TIMEOUT]", valueName: "duration"))
    var handshakeTimeout = "10s"

    @Option(parsing: .unconditional, help: ArgumentHelp("When prices and indicator batches may wait so that several leave in one write per connection (each write costs the kernel's whole TCP path, on loopback the reader's too). 'auto' (the default): only while the loop is busy (engaged at 50% of the time working, released after a second below 25%), for at most --flush-budget; a quiet server writes every loop iteration and keeps its latency. While lingering, each connection is written at its turn: every k-th new trade, k being how many trades fit in the window at their recent pace, so one trade does not write every connection at once; a loop still more than 55% busy while lingering stretches the window to 1.5x --flush-budget (back below 40%). 0: never, every loop iteration writes. A duration (at most 100ms): always, that long. [env: TICKWIRE_FLUSH_LINGER]", valueName: "auto|0|duration"))
    var flushLinger = "auto"

    @Option(parsing: .unconditional, help: ArgumentHelp("The latency --flush-linger auto may add while the loop is busy: how long a price may wait for others to share its write (give or take an eighth, to take in a trade due just after it). Default 1ms (docs/performance.md). More than 0, at most 100ms; kept to the microsecond (epoll_pwait2). Not with a fixed --flush-linger, which is its own window. [env: TICKWIRE_FLUSH_BUDGET]", valueName: "duration"))
    var flushBudget: String?

    @Flag(inversion: .prefixedNo,
          help: ArgumentHelp("Spin instead of sleeping: the loop asks the poller (epoll or io_uring) with a zero timeout every iteration, so a packet is handled without a wake-up. Burns a whole core at 100% even with no load; for colocated hosts with a core to spare, and not with --workers on a host without a core per worker. Timers still fire on time. [env: TICKWIRE_BUSY_POLL=true|false]"))
    var busyPoll = false

    @Option(help: ArgumentHelp("Largest request header list, counted as in RFC 7541 (name + value + 32 per field); advertised as SETTINGS_MAX_HEADER_LIST_SIZE. A larger one gets RESOURCE_EXHAUSTED on its stream. [env: TICKWIRE_MAX_HEADER_LIST_BYTES]",
                               valueName: "bytes"))
    var maxHeaderListBytes = 16 * 1024

    @Option(help: ArgumentHelp("Entries accepted in one HTTP/2 SETTINGS frame; more closes the connection. [env: TICKWIRE_MAX_SETTINGS_ENTRIES]",
                               valueName: "n"))
    var maxSettingsEntries = 32

    @Option(help: ArgumentHelp("SETTINGS and PING acknowledgements a connection may have waiting to be sent; a peer that floods either faster than it reads is cut off. [env: TICKWIRE_MAX_OUTBOUND_ACKS]",
                               valueName: "n"))
    var maxOutboundAcks = 1000

    @Option(help: ArgumentHelp("CONTINUATION frames accepted after one HEADERS frame; more closes the connection. Needs a libnghttp2 with the CVE-2024-28182 fix (the startup log says). [env: TICKWIRE_MAX_CONTINUATIONS]",
                               valueName: "n"))
    var maxContinuations = 8

    @Option(help: ArgumentHelp("Rapid-reset guard: stream resets a client may send at once before the refill rate applies; past it the connection gets GOAWAY and is closed. Needs a libnghttp2 with the CVE-2023-44487 fix (the startup log says). [env: TICKWIRE_STREAM_RESET_BURST]",
                               valueName: "n"))
    var streamResetBurst = 1000

    @Option(help: ArgumentHelp("Rapid-reset guard: stream resets per second added back to a connection's allowance, up to --stream-reset-burst. [env: TICKWIRE_STREAM_RESET_RATE]",
                               valueName: "per-second"))
    var streamResetRate = 33

    @Option(parsing: .unconditional, help: ArgumentHelp("PING a client connection when nothing at all has arrived on it for this long, to find peers that vanished (and keep idle flows alive through NATs and load balancers); 'off' never pings. [env: TICKWIRE_KEEPALIVE_TIME]",
                               valueName: "duration|off"))
    var keepaliveTime = "2m"

    @Option(parsing: .unconditional, help: ArgumentHelp("Close the connection when nothing (the PING's ACK or any other frame) comes back within this long of a keepalive PING. [env: TICKWIRE_KEEPALIVE_TIMEOUT]",
                               valueName: "duration"))
    var keepaliveTimeout = "20s"

    @Option(parsing: .unconditional, help: ArgumentHelp("Client PING policy, as grpc-go's MinTime: a client with calls open may PING at most this often unless we sent it HEADERS or DATA since its last PING; each PING sooner is a strike, and the third gets GOAWAY(ENHANCE_YOUR_CALM, too_many_pings) and the connection is closed. [env: TICKWIRE_KEEPALIVE_MIN_PING_INTERVAL]",
                               valueName: "duration"))
    var keepaliveMinPingInterval = "5m"

    @Option(help: ArgumentHelp("Client PING policy: allow PINGs at --keepalive-min-ping-interval on a connection with no call open. When false (grpc-go's default) such a client may PING once every 2h. [env: TICKWIRE_KEEPALIVE_PERMIT_WITHOUT_CALLS]",
                               valueName: "true|false"))
    var keepalivePermitWithoutCalls = false

    @Option(parsing: .unconditional, help: ArgumentHelp("Retire a client connection at this age, ±10% jitter: GOAWAY, so the client reconnects (through the load balancer, e.g. a Kubernetes Service, rebalancing long-lived streams) while its open streams go on for --max-connection-age-grace. 'off' never retires. [env: TICKWIRE_MAX_CONNECTION_AGE]",
                               valueName: "duration|off"))
    var maxConnectionAge = "off"

    @Option(parsing: .unconditional, help: ArgumentHelp("After a connection's max-age GOAWAY, how long its open streams go on before they end with UNAVAILABLE (\"max connection age reached; reconnect\"); 'infinite' lets them run. [env: TICKWIRE_MAX_CONNECTION_AGE_GRACE]",
                               valueName: "duration|infinite"))
    var maxConnectionAgeGrace = "30s"

    @Option(parsing: .unconditional, help: ArgumentHelp("After SIGTERM/SIGINT, how long open streams keep receiving prices (after a ShutdownNotice) before they are ended. Health turns NOT_SERVING at once and new connections are refused. [env: TICKWIRE_DRAIN_TIMEOUT]",
                               valueName: "duration"))
    var drainTimeout = "5s"

    @Option(parsing: .unconditional, help: ArgumentHelp("After the drain, how long to spend flushing the final trailers before every socket is closed. [env: TICKWIRE_STOP_FLUSH_TIMEOUT]",
                               valueName: "duration"))
    var stopFlushTimeout = "500ms"

    @Option(parsing: .unconditional, help: ArgumentHelp("How often each stream receives its batch of changed indicator values. [env: TICKWIRE_INDICATOR_INTERVAL]",
                               valueName: "duration"))
    var indicatorInterval = "100ms"

    @Option(help: ArgumentHelp("Prices kept per symbol to warm new indicators; at least --max-period. [env: TICKWIRE_HISTORY]",
                               valueName: "n"))
    var history = 1000

    @Option(help: ArgumentHelp("Longest indicator period a client may ask for (the shortest is 2). [env: TICKWIRE_MAX_PERIOD]",
                               valueName: "n"))
    var maxPeriod = 1000

    @Option(help: ArgumentHelp("Distinct (symbol, type, period) indicators computed at once, preallocated at startup. [env: TICKWIRE_MAX_INDICATORS]",
                               valueName: "n"))
    var maxIndicators = 4096

    @Option(help: ArgumentHelp("Closed candles kept per (symbol, interval), for late joiners and to warm indicators on candles; bounds their longest period. Every symbol keeps all 13 intervals, about 120 bytes per candle (the startup log and /metrics report the total). [env: TICKWIRE_MAX_CANDLE_HISTORY]",
                               valueName: "n"))
    var maxCandleHistory = 1000

    @Option(parsing: .unconditional, help: ArgumentHelp("How long after its end the clock closes a candle no later trade has closed, for trades stamped before the boundary that arrive after it (docs/candles.md measures Binance's lateness). [env: TICKWIRE_CANDLE_CLOSE_GRACE]",
                               valueName: "duration"))
    var candleCloseGrace = "300ms"

    @Option(help: ArgumentHelp("Indicator subscriptions one stream may hold. [env: TICKWIRE_MAX_SUBSCRIPTIONS_PER_STREAM]",
                               valueName: "n"))
    var maxSubscriptionsPerStream = 64

    @Option(help: ArgumentHelp("Distinct indicators all the streams of one connection may hold together; one more gets RESOURCE_EXHAUSTED, so no single client can take the --max-indicators pool. [env: TICKWIRE_MAX_INDICATORS_PER_CONNECTION]",
                               valueName: "n"))
    var maxIndicatorsPerConnection = 256

    @Option(help: ArgumentHelp("Memory budget: bytes held for clients on all connections together (queued messages, framed output they have not read, request messages still arriving); past it the largest holdings go first (a stream ends with RESOURCE_EXHAUSTED, a connection that reads none of its output is closed) until the total is 1/8 under it. Default: half this process's share of the container's cgroup memory limit (memory.max, or v1 memory.limit_in_bytes, divided among --workers), or 256 MiB without one; the startup line 'queued-bytes budget' says which. [env: TICKWIRE_MAX_QUEUED_BYTES]",
                               valueName: "bytes"))
    var maxQueuedBytes: Int?

    @Option(help: ArgumentHelp("SO_SNDBUF for every gRPC connection, in bytes (the kernel doubles it for its bookkeeping). 0 keeps the kernel's autotuning, which gives a client that stops reading up to net.ipv4.tcp_wmem's maximum (4 MiB by default) of kernel memory; in a container that memory counts against the cgroup limit, outside --max-queued-bytes. 262144 bounds it to 512 KiB per connection and still carries a colocated client's full rate. [env: TICKWIRE_SOCKET_SEND_BUFFER]",
                               valueName: "bytes"))
    var socketSendBuffer = 0

    @Option(help: ArgumentHelp("Open calls on all connections together; past it a new call gets UNAVAILABLE at once. Bounds the fixed memory of calls (about 2 KiB each) that --max-queued-bytes does not count. Default: what the memory limit leaves after the budget, a 48 MiB baseline and 20 KiB per --max-connections, at 2 KiB per call (32768 in a 512Mi container); the startup line 'stream limit' says which. [env: TICKWIRE_MAX_STREAMS]",
                               valueName: "count"))
    var maxStreams: Int?

    @Option(help: ArgumentHelp("Serve gRPC over TLS (ALPN h2) with this PEM certificate chain; needs --tls-key. Without it the listener speaks plaintext h2c. [env: TICKWIRE_TLS_CERT]",
                               valueName: "path"))
    var tlsCert: String?

    @Option(help: ArgumentHelp("The PEM private key for --tls-cert. [env: TICKWIRE_TLS_KEY]", valueName: "path"))
    var tlsKey: String?

    @Option(help: ArgumentHelp("Mutual TLS: require a client certificate issued by a CA in this PEM file. Needs --tls-cert and --tls-key. [env: TICKWIRE_TLS_CLIENT_CA]",
                               valueName: "path"))
    var tlsClientCA: String?

    @Option(help: ArgumentHelp("Binance combined-stream endpoint (wss only). Tickwire appends ?streams=<symbol>@trade/… itself. Ignored with --replay. [env: TICKWIRE_BINANCE_URL]",
                               valueName: "url"))
    var binanceURL = "wss://stream.binance.com:9443/stream"

    @Option(help: ArgumentHelp("A PEM file of CA certificates trusted for the Binance connection in addition to the system store. Verification is never turned off. [env: TICKWIRE_BINANCE_CA_FILE]",
                               valueName: "path"))
    var binanceCAFile: String?

    @Option(help: ArgumentHelp("DNS servers for the Binance host name, by address: IP[:PORT],… (IPv6 as [IP]:PORT; the port defaults to 53), asked instead of /etc/resolv.conf's. Lookups run on the loop without blocking it; every address the name resolves to (IPv6 and IPv4) is tried before an attempt counts as failed. Default: the system's resolv.conf. Unused when --binance-url names an IP address. [env: TICKWIRE_DNS_SERVERS]",
                               valueName: "ip:port,…"))
    var dnsServers: String?

    @Option(help: ArgumentHelp("Which Binance stream carries the trades: trade (every trade) or aggTrade. [env: TICKWIRE_STREAM]",
                               valueName: "trade|aggTrade"))
    var stream = "trade"

    @Option(parsing: .unconditional, help: ArgumentHelp("Replace the Binance connection when no frame at all (data, ping or pong) arrived for this long. Tickwire pings every third of it, at most every 5s. [env: TICKWIRE_STALE_TIMEOUT]",
                               valueName: "duration"))
    var staleTimeout = "15s"

    @Option(parsing: .unconditional, help: ArgumentHelp("Open a second Binance connection and switch to it (losing and repeating no trade) when the current one gets this old; Binance ends connections at 24h. [env: TICKWIRE_BINANCE_MAX_CONNECTION_AGE]",
                               valueName: "duration"))
    var binanceMaxConnectionAge = "23h50m"

    @Option(parsing: .unconditional, help: ArgumentHelp("Reconnect backoff: retry n waits a random time between c/2 and c, c = min(cap, base*2^n). Reset after 30s of healthy streaming. [env: TICKWIRE_RECONNECT_BASE]",
                               valueName: "duration"))
    var reconnectBase = "1s"

    @Option(parsing: .unconditional, help: ArgumentHelp("Longest wait between reconnect attempts. [env: TICKWIRE_RECONNECT_CAP]", valueName: "duration"))
    var reconnectCap = "30s"

    // Backfill (TickwireCommand+Backfill.swift turns these into BackfillSettings).
    @Option(name: .customLong("binance-api-url"), help: ArgumentHelp("Binance WebSocket API (wss only) that missed trades are fetched from (trades.historical, no API key), so clients get every trade once and in order across outages. 'off' disables backfill: gaps are then only logged and counted. Trusts --binance-ca-file too. [env: TICKWIRE_BINANCE_API_URL]",
                               valueName: "url|off"))
    var binanceAPIURL = "wss://ws-api.binance.com:443/ws-api/v3"

    @Option(parsing: .unconditional, help: ArgumentHelp("How long a symbol's live trades may wait behind a gap being backfilled; ids not fetched by then are announced to clients as a gap notice and the held trades go out. [env: TICKWIRE_BACKFILL_TIMEOUT]",
                               valueName: "duration"))
    var backfillTimeout = "5s"

    @Option(help: ArgumentHelp("Largest gap (in trades) that is backfilled; a larger one is announced at once. Also the most live trades held behind one symbol's gaps. [env: TICKWIRE_BACKFILL_MAX_TRADES]",
                               valueName: "count"))
    var backfillMaxTrades = 50_000

    @Option(help: ArgumentHelp("Comma-separated Binance kline intervals (1s,1m,3m,5m,15m,30m,1h,2h,4h,6h,8h,12h,1d) whose recent history (the last 1000 klines of every symbol) is fetched at startup with the WebSocket API's klines method, on the --binance-api-url connection (weight 2 per symbol and interval; trade backfill goes first). Empty (the default) fetches nothing at startup. Needs --binance-api-url; ignored with --replay. [env: TICKWIRE_WARM_INTERVALS]",
                               valueName: "list"))
    var warmIntervals = ""

    func validate() throws {
        try refuseNegativeDurations()
        _ = try makeConfiguration()
        _ = try warmIntervalList()  // also with --replay, where it is unused
        guard ["text", "json"].contains(logFormat.lowercased()) else {
            throw ValidationError("--log-format '\(logFormat)' is not text or json")
        }
        guard Logger.Level(rawValue: logLevel.lowercased()) != nil else {
            throw ValidationError("--log-level '\(logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        guard IOBackendChoice(rawValue: io.lowercased()) != nil else {
            throw ValidationError("--io '\(io)' is not epoll or io_uring")
        }
        try validateWorkers()
    }

    func makeConfiguration() throws -> ServerConfiguration {
        let table: SymbolTable
        do { table = try SymbolTable(list: symbols) } catch { throw ValidationError("--symbols: \(error)") }
        var configuration = ServerConfiguration(symbols: table)
        do { configuration.listen = try ListenAddress(parsing: listen) } catch { throw ValidationError("--listen: \(error)") }
        if metricsListen.lowercased() == "off" {
            configuration.metricsListen = nil
        } else {
            do { configuration.metricsListen = try ListenAddress(parsing: metricsListen) } catch {
                throw ValidationError("--metrics-listen: \(error) (or 'off')")
            }
        }
        if let replay, access(replay, R_OK) != 0 {
            throw ValidationError("--replay '\(replay)' cannot be read: \(String(cString: strerror(errno)))")
        }
        configuration.replayPath = replay
        configuration.replaySpeed = try replayPace()
        configuration.replayLoops = replayLoop
        guard replayWaitStreams >= 0 else { throw ValidationError("--replay-wait-streams must be 0 or more") }
        configuration.replayWaitStreams = replayWaitStreams
        guard (1...1_000_000).contains(maxConnections) else { throw ValidationError("--max-connections must be from 1 to 1000000") }
        configuration.grpc.maxConnections = maxConnections
        guard maxConcurrentStreams >= 1 else { throw ValidationError("--max-concurrent-streams must be at least 1") }
        configuration.grpc.maxConcurrentStreams = maxConcurrentStreams
        try applyBacklogLimits(to: &configuration)
        try applyConnectionBounds(to: &configuration.grpc)
        try applyHandshakeTimeout(to: &configuration.grpc)
        try applyFlushLinger(to: &configuration)
        try applyHTTP2Limits(to: &configuration.grpc)
        configuration.grpc.keepalive = try makeKeepalivePolicy()
        try applyShutdownTimings(to: &configuration)
        configuration.indicators = try makeIndicatorSettings()
        configuration.candles = try makeCandleSettings(maxIndicators: configuration.indicators.maxIndicators)
        if replay == nil {
            configuration.liveFeed = try makeLiveFeedSettings()
            configuration.backfill = try makeBackfillSettings()
        }
        configuration.grpcTLS = try makeTLSSettings()
        return configuration
    }

    func applyHTTP2Limits(to limits: inout GRPCLimits) throws {
        func bounded(_ flag: String, _ value: Int, _ range: ClosedRange<Int>) throws -> Int {
            guard range.contains(value) else {
                throw ValidationError("--\(flag) must be from \(range.lowerBound) to \(range.upperBound)")
            }
            return value
        }
        limits.maxHeaderListBytes = try bounded("max-header-list-bytes", maxHeaderListBytes, 1024...16 * 1024 * 1024)
        limits.maxSettingsEntries = try bounded("max-settings-entries", maxSettingsEntries, 8...4096)
        limits.maxOutboundAcks = try bounded("max-outbound-acks", maxOutboundAcks, 16...1_000_000)
        limits.maxContinuations = try bounded("max-continuations", maxContinuations, 1...10_000)
        limits.streamResetBurst = try bounded("stream-reset-burst", streamResetBurst, 1...1_000_000)
        limits.streamResetsPerSecond = try bounded("stream-reset-rate", streamResetRate, 1...1_000_000)
    }

    func makeTLSSettings() throws -> GRPCTLSSettings? {
        guard tlsCert != nil || tlsKey != nil || tlsClientCA != nil else { return nil }
        guard let tlsCert, let tlsKey else {
            if tlsClientCA != nil, tlsCert == nil, tlsKey == nil {
                throw ValidationError("--tls-client-ca needs --tls-cert and --tls-key")
            }
            throw ValidationError("--tls-cert and --tls-key go together: give both")
        }
        for (flag, path) in [("--tls-cert", tlsCert), ("--tls-key", tlsKey), ("--tls-client-ca", tlsClientCA)] {
            if let path, access(path, R_OK) != 0 {
                throw ValidationError("\(flag) '\(path)' cannot be read")
            }
        }
        return GRPCTLSSettings(certificateChainFile: tlsCert, privateKeyFile: tlsKey, clientCAFile: tlsClientCA)
    }

    func makeLiveFeedSettings() throws -> LiveFeedSettings {
        let endpoint: BinanceEndpoint
        do { endpoint = try BinanceEndpoint(url: binanceURL) } catch { throw ValidationError("--binance-url: \(error)") }
        guard let kind = TradeStreamKind.allCases.first(where: { $0.rawValue.lowercased() == stream.lowercased() }) else {
            throw ValidationError("--stream '\(stream)' must be trade or aggTrade")
        }
        func duration(_ flag: String, _ text: String, atLeast minimum: Int64, _ example: String) throws -> Int64 {
            guard let parsed = GoDuration(parsing: text), parsed.nanoseconds >= minimum else {
                throw ValidationError("--\(flag) '\(text)' must be a duration of at least \(minimum / 1_000_000)ms, such as \(example)")
            }
            return parsed.nanoseconds
        }
        if let binanceCAFile, access(binanceCAFile, R_OK) != 0 {
            throw ValidationError("--binance-ca-file '\(binanceCAFile)' cannot be read")
        }
        var settings = LiveFeedSettings(endpoint: endpoint, stream: kind, extraCAFile: binanceCAFile)
        settings.dnsServers = try parseDNSServers()
        settings.staleTimeoutNanos = try duration("stale-timeout", staleTimeout, atLeast: 500_000_000, "15s")
        settings.maxConnectionAgeNanos = try duration("binance-max-connection-age", binanceMaxConnectionAge,
                                                      atLeast: 1_000_000_000, "23h50m")
        settings.backoffBaseNanos = try duration("reconnect-base", reconnectBase, atLeast: 100_000_000, "1s")
        settings.backoffCapNanos = try duration("reconnect-cap", reconnectCap, atLeast: 100_000_000, "30s")
        guard settings.backoffCapNanos >= settings.backoffBaseNanos else {
            throw ValidationError("--reconnect-cap (\(reconnectCap)) must be at least --reconnect-base (\(reconnectBase))")
        }
        return settings
    }

    /// The --io backend; an io_uring the kernel refuses falls back to epoll with a warning.
    private func openBackend(_ logger: Logger) throws(SystemError) -> OpenedBackend {
        let choice = IOBackendChoice(rawValue: io.lowercased()) ?? .epoll
        let opened = try PollerBackend.open(choice)
        if let reason = opened.fallbackReason {
            logger.warning("io_uring unavailable; falling back to epoll", metadata: [
                "reason": "\(reason)", "io": "\(opened.backend.poller.backendName)",
            ])
        }
        if let reason = opened.sendBatchFailure {
            logger.warning("io_uring cannot send here; connections write with sendmsg", metadata: [
                "reason": "\(reason)", "io": "\(opened.backend.poller.backendName)",
            ])
        }
        return opened
    }

    private func replayPace() throws -> ReplaySpeed {
        if let replayRate {
            guard replaySpeed == nil else {
                throw ValidationError("--replay-rate and --replay-speed both set the replay's pace; give one")
            }
            guard replayRate > 0, replayRate.isFinite, replayRate <= 100_000_000 else {
                throw ValidationError("--replay-rate must be a positive number of trades per second (up to 100000000)")
            }
            return .rate(replayRate)
        }
        let text = replaySpeed ?? "1"
        guard let speed = ReplaySpeed(parsing: text) else {
            throw ValidationError("--replay-speed '\(text)' must be a positive number (a multiple of the recorded pace) or 'max'")
        }
        return speed
    }

    func run() throws {
        let level = Logger.Level(rawValue: logLevel.lowercased()) ?? .info
        let json = logFormat.lowercased() == "json"
        LoggingSystem.bootstrap { label in
            if json {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = LogfmtLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "tickwire")
        var configuration = try makeConfiguration()
        let worker = WorkerEnvironment(environment: ProcessInfo.processInfo.environment)
        if let worker {
            logger[metadataKey: "worker"] = "\(worker.index)"
            guard worker.stopWithSupervisor() else {
                logger.critical("the supervisor is gone; not starting")
                throw ExitCode(1)
            }
            configuration.listenReusePort = true
        } else if let count = WorkerCount.parse(workers), count > 1 {
            throw ExitCode(try superviseWorkers(count: count, configuration: configuration, logger: logger))
        }
        logDescriptorLimit(DescriptorLimit.raiseSoftToHard(), maxConnections: configuration.grpc.maxConnections, logger)
        logMemoryPlan(logger)
        // Which flood guards the loaded libnghttp2 really has: two need Debian's backported fixes.
        logger.log(level: HTTP2Protections.allAvailable ? .info : .warning, "HTTP/2 protections",
                   metadata: HTTP2Protections.summary(configuration.grpc).mapValues { .string($0) })
        do {
            let opened = try openBackend(logger)
            let reactor = Reactor(backend: opened.backend, sendBatch: opened.sendBatch,
                                  waitPolicy: busyPoll ? .spin : .sleep)
            // Closing is idempotent; run() closes it too on a clean exit.
            defer { reactor.close() }
            try startResolver(on: reactor, for: configuration.liveFeed)
            let server = try TickwireServer(configuration: configuration, reactor: reactor, logger: logger)
            try server.run { worker?.notifyListening() }
        } catch {
            logger.critical("cannot start or keep serving", metadata: ["error": "\(error)"])
            throw ExitCode(1)
        }
    }
}
