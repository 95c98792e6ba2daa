# Build: the same `bun run build` as everywhere else, then only the executables ship.
FROM oven/bun:1.4.5 AS build
WORKDIR /src
COPY package.json bun.lock bunfig.toml tsconfig.json ./
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
# A service answers its own health check (`--healthcheck` reads its port variable).
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 CMD ["/app/gateway", "--healthcheck"]
CMD ["/app/gateway"]
