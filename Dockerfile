# Two stages. The first installs everything, compiles the hub ahead of time and bundles the
# dashboard (`npm run build`), then drops the development dependencies. The second holds only
# Node, an init process, the compiled hub with the built dashboard and the production
# dependencies, and runs as an ordinary user: no TypeScript loader, no build at start.
FROM node:22-bookworm-slim AS build
# better-sqlite3 is compiled here when no prebuilt binary fits.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:22-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends tini && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 DATA_DIR=/data
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/build ./build
# The hub owns only its data directory.
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 1883 8883 8080
# tini forwards SIGTERM to the hub (which shuts down gracefully) and reaps what it leaves.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["node", "build/hub/main.js"]
