#!/usr/bin/env bash
# Bounded libFuzzer runs of the harnesses under Tests/Fuzz/:
#   scripts/fuzz.sh [seconds-per-harness [harness...]]    (default 60, all)
# Builds each harness into .build-fuzz/, runs it for the given time against a
# copy of its committed seed corpus (so runs never grow Tests/Fuzz/*/corpus), and
# exits non-zero on any crash, leak, timeout or sanitizer report. Reproducers
# land in .build-fuzz/<harness>/artifacts/; rerun one with
#   .build-fuzz/<harness>/fuzzer .build-fuzz/<harness>/artifacts/crash-…
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
[ -d /opt/swift/usr/bin ] && export PATH="/opt/swift/usr/bin:$PATH"

seconds=${1:-60}
shift || true
all_harnesses=(binance_json grpc_deframer indicator_request grpc_connection)
harnesses=("${@:-${all_harnesses[@]}}")
out=.build-fuzz
# The Swift runtime's backtracer would outlive a crashing harness and hold
# its output open; libFuzzer and ASan already print the stack.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

build_binance_json() {
    # Same ISA flags as Package.swift's CBinanceJSON target, so simdjson
    # compiles the same (westmere) kernel the server runs.
    clang++ -std=c++17 -O2 -g -fno-omit-frame-pointer \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -msse4.2 -mpclmul -mpopcnt -fuse-ld=lld \
        -I Sources/CBinanceJSON/include \
        Tests/Fuzz/binance_json/fuzz_binance_json.cpp Sources/CBinanceJSON/binance_json.cpp \
        -lsimdjson -o "$1"
}

build_grpc_deframer() {
    # MessageDeframer and the one type it uses (WireMessage, for its prefix
    # length), compiled from Sources/ into a single module with the harness:
    # the copy drops its `import GRPCWire`, since WireMessage is compiled in.
    local dir
    dir=$(dirname "$1")
    sed '/^import GRPCWire$/d' Sources/GRPCServer/MessageDeframer.swift >"$dir/MessageDeframer.swift"
    swiftc -sanitize=fuzzer,address -parse-as-library -O -g -use-ld=lld \
        -module-name DeframerFuzz \
        "$dir/MessageDeframer.swift" Sources/GRPCWire/WireMessage.swift \
        Tests/Fuzz/grpc_deframer/FuzzMessageDeframer.swift -o "$1"
}

# The harnesses that need more than a file or two of one target (SwiftProtobuf,
# the server, the reactor) link against SwiftPM's build of Application and
# everything under it, instrumented once per run and shared. A release build
# (a debug one compiles no faster here and fuzzes 5-10x slower), with
# -enable-testing so the harnesses can `@testable import` the internal seams
# they drive. Nothing else builds in this scratch path, so every object in
# it belongs to Application's closure.
spm="$out/spm-release"
build_spm_modules() {
    [ -n "${spm_built:-}" ] && return 0
    swift build -c release --target Application --scratch-path "$spm" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing || return 1
    spm_built=1
}

# link_with_modules OUTPUT SOURCE...: one harness module over the built objects.
link_with_modules() {
    local output=$1; shift
    build_spm_modules || return 1
    local bin maps=() map
    bin=$(swift build -c release --scratch-path "$spm" --show-bin-path)
    for map in "$bin"/*.build/module.modulemap Sources/CSystem/*/module.modulemap \
               "$spm"/checkouts/swift-atomics/Sources/_AtomicsShims/include/module.modulemap; do
        maps+=(-Xcc "-fmodule-map-file=$map")
    done
    swiftc -sanitize=fuzzer,address -parse-as-library -O -g -use-ld=lld \
        -I "$bin/Modules" "${maps[@]}" \
        -Xcc -I -Xcc Sources/CTickwireShim/include -Xcc -I -Xcc Sources/CBinanceJSON/include \
        "$@" "$bin"/*.build/*.o "$bin"/*.build/src/*.o -lnghttp2 -lssl -lcrypto -lwslay -lsimdjson -lstdc++ -o "$output"
}

build_indicator_request() {
    # The engine's rig streams are the unit tests' RecordingStream.
    link_with_modules "$1" Tests/Fuzz/common/FuzzBytes.swift Tests/Fuzz/indicator_request/*.swift \
        Tests/EngineTests/RecordingStream.swift
}

build_grpc_connection() {
    link_with_modules "$1" Tests/Fuzz/grpc_connection/*.swift
}

run_harness() {
    local name=$1 dir="$out/$1"
    rm -rf "$dir/corpus" "$dir/artifacts"
    mkdir -p "$dir/corpus" "$dir/artifacts"
    if ! "build_$name" "$dir/fuzzer" >"$dir/build.log" 2>&1; then
        cat "$dir/build.log"
        echo "fuzz: $name: build failed" >&2
        return 1
    fi
    cp Tests/Fuzz/"$name"/corpus/* "$dir/corpus/"
    local dict=()
    [ -f "Tests/Fuzz/$name/$name.dict" ] && dict=("-dict=Tests/Fuzz/$name/$name.dict")
    local status=0
    "$dir/fuzzer" "$dir/corpus" "${dict[@]}" \
        -max_total_time="$seconds" -timeout=5 -rss_limit_mb=2048 -max_len=8192 \
        -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
        >"$dir/fuzz.log" 2>&1 || status=$?
    local last
    last=$(grep -E '^#[0-9]+' "$dir/fuzz.log" | tail -n 1 || true)
    local cov=${last#*cov: }; cov=${cov%% *}
    local execs=$(grep -E '^stat::average_exec_per_sec' "$dir/fuzz.log" | awk '{print $2}')
    local runs=$(grep -E '^stat::number_of_executed_units' "$dir/fuzz.log" | awk '{print $2}')
    printf 'fuzz: %-14s %ss  runs %s  exec/s %s  cov %s  (%s)\n' \
        "$name" "$seconds" "${runs:-?}" "${execs:-?}" "${cov:-?}" "$last"
    if [ "$status" -ne 0 ] || grep -qE 'ERROR: (libFuzzer|AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: ' "$dir/fuzz.log"; then
        grep -E -A40 'ERROR: |runtime error:|invariant broken|Fatal error' "$dir/fuzz.log" | head -n 80 || tail -n 60 "$dir/fuzz.log"
        echo "fuzz: $name FAILED (exit $status); log $dir/fuzz.log, reproducer in $dir/artifacts/" >&2
        return 1
    fi
}

failed=0
for harness in "${harnesses[@]}"; do
    run_harness "$harness" || failed=1
done
exit "$failed"
