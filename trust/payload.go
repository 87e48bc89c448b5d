package trust

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/secure-systems-lab/go-securesystemslib/dsse"
)

// ErrMalformed is wrapped by every error about a payload, an envelope, a
// statement or a predicate that cannot be read.
var ErrMalformed = errors.New("malformed")

// The payload and statement types read.
const (
	// simpleSigningTypeCosign is the type cosign writes in its
	// simple-signing payloads; simpleSigningTypeAtomic the one of
	// containers/image, which cosign also accepts.
	simpleSigningTypeCosign = "cosign container image signature"
	simpleSigningTypeAtomic = "atomic container signature"
	// payloadTypeInToto is the DSSE payload type of in-toto statements.
	payloadTypeInToto = "application/vnd.in-toto+json"
	// PredicateCosignSign is the predicate of cosign 3's image signatures:
	// a signature, not scan evidence.
	PredicateCosignSign = "https://sigstore.dev/cosign/sign/v1"
	// PredicateVuln is cosign's vulnerability scan predicate, and
	// predicateVulnOld its older spelling without the scheme.
	PredicateVuln    = "https://cosign.sigstore.dev/attestation/vuln/v1"
	predicateVulnOld = "cosign.sigstore.dev/attestation/vuln/v1"
)

// simpleSigning is cosign's signature payload: the digest signed.
type simpleSigning struct {
	Critical struct {
		Identity struct {
			DockerReference string `json:"docker-reference"`
		} `json:"identity"`
		Image struct {
			DockerManifestDigest string `json:"docker-manifest-digest"`
		} `json:"image"`
		Type string `json:"type"`
	} `json:"critical"`
}

// parseSimpleSigning reads a simple-signing payload and returns the digest
// it names.
func parseSimpleSigning(b []byte) (string, error) {
	var p simpleSigning
	if err := strictJSON(b, &p); err != nil {
		return "", fmt.Errorf("reading a simple-signing payload: %w: %w", ErrMalformed, err)
	}
	c := p.Critical
	if t := c.Type; !strings.EqualFold(t, simpleSigningTypeCosign) && !strings.EqualFold(t, simpleSigningTypeAtomic) {
		return "", fmt.Errorf("reading a simple-signing payload: %w: type %q, want %q", ErrMalformed, t, simpleSigningTypeCosign)
	}
	d := c.Image.DockerManifestDigest
	if !isDigest(d) {
		return "", fmt.Errorf("reading a simple-signing payload: %w: docker-manifest-digest %q is not a sha256 digest", ErrMalformed, d)
	}
	return d, nil
}

// parseEnvelope reads a DSSE envelope holding an in-toto statement and
// returns it with its decoded payload.
func parseEnvelope(b []byte) (*dsse.Envelope, []byte, error) {
	var env dsse.Envelope
	if err := strictJSON(b, &env); err != nil {
		return nil, nil, fmt.Errorf("reading a DSSE envelope: %w: %w", ErrMalformed, err)
	}
	if env.PayloadType != payloadTypeInToto {
		return nil, nil, fmt.Errorf("reading a DSSE envelope: %w: payload type %q, want %s", ErrMalformed, env.PayloadType, payloadTypeInToto)
	}
	if len(env.Signatures) == 0 {
		return nil, nil, fmt.Errorf("reading a DSSE envelope: %w: it holds no signature", ErrMalformed)
	}
	body, err := decodeBase64(env.Payload)
	if err != nil {
		return nil, nil, fmt.Errorf("reading a DSSE envelope: %w: payload: %w", ErrMalformed, err)
	}
	return &env, body, nil
}

// statement is an in-toto statement (v0.1 or v1) with its predicate left
// raw: a scan report can be megabytes.
type statement struct {
	Type          string          `json:"_type"`
	Subject       []subject       `json:"subject"`
	PredicateType string          `json:"predicateType"`
	Predicate     json.RawMessage `json:"predicate"`
}

type subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// maxSubjects bounds a statement's subjects: an image attestation names
// one image; a few more are tolerated, thousands are an attack.
const maxSubjects = 64

// parseStatement reads an in-toto statement and returns it with the image
// digests its subjects name (sha256 only).
func parseStatement(b []byte) (*statement, []string, error) {
	var st statement
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, nil, fmt.Errorf("reading an in-toto statement: %w: %w", ErrMalformed, err)
	}
	if !strings.HasPrefix(st.Type, "https://in-toto.io/Statement/") {
		return nil, nil, fmt.Errorf("reading an in-toto statement: %w: _type %q is not an in-toto statement", ErrMalformed, st.Type)
	}
	if st.PredicateType == "" {
		return nil, nil, fmt.Errorf("reading an in-toto statement: %w: no predicateType", ErrMalformed)
	}
	if len(st.Subject) == 0 || len(st.Subject) > maxSubjects {
		return nil, nil, fmt.Errorf("reading an in-toto statement: %w: %d subjects, want 1 to %d", ErrMalformed, len(st.Subject), maxSubjects)
	}
	var digests []string
	for _, s := range st.Subject {
		if h, ok := s.Digest["sha256"]; ok {
			if d := "sha256:" + h; isDigest(d) {
				digests = append(digests, d)
			}
		}
	}
	if len(digests) == 0 {
		return nil, nil, fmt.Errorf("reading an in-toto statement: %w: no subject has a sha256 digest", ErrMalformed)
	}
	return &st, digests, nil
}

// isVulnPredicate reports whether a predicate type is cosign's
// vulnerability scan, in either spelling.
func isVulnPredicate(t string) bool { return t == PredicateVuln || t == predicateVulnOld }

// isDigest reports whether d is sha256:<64 lowercase hex>.
func isDigest(d string) bool {
	h, ok := strings.CutPrefix(d, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	for _, c := range h {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// decodeBase64 accepts standard and URL encodings, padded or not, as the
// DSSE specification allows.
func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// strictJSON decodes one JSON value and refuses trailing data.
func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}
