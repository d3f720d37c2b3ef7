/// The methods this server implements, by their HTTP/2 :path. Stored in
/// GRPCStream.handlerTag so that later messages dispatch on an integer.
enum RPCMethod: Int {
    case streamPrices = 1
    case healthCheck = 2
    case healthWatch = 3

    init?(path: String) {
        switch path {
        case "/tickwire.v1.PriceStream/StreamPrices": self = .streamPrices
        case "/grpc.health.v1.Health/Check": self = .healthCheck
        case "/grpc.health.v1.Health/Watch": self = .healthWatch
        default: return nil
        }
    }
}
