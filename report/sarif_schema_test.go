package report

import (
	"bytes"
	"encoding/json"
	"os"
	"testing"

	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/subject"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// sarifSchema is the OASIS SARIF 2.1.0 JSON schema
// (sarif-schema-2.1.0.json, the one code scanning services validate
// uploads against), kept under testdata so the test needs no network.
const sarifSchema = "testdata/sarif-schema-2.1.0.json"

// validateSARIF fails t unless data is a SARIF 2.1.0 log by the schema.
func validateSARIF(t *testing.T, schemaFile string, data []byte) {
	t.Helper()
	if err := checkSARIF(t, schemaFile, data); err != nil {
		t.Fatalf("SARIF output does not validate against the SARIF 2.1.0 schema: %v\n%s", err, data)
	}
}

func checkSARIF(t *testing.T, schemaFile string, data []byte) error {
	t.Helper()
	f, err := os.Open(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
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
		return err
	}
	return sch.Validate(inst)
}

// TestSARIFSchemaCatches: the schema check fails what code scanning would
// refuse, so passing it means something.
func TestSARIFSchemaCatches(t *testing.T) {
	for _, bad := range []string{
		`{"version": "2.0.0", "runs": []}`,
		`{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {"text": "m"}, "level": "fatal"}]}]}`,
		`{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {"text": "m"}, "locations": [{"physicalLocation": {"region": {"startLine": 0}}}]}]}]}`,
	} {
		if checkSARIF(t, sarifSchema, []byte(bad)) == nil {
			t.Errorf("schema accepts %s", bad)
		}
	}
}

// TestSARIFSchema: what `check -o sarif` writes is a valid SARIF 2.1.0 log
// for every shape of result: none, failures with locations, Dockerfiles,
// errors without a line, standard input, passes, skips and warnings.
func TestSARIFSchema(t *testing.T) {
	p := policy.Builtin()[0]
	stdin := &subject.Resource{APIVersion: "v1", Kind: "Pod", Namespace: "default", Name: "from-stdin", File: "-"}
	docker := &subject.Resource{Kind: subject.KindDockerfile, Name: "services/api/Dockerfile", File: "services/api/Dockerfile"}
	noLine := &subject.Resource{APIVersion: "apps/v1", Kind: "Deployment", Namespace: "shop", Name: "web", File: "k8s/dir with space/web.yaml"}
	mk := func(res *subject.Resource, image string, line int, rule int, st policy.Status, action policy.Action) policy.Result {
		sub := &subject.Subject{Resource: res, Container: "app", Field: "spec.containers[0].image", Image: image, Line: line, Column: 3}
		return policy.Result{Policy: p, Rule: &p.Spec.Rules[rule], Status: st, Action: action, Message: "msg <&> \"quoted\"", Subject: sub, Lineage: lineage.Lineage{}}
	}
	cases := map[string][]policy.Result{
		"empty":  nil,
		"sample": sample(),
		"mixed": {
			mk(stdin, "centos:7", 4, 1, policy.StatusFail, policy.Enforce),
			mk(docker, "ubuntu:18.04", 1, 1, policy.StatusFail, policy.Audit),
			mk(noLine, "Bad Image", 0, 0, policy.StatusError, policy.Enforce),
			mk(noLine, "alpine:3.19", 0, 0, policy.StatusPass, policy.Enforce),
			mk(noLine, "alpine:3.19", 0, 2, policy.StatusSkip, policy.Enforce),
			mk(noLine, "alpine:3.19", 0, 3, policy.StatusWarn, policy.Warn),
		},
	}
	for name, results := range cases {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := SARIF(&buf, results, policy.Builtin(), "1.2.3"); err != nil {
				t.Fatal(err)
			}
			validateSARIF(t, sarifSchema, buf.Bytes())
			var log struct {
				Runs []struct{ Results []json.RawMessage }
			}
			json.Unmarshal(buf.Bytes(), &log)
			if len(log.Runs) != 1 {
				t.Fatalf("%d runs, want 1", len(log.Runs))
			}
		})
	}
}
