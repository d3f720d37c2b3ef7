#!/usr/bin/env bash
# Installs the Debian packages Tickwire builds and tests against. Idempotent:
# it only calls apt-get when something is missing. Needs root (or sudo).
set -euo pipefail

packages=(pkg-config libnghttp2-dev libssl-dev libwslay-dev libsimdjson-dev liburing-dev libc-ares-dev
          protobuf-compiler openssl strace)
if [ "${1:-}" = "--test" ]; then
    # make and gcc build tw-load (bench/loadclient), which the slow-consumer test drives.
    # prometheus (and its promtool) runs the dashboard's and the alerts'
    # queries in test_prometheus.py, which starts its own instance on a free
    # loopback port; the package's own service is stopped below.
    packages+=(python3 python3-venv python3-pip make gcc prometheus)
    # The example clients of docs/examples/, built and run by test_examples.py,
    # and the bench's peers (bench/peers/go, bench/peers/cpp: each build.sh
    # installs its own list too): Go in GOPATH mode on Debian's grpc-go
    # (protoc-gen-go, not golang-goprotobuf-dev, which conflicts with it), and
    # C++ on Debian's gRPC C++ 1.51 (the C++ peer also takes libsimdjson-dev, above).
    packages+=(golang-go golang-google-grpc-dev golang-google-protobuf-dev golang-github-golang-protobuf-1-5-dev
               protoc-gen-go protoc-gen-go-grpc g++ libgrpc++-dev protobuf-compiler-grpc)
fi

missing=()
for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
# A Python from elsewhere (pyenv) with a working venv module is fine as it is.
if [ "${1:-}" = "--test" ] && command -v python3 >/dev/null && python3 -m venv --help >/dev/null 2>&1; then
    filtered=()
    for package in "${missing[@]}"; do
        case "$package" in python3|python3-venv|python3-pip) ;; *) filtered+=("$package") ;; esac
    done
    missing=("${filtered[@]+"${filtered[@]}"}")
fi

if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing: ${missing[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q "${missing[@]}"
    # On a machine run by systemd the package enables and starts Prometheus
    # (and its recommended node exporter) as system services; the tests
    # need only the binaries.
    if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
        $sudo systemctl disable --now prometheus.service prometheus-node-exporter.service 2>/dev/null || true
    fi
fi

if ! command -v swift >/dev/null; then
    if [ -x /opt/swift/usr/bin/swift ]; then
        echo "note: swift is at /opt/swift/usr/bin; add it to PATH" >&2
    else
        echo "error: Swift 6 is required (swift.org/install); 'swift' is not on PATH" >&2
        exit 1
    fi
fi
