import Dispatch
import Glibc

/// Runs `action` on SIGTERM or SIGINT. A nonisolated function, so the handler
/// is not inferred to belong to main.swift's main actor: it runs on a
/// Dispatch queue. Keep the returned sources alive for as long as it applies.
func onTerminationSignals(_ action: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
    let queue = DispatchQueue(label: "signals")
    return [SIGTERM, SIGINT].map { number in
        signal(number, SIG_IGN) // delivered through the source, not the default handler
        let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
        source.setEventHandler(handler: action)
        source.resume()
        return source
    }
}
