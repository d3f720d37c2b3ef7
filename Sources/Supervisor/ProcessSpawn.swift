import Glibc
import Reactor

/// posix_spawn, the one place the supervisor starts a process. Not fork:
/// a forked Swift process may only call async-signal-safe functions before
/// exec, which Swift code cannot promise; posix_spawn does the whole
/// child-side setup in libc.
enum ProcessSpawn {
    /// What the child gets besides its argv and environment.
    struct Setup {
        /// Our descriptor `source` becomes the child's `target` (dup2 also
        /// clears close-on-exec, so exactly this one descriptor is inherited).
        var passDescriptor: (source: Int32, target: Int32)
        /// Signals blocked in the child from exec on. SIGTERM and SIGINT stay
        /// blocked until the worker's signalfd takes them over, so a signal
        /// forwarded during its startup waits for it instead of killing it.
        var blockedSignals: [Int32]
        /// Signals set back to their default action (we ignore SIGPIPE).
        var defaultSignals: [Int32]
    }

    /// Starts `path`; returns the child's pid. Each child gets a process
    /// group of its own, so a terminal's Ctrl-C reaches only the supervisor,
    /// which forwards it once, instead of every worker twice.
    static func spawn(path: String, arguments: [String], environment: [String],
                      setup: Setup) throws(SystemError) -> Int32 {
        var actions = posix_spawn_file_actions_t()
        var attributes = posix_spawnattr_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawnattr_init(&attributes)
        defer {
            posix_spawn_file_actions_destroy(&actions)
            posix_spawnattr_destroy(&attributes)
        }
        posix_spawn_file_actions_adddup2(&actions, setup.passDescriptor.source, setup.passDescriptor.target)
        var blocked = signalSet(setup.blockedSignals)
        var defaults = signalSet(setup.defaultSignals)
        posix_spawnattr_setsigmask(&attributes, &blocked)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv = CStringArray(arguments)
        let envp = CStringArray(environment)
        defer {
            argv.free()
            envp.free()
        }
        var pid: pid_t = 0
        // Safe because argv and envp stay allocated, NUL-terminated and
        // nil-terminated until the defer above, after posix_spawn returned
        // (by then the child has exec'd or failed).
        let result = posix_spawn(&pid, path, &actions, &attributes, argv.pointers, envp.pointers)
        // posix_spawn returns its error number rather than setting errno.
        guard result == 0 else { throw SystemError(call: "posix_spawn(\(path))", errno: result) }
        return pid
    }

    private static func signalSet(_ signals: [Int32]) -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for signal in signals { sigaddset(&set, signal) }
        return set
    }
}

/// A nil-terminated array of strdup'ed C strings, for argv and envp.
private struct CStringArray {
    let pointers: [UnsafeMutablePointer<CChar>?]

    init(_ strings: [String]) {
        pointers = strings.map { strdup($0) } + [nil]
    }

    func free() {
        for pointer in pointers { Glibc.free(pointer) }
    }
}
