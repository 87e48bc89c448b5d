// Command admission is a load generator for `baseguard serve`: it posts
// real AdmissionReview v1 requests over HTTPS on loopback, at fixed rates
// (open loop: latency is measured from when each request was due, so a
// stalled server is not hidden by a stalled client) and at saturation
// (closed loop), and reports p50, p99 and max latency, throughput, and the
// server's resident memory (VmRSS of -pid) idle and under load.
//
//	bench/admission/run.sh -rates 500,1000,2000,3000 -duration 10s -concurrency 8   # builds and starts the server too
//	go run ./bench/admission -addr 127.0.0.1:8443 -ca certs/ca.crt -pid PID        # against a running server
//
// Every loop is bounded by a request count and a duration. Only loopback
// addresses are accepted.
package main
