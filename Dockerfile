# The container image of ProspectService: the server (PID 1), prospectctl, dbmate and the
# migrations (for the chart's migration Job), on Debian 12 with only the shared libraries the
# binaries need. Runs as UID 65532 with a read-only root filesystem (it writes nothing; /tmp is
# the only place that may be writable).
#
#   podman build -t prospect-service .      (docker build works the same)
#   --build-arg BASE_IMAGE=...              another Debian 12 base (the tests make their own)
#   --build-arg GIT_REVISION=$(git describe --always --dirty)   shown by prospect-server --version
#   --secret id=ca-certificates,src=/etc/ssl/certs/ca-certificates.crt
#                                           trust the build host's CAs when fetching dbmate from
#                                           npm (behind a TLS-inspecting proxy)
ARG BASE_IMAGE=debian:12-slim

# ---------------------------------------------------------------- build
FROM ${BASE_IMAGE} AS build
ARG GIT_REVISION=unknown
ARG DBMATE_VERSION=2.36.0
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        build-essential cmake pkg-config ca-certificates libgrpc-dev protobuf-c-compiler \
        libprotobuf-c-dev protobuf-compiler libprotobuf-dev grpc-proto \
        golang-github-gogo-googleapis-dev golang-google-genproto-dev python3 libmariadb-dev libhiredis-dev \
        libmicrohttpd-dev libutf8proc-dev libssl-dev nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY CMakeLists.txt ./
COPY cmake cmake
COPY proto proto
COPY server server
COPY client client
COPY migrations migrations
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DPS_BUILD_TESTS=OFF \
        -DCMAKE_INSTALL_PREFIX=/usr/local -DPS_GIT_REVISION="${GIT_REVISION}" \
    && cmake --build /build -j"$(nproc)" \
    && DESTDIR=/out cmake --install /build \
    && rm -f /out/usr/local/lib/*.a \
    && rm -rf /out/usr/local/include /out/usr/local/lib/cmake /out/usr/local/lib/pkgconfig
# dbmate, the migration tool the chart's Job runs (a static binary from its npm package)
RUN --mount=type=secret,id=ca-certificates,target=/run/secrets/ca-certificates.crt \
    if [ -s /run/secrets/ca-certificates.crt ]; then \
        export NODE_EXTRA_CA_CERTS=/run/secrets/ca-certificates.crt; fi \
    && npm install --prefix /tmp/dbmate --no-audit --no-fund --loglevel=error "dbmate@${DBMATE_VERSION}" \
    && install -m 0755 /tmp/dbmate/node_modules/@dbmate/linux-x64/bin/dbmate /out/usr/local/bin/dbmate \
    && /out/usr/local/bin/dbmate --version
# The Debian packages of the shared libraries the binaries load (the runtime stage installs these
# and nothing else).
RUN set -e; for f in /out/usr/local/bin/* /out/usr/local/lib/lib*.so*; do \
        LD_LIBRARY_PATH=/out/usr/local/lib ldd "$f" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $3}'; \
    done | grep -v '^/out/' | sort -u | while read -r lib; do \
        dpkg -S "*/$(basename "$lib")" | cut -d: -f1; \
    done | sort -u > /out/runtime-packages.txt; \
    cat /out/runtime-packages.txt

# ---------------------------------------------------------------- runtime
FROM ${BASE_IMAGE}
COPY --from=build /out/runtime-packages.txt /usr/local/share/prospects/runtime-packages.txt
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        ca-certificates $(cat /usr/local/share/prospects/runtime-packages.txt) \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
              /var/log/apt /var/log/dpkg.log /var/cache/debconf/*-old
COPY --from=build /out/usr/local /usr/local
RUN ldconfig && /usr/local/bin/prospect-server --version && /usr/local/bin/prospectctl --version
ENV PS_LISTEN=[::]:50051 \
    PS_HEALTH_LISTEN=[::]:8081 \
    PS_METRICS_LISTEN=[::]:9090 \
    PS_LOG_LEVEL=info \
    PS_LOG_FORMAT=json
EXPOSE 50051 8081 9090
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/prospect-server"]
