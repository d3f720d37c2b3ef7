"""The servers a run can target: how to start each on a scenario, and why one
cannot run. Each serves StreamPrices on 127.0.0.1 from the same replay file at
the same rate, holds the replay until every stream is open, and logs
`address=HOST:PORT listening` (parsed by harness.TickwireServer)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Callable

from scenarios import Scenario

REPO_ROOT = Path(__file__).resolve().parents[2]
SYMBOLS = "btcusdt,ethusdt"


@dataclasses.dataclass(frozen=True)
class Server:
    name: str
    binary: Path
    # argv after the binary, for a scenario and a replay file.
    arguments: Callable[[Scenario, Path], list[str]]
    # How to get the binary when it is missing.
    build_hint: str
    # Spins on its poller (--busy-poll): under --realtime it runs at nice -20,
    # not SCHED_RR, whose throttling would stop it 50 ms a second.
    spins: bool = False

    def argv(self, scenario: Scenario, replay: Path) -> list[str]:
        return [str(self.binary), *self.arguments(scenario, replay)]

    def unavailable(self) -> str | None:
        """Why this server cannot run here, or None."""
        if not self.binary.exists():
            return f"no binary at {self.binary}: {self.build_hint}"
        return None


def tickwire_arguments(io: str | None, linger: str | None = None,
                       extra: tuple[str, ...] = ()) -> Callable[[Scenario, Path], list[str]]:
    def arguments(scenario: Scenario, replay: Path) -> list[str]:
        pace = ["--replay-speed", "max"] if scenario.trades_per_s is None else \
            ["--replay-rate", f"{scenario.trades_per_s:g}"]
        argv = ["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0", "--symbols", SYMBOLS,
                "--replay", str(replay), *pace, "--replay-loop", "--replay-wait-streams", str(scenario.streams),
                "--log-level", "info",
                # Room for every connection of the scenario (allocated at startup, so sized per run),
                # and for every call: without a cgroup limit the memory plan's 512 MiB default
                # leaves 10,064 connections room for only 100 calls, and capacity never starts.
                "--max-connections", str(max(4096, scenario.connections + 64)),
                "--max-streams", str(max(32768, scenario.streams + 64))]
        return argv + (["--io", io] if io else []) + (["--flush-linger", linger] if linger else []) + list(extra)
    return arguments


def grpc_go_arguments(scenario: Scenario, replay: Path) -> list[str]:
    return ["-listen", "127.0.0.1:0", "-replay", str(replay),
            "-replay-rate", "0" if scenario.trades_per_s is None else f"{scenario.trades_per_s:g}",
            "-replay-loop", "-replay-wait-streams", str(scenario.streams)]


def all_servers(tickwire_bin: Path | None) -> dict[str, Server]:
    tickwire = tickwire_bin or Path(os.environ.get("TICKWIRE_BIN") or REPO_ROOT / ".build/release/tickwire")
    build = "swift build -c release --product tickwire"
    peers = REPO_ROOT / ".build-peers"
    return {
        "tickwire": Server("tickwire", tickwire, tickwire_arguments(None), build),
        # Another branch adds `--io io_uring`; a binary without it exits 64 at
        # startup, and the run is reported skipped with its message.
        "tickwire-io_uring": Server("tickwire-io_uring", tickwire, tickwire_arguments("io_uring"), build),
        # Not in the default set: the same server trading latency for CPU
        # (--flush-linger), to show what one write per several trades costs and saves.
        **{f"tickwire-linger{w}": Server(f"tickwire-linger{w}", tickwire, tickwire_arguments(None, w), build)
           for w in ("1ms", "2ms", "5ms", "10ms", "20ms", "30ms", "50ms")},
        # `tickwire` runs the default settings, whose --flush-linger auto
        # lingers (up to --flush-budget) only while the loop is busy. These
        # write every iteration whatever the load: the default before issue 22.
        "tickwire-nolinger": Server("tickwire-nolinger", tickwire, tickwire_arguments(None, "0"), build),
        # An older build run side by side with this one, to tell a change from
        # the machine's noise: $TICKWIRE_BASELINE_BIN, at its own defaults.
        "tickwire-baseline": Server("tickwire-baseline", Path(os.environ.get("TICKWIRE_BASELINE_BIN", "/nonexistent")),
                                    tickwire_arguments(None), "set TICKWIRE_BASELINE_BIN to an older tickwire binary"),
        "tickwire-io_uring-nolinger": Server("tickwire-io_uring-nolinger", tickwire,
                                             tickwire_arguments("io_uring", "0"), build),
        # auto's latency budget, other than the default (issue 22's choice of it).
        **{f"tickwire-budget{b}": Server(f"tickwire-budget{b}", tickwire,
                                         tickwire_arguments(None, extra=("--flush-budget", b)), build)
           for b in ("500us", "700us", "800us", "2ms")},
        # --busy-poll: the loop spins on the poller instead of sleeping (a core of its own).
        "tickwire-busy-poll": Server("tickwire-busy-poll", tickwire, tickwire_arguments(None, extra=("--busy-poll",)),
                                     build, spins=True),
        "tickwire-io_uring-busy-poll": Server("tickwire-io_uring-busy-poll", tickwire,
                                              tickwire_arguments("io_uring", extra=("--busy-poll",)), build,
                                              spins=True),
        "grpc-go": Server("grpc-go", peers / "tickwire-grpc-go", grpc_go_arguments, "bench/peers/go/build.sh"),
        # Same flags, replay and scenarios as the grpc-go peer (bench/peers/cpp/README.md).
        "grpc-cpp": Server("grpc-cpp", peers / "tickwire-grpc-cpp", grpc_go_arguments, "bench/peers/cpp/build.sh"),
        # Same flags as the grpc-go peer (bench/peers/swift/README.md).
        "grpc-swift-2": Server("grpc-swift-2", peers / "tickwire-grpc-swift-2", grpc_go_arguments,
                               "bench/peers/swift/build.sh"),
    }
