package integrations

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// validateSARIFFile fails t unless file is a SARIF 2.1.0 log by the OASIS
// schema, the one code scanning validates uploads against.
func validateSARIFFile(t *testing.T, schemaFile, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("reading the SARIF report: %v", err)
	}
	sf, err := os.Open(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	doc, err := jsonschema.UnmarshalJSON(sf)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("sarif.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("sarif.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s is not JSON: %v", file, err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("%s does not validate against the SARIF 2.1.0 schema: %v", file, err)
	}
}

// TestSARIFOfExamples: `check -o sarif` over every example (manifests and
// Dockerfiles, passing and failing) is a SARIF log code scanning accepts.
func TestSARIFOfExamples(t *testing.T) {
	out := filepath.Join(t.TempDir(), "examples.sarif")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(baseguardBin(t), "baseguard"), "check", "-o", "sarif", "examples/")
	cmd.Dir = repoRoot(t)
	cmd.Stdout = f
	err = cmd.Run()
	f.Close()
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
		t.Fatalf("check -o sarif examples/: %v (want exit 1: some examples fail)", err)
	}
	validateSARIFFile(t, filepath.Join(repoRoot(t), "report", "testdata", "sarif-schema-2.1.0.json"), out)
}
