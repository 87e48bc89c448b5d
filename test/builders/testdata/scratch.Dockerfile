# An image FROM scratch whose files differ per platform.
FROM scratch
ARG TARGETARCH
COPY ${TARGETARCH}/ /
