# syntax=docker/dockerfile:1
# Build: compile TypeScript, then keep only the production dependencies, as the
# lock file gives them. On Node 24 the server runs better-sqlite3 13 (prebuilt);
# the compilers are for 12, which the lock file installs for Node 20 machines.
FROM node:24-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build:server && npm prune --omit=dev

# Runtime: slim, tini as PID 1 (signals reach node; graceful shutdown), non-root.
FROM node:24-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && mkdir -p /data && chown node:node /data
WORKDIR /app
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
ENV NODE_ENV=production DATA_DIR=/data PORT=8080 HOST=0.0.0.0
USER node
VOLUME ["/data"]
EXPOSE 8080
# Sends the configured token (AUTH_TOKEN, AUTH_TOKEN_FILE or the generated one).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["node", "dist/src/cli/main.js", "healthcheck"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "dist/src/cli/main.js", "serve"]
