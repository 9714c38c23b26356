# One image for every service; the command picks which one runs:
#   node dist/subgraphs/auth/main.js | dist/subgraphs/conversation/main.js | dist/subgraphs/chat/main.js
#   node dist/gateway/main.js (default)
ARG NODE_IMAGE=node:20-bookworm-slim

# Install stages get a compiler: a native addon (argon2) builds from source when its prebuilt binary
# does not load on the build machine, against the headers the Node image ships (no download).
# The runtime image copies the result and stays without one.
FROM ${NODE_IMAGE} AS toolchain
RUN apt-get update \
    && apt-get install -y --no-install-recommends g++ make python3 \
    && rm -rf /var/lib/apt/lists/*
ENV npm_config_nodedir=/usr/local
WORKDIR /app
COPY package.json package-lock.json ./

# All dependencies (dev included: TypeScript compiles the sources).
FROM toolchain AS deps
RUN npm ci

FROM deps AS build
COPY . .
RUN npm run build

# Production dependencies only. Optional ones (embedded PostgreSQL and Chroma, ~500 MB) serve local
# development and tests; the containers use the real servers, so they are left out.
FROM toolchain AS prod-deps
RUN npm ci --omit=dev --omit=optional

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0
WORKDIR /app
# package.json also marks the project root, which the services locate from dist/.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY schema ./schema
# Files stay root-owned and read-only to the service, which runs as the image's unprivileged user;
# .data/ (caches, e.g. conversation's word vectors) is the one directory it may write.
RUN mkdir .data && chown node:node .data
USER node
EXPOSE 4000 4001 4002 4003
CMD ["node", "dist/gateway/main.js"]
