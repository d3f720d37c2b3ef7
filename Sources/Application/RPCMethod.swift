/// The methods this server implements, by their HTTP/2 :path. Stored in
/// GRPCStream.handlerTag so that later messages dispatch on an integer.
enum RPCMethod: Int, CaseIterable {
    case streamPrices = 1
    case healthCheck = 2
    case healthWatch = 3
    /// Server reflection under its current package name.
    case reflectionV1 = 4
    /// The same protocol under the package older clients ask for.
    case reflectionV1Alpha = 5

    init?(path: String) {
        guard let method = Self.allCases.first(where: { $0.path == path }) else { return nil }
        self = method
    }

    /// The method's HTTP/2 :path.
    var path: String {
        switch self {
        case .streamPrices: return "/tickwire.v1.PriceStream/StreamPrices"
        case .healthCheck: return "/grpc.health.v1.Health/Check"
        case .healthWatch: return "/grpc.health.v1.Health/Watch"
        case .reflectionV1: return "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
        case .reflectionV1Alpha: return "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo"
        }
    }
}
