/// The methods this server implements, by their HTTP/2 :path. Stored in
/// GRPCStream.handlerTag so that later messages dispatch on an integer.
enum RPCMethod: Int {
    case streamPrices = 1
    case healthCheck = 2
    case healthWatch = 3
    /// Server reflection under its current package name.
    case reflectionV1 = 4
    /// The same protocol under the package older clients ask for.
    case reflectionV1Alpha = 5

    init?(path: String) {
        switch path {
        case "/tickwire.v1.PriceStream/StreamPrices": self = .streamPrices
        case "/grpc.health.v1.Health/Check": self = .healthCheck
        case "/grpc.health.v1.Health/Watch": self = .healthWatch
        case "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo": self = .reflectionV1
        case "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": self = .reflectionV1Alpha
        default: return nil
        }
    }
}
