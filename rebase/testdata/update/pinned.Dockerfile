FROM REGISTRY/base/alpine:3.19@OLD319 AS moved
FROM REGISTRY/base/alpine:3.21@CUR321 AS current
