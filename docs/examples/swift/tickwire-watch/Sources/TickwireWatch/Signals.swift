import Dispatch
import Glibc

/// Runs `action` on SIGINT (Ctrl-C) or SIGTERM, on a Dispatch queue. It lives
/// outside main.swift so the handler is not inferred to belong to the main
/// actor: Swift's runtime traps a main-actor closure run on another queue.
/// Keep the returned sources alive for as long as it applies.
func onTerminationSignals(_ action: @escaping @Sendable () -> Void) -> [any DispatchSourceSignal] {
    let queue = DispatchQueue(label: "signals")
    return [SIGINT, SIGTERM].map { number in
        signal(number, SIG_IGN)  // delivered through the source instead
        let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
        source.setEventHandler(handler: action)
        source.resume()
        return source
    }
}
