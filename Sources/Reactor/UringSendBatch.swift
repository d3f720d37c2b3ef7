import CURing
import Glibc

/// One iteration's socket writes handed to the kernel together: each
/// connection's output is queued here, and `submit` passes them all in one
/// io_uring_enter instead of one sendmsg per connection.
///
/// Every send carries MSG_DONTWAIT, which makes the request NOWAIT: the
/// kernel tries it once, inline, and completes it at once — written, short,
/// or -EAGAIN on a full socket — instead of parking it on an internal poll.
/// So all of a batch is complete when `submit` returns, and queued bytes need
/// only stay valid and unchanged until then. Nothing is in flight between
/// iterations, and an owner that closes a socket never races a send.
///
/// The ring is its own, apart from UringPoller's, so that send completions
/// never mix with readiness events.
public final class UringSendBatch {
    /// What one send did.
    public enum Result: Equatable {
        /// Bytes written; fewer than queued when the socket filled up.
        case sent(Int)
        /// The socket was full; nothing was written.
        case wouldBlock
        case failed(SystemError)
    }

    private let ring: UnsafeMutablePointer<io_uring>
    private let completions: UnsafeMutablePointer<tw_uring_completion>
    /// Sends per submission. The completion queue is twice this, so one
    /// batch's completions always fit and waiting for all of them ends.
    public let capacity: Int
    private var queued = 0
    private var isOpen = true
    /// io_uring_enter failed in `submit`: sends may be left in the ring, so
    /// the batch is never used again.
    public private(set) var isBroken = false

    /// Fails with io_uring_setup's errno, or EOPNOTSUPP when the kernel has no
    /// IORING_OP_SEND (before Linux 5.6) or would park a send to a full socket
    /// instead of failing it at once (proved on a socket pair: a submission
    /// that waited for a slow reader would stall the whole loop).
    public init(entries: UInt32 = 1024) throws(SystemError) {
        precondition(entries > 0)
        ring = UnsafeMutablePointer<io_uring>.allocate(capacity: 1)
        let result = tw_uring_init_for_sends(ring, entries)
        guard result == 0 else {
            ring.deallocate()
            throw SystemError(call: "io_uring_setup (sends)", errno: -result)
        }
        guard tw_uring_supports_send(ring) != 0 else {
            tw_uring_exit(ring)
            ring.deallocate()
            throw SystemError(call: "io_uring probe (SEND)", errno: EOPNOTSUPP)
        }
        guard tw_uring_probe_nowait_send(ring) != 0 else {
            tw_uring_exit(ring)
            ring.deallocate()
            throw SystemError(call: "io_uring probe (SEND with MSG_DONTWAIT on a full socket)", errno: EOPNOTSUPP)
        }
        // The kernel rounds entries up to a power of two; the SQ may hold more
        // than asked, never less.
        capacity = Int(entries)
        completions = UnsafeMutablePointer<tw_uring_completion>.allocate(capacity: capacity)
    }

    deinit {
        precondition(!isOpen, "UringSendBatch released without close()")
        completions.deallocate()
        ring.deallocate()
    }

    public var isEmpty: Bool { queued == 0 }

    /// Queues a send of `bytes` (not empty) on `fd`, reported under `tag`.
    /// The bytes must stay valid and unchanged until `submit` returns.
    /// Returns false, queuing nothing, when the batch is full: submit first.
    public func queue(fd: Int32, bytes: UnsafeRawBufferPointer, tag: UInt64) -> Bool {
        precondition(isOpen && !isBroken, "send queued after close() or a failed submit")
        precondition(bytes.count > 0, "an empty send")
        guard queued < capacity else { return false }
        let result = tw_uring_queue_send(ring, fd, bytes.baseAddress, bytes.count, tag)
        precondition(result == 0, "the submission queue is smaller than the batch capacity")
        queued += 1
        return true
    }

    /// Hands every queued send to the kernel in one call and reports each
    /// one's result to `body`, in completion order. Throws only when
    /// io_uring_enter itself fails; a failed send is a `.failed` result.
    public func submit(_ body: (UInt64, Result) -> Void) throws(SystemError) {
        precondition(isOpen && !isBroken, "submit after close() or a failed submit")
        var outstanding = queued
        queued = 0
        while outstanding > 0 {
            let waited = tw_uring_submit_and_wait_for(ring, UInt32(outstanding))
            if waited < 0 {
                switch -waited {
                case EINTR, EAGAIN, EBUSY: break  // drain what is there, then wait again
                default:
                    isBroken = true
                    throw SystemError(call: "io_uring_enter (sends)", errno: -waited)
                }
            }
            let count = Int(tw_uring_drain(ring, completions, UInt32(capacity)))
            for index in 0..<count {
                let completion = completions[index]
                body(completion.user_data, Self.result(completion.res))
            }
            outstanding -= count
        }
    }

    public func close() {
        guard isOpen else { return }
        precondition(queued == 0 || isBroken, "close() with sends queued and not submitted")
        tw_uring_exit(ring)
        isOpen = false
    }

    static func result(_ res: Int32) -> Result {
        // Reported, not judged: one bad descriptor fails only its own send,
        // and the hub classifies the errno (ErrnoClass) as for sendmsg.
        if res >= 0 { return .sent(Int(res)) }
        if -res == EAGAIN || -res == EINTR { return .wouldBlock }
        return .failed(SystemError(call: "send (io_uring)", errno: -res))
    }
}
