package main

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkCheck10k checks 10,000 generated resources against the seed
// policy, JSON to io.Discard, as `bench/check.sh` does with the binary.
func BenchmarkCheck10k(b *testing.B) {
	dir := b.TempDir()
	file := filepath.Join(dir, "resources.yaml")
	gen := exec.Command("go", "run", "../../bench/gen", "-n", "10000")
	var out bytes.Buffer
	gen.Stdout = &out
	if err := gen.Run(); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(file, out.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cmd := newRootCmd()
		cmd.SetArgs([]string{"check", "-p", "../../examples/policies/seed-policy.yaml", "-o", "json", file})
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		cmd.Execute()
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "resources/s")
}
