/// Receives the answer to one lookup.
public protocol DNSLookupOwner: AnyObject {
    /// The lookup ended: the addresses in the order to try them, or why none.
    /// Called from the reactor's dispatch, never from inside `resolve`.
    func lookupFinished(_ result: Result<ResolvedAddresses, ResolverError>)
}

/// A lookup in flight, for `DNSResolver.cancel`.
public struct DNSLookup: Equatable, Sendable {
    let slot: Int
    let generation: UInt32
}

/// One preallocated lookup slot. A slot is reused only after c-ares has
/// called back for the lookup it held, so a late callback can never land on
/// a newer lookup.
struct DNSLookupSlot {
    enum State {
        /// Unused.
        case free
        /// c-ares is working on it; `owner` gets the answer.
        case pending
        /// c-ares answered; the answer waits for the next delivery.
        case finished(Result<ResolvedAddresses, ResolverError>)
        /// Its owner cancelled it; c-ares has not called back yet.
        case abandoned
    }

    var state: State = .free
    var generation: UInt32 = 0
    var host = ""
    weak var owner: (any DNSLookupOwner)?

    var isFree: Bool {
        if case .free = state { return true }
        return false
    }

    var isFinished: Bool {
        if case .finished = state { return true }
        return false
    }

    mutating func begin(host: String, owner: any DNSLookupOwner) {
        precondition(isFree, "a lookup slot was reused while busy")
        generation &+= 1
        state = .pending
        self.host = host
        self.owner = owner
    }

    /// c-ares called back: keep the answer for delivery, or free an abandoned slot.
    mutating func complete(_ result: Result<ResolvedAddresses, ResolverError>) {
        switch state {
        case .pending: state = .finished(result)
        case .abandoned: release()
        case .free, .finished: assertionFailure("c-ares answered a lookup twice")
        }
    }

    mutating func cancel() {
        switch state {
        case .pending: state = .abandoned
        case .finished: release()
        case .free, .abandoned: break
        }
        owner = nil
    }

    mutating func release() {
        state = .free
        owner = nil
        host = ""
    }
}
