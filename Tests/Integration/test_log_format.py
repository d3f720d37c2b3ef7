"""Log formats. text (the default): every stderr line is logfmt, values
quoted when they must be, with millisecond timestamps. json: every stderr
line is one JSON object a log collector can parse."""

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


def unusable_recording_with_a_weird_name(tmp_path):
    """A recording the server refuses at startup (no trade in it), named with
    a space, quotes, a backslash and a newline: its path comes back in the
    critical line's error, which must still be one parseable line."""
    weird = tmp_path / 'no "such"\\file\nhere.jsonl'
    weird.write_text("not a frame\n")
    return str(weird)


def test_json_strings_are_escaped(tmp_path):
    weird = unusable_recording_with_a_weird_name(tmp_path)
    argv = harness.server_argv(replay=weird, extra=["--log-format", "json"])
    result = subprocess.run(argv, capture_output=True, text=True, timeout=30, env=harness.server_env())
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]
    critical = [event for event in parsed if event["level"] == "critical"]
    assert critical and weird in critical[0]["metadata"]["error"], parsed


LOGFMT_PAIR = re.compile(r'([A-Za-z_][A-Za-z0-9_.-]*)=("(?:[^"\\]|\\.)*"|[^\s"=]*)(?:\s|$)')


def logfmt(line: str) -> dict[str, str]:
    """Parses one logfmt line strictly: the pairs must cover the whole line."""
    fields, at = {}, 0
    while at < len(line):
        match = LOGFMT_PAIR.match(line, at)
        assert match, f"not logfmt at column {at}: {line!r}"
        key, value = match.groups()
        assert key not in fields, f"key {key} twice: {line!r}"
        fields[key] = json.loads(value) if value.startswith('"') else value
        at = match.end()
    return fields


def test_text_lines_are_logfmt_with_millisecond_timestamps(tmp_path):
    argv = harness.server_argv(replay=harness.TRADES_FIXTURE, speed="max", log_level="info")
    proc = subprocess.Popen(argv, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True,
                            env=harness.server_env(), start_new_session=True)
    try:
        events = []
        for line in proc.stderr:  # bounded: the replay finishes, then we stop the server
            events.append(logfmt(line.rstrip("\n")))
            if events[-1]["msg"] == "replay finished":
                proc.send_signal(signal.SIGTERM)
            if len(events) > 200:
                break
        assert proc.wait(timeout=harness.STOP_TIMEOUT_S) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    by_message = {event["msg"]: event for event in events}
    for required in ("listening", "replay finished", "draining", "stopping", "stopped"):
        assert required in by_message, f"no {required!r} event in {[e['msg'] for e in events]}"
    for event in events:
        assert RFC3339_MS.match(event["ts"]), event
        assert event["level"] in {"trace", "debug", "info", "notice", "warning", "error", "critical"}, event
        assert event["logger"] == "tickwire" and event["module"], event
    assert re.match(r"^127\.0\.0\.1:\d+$", by_message["listening"]["address"]), by_message["listening"]
    finished = by_message["replay finished"]
    assert finished["level"] == "warning" and finished["published"] == str(harness.FIXTURE_TRADE_COUNT), finished


def test_text_values_are_quoted_only_when_they_must_be(tmp_path):
    weird = unusable_recording_with_a_weird_name(tmp_path)
    result = subprocess.run(harness.server_argv(replay=weird), capture_output=True, text=True, timeout=30,
                            env=harness.server_env())
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    parsed = [logfmt(line) for line in lines]
    critical = [event for event in parsed if event["level"] == "critical"]
    assert critical and weird in critical[0]["error"], lines
    assert ' msg="cannot start or keep serving"' in lines[-1], lines[-1]
    # A value without a space, '=' or a quote stays bare.
    assert re.search(r" level=critical logger=tickwire module=tickwire ", lines[-1]), lines[-1]


def test_unknown_format_is_refused():
    result = subprocess.run(harness.server_argv(replay=None, extra=["--log-format", "xml"]),
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "--log-format 'xml' is not text or json" in result.stderr
