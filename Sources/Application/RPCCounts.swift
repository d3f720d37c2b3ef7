import GRPCWire
import Prometheus

/// Calls started and finished, per method and (finished) per gRPC status,
/// kept as plain integers by the RPC dispatch and mirrored into
/// go-grpc-prometheus' families at scrape time:
/// `grpc_server_started_total{grpc_type,grpc_service,grpc_method}` and
/// `grpc_server_handled_total{grpc_type,grpc_service,grpc_method,grpc_code}`,
/// with its label values (`bidi_stream`, `OK`, `Canceled`…), so dashboards
/// and alerts written for grpc-go (and grpc-java's port of it) work as they are.
/// Every method × code series exists from the first scrape, as
/// go-grpc-prometheus' Register does. Calls to methods this server does not
/// have are not counted (grpc-go's interceptors never see them either).
struct RPCCounts {
    /// Indexed by `RPCMethod.rawValue - 1`.
    private(set) var started: [Int]
    /// Indexed by method, then by the status code's wire number.
    private(set) var handled: [[Int]]

    init() {
        started = Array(repeating: 0, count: RPCMethod.allCases.count)
        handled = Array(repeating: Array(repeating: 0, count: GRPCStatusCode.allCases.count), count: RPCMethod.allCases.count)
    }

    mutating func started(_ method: RPCMethod) {
        started[method.rawValue - 1] += 1
    }

    /// A call that ended without trailers (cancelled by the client, or its
    /// connection gone) counts as CANCELLED, as in grpc-go.
    mutating func handled(_ method: RPCMethod, _ code: GRPCStatusCode?) {
        handled[method.rawValue - 1][Int((code ?? .cancelled).rawValue)] += 1
    }
}

/// The Prometheus side of RPCCounts.
struct RPCMetrics {
    private var started: [CounterMirror]
    private var handled: [[CounterMirror]]

    init(registry r: PrometheusCollectorRegistry) {
        started = RPCMethod.allCases.map { method in
            CounterMirror(r.makeCounter(descriptor: MetricNameDescriptor(namespace: "grpc_server", metricName: "started", unitName: "total",
                                                                         helpText: "Total number of RPCs started on the server."),
                                        labels: method.metricLabels))
        }
        handled = RPCMethod.allCases.map { method in
            GRPCStatusCode.allCases.map { code in
                CounterMirror(r.makeCounter(descriptor: MetricNameDescriptor(namespace: "grpc_server", metricName: "handled", unitName: "total",
                                                                             helpText: "Total number of RPCs completed on the server, regardless of success or failure."),
                                            labels: method.metricLabels + [("grpc_code", code.goName)]))
            }
        }
    }

    mutating func update(_ counts: RPCCounts) {
        for method in started.indices { started[method].follow(counts.started[method]) }
        for method in handled.indices {
            for code in handled[method].indices { handled[method][code].follow(counts.handled[method][code]) }
        }
    }
}

extension RPCMethod {
    /// go-grpc-prometheus' labels: the call's type, and its :path split at the last slash.
    var metricLabels: [(String, String)] {
        let type: String
        switch self {
        case .streamPrices, .reflectionV1, .reflectionV1Alpha: type = "bidi_stream"
        case .healthCheck: type = "unary"
        case .healthWatch: type = "server_stream"
        }
        let slash = path.lastIndex(of: "/")!
        let service = String(path[path.index(after: path.startIndex)..<slash])
        let method = String(path[path.index(after: slash)...])
        return [("grpc_type", type), ("grpc_service", service), ("grpc_method", method)]
    }
}

extension GRPCStatusCode: CaseIterable {
    public static var allCases: [GRPCStatusCode] { (0...16).map { GRPCStatusCode(rawValue: $0)! } }

    /// grpc-go's `codes.Code.String()`, the `grpc_code` label value.
    var goName: String {
        switch self {
        case .ok: return "OK"
        case .cancelled: return "Canceled"
        case .unknown: return "Unknown"
        case .invalidArgument: return "InvalidArgument"
        case .deadlineExceeded: return "DeadlineExceeded"
        case .notFound: return "NotFound"
        case .alreadyExists: return "AlreadyExists"
        case .permissionDenied: return "PermissionDenied"
        case .resourceExhausted: return "ResourceExhausted"
        case .failedPrecondition: return "FailedPrecondition"
        case .aborted: return "Aborted"
        case .outOfRange: return "OutOfRange"
        case .unimplemented: return "Unimplemented"
        case .internal: return "Internal"
        case .unavailable: return "Unavailable"
        case .dataLoss: return "DataLoss"
        case .unauthenticated: return "Unauthenticated"
        }
    }
}
