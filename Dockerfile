# Build: the same `bun run build` as everywhere else, then only the executables ship.
FROM oven/bun:1.4.5 AS build
WORKDIR /src
COPY package.json bun.lock bunfig.toml tsconfig.json ./
COPY patches patches
RUN bun install --frozen-lockfile --production --ignore-scripts
COPY lib lib
COPY auth auth
COPY product product
COPY order order
COPY gateway gateway
RUN bun run build

# Run: glibc and nothing else (no shell, no package manager), as a non-root user.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/dist/gateway /src/dist/auth /src/dist/product /src/dist/order /app/
ENV NODE_ENV=production
USER nonroot
EXPOSE 8000 8001 8002 8003
# The image runs the gateway unless told otherwise: `docker run IMAGE /app/product`.
# Whichever runs checks itself: the check runs the container's own process (pid 1, the
# command given; there is no shell to ask) with `--healthcheck`, which asks that service's
# /ready on its own port. (With `docker run --init` pid 1 is the init: give --health-cmd.)
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 CMD ["/proc/1/exe", "--healthcheck"]
CMD ["/app/gateway"]
