# syntax=docker/dockerfile:1
FROM REGISTRY/base/alpine:3.19
RUN apk add --no-cache ca-certificates
