# syntax=docker/dockerfile:1
# Gatehouse's container image: compiled in one stage, run from a second one that holds only the
# compiled code and production dependencies, as the unprivileged "node" user.
#
#   docker build -t gatehouse .
#   docker run -p 8080:8080 -e GATEHOUSE_CONFIG="$(cat gatehouse.yaml)" -e OIDC_CLIENT_SECRET=... gatehouse
#
# Configuration: GATEHOUSE_CONFIG (the YAML or JSON document itself) or GATEHOUSE_CONFIG_FILE (a
# mounted file); ${NAME} references inside it are read from the environment, so secrets can come
# from the orchestrator's secret store. See docs/operations.md.
ARG NODE_IMAGE=node:22-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Manifests first, so the dependency layer is reused until they change. npm ci needs every
# workspace's manifest to check the lockfile, even those it does not install.
COPY package.json package-lock.json tsconfig.base.json ./
COPY packages/gatehouse/package.json packages/gatehouse/
COPY packages/client/package.json packages/client/
COPY packages/aws/package.json packages/aws/
COPY examples/demo/package.json examples/demo/
RUN npm ci --workspace packages/gatehouse --include-workspace-root --ignore-scripts --no-audit --no-fund
COPY packages/gatehouse/ packages/gatehouse/
RUN npx tsc -b packages/gatehouse \
  && npm ci --omit=dev --workspace packages/gatehouse --ignore-scripts --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production
WORKDIR /app
# Owned by root and read-only to the process: the running server cannot change its own code.
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/packages/gatehouse/package.json ./packages/gatehouse/
COPY --from=build /src/packages/gatehouse/bin ./packages/gatehouse/bin
COPY --from=build /src/packages/gatehouse/dist ./packages/gatehouse/dist
USER node
# 8080: the public listener (SPA and /api). 9090: the admin listener (/healthz, /readyz, /metrics).
EXPOSE 8080 9090
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "/app/packages/gatehouse/bin/gatehouse.js", "health"]
# node is PID 1 and handles SIGTERM itself: stop accepting, drain in-flight requests, exit 0.
STOPSIGNAL SIGTERM
# A 32 MB young generation (V8's default tops out at 16 MB): a proxy's per-request objects and the
# 64 KiB read buffers of streamed answers then die young instead of being promoted and collected by
# bursts of full GCs (docs/operations.md, "Node.js heap"). Workers inherit the flag.
ENTRYPOINT ["node", "--max-semi-space-size=32", "/app/packages/gatehouse/bin/gatehouse.js"]
CMD ["start"]
