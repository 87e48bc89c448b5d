ARG V=3.19
FROM REGISTRY/base/alpine:${V} AS full
FROM REGISTRY/base/alpine:${V}-slim
COPY --from=full / /
