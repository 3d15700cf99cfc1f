# syntax=docker/dockerfile:1

# Node 24 LTS, the runtime firelane targets (package.json engines; .ci/run tests this major).
# Both stages use the same image: the native better-sqlite3 addon built here must match the
# runtime's Node ABI and glibc.
FROM node:24-bookworm-slim AS build
# better-sqlite3 compiles from source when no prebuilt binary can be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the package's `prepare` script runs tsc, and the sources are not
# copied yet (keeps this layer cached across source changes); the native addon is then
# built explicitly.
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production DATABASE_PATH=/data/firelane.db PORT=3000
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/migrations ./migrations
COPY web ./web
# For `node dist/cli.js manifest slack --url=...` inside the container.
COPY manifests/slack/manifest.yaml ./manifests/slack/manifest.yaml
COPY --from=build /app/package.json ./package.json
# Created before VOLUME so a new named volume inherits the node user's ownership.
RUN mkdir -p /data && chown node:node /data
VOLUME /data
USER node
EXPOSE 3000
# Slim images have no curl: Node's built-in fetch does the probe.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
CMD ["node", "--max-semi-space-size=4", "dist/main.js"]
