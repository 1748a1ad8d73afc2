# syntax=docker/dockerfile:1

# ---- build: install everything, generate the Prisma client, compile, drop the dev dependencies ----
FROM node:20-bookworm-slim AS build
WORKDIR /app

# Only what `npm ci` needs, so that this layer stays cached while only sources change. Our postinstall
# (scripts/generate-prisma-client.mjs) runs `prisma generate` from prisma/schema.prisma into
# src/generated/prisma, and sets PRISMA_SCHEMA_ENGINE_BINARY itself so that no engine is downloaded.
COPY package.json package-lock.json prisma.config.ts ./
COPY scripts/generate-prisma-client.mjs scripts/
COPY prisma/schema.prisma prisma/
RUN npm ci --no-audit --no-fund

# The sources; .dockerignore keeps src/generated out, so the client generated above stays.
COPY tsconfig.json tsconfig.build.json ./
COPY src src
# The build compiles src/generated/prisma into dist/generated/prisma. The prune does not run our
# postinstall, which would anyway exit 0 once the prisma CLI is gone.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

# ---- runtime: the compiled code, production dependencies and the migrations, as a non-root user ----
FROM node:20-bookworm-slim AS runtime
# MALLOC_ARENA_MAX: fewer glibc arenas keep the memory argon2 hashes borrow from staying resident
# (bench/README.md: about 60 MB less after a burst of logins).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=4000 \
    KAFKEY_DATA_DIR=/data \
    MALLOC_ARENA_MAX=2
WORKDIR /app

RUN groupadd --system --gid 10001 kafkey \
    && useradd --system --uid 10001 --gid kafkey --home-dir /app --shell /usr/sbin/nologin kafkey \
    && mkdir -p /data \
    && chown kafkey:kafkey /data

# Owned by root and so read-only for the service: only /data is writable.
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
# dist/platform/db/migrator.js reads ../../../prisma/migrations, that is /app/prisma/migrations.
COPY prisma/migrations prisma/migrations

USER kafkey
# Embedded PGlite (when DATABASE_URL is unset) and development secrets.
VOLUME ["/data"]
EXPOSE 4000

# slim images have no curl: ask Node. Migrations run before the server listens (KAFKEY_MIGRATE_ON_START).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 4000) + '/health/live').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

CMD ["node", "--enable-source-maps", "dist/main.js"]
