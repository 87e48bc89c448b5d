# A multi-stage build: a builder stage whose files are copied into the
# shipped stage, built on $BASE. No RUN: runc never starts a container.
ARG REGISTRY
ARG BASE
FROM ${REGISTRY}/library/golang:1.22 AS builder

FROM ${BASE}
ARG TARGETARCH
COPY --from=builder /etc/release /opt/builder-release
COPY ${TARGETARCH}/ /
