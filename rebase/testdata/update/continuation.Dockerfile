FROM \
    --platform=linux/amd64 \
    # a comment inside the instruction
    REGISTRY/base/alpine:3.20 \
    AS runtime
CMD ["/app"]
