#!/usr/bin/env bash
# Builds MarketData, Indicators and Candles with -O (whole module) and the
# bench in bench/candles/main.swift against them, then runs it on the real
# 2024-08-08 recording. No SwiftPM: three swiftc module builds, in seconds.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=$(mktemp -d)
swiftc=${SWIFTC:-/opt/swift/usr/bin/swiftc}
for module in MarketData Indicators Candles; do
    "$swiftc" -O -wmo -parse-as-library -module-name "$module" -emit-module -emit-module-path "$out/$module.swiftmodule" \
        -emit-object -o "$out/$module.o" -I "$out" "$root"/Sources/"$module"/*.swift
done
"$swiftc" -O -I "$out" -o "$out/candles-bench" "$root/bench/candles/main.swift" "$out"/MarketData.o "$out"/Indicators.o "$out"/Candles.o
"$out/candles-bench" "$root/Tests/Fixtures/binance-2024-08-08-btcusdt-ethusdt-trades.jsonl"
rm -rf "$out"
