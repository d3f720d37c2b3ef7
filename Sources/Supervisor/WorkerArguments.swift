/// The command line a worker runs with: the supervisor's own effective
/// arguments (environment already folded in), minus the options the
/// supervisor decides per worker.
public enum WorkerArguments {
    /// The options the supervisor replaces: `--workers` (a worker is never a
    /// supervisor), `--listen` (the resolved port) and `--metrics-listen`
    /// (one port per worker).
    public static let replaced: Set<String> = ["workers", "listen", "metrics-listen"]

    /// `arguments` without `--name value` and `--name=value` for each name in `options`.
    public static func removing(_ options: Set<String>, from arguments: [String]) -> [String] {
        var result: [String] = []
        var skipNext = false
        for argument in arguments {
            if skipNext {
                skipNext = false
                continue
            }
            guard argument.hasPrefix("--") else {
                result.append(argument)
                continue
            }
            let body = argument.dropFirst(2)
            if let equals = body.firstIndex(of: "=") {
                if options.contains(String(body[..<equals])) { continue }
            } else if options.contains(String(body)) {
                skipNext = true
                continue
            }
            result.append(argument)
        }
        return result
    }
}
