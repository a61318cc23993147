# mlcycle worker image.
#
#   docker build -t mlcycle:local .
#   docker run --rm -e TEMPORAL_ADDRESS=... -e MLCYCLE_S3_ENDPOINT=... mlcycle:local          # CPU worker
#   docker run --rm ... mlcycle:local node bin/mlcycle.js worker --queue gpu                 # GPU worker
#
# docker-compose.yml builds it for the worker-cpu and worker-gpu services.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: install every dependency; `npm ci` runs the prepare script, which compiles dist/ and
# writes the prebuilt workflow bundle; then drop the dev dependencies.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
ENV NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false
# Sources first: prepare builds from them (see .dockerignore for what stays out).
COPY . .
RUN --mount=type=cache,target=/root/.npm \
    npm ci \
 && test -f dist/src/cli/main.js \
 && test -f dist/workflow-bundle.js \
 && npm prune --omit=dev

# --- runtime: the compiled CLI, production node_modules, nothing else from the toolchain.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
# Files stay root-owned (read-only for the worker); the worker writes only under /tmp and $HOME.
COPY --from=build /app /app
# The image's unprivileged `node` user (uid 1000).
USER node
ENV MLCYCLE_STATE_DIR=/home/node/.mlcycle
CMD ["node", "bin/mlcycle.js", "worker", "--queue", "cpu"]
