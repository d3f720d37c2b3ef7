"""A real Prometheus (Debian's `prometheus` package) scraping Tickwire as the
PodMonitor says, and every expression of the dashboard and the alert rules
run against it (issue 21's Done-when).

Contract under test:
- docs/kubernetes/monitoring/podmonitor.yaml's endpoint (the container port
  it names, its path, interval and timeout) is what this Prometheus scrapes:
  the test runs its own `prometheus` on 127.0.0.1 with a temporary config and
  storage directory, never the system service. The same interval is used;
  the test waits for the scrapes that rate() needs, at most a few intervals.
- While a looped replay streams to a grpcio client, every panel query and
  template variable query of docs/kubernetes/monitoring/dashboards/tickwire.json
  returns at least one series (Grafana's `$__rate_interval` becomes 4 × the
  interval, as Grafana computes it; `$namespace` and `$pod` the target labels
  a PodMonitor gives).
- Alert rules: each `expr` of prometheusrule.yaml is one expression compared
  with one number at its top level (`<expr> <op> N`). The expression without
  its comparison must return data (so every series an alert reads exists and
  joins as written), and the whole expression must evaluate without error
  (it may well return nothing: nothing is wrong). Prometheus also loads the
  rule groups and evaluates each rule with health "ok".
- `promtool check rules` accepts the groups extracted from the PrometheusRule,
  and `promtool check metrics` finds nothing to say about a scrape.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml

import harness

MONITORING_DIR = harness.REPO_ROOT / "docs" / "kubernetes" / "monitoring"
DEPLOYMENT = harness.REPO_ROOT / "docs" / "kubernetes" / "deployment.yaml"
PODMONITOR = MONITORING_DIR / "podmonitor.yaml"
RULES = MONITORING_DIR / "prometheusrule.yaml"
DASHBOARD = MONITORING_DIR / "dashboards" / "tickwire.json"
# The target labels a PodMonitor's scrape gives (besides job and instance).
TARGET_LABELS = {"namespace": "market-data", "pod": "tickwire-7d9f8-abcde", "container": "tickwire",
                 "endpoint": "metrics"}
STARTUP_TIMEOUT_S = 20.0
QUERY_TIMEOUT_S = 10.0
# Samples per series before the queries run: rate() and increase() need two
# in their window.
SAMPLES_NEEDED = 2
COMPARISON_RE = re.compile(r"(==|!=|>=|<=|>|<)")
NUMBER_RE = re.compile(r"^\s*(?:bool\s+)?[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?\s*$")
LABEL_VALUES_RE = re.compile(r"^label_values\((?P<query>.*),\s*(?P<label>\w+)\)$")


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"`{name}` is not installed: Debian's `prometheus` package provides it "
                    f"(scripts/install-deps.sh --test)")
    return path


def duration_s(text: str) -> float:
    match = re.fullmatch(r"(\d+)(ms|s|m|h)", text)
    assert match, f"not a Prometheus duration: {text}"
    return int(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def pod_monitor_endpoint() -> dict:
    """The PodMonitor's endpoint, with its named port resolved in the Deployment."""
    monitor = yaml.safe_load(PODMONITOR.read_text())
    assert monitor["kind"] == "PodMonitor", monitor["kind"]
    [endpoint] = monitor["spec"]["podMetricsEndpoints"]
    deployment = yaml.safe_load(DEPLOYMENT.read_text())
    template = deployment["spec"]["template"]
    assert all(template["metadata"]["labels"].get(k) == v
               for k, v in monitor["spec"]["selector"]["matchLabels"].items()), "the PodMonitor selects no Tickwire pod"
    [container] = template["spec"]["containers"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert endpoint["port"] in ports, f"the PodMonitor's port {endpoint['port']!r} is not a container port: {ports}"
    return {"port": ports[endpoint["port"]], "path": endpoint.get("path", "/metrics"),
            "interval": endpoint["interval"], "timeout": endpoint.get("scrapeTimeout", endpoint["interval"])}


def rule_groups() -> list[dict]:
    rule = yaml.safe_load(RULES.read_text())
    assert rule["kind"] == "PrometheusRule", rule["kind"]
    return rule["spec"]["groups"]


def alerts() -> list[dict]:
    return [r for g in rule_groups() for r in g["rules"] if "alert" in r]


def without_comparison(expr: str) -> str:
    """`<expr> <op> N` → `<expr>`: the one comparison at the top level (outside
    parentheses, braces, brackets and strings), with a number on its right."""
    depth, quote, found = 0, None, []
    for index, char in enumerate(expr):
        if quote:
            if char == quote and expr[index - 1] != "\\":
                quote = None
        elif char in "\"'`":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and char in "=!<>":
            match = COMPARISON_RE.match(expr, index)
            # The second character of a two-character operator was matched with the first.
            if match and not (found and found[-1][0] + len(found[-1][1]) > index):
                found.append((index, match.group(1)))
    assert len(found) == 1, f"expected one top-level comparison, found {[op for _, op in found]} in: {expr}"
    index, op = found[0]
    assert NUMBER_RE.match(expr[index + len(op):]), f"the comparison is not with a number: {expr}"
    return expr[:index].strip()


def test_without_comparison_finds_the_top_level_threshold():
    assert without_comparison('sum by (pod) (x{state!~"a|b"}) > 0') == 'sum by (pod) (x{state!~"a|b"})'
    assert without_comparison("max(a / b) >= 0.9") == "max(a / b)"
    assert without_comparison("max(a) - on (pod) group_right b > 900") == "max(a) - on (pod) group_right b"
    with pytest.raises(AssertionError):
        without_comparison("sum(rate(x[5m]))")  # no threshold
    with pytest.raises(AssertionError):
        without_comparison("a > 1 and b < 2")  # two
    with pytest.raises(AssertionError):
        without_comparison("a > b")  # not a number


def dashboard_queries(interval_s: float) -> list[tuple[str, str, str | None]]:
    """(where, PromQL, label) for every panel target and template variable
    (label: the one a `label_values` variable lists), with Grafana's
    variables filled in."""
    dashboard = json.loads(DASHBOARD.read_text())
    rate_interval = f"{int(4 * interval_s)}s"  # Grafana: max(4 × scrape interval, step + scrape interval)
    values = {"$__rate_interval": rate_interval, "$__interval": f"{int(interval_s)}s",
              "$namespace": TARGET_LABELS["namespace"], "$pod": TARGET_LABELS["pod"]}

    def fill(expr: str) -> str:
        for name, value in values.items():
            expr = expr.replace(name, value)
        assert "$" not in expr, f"an unknown Grafana variable in: {expr}"
        return expr

    queries = []
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            match = LABEL_VALUES_RE.match(variable["query"]["query"])
            assert match, f"variable {variable['name']}: not label_values(query, label)"
            queries.append((f"variable {variable['name']}", fill(match.group("query")), match.group("label")))
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert panels, "the dashboard has no panels"
    for panel in panels:
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        for target in panel["targets"]:
            queries.append((f"panel {panel['title']!r} {target['refId']}", fill(target["expr"]), None))
    return queries


def has_data(answer: dict) -> bool:
    """A successful query with at least one sample that is a number: a
    histogram_quantile over buckets that never counted anything gives NaN,
    and that is no data."""
    if answer.get("status") != "success":
        return False
    result = answer["data"]["result"]
    if answer["data"]["resultType"] == "scalar":
        return result[1] != "NaN"
    return any(sample["value"][1] != "NaN" for sample in result)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # As Tickwire binds: the previous run's scrapes leave TIME_WAIT behind.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class Prometheus:
    """Our own `prometheus` on 127.0.0.1 with a temporary config and TSDB."""

    def __init__(self, binary: str, workdir: Path, target_port: int, endpoint: dict, rules_file: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {"scrape_interval": endpoint["interval"], "evaluation_interval": endpoint["interval"]},
            "rule_files": [str(rules_file)],
            "scrape_configs": [{
                "job_name": "podMonitor/market-data/tickwire/0",
                "metrics_path": endpoint["path"],
                "scrape_interval": endpoint["interval"],
                "scrape_timeout": endpoint["timeout"],
                "static_configs": [{"targets": [f"127.0.0.1:{target_port}"], "labels": TARGET_LABELS}],
            }],
        }
        config_file = workdir / "prometheus.yml"
        config_file.write_text(yaml.safe_dump(config))
        self.log_path = workdir / "prometheus.log"
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={config_file}", f"--storage.tsdb.path={workdir / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=workdir)

    def wait_ready(self) -> None:
        def ready() -> bool:
            assert self.proc.poll() is None, f"prometheus exited:\n{self.log_path.read_text()[-3000:]}"
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                    return response.status == 200
            except OSError:
                return False
        assert harness.wait_until(ready, STARTUP_TIMEOUT_S, interval_s=0.2), self.log_path.read_text()[-3000:]

    def api(self, path: str, **params) -> dict:
        url = f"{self.url}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params)
        try:
            with urllib.request.urlopen(url, timeout=QUERY_TIMEOUT_S) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:  # 400/422 carry the error in the body
            return json.loads(error.read())

    def query(self, expr: str) -> dict:
        return self.api("query", query=expr)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.log.close()


@pytest.fixture
def prometheus_factory(tmp_path):
    started: list[Prometheus] = []

    def start(**kwargs) -> Prometheus:
        workdir = tmp_path / f"prometheus-{len(started)}"
        workdir.mkdir()
        server = Prometheus(tool("prometheus"), workdir, **kwargs)
        started.append(server)
        server.wait_ready()
        return server

    yield start
    for server in started:
        server.stop()


def extracted_rules(tmp_path: Path) -> Path:
    """The PrometheusRule's groups as a plain Prometheus rule file."""
    path = tmp_path / "tickwire-rules.yml"
    path.write_text(yaml.safe_dump({"groups": rule_groups()}))
    return path


def test_promtool_checks_the_rules(tmp_path):
    rules_file = extracted_rules(tmp_path)
    result = subprocess.run([tool("promtool"), "check", "rules", str(rules_file)],
                            capture_output=True, text=True, timeout=60)
    print(result.stdout, result.stderr)
    count = sum(len(g["rules"]) for g in rule_groups())
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {count} rules found" in result.stdout, result.stdout


def test_prometheus_runs_every_dashboard_and_alert_expression(start_server, grpc_channels, collectors,
                                                               prometheus_factory, tmp_path):
    endpoint = pod_monitor_endpoint()
    interval_s = duration_s(endpoint["interval"])
    # The PodMonitor's port, unless something else on this machine holds it
    # (another test run): then any port, since the port is the one setting
    # that cannot change what is scraped.
    port = endpoint["port"] if port_is_free(endpoint["port"]) else 0
    if port == 0:
        print(f"port {endpoint['port']} is taken here; Tickwire's /metrics goes on a free port instead")
    pb, _ = harness.stubs()
    server = start_server(replay=harness.TRADES_FIXTURE, speed="5", wait_streams=1,
                          metrics_listen=f"127.0.0.1:{port}", extra=["--replay-loop"])
    server.wait_metrics_listening()
    requests = [pb.IndicatorRequest(symbol="btcusdt", type=pb.INDICATOR_TYPE_RSI, period=14, request_id="rsi")]
    release = harness.threading.Event()
    client = collectors(grpc_channels(server.target), name="client",
                        requests=harness.held_open_requests(release, 180, requests), deadline_s=180).start()
    assert client.wait_count(50, 20.0), client.describe_end()

    scrape_url = f"http://127.0.0.1:{server.metrics_port}{endpoint['path']}"
    with urllib.request.urlopen(scrape_url, timeout=5) as response:
        exposition = response.read()
    lint = subprocess.run([tool("promtool"), "check", "metrics"], input=exposition, capture_output=True, timeout=60)
    assert lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(), (
        f"promtool check metrics:\n{lint.stdout.decode()}{lint.stderr.decode()}")

    prometheus = prometheus_factory(target_port=server.metrics_port, endpoint=endpoint,
                                    rules_file=extracted_rules(tmp_path))
    # Prometheus spreads a target's first scrape over one interval.
    enough = f'count_over_time(tickwire_build_info[{int(4 * interval_s)}s]) >= {SAMPLES_NEEDED}'
    assert harness.wait_until(lambda: prometheus.query(enough).get("data", {}).get("result"),
                              (SAMPLES_NEEDED + 1) * interval_s + 10, interval_s=0.5), (
        f"fewer than {SAMPLES_NEEDED} scrapes: {prometheus.api('targets')}")
    [target] = prometheus.api("targets")["data"]["activeTargets"]
    assert target["health"] == "up", target
    assert target["scrapeUrl"] == scrape_url and target["scrapeInterval"] == endpoint["interval"], target

    failures = []
    queries = dashboard_queries(interval_s) + [(f"alert {r['alert']} without its threshold", without_comparison(r["expr"]), None)
                                               for r in alerts()]
    for where, expr, label in queries:
        answer = prometheus.query(expr)
        if not has_data(answer):
            failures.append(f"{where}: {expr}\n    -> {answer}")
        elif label and not any(label in sample["metric"] for sample in answer["data"]["result"]):
            failures.append(f"{where}: no series has the label {label!r}: {answer}")
    print(f"{len(queries)} queries ({len(alerts())} alerts) against {prometheus.url}, {len(failures)} without data")
    for rule in alerts():
        whole = prometheus.query(rule["expr"])
        if whole["status"] != "success":
            failures.append(f"alert {rule['alert']}: {rule['expr']}\n    -> {whole}")
    assert not failures, "\n".join(failures)

    # The groups loaded, and every rule evaluated cleanly.
    def evaluated() -> list[dict]:
        groups = prometheus.api("rules")["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        return rules if rules and all(r.get("lastEvaluation", "").split("T")[0] > "1970" for r in rules) else []
    assert harness.wait_until(evaluated, 2 * interval_s + 10, interval_s=0.5), prometheus.api("rules")
    rules = evaluated()
    assert {r["name"] for r in rules} == {a["alert"] for a in alerts()}
    bad = [(r["name"], r.get("health"), r.get("lastError")) for r in rules if r.get("health") != "ok"]
    assert not bad, bad
    release.set()
