import CTickwireShim
import Glibc

/// How a reaped worker ended, decoded from wait(2)'s status.
enum ChildExit: Equatable, CustomStringConvertible {
    /// It called exit(code).
    case exited(code: Int32)
    /// A signal ended it.
    case signaled(signal: Int32)

    init(status: Int32) {
        if tw_status_exited(status) != 0 {
            self = .exited(code: tw_status_exit_code(status))
        } else {
            self = .signaled(signal: tw_status_signal(status))
        }
    }

    var isClean: Bool { self == .exited(code: 0) }

    var description: String {
        switch self {
        case .exited(let code): return "exit status \(code)"
        case .signaled(let signal): return "signal \(signal)"
        }
    }

    /// `exit_code` or `signal`, for the log line.
    var metadata: (key: String, value: String) {
        switch self {
        case .exited(let code): return ("exit_code", "\(code)")
        case .signaled(let signal): return ("signal", "\(signal)")
        }
    }

    /// Every child that has exited, without blocking: SIGCHLD coalesces, so
    /// one signal may stand for several exits.
    static func reapAll() -> [(pid: Int32, exit: ChildExit)] {
        var reaped: [(pid: Int32, exit: ChildExit)] = []
        while true {
            var status: Int32 = 0
            let pid = tw_reap_child_nohang(&status)
            if pid > 0 {
                reaped.append((pid, ChildExit(status: status)))
                continue
            }
            if pid < 0 && tw_errno() == EINTR { continue }
            return reaped  // 0: children left but none exited; -1 ECHILD: none left
        }
    }
}
