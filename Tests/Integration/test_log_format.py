"""--log-format json: every stderr line is one JSON object a log collector can parse."""

from __future__ import annotations

import json
import re
import signal
import subprocess

import harness

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_json_lines_carry_the_events_with_metadata(tmp_path):
    argv = harness.server_argv(replay=harness.TRADES_FIXTURE, speed="max", log_level="info",
                               extra=["--log-format", "json"])
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env=harness.server_env(), start_new_session=True)
    try:
        events = []
        for line in proc.stderr:  # bounded: the replay finishes, then we stop the server
            events.append(json.loads(line))
            if events[-1]["message"] == "replay finished":
                proc.send_signal(signal.SIGTERM)
            if len(events) > 200:
                break
        assert proc.wait(timeout=harness.STOP_TIMEOUT_S) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    by_message = {event["message"]: event for event in events}
    for required in ("listening", "replay finished", "draining", "stopping", "stopped"):
        assert required in by_message, f"no {required!r} event in {[e['message'] for e in events]}"
    for event in events:
        assert RFC3339_MS.match(event["timestamp"]), event
        assert event["level"] in {"trace", "debug", "info", "notice", "warning", "error", "critical"}, event
        assert event["logger"] == "tickwire", event
        assert all(isinstance(v, str) for v in event.get("metadata", {}).values()), event
    listening = by_message["listening"]["metadata"]
    assert re.match(r"^127\.0\.0\.1:\d+$", listening["address"]), listening
    assert by_message["replay finished"]["metadata"]["published"] == str(harness.FIXTURE_TRADE_COUNT)


def test_json_strings_are_escaped():
    """A value with quotes, backslashes and a newline (here a bad --replay path,
    reported in the critical line) still yields one parseable line."""
    weird = 'no "such"\\file\nhere.jsonl'
    argv = harness.server_argv(replay=weird, extra=["--log-format", "json"])
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=harness.server_env())
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]
    critical = [event for event in parsed if event["level"] == "critical"]
    assert critical and weird in critical[0]["metadata"]["error"], parsed


def test_unknown_format_is_refused():
    result = subprocess.run(harness.server_argv(replay=None, extra=["--log-format", "xml"]),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "--log-format 'xml' is not text or json" in result.stderr
