"""How run.py shows results: a ghz-style summary per run, one JSON line per
run, the Markdown table and the two plots."""

from __future__ import annotations

import json
from pathlib import Path


def summary(r: dict) -> str:
    """ghz's layout (Summary, Latency distribution, Status), for a stream of
    prices instead of unary calls."""
    head = f"[{r['server']} / {r['scenario']}] {r['streams']} streams over {r['connections']} connections, " \
           f"offered {offered(r)} trades/s"
    if "skipped" in r or "failed" in r:
        key = "skipped" if "skipped" in r else "failed"
        return f"{head}\n  {key.upper()}: {r[key]}\n"
    lat = r["latency_ms"]
    lines = [
        head,
        "Summary:",
        f"  Count:\t{r['count']} messages ({r['prices']} prices)",
        f"  Total:\t{r['total_s']:.2f} s",
        f"  Messages/s:\t{r['msgs_per_s']:,} ({r['trades_per_s_delivered']:,} trades/s per stream)",
        f"  MB/s:\t\t{r['mb_per_s']:.2f}",
        "",
        f"Latency distribution (ingest_unix_nanos -> receipt, {r['latency_samples']} sampled prices):",
        *(f"  {label} in {lat[key]:.3f} ms" for label, key in
          (("50 %", "p50"), ("90 %", "p90"), ("99 %", "p99"), ("99.9 %", "p999"), ("max ", "max"))),
        "",
        "Server:",
        f"  CPU:\t\t{r['server_cpu_share'] * 100:.0f}% of a core, {r['cpu_ns_per_msg']} ns per delivered message "
        f"(waited for its CPU {r['server_wait_share'] * 100:.0f}% of the time)",
        f"  RSS:\t\tidle {r['rss_idle_kib']:,} KiB, loaded {r['rss_loaded_kib']:,} KiB: "
        f"{r['kib_per_stream']:.1f} KiB per stream, {r['kib_per_connection']:.1f} KiB per connection",
        f"  Per stream:\tprices {r['prices_per_stream_min']}..{r['prices_per_stream_max']} over the whole run",
        "",
        *floor_line(r),
        f"Errors: {r['errors']} (streams ended early or malformed); indicator requests refused: {r['statuses_not_ok']}",
        f"Machine: tw-load {r['client_cpu_share'] * 100:.0f}% of a core; other processes ~{r['others_cpu_share'] * 100:.0f}%"
        + (f" ({', '.join(r['busiest_others'])})" if r["busiest_others"] else ""),
    ]
    if r["others_cpu_share"] > 0.10:
        lines.append("WARNING: other load ran during the hold; these figures are noisy")
    return "\n".join(lines) + "\n"


def floor_line(r: dict) -> list[str]:
    """The run's p50/p99 against the loopback floor measured in the same run, if any."""
    if "floor_multiple" not in r:
        return []
    f = r["floor_latency_ms"]
    return [f"Floor:\t\tp50 {times_floor(r, 'p50')}, p99 {times_floor(r, 'p99')} the loopback floor's "
            f"(p50 {f['p50']:.3f} ms, p99 {f['p99']:.3f} ms, bench/floor/loopback_floor.c, same shape)", ""]


def times_floor(r: dict, key: str) -> str:
    m = r.get("floor_multiple")
    return "" if not m or m.get(key) is None else f"{m[key]:.2f}x"


def offered(r: dict) -> str:
    return "max" if r["offered_trades_per_s"] is None else f"{r['offered_trades_per_s']:g}"


def json_line(r: dict) -> str:
    return json.dumps(r, sort_keys=True, separators=(",", ":"))


COLUMNS = ["scenario", "server", "streams / conns", "trades/s offered", "msgs/s", "MB/s", "p50 ms", "p99 ms",
           "p50 / p99 x floor", "p99.9 ms", "max ms", "CPU ns/msg", "server CPU", "RSS idle / loaded KiB",
           "KiB/stream", "errors", "others' CPU"]


def table(results: list[dict]) -> str:
    rows = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in results:
        base = [r["scenario"], r["server"], f"{r['streams']:,} / {r['connections']:,}", offered(r)]
        if "skipped" in r or "failed" in r:
            key = "skipped" if "skipped" in r else "failed"
            why = r[key][:120].replace("|", "/")  # a server's usage text must not split the row
            rows.append("| " + " | ".join(base + [f"{key}: {why}"] + [""] * (len(COLUMNS) - 5)) + " |")
            continue
        lat = r["latency_ms"]
        rows.append("| " + " | ".join(base + [
            f"{r['msgs_per_s']:,}", f"{r['mb_per_s']:.1f}", f"{lat['p50']:.2f}", f"{lat['p99']:.2f}",
            f"{times_floor(r, 'p50')} / {times_floor(r, 'p99')}" if "floor_multiple" in r else "",
            f"{lat['p999']:.2f}", f"{lat['max']:.1f}",
            # None when nothing was delivered (a server that never started its replay).
            "–" if r["cpu_ns_per_msg"] is None else f"{r['cpu_ns_per_msg']:,.0f}",
            f"{r['server_cpu_share'] * 100:.0f}%", f"{r['rss_idle_kib']:,} / {r['rss_loaded_kib']:,}",
            f"{r['kib_per_stream']:.1f}", str(r["errors"]), f"{r['others_cpu_share'] * 100:.0f}%"]) + " |")
    return "\n".join(rows) + "\n"


def floor_section(floors: list[dict], status: str) -> str:
    """results.md's section on the floor: its runs, or why there are none."""
    head = "\n## The loopback floor in this run\n\n" \
           "bench/floor/loopback_floor.c (`cc -O2`): one thread sends one 80-byte record per trade to each loopback " \
           "connection (on the server's CPU), a reader spins on the other (tw-load's); latency over every " \
           "(trade, connection) pair. \"p50 / p99 x floor\" above is each server's figure over this one's.\n\n"
    return head + (floor_table(floors) if floors else f"Not measured: {status}.\n")


def floor_table(floors: list[dict]) -> str:
    """The loopback floor's runs: one thread, one 80-byte send() per trade per
    connection, a spinning reader; what the kernel alone charges for the shape."""
    if not floors:
        return ""
    rows = ["| scenario | connections x trades/s | records | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | "
            "sender CPU ns/record | sender CPU | others' CPU |", "|" + "---|" * 11]
    for f in floors:
        shape = f"{f['connections']:,} x {f['offered_trades_per_s']:,.0f}"
        if "failed" in f:
            rows.append(f"| {f['scenario']} | {shape} | failed: {f['failed'][:120].replace('|', '/')} |" + " |" * 8)
            continue
        lat = f["latency_ms"]
        rows.append(f"| {f['scenario']} | {shape} | {f['records']:,} of {f['expected']:,} | {lat['p50']:.3f} | "
                    f"{lat['p90']:.3f} | {lat['p99']:.3f} | {lat['p999']:.3f} | {lat['max']:.2f} | "
                    f"{f['sender_cpu_ns_per_record']:,.0f} | {f['sender_cpu_share'] * 100:.0f}% | "
                    f"{f['others_cpu_share'] * 100:.0f}% |")
    return "\n".join(rows) + "\n"


def floor_multiples(results: list[dict]) -> str:
    """One line per measured run that has a floor: its p50/p99 as multiples."""
    lines = [f"{r['scenario']:<11} {r['server']:<22} p50 {r['latency_ms']['p50']:.3f} ms = {times_floor(r, 'p50'):>7}"
             f"   p99 {r['latency_ms']['p99']:.3f} ms = {times_floor(r, 'p99'):>7}"
             for r in results if "floor_multiple" in r]
    return "\n".join(lines)


PERCENTILES = [("p50", 50), ("p90", 90), ("p99", 99), ("p999", 99.9), ("max", 100)]


def plots(results: list[dict], out_dir: Path) -> list[Path]:
    """latency_cdf.png (one panel per scenario, a line per server through
    tw-load's percentiles) and cpu_per_message.png; small, 80 dpi."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = [r for r in results if "count" in r]
    scenarios = list(dict.fromkeys(r["scenario"] for r in measured))
    servers = list(dict.fromkeys(r["server"] for r in measured))
    written = []
    if not measured:
        return written
    cols = min(3, len(scenarios))
    rows = (len(scenarios) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for ax, scenario in zip(axes.flat, scenarios):
        for r in (r for r in measured if r["scenario"] == scenario):
            xs = [max(r["latency_ms"][k], 1e-3) for k, _ in PERCENTILES]
            ax.plot(xs, [p for _, p in PERCENTILES], marker="o", label=r["server"])
        ax.set_xscale("log")
        ax.set_title(scenario, fontsize=9)
        ax.set_xlabel("ingest -> receipt, ms", fontsize=8)
        ax.set_ylabel("percentile", fontsize=8)
        ax.set_ylim(45, 101)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(scenarios):]:
        ax.axis("off")
    fig.tight_layout()
    written.append(out_dir / "latency_cdf.png")
    fig.savefig(written[-1], dpi=80)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 3.5))
    width = 0.8 / max(1, len(servers))
    for n, server in enumerate(servers):
        values = [next((r["cpu_ns_per_msg"] or 0 for r in measured if r["scenario"] == s and r["server"] == server), 0)
                  for s in scenarios]
        ax.bar([i + n * width for i in range(len(scenarios))], values, width, label=server)
    ax.set_xticks([i + width * (len(servers) - 1) / 2 for i in range(len(scenarios))])
    ax.set_xticklabels(scenarios, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("server CPU ns per delivered message", fontsize=8)
    ax.legend(fontsize=7)
    ax.grid(True, axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    written.append(out_dir / "cpu_per_message.png")
    fig.savefig(written[-1], dpi=80)
    plt.close(fig)
    return written
