FROM REGISTRY/base/alpine
RUN true