# syntax=docker/dockerfile:1
# The images of the three binaries, from one file; the build argument BINARY picks the binary.
# Build from the workspace root (the build needs the whole Cargo workspace):
#   docker build --build-arg BINARY=connection-server -t ghcr.io/mush-dev/mush-connection-server:0.1.0 .
#   docker build --build-arg BINARY=game-server       -t ghcr.io/mush-dev/mush-game-server:0.1.0 .
#   docker build --build-arg BINARY=mush-operator     -t ghcr.io/mush-dev/mush-operator:0.1.0 .
# The image names and tags below are the defaults the chart and the operator use; a test
# (tests/install_manifests.rs) keeps them in agreement with this file.
# Image: ghcr.io/mush-dev/mush-connection-server:0.1.0 BINARY=connection-server
# Image: ghcr.io/mush-dev/mush-game-server:0.1.0 BINARY=game-server
# Image: ghcr.io/mush-dev/mush-operator:0.1.0 BINARY=mush-operator
#
# connection-server: the gateway: telnet on 4201, the web client and WebSocket on 4280 (when
# MUSH_WEB_ADDR is set), telnet over TLS on 4202 and HTTPS/wss on 4243 (with a certificate);
# health and metrics on 9100.
# game-server: game logic and the world; health and metrics on 9100.
# mush-operator: reconciles MushGame resources; health and metrics on 9100.
#
# Needs BuildKit (cache mounts; only the stages the chosen binary needs are built).

# No default: an image built without saying which binary it holds would be a surprise. Without it
# the build stops at the last FROM (`run-` is no stage).
ARG BINARY

# ---- build: release binary of one package, caches kept between builds (BuildKit)
FROM rust:1.95-bookworm AS build
ARG BINARY
WORKDIR /src
# librdkafka is built from source by rdkafka-sys (gcc and make are in the image); zlib is linked
# statically so that the final image needs no libz.
ENV LIBZ_SYS_STATIC=1 \
    CARGO_TERM_COLOR=never
COPY . .
# The package of each binary: building one package (-p) keeps the features of the others out of it.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    case "$BINARY" in \
      connection-server) package=mush-connection-server ;; \
      game-server) package=mush-game-server ;; \
      mush-operator) package=mush-operator ;; \
      *) echo "BINARY (--build-arg) must be connection-server, game-server or mush-operator, not '$BINARY'" >&2; \
         exit 1 ;; \
    esac \
 && cargo build --release --locked -p "$package" --bin "$BINARY" \
 && install -D -m 0755 "target/release/$BINARY" "/out/$BINARY"

# ---- run: glibc and libgcc only, no shell, non-root (uid 65532, "nonroot")
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
LABEL org.opencontainers.image.source="https://github.com/mush-dev/mush" \
      org.opencontainers.image.licenses="Apache-2.0"
USER 65532:65532

# One stage per binary, for what differs: title, ports and the fixed ENTRYPOINT (an exec-form
# ENTRYPOINT cannot name the binary through a variable).
FROM runtime AS run-connection-server
LABEL org.opencontainers.image.title="connection-server"
COPY --from=build /out/connection-server /usr/local/bin/connection-server
EXPOSE 4201 4202 4243 4280 9100
ENTRYPOINT ["/usr/local/bin/connection-server"]

FROM runtime AS run-game-server
LABEL org.opencontainers.image.title="game-server"
COPY --from=build /out/game-server /usr/local/bin/game-server
EXPOSE 9100
ENTRYPOINT ["/usr/local/bin/game-server"]

FROM runtime AS run-mush-operator
LABEL org.opencontainers.image.title="mush-operator"
COPY --from=build /out/mush-operator /usr/local/bin/mush-operator
EXPOSE 9100
ENTRYPOINT ["/usr/local/bin/mush-operator"]

# ---- the image: the stage of the chosen binary
FROM run-${BINARY}
