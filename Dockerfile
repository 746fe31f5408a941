# Multi-stage: compile (with the toolchain better-sqlite3 needs), then a slim
# runtime with production dependencies only, running as the non-root `node` user.
# Not built on the development machine of this repo (no Docker engine there).
#
# Node 24, an LTS line (Node 20 left support in April 2026), pinned by digest
# so that every build starts from the same bytes. To update: look the tag's
# current digest up and replace it in NODE_IMAGE (both stages use it):
#   docker buildx imagetools inspect node:24-bookworm-slim --format '{{json .Manifest.Digest}}'
ARG NODE_IMAGE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d
FROM ${NODE_IMAGE} AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY ui ./ui
RUN npm run build && npm prune --omit=dev

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    TENANTRY_HOST=0.0.0.0 \
    TENANTRY_PORT=4000 \
    TENANTRY_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 4000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD node -e "fetch('http://127.0.0.1:4000/healthz').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
# A larger young generation: replaying the log into memory at start-up and serving
# many small objects spend much less time in garbage collection (bench/README.md).
CMD ["node", "--max-semi-space-size=64", "dist/main.js", "serve"]
