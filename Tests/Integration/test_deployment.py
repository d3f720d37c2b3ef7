"""The container image and the Kubernetes manifests, checked against the code.

No Docker engine or cluster runs here, so these tests check what can be
checked without one:

- `ldd` of a release binary built exactly as the Dockerfile builds it
  (--static-swift-stdlib): every shared library it loads must come from a
  Debian package the runtime stage installs or that debian:bookworm-slim
  already has, and every library package installed must be needed;
- the Dockerfile against scripts/install-deps.sh, Package.swift and
  `tickwire --help` (packages, flags, ports, user, entrypoint);
- docs/kubernetes/*.yaml: shutdown timing, probes, ports, security context,
  Prometheus annotations, selectors, flags and environment variables;
- docs/operations.md lists every flag with its TICKWIRE_* variable;
- the image's CMD and the Deployment's arguments start a real server whose
  grpc.health.v1 Check (what the kubelet's gRPC probe calls) answers SERVING
  and which exits 0 on SIGTERM.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

import harness

DOCKERFILE = harness.REPO_ROOT / "Dockerfile"
DOCKERIGNORE = harness.REPO_ROOT / ".dockerignore"
INSTALL_DEPS = harness.REPO_ROOT / "scripts" / "install-deps.sh"
PACKAGE_SWIFT = harness.REPO_ROOT / "Package.swift"
KUBERNETES_DIR = harness.REPO_ROOT / "docs" / "kubernetes"
STATIC_SCRATCH = harness.REPO_ROOT / ".build-static"

# Packages debian:bookworm-slim already contains, so the runtime stage need not
# install them: libc6 is Essential (glibc, libm, the dynamic loader) and
# depends on libgcc-s1 (the unwinder, libgcc_s.so.1). Nothing else is assumed.
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1"}
# Runtime packages that provide no library, each with the reason it is there.
RUNTIME_NON_LIBRARY_PACKAGES = {
    "ca-certificates": "the system CA store that verifies stream.binance.com",
}
# install-deps.sh packages that only the tests use, not the build.
TEST_ONLY_PACKAGES = {"protobuf-compiler", "openssl", "strace"}
# Time the pod needs beyond preStop + drain + stop flush: the final exit, the
# feed's close handshake, and slack for a loaded node.
SHUTDOWN_MARGIN_S = 5.0
METRICS_PORT = 20051
DEFAULT_LIVE_SYMBOLS = "btcusdt,ethusdt"


# --------------------------------------------------------------------------
# Parsing: durations, `tickwire --help`, the Dockerfile, the manifests
# --------------------------------------------------------------------------

DURATION_PART_RE = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
DURATION_UNITS_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_s(text: str) -> float:
    """A Go duration (`500ms`, `10s`, `23h50m`) in seconds."""
    parts = DURATION_PART_RE.findall(text)
    assert parts and "".join(n + u for n, u in parts) == text, f"not a Go duration: {text!r}"
    return sum(float(n) * DURATION_UNITS_S[u] for n, u in parts)


@dataclass
class Help:
    """What `tickwire --help` declares: long options and their defaults."""
    flags: set[str]
    defaults: dict[str, str]

    def env_name(self, flag: str) -> str:
        return "TICKWIRE_" + flag.upper().replace("-", "_")

    def flag_for_env(self, name: str) -> str | None:
        return next((f for f in self.flags if self.env_name(f) == name), None)


OPTION_LINE_RE = re.compile(r"^  (?:-\w, )?--([a-z][a-z0-9-]*)")


def parse_help(text: str) -> Help:
    blocks: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        match = OPTION_LINE_RE.match(line)
        if match:
            current = match.group(1)
            blocks[current] = [line]
        elif current is not None:
            blocks[current].append(line)
    defaults = {}
    for flag, lines in blocks.items():
        joined = " ".join(" ".join(lines).split())
        default = re.search(r"\(default: ([^)]+)\)", joined)
        if default:
            defaults[flag] = default.group(1)
    return Help(flags=set(blocks) - {"help", "version"}, defaults=defaults)  # actions, not settings


@pytest.fixture(scope="module")
def help_(binary) -> Help:
    out = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    parsed = parse_help(out.stdout)
    assert {"listen", "symbols", "drain-timeout", "stop-flush-timeout"} <= parsed.flags, out.stdout
    return parsed


def flag_values(args: list[str], help_: Help) -> dict[str, str]:
    """`--flag value` and `--flag=value` pairs; every flag must be in --help."""
    values: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = str(args[i])
        assert arg.startswith("--"), f"expected a flag at {args[i:]}"
        name, eq, value = arg[2:].partition("=")
        assert name in help_.flags, f"--{name} is not an option of `tickwire --help`"
        if not eq:
            assert i + 1 < len(args), f"--{name} has no value"
            value = str(args[i + 1])
            i += 1
        values[name] = value
        i += 1
    return values


@dataclass
class Instruction:
    keyword: str
    text: str


@dataclass
class Stage:
    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [i.text for i in self.instructions if i.keyword == keyword]

    def one(self, keyword: str) -> str:
        found = self.all(keyword)
        assert len(found) == 1, f"stage {self.name or self.image}: expected one {keyword}, got {found}"
        return found[0]

    def apt_packages(self) -> list[str]:
        """Packages of every `apt-get install` in this stage's RUNs."""
        packages = []
        for run in self.all("RUN"):
            for command in re.split(r"&&|;|\|\|", run):
                words = command.split()
                if "apt-get" in words and "install" in words:
                    tail = words[words.index("install") + 1:]
                    packages += [w for w in tail if not w.startswith("-")]
        return packages


def parse_dockerfile(text: str) -> list[Stage]:
    logical, pending = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or not stripped:
            continue  # comments and blank lines may sit inside a continuation
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    assert not pending, "the Dockerfile ends inside a line continuation"
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword, rest = keyword.upper(), " ".join(rest.split())
        if keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append(Stage(image=words[0], name=name))
        else:
            assert stages, f"{keyword} before FROM"
            stages[-1].instructions.append(Instruction(keyword, rest))
    return stages


def exec_form(text: str) -> list[str]:
    value = yaml.safe_load(text)  # a JSON array is valid YAML
    assert isinstance(value, list) and all(isinstance(v, str) for v in value), \
        f"not the exec (JSON array) form: {text}"
    return value


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    parsed = parse_dockerfile(DOCKERFILE.read_text())
    assert len(parsed) == 2, f"expected a build and a runtime stage, got {[s.image for s in parsed]}"
    return parsed


@pytest.fixture(scope="module")
def build_stage(stages) -> Stage:
    return stages[0]


@pytest.fixture(scope="module")
def runtime_stage(stages) -> Stage:
    return stages[1]


def dockerfile_build_args(build_stage: Stage) -> list[str]:
    """The arguments of the build stage's `swift build` (up to && or the end)."""
    for run in build_stage.all("RUN"):
        for command in re.split(r"&&|;", run):
            words = command.split()
            if words[:2] == ["swift", "build"] and "--show-bin-path" not in words:
                return words[2:]
    raise AssertionError("the build stage runs no `swift build`")


def image_user_id(runtime_stage: Stage) -> int:
    user = runtime_stage.one("USER").split(":")[0]
    assert user.isdigit(), f"USER {user}: use the numeric id, so runAsNonRoot can verify it"
    return int(user)


def install_deps_packages() -> list[str]:
    match = re.search(r"^packages=\(([^)]*)\)", INSTALL_DEPS.read_text(), re.M)
    assert match, "scripts/install-deps.sh has no packages=(…) array"
    return match.group(1).split()


@dataclass
class Manifests:
    deployment: dict
    services: list[dict]
    pdbs: list[dict]

    @property
    def pod(self) -> dict:
        return self.deployment["spec"]["template"]

    @property
    def container(self) -> dict:
        containers = self.pod["spec"]["containers"]
        assert len(containers) == 1, "one container per pod"
        return containers[0]

    def container_port(self, name: str) -> int:
        ports = {p["name"]: p["containerPort"] for p in self.container["ports"]}
        assert name in ports, f"the container declares no port named {name!r}: {ports}"
        return ports[name]

    def settings(self, help_: Help) -> dict[str, str]:
        """The effective flags: help defaults, then TICKWIRE_* env, then args."""
        values = dict(help_.defaults)
        for entry in self.container.get("env", []):
            flag = help_.flag_for_env(entry["name"])
            if flag is not None:
                values[flag] = str(entry["value"])
        values.update(flag_values(self.container.get("args", []), help_))
        return values


@pytest.fixture(scope="module")
def manifests() -> Manifests:
    documents = []
    for path in sorted(KUBERNETES_DIR.glob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(path.read_text()) if d]
    kinds = [d["kind"] for d in documents]
    deployments = [d for d in documents if d["kind"] == "Deployment"]
    assert len(deployments) == 1, f"expected one Deployment in docs/kubernetes, got {kinds}"
    return Manifests(deployment=deployments[0],
                     services=[d for d in documents if d["kind"] == "Service"],
                     pdbs=[d for d in documents if d["kind"] == "PodDisruptionBudget"])


def selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def prestop_sleep_s(container: dict) -> float:
    pre_stop = container.get("lifecycle", {}).get("preStop")
    assert pre_stop, "no preStop hook: SIGTERM would race the endpoint removal"
    if "sleep" in pre_stop:  # the native sleep action (Kubernetes 1.30+)
        return float(pre_stop["sleep"]["seconds"])
    command = [str(c) for c in pre_stop["exec"]["command"]]
    if command[0] in ("/bin/sh", "sh") and command[1] == "-c":
        command = command[2].split()
    assert Path(command[0]).name == "sleep" and len(command) == 2, f"preStop is not a sleep: {command}"
    return duration_s(command[1]) if not command[1].isdigit() else float(command[1])


# --------------------------------------------------------------------------
# The release binary, built as the Dockerfile builds it
# --------------------------------------------------------------------------

def swift_executable() -> str | None:
    found = shutil.which("swift")
    if found:
        return found
    fallback = Path("/opt/swift/usr/bin/swift")
    return str(fallback) if fallback.is_file() else None


@pytest.fixture(scope="module")
def static_binary(build_stage) -> Path:
    """The Dockerfile's `swift build`, into .build-static (incremental after the first)."""
    swift = swift_executable()
    if swift is None:
        pytest.skip("swift is not on PATH nor at /opt/swift/usr/bin: cannot build the image's binary")
    args = dockerfile_build_args(build_stage)
    command = [swift, "build", *args, "--scratch-path", str(STATIC_SCRATCH)]
    started = time.monotonic()
    built = subprocess.run(command, cwd=harness.REPO_ROOT, capture_output=True, text=True, timeout=1800)
    assert built.returncode == 0, f"{' '.join(command)} failed:\n{built.stdout[-4000:]}\n{built.stderr[-4000:]}"
    print(f"static release build: {time.monotonic() - started:.1f}s")
    bin_dir = subprocess.run([swift, "build", *args, "--scratch-path", str(STATIC_SCRATCH), "--show-bin-path"],
                             cwd=harness.REPO_ROOT, capture_output=True, text=True, timeout=120, check=True)
    path = Path(bin_dir.stdout.strip()) / "tickwire"
    assert path.is_file(), path
    return path


LDD_LINE_RE = re.compile(r"^\s*(?P<name>\S+)(?: => (?P<path>\S+|not found))?(?: \(0x[0-9a-f]+\))?\s*$")


def ldd_libraries(binary: Path) -> dict[str, str]:
    """soname (or loader path) → resolved path, for every library ldd lists."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    libraries = {}
    for line in out.stdout.splitlines():
        match = LDD_LINE_RE.match(line)
        assert match, f"unexpected ldd line: {line!r}"
        name, path = match.group("name"), match.group("path")
        assert path != "not found", f"ldd: {name} not found"
        if path is None:
            if not name.startswith("/"):
                continue  # linux-vdso.so.1: the kernel's, no file
            path = name  # the dynamic loader, listed by path
        libraries[name] = path
    return libraries


def merged_usr_variants(path: str) -> list[str]:
    """Debian 12 merges /lib into /usr/lib, but dpkg knows each file under one of them."""
    variants = [path]
    for short in ("/lib/", "/lib64/", "/bin/", "/sbin/"):
        if path.startswith(short):
            variants.append("/usr" + path)
        if path.startswith("/usr" + short):
            variants.append(path[len("/usr"):])
    return variants


def owning_packages(path: str) -> set[str]:
    candidates = []
    for p in (path, os.path.realpath(path)):
        candidates += [v for v in merged_usr_variants(p) if v not in candidates]
    for candidate in candidates:
        out = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            continue
        owners = set()
        for line in out.stdout.splitlines():
            packages, _, owned_path = line.partition(": ")
            if owned_path.strip() == candidate and not packages.startswith("diversion"):
                owners |= {p.strip().split(":")[0] for p in packages.split(",")}
        if owners:
            return owners
    return set()


def test_host_is_debian_12():
    """Library-to-package answers are only valid for the image's release."""
    version = Path("/etc/debian_version")
    assert version.is_file() and version.read_text().startswith("12"), \
        "these checks ask dpkg, so they must run on Debian 12 (bookworm), the image's base"


def test_every_linked_library_is_installed_by_the_runtime_stage(static_binary, runtime_stage):
    installed = set(runtime_stage.apt_packages())
    provided: dict[str, set[str]] = {}
    problems = []
    for name, path in sorted(ldd_libraries(static_binary).items()):
        owners = owning_packages(path)
        if not owners:
            problems.append(f"{name} ({path}) belongs to no Debian package: "
                            f"is the Swift runtime linked dynamically (--static-swift-stdlib)?")
        elif not owners & (installed | BASE_IMAGE_PACKAGES):
            problems.append(f"{name} ({path}) comes from {sorted(owners)}, "
                            f"which the runtime stage does not install")
        for owner in owners:
            provided.setdefault(owner, set()).add(name)
    unneeded = installed - set(provided) - set(RUNTIME_NON_LIBRARY_PACKAGES)
    if unneeded:
        problems.append(f"the runtime stage installs {sorted(unneeded)}, which provide no library "
                        f"the binary links (linked: {sorted(provided)})")
    assert not problems, "\n".join(problems)


def test_static_binary_runs_without_the_toolchain(static_binary):
    env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
    out = subprocess.run([str(static_binary), "--help"], capture_output=True, text=True, timeout=30, env=env)
    assert out.returncode == 0 and "--listen" in out.stdout, out.stderr
    linked = ldd_libraries(static_binary).values()
    assert not [p for p in linked if "swift" in p], f"Swift runtime linked dynamically: {list(linked)}"


# --------------------------------------------------------------------------
# The Dockerfile against the scripts, Package.swift and --help
# --------------------------------------------------------------------------

def test_build_stage_uses_the_toolchain_and_the_build_packages(build_stage):
    assert build_stage.name, "the build stage needs a name for COPY --from"
    match = re.fullmatch(r"swift:(\d+)\.(\d+)-bookworm", build_stage.image)
    assert match, f"build stage image {build_stage.image}: expected swift:<major>.<minor>-bookworm"
    tools = re.search(r"swift-tools-version:\s*(\d+)\.(\d+)", PACKAGE_SWIFT.read_text())
    assert tuple(map(int, match.groups())) >= tuple(map(int, tools.groups())), \
        "the image's Swift is older than Package.swift's tools version"

    wanted = [p for p in install_deps_packages() if p not in TEST_ONLY_PACKAGES]
    assert sorted(build_stage.apt_packages()) == sorted(wanted), \
        "the build stage's apt packages differ from scripts/install-deps.sh's build packages"
    providers = set()
    for group in re.findall(r"\.apt\(\[([^\]]*)\]\)", PACKAGE_SWIFT.read_text()):
        providers |= set(re.findall(r'"([^"]+)"', group))
    assert providers <= set(build_stage.apt_packages()), \
        f"Package.swift's apt providers missing from the build stage: {providers - set(build_stage.apt_packages())}"


def test_build_stage_swift_matches_the_local_toolchain(build_stage):
    swift = swift_executable()
    if swift is None:
        pytest.skip("swift is not on PATH nor at /opt/swift/usr/bin")
    out = subprocess.run([swift, "--version"], capture_output=True, text=True, timeout=60)
    local = re.search(r"Swift version (\d+)\.(\d+)", out.stdout + out.stderr)
    assert local, out.stdout + out.stderr
    assert build_stage.image == f"swift:{local.group(1)}.{local.group(2)}-bookworm", \
        f"the build stage ({build_stage.image}) should use the toolchain's major.minor ({local.group(0)})"


def test_build_command_is_the_static_release_build(build_stage):
    args = dockerfile_build_args(build_stage)
    for required in (["-c", "release"], ["--product", "tickwire"], ["--static-swift-stdlib"]):
        joined = " ".join(args)
        assert " ".join(required) in joined, f"`swift build {joined}` lacks {' '.join(required)}"
    copies = build_stage.all("COPY")
    for source in ("Package.swift", "Sources", "Tests"):
        assert any(source in c.split()[:-1] for c in copies), f"the build stage does not COPY {source}"


def test_runtime_stage_image_and_packages(runtime_stage):
    assert runtime_stage.image == "debian:bookworm-slim"
    packages = runtime_stage.apt_packages()
    assert packages, "the runtime stage installs nothing"
    assert not [p for p in packages if p.endswith("-dev")], f"-dev packages at runtime: {packages}"
    assert "ca-certificates" in packages, "the Binance TLS connection needs the system CA store"
    assert any("--no-install-recommends" in run for run in runtime_stage.all("RUN"))


def test_runtime_user_entrypoint_and_ports(runtime_stage, build_stage, help_):
    uid = image_user_id(runtime_stage)
    assert uid != 0, "the image must not run as root"
    assert any(re.search(rf"useradd\b.*--uid {uid}\b", run) for run in runtime_stage.all("RUN")), \
        f"no useradd creates uid {uid}"

    entrypoint = exec_form(runtime_stage.one("ENTRYPOINT"))
    assert len(entrypoint) == 1, entrypoint
    copied = [c.split() for c in runtime_stage.all("COPY") if c.startswith(f"--from={build_stage.name} ")]
    assert [entrypoint[0]] == [c[-1] for c in copied], f"ENTRYPOINT {entrypoint} is not the copied binary {copied}"

    exposed = {int(p.split("/")[0]) for line in runtime_stage.all("EXPOSE") for p in line.split()}
    listen_port = int(help_.defaults["listen"].rsplit(":", 1)[1])
    assert exposed == {listen_port, METRICS_PORT}, f"EXPOSE {exposed}"
    if "metrics-listen" in help_.flags:
        assert help_.defaults["metrics-listen"].rsplit(":", 1)[1] == str(METRICS_PORT)


def test_cmd_serves_live_binance_with_known_flags(runtime_stage, help_):
    values = flag_values(exec_form(runtime_stage.one("CMD")), help_)
    assert "replay" not in values, "the image's default is the live feed"
    host, port = values["listen"].rsplit(":", 1)
    assert host == "0.0.0.0", "a container must listen on every interface"
    assert port == help_.defaults["listen"].rsplit(":", 1)[1]
    assert values.get("symbols", help_.defaults["symbols"]) == DEFAULT_LIVE_SYMBOLS


def test_dockerignore_keeps_build_outputs_out_of_the_context():
    patterns = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()
                if line.strip() and not line.startswith("#")}
    assert {".build*", ".venv", "Tests/Integration/gen", ".git"} <= patterns, patterns


# --------------------------------------------------------------------------
# docs/kubernetes
# --------------------------------------------------------------------------

def test_shutdown_fits_the_grace_period(manifests, help_):
    settings = manifests.settings(help_)
    assert "drain-timeout" in flag_values(manifests.container.get("args", []), help_), \
        "pass --drain-timeout explicitly: the grace period is computed from it"
    pre_stop = prestop_sleep_s(manifests.container)
    drain = duration_s(settings["drain-timeout"])
    flush = duration_s(settings["stop-flush-timeout"])
    grace = manifests.pod["spec"]["terminationGracePeriodSeconds"]
    needed = pre_stop + drain + flush + SHUTDOWN_MARGIN_S
    assert grace > needed, (f"terminationGracePeriodSeconds {grace} <= preStop {pre_stop}s + drain {drain}s "
                            f"+ stop flush {flush}s + margin {SHUTDOWN_MARGIN_S}s")
    assert pre_stop >= 3, "the preStop sleep must cover endpoint removal (a few seconds)"

    # Health is NOT_SERVING from SIGTERM to exit; liveness must not kill the pod meanwhile.
    liveness = manifests.container["livenessProbe"]
    tolerated = (liveness.get("failureThreshold", 3) - 1) * liveness.get("periodSeconds", 10)
    assert tolerated > drain + flush, \
        f"liveness gives up after {tolerated}s of NOT_SERVING, less than drain + flush ({drain + flush}s)"


def test_probes_are_grpc_on_the_listen_port(manifests, help_):
    settings = manifests.settings(help_)
    host, port = settings["listen"].rsplit(":", 1)
    assert host == "0.0.0.0", "the kubelet probes the pod IP"
    grpc_port = manifests.container_port("grpc")
    assert int(port) == grpc_port
    for probe in ("readinessProbe", "livenessProbe"):
        spec = manifests.container.get(probe)
        assert spec and "grpc" in spec, f"{probe} must be a native gRPC probe (grpc.health.v1)"
        assert spec["grpc"]["port"] == grpc_port, f"{probe} port {spec['grpc']['port']} != {grpc_port}"
        assert spec["grpc"].get("service", "") in ("", "tickwire.v1.PriceStream")


def test_arguments_and_environment_are_known_flags(manifests, help_):
    flag_values(manifests.container.get("args", []), help_)  # asserts each flag exists
    assert "command" not in manifests.container, "keep the image's ENTRYPOINT; pass flags as args"
    for entry in manifests.container.get("env", []):
        if entry["name"].startswith("TICKWIRE_"):
            assert help_.flag_for_env(entry["name"]), f"{entry['name']} matches no flag of `tickwire --help`"
    assert "replay" not in manifests.settings(help_), "the Deployment serves the live feed"
    assert manifests.pod["spec"].get("enableServiceLinks") is False, \
        "service links would add TICKWIRE_* variables, Tickwire's own settings namespace"


def test_security_context(manifests, runtime_stage):
    pod = manifests.pod["spec"].get("securityContext", {})
    effective = {**pod, **manifests.container.get("securityContext", {})}
    assert effective.get("runAsNonRoot") is True
    assert effective.get("runAsUser") == image_user_id(runtime_stage)
    assert effective.get("readOnlyRootFilesystem") is True
    assert effective.get("allowPrivilegeEscalation") is False
    assert "ALL" in effective.get("capabilities", {}).get("drop", [])
    assert not effective.get("capabilities", {}).get("add"), "Tickwire needs no capability"
    assert effective.get("seccompProfile", {}).get("type") == "RuntimeDefault"
    assert effective.get("privileged") in (None, False)


def test_resources_fit_one_thread(manifests):
    resources = manifests.container.get("resources", {})
    requests, limits = resources.get("requests", {}), resources.get("limits", {})
    assert {"cpu", "memory"} <= set(requests) and {"cpu", "memory"} <= set(limits), resources

    def cpu(value) -> float:
        text = str(value)
        return float(text[:-1]) / 1000 if text.endswith("m") else float(text)

    def mib(value) -> float:
        number, unit = re.fullmatch(r"(\d+)(Mi|Gi)", str(value)).groups()
        return float(number) * (1024 if unit == "Gi" else 1)

    assert cpu(requests["cpu"]) >= 1, "the reactor thread needs a whole CPU"
    assert cpu(limits["cpu"]) >= cpu(requests["cpu"])
    assert 0 < mib(requests["memory"]) <= mib(limits["memory"])


def test_prometheus_annotations_point_at_the_metrics_port(manifests, runtime_stage):
    annotations = manifests.pod["metadata"].get("annotations", {})
    assert all(isinstance(v, str) for v in annotations.values()), \
        f"annotation values must be strings (quote them): {annotations}"
    assert annotations.get("prometheus.io/scrape") == "true"
    assert annotations.get("prometheus.io/path") == "/metrics"
    metrics = manifests.container_port("metrics")
    assert metrics == METRICS_PORT and annotations.get("prometheus.io/port") == str(metrics)
    exposed = {int(p.split("/")[0]) for line in runtime_stage.all("EXPOSE") for p in line.split()}
    assert {metrics, manifests.container_port("grpc")} <= exposed


def test_selectors_services_and_disruption_budget(manifests):
    labels = manifests.pod["metadata"]["labels"]
    assert selects(manifests.deployment["spec"]["selector"]["matchLabels"], labels)
    container_ports = {p["name"]: p["containerPort"] for p in manifests.container["ports"]}

    assert manifests.services, "no Service"
    for service in manifests.services:
        name = service["metadata"]["name"]
        assert selects(service["spec"]["selector"], labels), f"Service {name} selects no tickwire pod"
        for port in service["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            assert target in container_ports or target in container_ports.values(), \
                f"Service {name} targets {target}, not a container port {container_ports}"
    headless = [s for s in manifests.services if s["spec"].get("clusterIP") == "None"]
    cluster_ip = [s for s in manifests.services if s["spec"].get("clusterIP") != "None"]
    assert len(headless) == 1 and len(cluster_ip) == 1, "one ClusterIP and one headless Service"
    assert {p["port"] for p in cluster_ip[0]["spec"]["ports"]} == {container_ports["grpc"], METRICS_PORT}
    assert container_ports["grpc"] in {p["port"] for p in headless[0]["spec"]["ports"]}

    assert len(manifests.pdbs) == 1, "one PodDisruptionBudget"
    pdb = manifests.pdbs[0]["spec"]
    assert pdb["selector"]["matchLabels"] == manifests.deployment["spec"]["selector"]["matchLabels"]
    replicas = manifests.deployment["spec"].get("replicas", 1)
    if "minAvailable" in pdb:
        assert isinstance(pdb["minAvailable"], int) and pdb["minAvailable"] < replicas, \
            "minAvailable must leave room for one eviction, or node drains block"
    else:
        assert pdb.get("maxUnavailable", 0) not in (0, "0%"), "the budget must allow an eviction"


def test_operations_guide_lists_every_flag(help_):
    guide = (harness.REPO_ROOT / "docs" / "operations.md").read_text()
    missing = [f for f in sorted(help_.flags)
               if f"`--{f}`" not in guide or f"`{help_.env_name(f)}`" not in guide]
    assert not missing, f"docs/operations.md does not list these flags with their variables: {missing}"


# --------------------------------------------------------------------------
# The image's and the Deployment's settings on a real server
# --------------------------------------------------------------------------

def serve_and_stop(start_server, binary, args: list[str], env: dict[str, str], help_: Help) -> None:
    """Starts tickwire with `args` on a loopback port, feed pointed at a closed
    port, checks what the kubelet's gRPC probe checks, then SIGTERM → exit 0."""
    values = flag_values(args, help_)
    values["listen"] = "127.0.0.1:0"
    if "metrics-listen" in help_.flags:
        values["metrics-listen"] = harness.DEFAULT_METRICS_LISTEN  # 20051 would collide between test servers
    values["binance-url"] = "wss://127.0.0.1:9/stream"  # refused: the feed retries, gRPC serves
    grace = duration_s(values.get("drain-timeout", help_.defaults["drain-timeout"])) + \
        duration_s(values.get("stop-flush-timeout", help_.defaults["stop-flush-timeout"])) + SHUTDOWN_MARGIN_S
    argv = [str(binary)] + [x for flag, value in values.items() for x in (f"--{flag}", value)]
    server = start_server(argv=argv, env=env)
    with grpc.insecure_channel(server.target) as chan:
        stub = health_pb2_grpc.HealthStub(chan)
        status = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=5).status
        assert status == health_pb2.HealthCheckResponse.SERVING
    assert server.stop(timeout_s=grace) == 0, server.log.tail()


def test_image_cmd_starts_and_drains(start_server, binary, runtime_stage, help_):
    serve_and_stop(start_server, binary, exec_form(runtime_stage.one("CMD")), {}, help_)


def test_deployment_settings_start_and_drain(start_server, binary, manifests, help_):
    env = {e["name"]: str(e["value"]) for e in manifests.container.get("env", [])}
    serve_and_stop(start_server, binary, manifests.container.get("args", []), env, help_)
