# build stage
from   --platform=$BUILDPLATFORM	REGISTRY/base/alpine:3.19-slim   AS   build
RUN echo hi

FrOm build AS test
RUN true

FROM scratch
COPY --from=build /x /x

  FROM REGISTRY/base/distroless:nonroot as final
USER 65532
