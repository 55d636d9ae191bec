# wsgate: one image for `wsgate proxy`, `wsgate operator` and `wsgate token`.
#
#   docker build -t wsgate .                       # official Node LTS slim base
#   docker build --build-arg NODE_IMAGE=... .      # any Debian-like image with node and npm
#
# Runs as uid 1000, needs nothing writable (works with a read-only root filesystem),
# and drains open sessions on SIGTERM (`docker stop` / pod deletion). Build with
# `--format docker` under podman/buildah, or the OCI format drops the HEALTHCHECK.
ARG NODE_IMAGE=node:24-bookworm-slim

# Compile the TypeScript (tsconfig's lib/, cli/, proxy/, operator/; tests and benchmarks are not
# copied) with every dependency, dev ones included. Install scripts are
# skipped: the only dev dependency with one is the pinned `node` binary, which this stage
# does not need (the base image's node runs tsc).
FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY lib ./lib
COPY cli ./cli
COPY proxy ./proxy
COPY operator ./operator
RUN node node_modules/typescript/bin/tsc -p tsconfig.json \
 && find dist -name '*.map' -delete

# Production dependencies only (bufferutil's install script picks its prebuilt binary).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && rm -rf /root/.npm /tmp/*

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
# A small young generation: the relay's sessions are long-lived, and the default semi-space
# growth during handshake bursts cost ~9 KiB of RSS per idle session with no measurable
# throughput or latency gain (bench/README.md).
ENV NODE_OPTIONS=--max-semi-space-size=1
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY --from=build /src/dist/lib ./dist/lib
COPY --from=build /src/dist/cli ./dist/cli
COPY --from=build /src/dist/proxy ./dist/proxy
COPY --from=build /src/dist/operator ./dist/operator
# Everything stays root-owned and read-only to the process.
RUN chmod 0755 bin/wsgate.js && ln -s /app/bin/wsgate.js /usr/local/bin/wsgate
USER 1000:1000
EXPOSE 6080 9090
STOPSIGNAL SIGTERM
# No curl in slim images: ask node. Follows WSGATE_METRICS_LISTEN (default 0.0.0.0:9090).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "-e", "const l=process.env.WSGATE_METRICS_LISTEN||'0.0.0.0:9090';const i=l.lastIndexOf(':');let h=i<0?'':l.slice(0,i);if(h===''||h==='0.0.0.0'||h==='[::]')h='127.0.0.1';fetch('http://'+h+':'+l.slice(i+1)+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["wsgate"]
CMD ["--help"]
