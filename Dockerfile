# syntax=docker/dockerfile:1
# The baseguard image that charts/baseguard and deploy/ run: a static binary
# on distroless, non-root.
ARG GO_VERSION=1.26
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
ARG TARGETOS TARGETARCH VERSION=dev
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/baseguard ./cmd/baseguard

FROM gcr.io/distroless/static:nonroot
LABEL org.opencontainers.image.source="https://github.com/baseguard/baseguard" \
      org.opencontainers.image.base.name="gcr.io/distroless/static:nonroot"
COPY --from=build /out/baseguard /baseguard
USER 65532:65532
ENTRYPOINT ["/baseguard"]
