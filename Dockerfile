# Tickwire container image: docker build -t tickwire .
#
# Two stages. The build stage is the official Swift image for the toolchain's
# major.minor on Debian 12; the runtime stage is debian:bookworm-slim with only
# the shared libraries the binary links. The Swift standard library and
# Foundation are linked statically, so the runtime needs no Swift.
# Tests/Integration/test_deployment.py checks this file against
# scripts/install-deps.sh, `tickwire --help` and `ldd` of a binary built the
# same way; docs/operations.md describes how to run the image.

FROM swift:6.3-bookworm AS build
# The -dev packages of scripts/install-deps.sh (the test-only ones excluded).
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        pkg-config libnghttp2-dev libssl-dev libwslay-dev libsimdjson-dev liburing-dev libc-ares-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so that a source change does not fetch them again.
# Package.resolved is git-ignored: the [d] glob copies it when it exists.
COPY Package.swift Package.resolve[d] ./
RUN swift package resolve
# The manifest declares the test targets too, so their sources must exist.
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product tickwire --static-swift-stdlib \
    && install -D -m 0755 "$(swift build -c release --show-bin-path)/tickwire" /out/tickwire

FROM debian:bookworm-slim
# One package per library `ldd tickwire` shows, plus the CA store for the
# Binance TLS connection. libc6 and libgcc-s1 are already in the base image.
# liburing2 serves --io io_uring; libc-ares2 resolves the Binance host on the
# loop. The test names any library that is missing
# here, or installed without being linked.
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        ca-certificates libc-ares2 libnghttp2-14 libsimdjson14 libssl3 libstdc++6 liburing2 libwslay1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 tickwire \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin tickwire
COPY --from=build /out/tickwire /usr/local/bin/tickwire
# Numeric, so that Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001
# gRPC (h2c) and grpc.health.v1; Prometheus metrics (the --metrics-listen default).
EXPOSE 50051 20051
# SIGTERM starts the graceful drain (docs/operations.md); a second one skips
# the rest of it.
STOPSIGNAL SIGTERM
# epoll is the default backend: the default seccomp profiles of Docker and
# containerd (Kubernetes' RuntimeDefault) block io_uring, and --io io_uring
# falls back to epoll there with a warning.
ENTRYPOINT ["/usr/local/bin/tickwire"]
# Live Binance trades for --symbols' default (btcusdt,ethusdt). Every flag is
# in `tickwire --help` and can also be set as TICKWIRE_<FLAG>
# (docker run -e TICKWIRE_SYMBOLS=bnbusdt …): the CMD names only --listen, so
# that a variable is not overridden by a flag the user never typed.
CMD ["--listen", "0.0.0.0:50051"]
