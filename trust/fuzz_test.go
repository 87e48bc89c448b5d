package trust

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// The parsers read what anyone who can push to a repository can write:
// none may panic, what they refuse is ErrMalformed (an error result, never
// a pass), and what they accept they must describe.

func malformed(t *testing.T, err error) {
	t.Helper()
	if err != nil && !errors.Is(err, ErrMalformed) {
		t.Fatalf("refused without ErrMalformed: %v", err)
	}
}

func FuzzSimpleSigning(f *testing.F) {
	f.Add([]byte(`{"critical":{"identity":{"docker-reference":"r/a"},"image":{"docker-manifest-digest":"sha256:` + strings.Repeat("a", 64) + `"},"type":"cosign container image signature"},"optional":null}`))
	f.Add([]byte(`{"critical":{"image":{"docker-manifest-digest":"sha256:AB"},"type":"atomic container signature"}}`))
	f.Add([]byte(`{"critical":null}{}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseSimpleSigning(b)
		malformed(t, err)
		if err == nil && !isDigest(d) {
			t.Fatalf("accepted %q as the digest signed", d)
		}
	})
}

func FuzzEnvelope(f *testing.F) {
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[{"keyid":"","sig":"AA=="}]}`))
	f.Add([]byte(`{"payloadType":"application/vnd.in-toto+json","payload":"e30","signatures":[]}`))
	f.Add([]byte(`{"payloadType":"text/plain","payload":"%%%","signatures":[{"sig":"@"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		env, body, err := parseEnvelope(b)
		malformed(t, err)
		if err != nil {
			return
		}
		if env.PayloadType != payloadTypeInToto || len(env.Signatures) == 0 || body == nil {
			t.Fatalf("accepted an envelope without an in-toto payload or a signature: %+v", env)
		}
	})
}

func FuzzStatement(f *testing.F) {
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"x","digest":{"sha256":"` + strings.Repeat("b", 64) + `"}}],"predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v0.1","subject":[{"digest":{"sha512":"00"}}],"predicateType":"x"}`))
	f.Add([]byte(`{"_type":"https://in-toto.io/Statement/v1","subject":[],"predicateType":"x","predicate":"s"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, digests, err := parseStatement(b)
		malformed(t, err)
		if err != nil {
			return
		}
		if st.PredicateType == "" || len(digests) == 0 || len(digests) > maxSubjects {
			t.Fatalf("accepted a statement without a predicate type or digests: %+v %v", st, digests)
		}
		for _, d := range digests {
			if !isDigest(d) {
				t.Fatalf("accepted subject digest %q", d)
			}
		}
	})
}

func FuzzVulnPredicate(f *testing.F) {
	f.Add([]byte(`{"scanner":{"uri":"pkg:github/aquasecurity/trivy@0.58.1","version":"0.58.1","result":{"SchemaVersion":2,"Results":[{"Vulnerabilities":[{"VulnerabilityID":"CVE-1","Severity":"CRITICAL"}]}]}},"metadata":{"scanFinishedOn":"2026-11-22T09:14:03Z"}}`))
	f.Add([]byte(`{"scanner":{"uri":"pkg:github/anchore/grype@0.84.0","result":{"matches":[{"vulnerability":{"id":"GHSA-x","severity":"High"},"relatedVulnerabilities":[{"id":"CVE-2"}]}],"descriptor":{"name":"grype"}}},"metadata":{"scanFinishedOn":"2026-11-22T09:14:03.5+01:00"}}`))
	f.Add([]byte(`{"scanner":{"result":{"bomFormat":"CycloneDX"}},"metadata":{"scanFinishedOn":"2026-11-22T09:14:03Z"}}`))
	f.Add([]byte(`{"scanner":{"result":[]},"metadata":{"scanFinishedOn":""}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		scan, err := parseVulnPredicate(b)
		malformed(t, err)
		if err != nil {
			return
		}
		if scan.Finished.IsZero() || scan.Scanner == "" || len(scan.Findings) > maxFindings {
			t.Fatalf("accepted a scan without a finish time or scanner: %+v", scan)
		}
		for _, f := range scan.Findings {
			if strings.TrimSpace(f.ID) == "" {
				t.Fatalf("accepted a finding without an ID: %+v", scan.Findings)
			}
		}
	})
}

func FuzzBundle(f *testing.F) {
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AA=="}]}}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{}},"messageSignature":{"signature":"AA=="}}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle+json;version=0.1"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		sb, payload, err := parseBundle(b)
		malformed(t, err)
		if err != nil {
			return
		}
		if sb.GetDsseEnvelope() == nil || sb.GetDsseEnvelope().GetPayloadType() != payloadTypeInToto {
			t.Fatalf("accepted a bundle without an in-toto envelope")
		}
		if !bytes.Equal(payload, sb.GetDsseEnvelope().GetPayload()) {
			t.Fatalf("the payload returned is not the envelope's")
		}
	})
}
