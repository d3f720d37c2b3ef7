#!/usr/bin/env bash
# The whole test suite, from a clean clone on Debian 12 as root:
#   1. Debian packages (scripts/install-deps.sh) and a Python venv (.venv)
#   2. Swift unit tests (Swift Testing)
#   3. the same unit tests under AddressSanitizer and UndefinedBehaviorSanitizer
#   4. Python integration tests against the debug binary (grpcio, h2), then
#      the attack suite (pytest marker `attack`, issue 20) against the release
#      binary, whose latency and memory figures it judges
#   5. bounded libFuzzer runs of Tests/Fuzz/* (scripts/fuzz.sh), TICKWIRE_FUZZ_SECONDS each
# Set TICKWIRE_SKIP_SANITIZERS=1 to skip step 3, TICKWIRE_SKIP_FUZZ=1 to skip
# step 5, while iterating locally.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"

step() { printf '\n== %s\n' "$*"; }

step "dependencies"
bash scripts/install-deps.sh --test
if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -r Tests/Integration/requirements.txt

step "build"
swift build --build-tests
swift build -c release --product tickwire

step "unit tests"
swift test --skip-build

if [ "${TICKWIRE_SKIP_SANITIZERS:-0}" != "1" ]; then
    step "unit tests under AddressSanitizer + UndefinedBehaviorSanitizer"
    # Swift traps its own undefined behaviour (overflow, bounds) already, so
    # UBSan instruments the C and C++ edges; ASan covers everything.
    LSAN_OPTIONS="suppressions=$root/Tests/Sanitizers/lsan.supp" \
        swift test --sanitize=address -Xcc -fsanitize=undefined -Xcxx -fsanitize=undefined \
        --scratch-path .build-sanitize
fi

step "integration tests"
TICKWIRE_BIN="$root/.build/debug/tickwire" .venv/bin/python -m pytest -q -m "not attack" Tests/Integration

step "attack suite (release build)"
TICKWIRE_BIN="$root/.build/release/tickwire" .venv/bin/python -m pytest -q -s -m attack Tests/Integration

if [ "${TICKWIRE_SKIP_FUZZ:-0}" != "1" ]; then
    step "fuzzing (libFuzzer, ${TICKWIRE_FUZZ_SECONDS:-60} s per harness)"
    bash scripts/fuzz.sh "${TICKWIRE_FUZZ_SECONDS:-60}"
fi
