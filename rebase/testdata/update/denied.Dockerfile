FROM REGISTRY/base/alpine:3.18 AS deprecated
FROM REGISTRY/base/alpine:3.19-slim
