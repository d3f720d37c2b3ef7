"""Runs a command with io_uring forbidden, as a container's seccomp profile does.

    python without_io_uring.py [--errno EPERM|ENOSYS] -- COMMAND [ARG...]

Installs a seccomp filter in which io_uring_setup, io_uring_enter and
io_uring_register fail with the given errno (EPERM is what Docker's and
containerd's default profiles return; ENOSYS is a kernel built without
io_uring), then execs COMMAND. Every other system call is allowed. Only
x86_64 is handled: the syscall numbers below are that architecture's.

Written with ctypes and raw classic BPF because python3-seccomp is not a test
dependency; the filter is eight instructions.
"""

from __future__ import annotations

import argparse
import ctypes
import errno
import os
import platform
import struct
import sys

PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
AUDIT_ARCH_X86_64 = 0xC000003E
IO_URING_SYSCALLS = (425, 426, 427)  # io_uring_setup, io_uring_enter, io_uring_register

BPF_LD_W_ABS = 0x20
BPF_JEQ_K = 0x15
BPF_RET_K = 0x06
SECCOMP_RET_ALLOW = 0x7FFF0000
SECCOMP_RET_ERRNO = 0x00050000
OFFSET_NR, OFFSET_ARCH = 0, 4  # struct seccomp_data


def filter_program(code: int) -> bytes:
    def op(kind, jt, jf, k):
        return struct.pack("HBBI", kind, jt, jf, k)

    deny_at = 7
    program = [
        op(BPF_LD_W_ABS, 0, 0, OFFSET_ARCH),
        op(BPF_JEQ_K, 0, 4, AUDIT_ARCH_X86_64),       # another ABI: allow (index 6)
        op(BPF_LD_W_ABS, 0, 0, OFFSET_NR),
    ]
    for nr in IO_URING_SYSCALLS:
        program.append(op(BPF_JEQ_K, deny_at - len(program) - 1, 0, nr))
    program.append(op(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW))
    program.append(op(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | code))
    assert len(program) == deny_at + 1
    return b"".join(program)


def forbid_io_uring(code: int) -> None:
    if platform.machine() != "x86_64":
        raise SystemExit("without_io_uring.py knows only x86_64's syscall numbers")
    libc = ctypes.CDLL(None, use_errno=True)
    raw = filter_program(code)
    instructions = ctypes.create_string_buffer(raw, len(raw))

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    program = SockFprog(len(raw) // 8, ctypes.addressof(instructions))
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errno", default="EPERM", choices=["EPERM", "ENOSYS"])
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    forbid_io_uring(getattr(errno, args.errno))
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
