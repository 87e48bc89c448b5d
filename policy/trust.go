package policy

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/baseguard/baseguard/lineage"
	"go.yaml.in/yaml/v3"
)

// Signers say who must have signed: public keys and, optionally, a
// Sigstore trusted root whose transparency log must hold the signature.
type Signers struct {
	Keys []Key `yaml:"keys"`
	// TrustedRoot, when given, requires a transparency-log entry that
	// verifies against it; without it, none is required (as `cosign
	// verify --insecure-ignore-tlog`) and results say so.
	TrustedRoot *Root `yaml:"trustedRoot,omitempty"`
}

// VulnerabilityGate requires a fresh vulnerability scan, attested by one
// of its keys, with no finding at or above FailOn that is not ignored.
type VulnerabilityGate struct {
	// Keys and TrustedRoot are who must have attested the scan, as in
	// Signers.
	Keys        []Key `yaml:"keys"`
	TrustedRoot *Root `yaml:"trustedRoot,omitempty"`
	// MaxScanAge: a scan that finished longer ago does not count.
	MaxScanAge Duration `yaml:"maxScanAge,omitempty"`
	// FailOn is the lowest severity that fails: critical, high, medium
	// or low.
	FailOn SeverityLevel `yaml:"failOn"`
	// Ignore lists findings that do not fail the rule until they expire.
	Ignore []VulnerabilityIgnore `yaml:"ignore,omitempty"`
}

// signers are the gate's keys and root; they share the gate's keys, so
// reading them fills the gate's.
func (g *VulnerabilityGate) signers() *Signers {
	return &Signers{Keys: g.Keys, TrustedRoot: g.TrustedRoot}
}

// VulnerabilityIgnore excepts one vulnerability, by ID or alias, until it
// expires.
type VulnerabilityIgnore struct {
	ID      string `yaml:"id"`
	Expires *Date  `yaml:"expires"`
	Reason  string `yaml:"reason"`
}

// SeverityLevel is a severity written in a policy.
type SeverityLevel struct {
	lineage.Severity
	text string
}

// UnmarshalYAML reads critical, high, medium or low.
func (s *SeverityLevel) UnmarshalYAML(n *yaml.Node) error {
	v, ok := lineage.ParseSeverity(n.Value)
	if n.Kind != yaml.ScalarNode || !ok || v < lineage.SeverityLow {
		return fmt.Errorf("line %d: failOn %q: want critical, high, medium or low", n.Line, n.Value)
	}
	*s = SeverityLevel{Severity: v, text: n.Value}
	return nil
}

// MarshalYAML writes the severity as written.
func (s SeverityLevel) MarshalYAML() (any, error) { return s.text, nil }

// IsZero lets `omitempty` drop an unset severity.
func (s SeverityLevel) IsZero() bool { return s.text == "" }

// Key is a public key a rule trusts: a PEM file's path, relative to the
// policy's file, or the PEM itself. ECDSA, Ed25519 and RSA keys.
type Key struct {
	// Ref is the key as written.
	Ref  string
	Line int
	// Key is the key itself: set when written inline, by ReadKeys for a
	// path.
	lineage.PublicKey
}

// UnmarshalYAML reads a path or an inline PEM key.
func (k *Key) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || strings.TrimSpace(n.Value) == "" {
		return fmt.Errorf("line %d: a key must be a PEM public key or the path of one", n.Line)
	}
	*k = Key{Ref: n.Value, Line: n.Line}
	if !isInlinePEM(n.Value) {
		return nil
	}
	pk, err := ParsePublicKey("inline key", []byte(n.Value))
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	k.PublicKey = pk
	return nil
}

// MarshalYAML writes the key as written.
func (k Key) MarshalYAML() (any, error) { return k.Ref, nil }

func isInlinePEM(s string) bool { return strings.HasPrefix(strings.TrimSpace(s), "-----BEGIN") }

// ParsePublicKey reads a PEM public key (ECDSA, Ed25519 or RSA) and names
// it by the sha256 of its DER SubjectPublicKeyInfo, so a key has one ID
// whether written inline or in a file.
func ParsePublicKey(name string, data []byte) (lineage.PublicKey, error) {
	block, rest := pem.Decode(data)
	if block == nil || block.Type != "PUBLIC KEY" {
		return lineage.PublicKey{}, fmt.Errorf("key %s: not a PEM public key (want a \"PUBLIC KEY\" block, as cosign public-key writes)", name)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return lineage.PublicKey{}, fmt.Errorf("key %s: more than one PEM block: give one key per entry", name)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return lineage.PublicKey{}, fmt.Errorf("key %s: parsing: %w", name, err)
	}
	switch pub.(type) {
	case *ecdsa.PublicKey, ed25519.PublicKey, *rsa.PublicKey:
	default:
		return lineage.PublicKey{}, fmt.Errorf("key %s: a %T: want an ECDSA, Ed25519 or RSA key", name, pub)
	}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return lineage.PublicKey{}, fmt.Errorf("key %s: %w", name, err)
	}
	sum := sha256.Sum256(der)
	id := "sha256:" + hex.EncodeToString(sum[:])
	if name == "inline key" {
		name = "inline key " + id[:len("sha256:")+12]
	}
	return lineage.PublicKey{ID: id, Name: name, PEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}, nil
}

// Root is a Sigstore trusted root (trusted_root.json): a path relative to
// the policy's file, or the JSON itself.
type Root struct {
	Ref  string
	Line int
	lineage.TrustedRoot
}

// UnmarshalYAML reads a path or inline JSON.
func (r *Root) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || strings.TrimSpace(n.Value) == "" {
		return fmt.Errorf("line %d: trustedRoot must be a trusted_root.json or the path of one", n.Line)
	}
	*r = Root{Ref: n.Value, Line: n.Line}
	if !strings.HasPrefix(strings.TrimSpace(n.Value), "{") {
		return nil
	}
	tr, err := parseRoot("inline trusted root", []byte(n.Value))
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	r.TrustedRoot = tr
	return nil
}

// MarshalYAML writes the root as written.
func (r Root) MarshalYAML() (any, error) { return r.Ref, nil }

// parseRoot checks that data looks like a Sigstore trusted root; the
// verifier reads it in full.
func parseRoot(name string, data []byte) (lineage.TrustedRoot, error) {
	var probe struct {
		MediaType string            `json:"mediaType"`
		Tlogs     []json.RawMessage `json:"tlogs"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return lineage.TrustedRoot{}, fmt.Errorf("trusted root %s: %w", name, err)
	}
	if !strings.HasPrefix(probe.MediaType, "application/vnd.dev.sigstore.trustedroot") {
		return lineage.TrustedRoot{}, fmt.Errorf("trusted root %s: mediaType %q: want a Sigstore trusted root (application/vnd.dev.sigstore.trustedroot+json)", name, probe.MediaType)
	}
	if len(probe.Tlogs) == 0 {
		return lineage.TrustedRoot{}, fmt.Errorf("trusted root %s: it lists no transparency log (tlogs)", name)
	}
	sum := sha256.Sum256(data)
	return lineage.TrustedRoot{ID: "sha256:" + hex.EncodeToString(sum[:]), Name: name, JSON: data}, nil
}

// ReadKeys reads the keys and trusted roots that policies name by path,
// relative to the directory of the policy's file, with read. Policies
// without such references need no call; NewSet refuses a rule whose key
// was not read.
func ReadKeys(ps []*Policy, read func(name string) ([]byte, error)) error {
	for _, p := range ps {
		for i := range p.Spec.Rules {
			for _, s := range p.Spec.Rules[i].signers() {
				if err := readSigners(p, s, read); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func readSigners(p *Policy, s *Signers, read func(string) ([]byte, error)) error {
	for i := range s.Keys {
		k := &s.Keys[i]
		if k.ID != "" {
			continue
		}
		data, err := read(relativeTo(p.File, k.Ref))
		if err != nil {
			return &LoadError{File: p.File, Line: k.Line, Msg: fmt.Sprintf("reading key %s: %v", k.Ref, err)}
		}
		if k.PublicKey, err = ParsePublicKey(k.Ref, data); err != nil {
			return &LoadError{File: p.File, Line: k.Line, Msg: err.Error()}
		}
	}
	if r := s.TrustedRoot; r != nil && r.ID == "" {
		data, err := read(relativeTo(p.File, r.Ref))
		if err != nil {
			return &LoadError{File: p.File, Line: r.Line, Msg: fmt.Sprintf("reading trusted root %s: %v", r.Ref, err)}
		}
		if r.TrustedRoot, err = parseRoot(r.Ref, data); err != nil {
			return &LoadError{File: p.File, Line: r.Line, Msg: err.Error()}
		}
	}
	return nil
}

func relativeTo(policyFile, ref string) string {
	if filepath.IsAbs(ref) || policyFile == "" || policyFile == "-" {
		return ref
	}
	return filepath.Join(filepath.Dir(policyFile), ref)
}

// signers are the rule's signer lists: signedBy's and vulnerabilities'.
func (r *Rule) signers() []*Signers {
	var out []*Signers
	if r.SignedBy != nil {
		out = append(out, r.SignedBy)
	}
	if r.Vulnerabilities != nil {
		out = append(out, r.Vulnerabilities.signers())
	}
	return out
}

// checkTrust validates a rule's signedBy and vulnerabilities.
func checkTrust(r *Rule, fail loadFailure) error {
	for _, s := range r.signers() {
		if len(s.Keys) == 0 {
			return fail.at(r.Line, "rule %q: give at least one key (a PEM public key, or its path relative to the policy file)", r.Name)
		}
		for _, k := range s.Keys {
			if k.ID == "" {
				return fail.at(k.Line, "rule %q: key %s was not read (load the policy with its key files)", r.Name, k.Ref)
			}
		}
		if s.TrustedRoot != nil && s.TrustedRoot.ID == "" {
			return fail.at(s.TrustedRoot.Line, "rule %q: trusted root %s was not read", r.Name, s.TrustedRoot.Ref)
		}
	}
	v := r.Vulnerabilities
	if v == nil {
		return nil
	}
	if v.FailOn.IsZero() {
		return fail.at(r.Line, "rule %q: vulnerabilities needs failOn: critical, high, medium or low", r.Name)
	}
	for i, ig := range v.Ignore {
		switch {
		case strings.TrimSpace(ig.ID) == "":
			return fail.at(r.Line, "rule %q: vulnerabilities.ignore[%d] has no id", r.Name, i)
		case ig.Expires == nil:
			return fail.at(r.Line, "rule %q: ignoring %s needs expires: ignores are time-limited", r.Name, ig.ID)
		case ig.Reason == "":
			return fail.at(r.Line, "rule %q: ignoring %s needs a reason", r.Name, ig.ID)
		}
	}
	return nil
}

// NeedsTrust reports whether a rule of the set judges signatures or
// scans: resolvers then gather them.
func (s *Set) NeedsTrust() bool { return s.NeedsSignatures() || s.NeedsScans() }

// NeedsSignatures reports whether a rule of the set has signedBy.
func (s *Set) NeedsSignatures() bool {
	return s.anyRule(func(r *Rule) bool { return r.SignedBy != nil })
}

// NeedsScans reports whether a rule of the set has vulnerabilities.
func (s *Set) NeedsScans() bool {
	return s.anyRule(func(r *Rule) bool { return r.Vulnerabilities != nil })
}

func (s *Set) anyRule(f func(*Rule) bool) bool {
	for _, cp := range s.policies {
		for i := range cp.p.Spec.Rules {
			if f(&cp.p.Spec.Rules[i]) {
				return true
			}
		}
	}
	return false
}

// Keys returns every key the set's rules name, once each.
func (s *Set) Keys() []lineage.PublicKey {
	var out []lineage.PublicKey
	seen := map[string]bool{}
	for _, cp := range s.policies {
		for i := range cp.p.Spec.Rules {
			for _, sg := range cp.p.Spec.Rules[i].signers() {
				for _, k := range sg.Keys {
					if !seen[k.ID] {
						seen[k.ID] = true
						out = append(out, k.PublicKey)
					}
				}
			}
		}
	}
	return out
}
