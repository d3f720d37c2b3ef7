# Tickwire container image. Build: docker build -t tickwire .
# (Not built in CI: the project's machines run no Docker engine. The container
# work, with probes and a non-root user, is tracked in the operability issue.)
FROM swift:6.1-bookworm AS build
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        pkg-config libnghttp2-dev libssl-dev libwslay-dev libsimdjson-dev liburing-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product tickwire --static-swift-stdlib

FROM debian:bookworm-slim
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        libnghttp2-14 libssl3 libwslay1 libsimdjson14 liburing2 ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 tickwire
COPY --from=build /src/.build/release/tickwire /usr/local/bin/tickwire
USER 10001
EXPOSE 50051
# epoll is the default backend: io_uring is blocked by the default seccomp
# profiles of Docker and containerd.
ENTRYPOINT ["/usr/local/bin/tickwire"]
