# escape=`
FROM REGISTRY/base/alpine:3.19 `
  AS build
RUN echo `
  hi
