package trust

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/baseguard/baseguard/lineage"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	"github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
)

// The verifiers below check signatures with sigstore's libraries: keys and
// simple signatures with sigstore/sigstore, DSSE pre-authentication with
// go-securesystemslib, bundles (and their transparency-log entries) with
// sigstore-go. Each remembers its answers per key and root: facts are
// cached, and a warm check is a map lookup.

// errTagLayoutTlog says why a tag-layout signature never satisfies a rule
// that gives a trusted root.
var errTagLayoutTlog = errors.New("the tag layout's transparency-log entries are not checked: a rule with trustedRoot counts only Sigstore bundles (cosign 3's default)")

// memo remembers a verifier's answer per key and root.
type memo struct {
	mu      sync.Mutex
	answers map[string]error
}

func (m *memo) do(key lineage.PublicKey, r *lineage.TrustedRoot, f func() error) error {
	k := key.ID
	if r != nil {
		k += "|" + r.ID
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if err, ok := m.answers[k]; ok {
		return err
	}
	err := f()
	if m.answers == nil {
		m.answers = map[string]error{}
	}
	m.answers[k] = err
	return err
}

// simpleSignature is a tag-layout signature: a simple-signing payload and
// the signature cosign put in the layer's annotation.
type simpleSignature struct {
	memo
	payload, sig []byte
}

var _ lineage.Verifier = (*simpleSignature)(nil)

func (s *simpleSignature) Verify(key lineage.PublicKey, r *lineage.TrustedRoot) error {
	if r != nil {
		return errTagLayoutTlog
	}
	return s.do(key, r, func() error {
		v, err := keyVerifier(key)
		if err != nil {
			return err
		}
		if err := v.VerifySignature(bytes.NewReader(s.sig), bytes.NewReader(s.payload)); err != nil {
			return fmt.Errorf("does not verify with %s", key.Name)
		}
		return nil
	})
}

// envelopeSignature is a tag-layout attestation: a DSSE envelope, any of
// whose signatures may be the key's.
type envelopeSignature struct {
	memo
	env  *dsse.Envelope
	body []byte
}

var _ lineage.Verifier = (*envelopeSignature)(nil)

// maxEnvelopeSignatures bounds the signatures tried in one envelope.
const maxEnvelopeSignatures = 8

func (s *envelopeSignature) Verify(key lineage.PublicKey, r *lineage.TrustedRoot) error {
	if r != nil {
		return errTagLayoutTlog
	}
	return s.do(key, r, func() error {
		v, err := keyVerifier(key)
		if err != nil {
			return err
		}
		pae := dsse.PAE(s.env.PayloadType, s.body)
		for i, sg := range s.env.Signatures {
			if i == maxEnvelopeSignatures {
				break
			}
			sig, err := decodeBase64(sg.Sig)
			if err != nil {
				continue
			}
			if v.VerifySignature(bytes.NewReader(sig), bytes.NewReader(pae)) == nil {
				return nil
			}
		}
		return fmt.Errorf("does not verify with %s", key.Name)
	})
}

// bundleSignature is a Sigstore bundle, verified by sigstore-go.
type bundleSignature struct {
	memo
	b *bundle.Bundle
}

var _ lineage.Verifier = (*bundleSignature)(nil)

func (s *bundleSignature) Verify(key lineage.PublicKey, r *lineage.TrustedRoot) error {
	if r != nil {
		// The key first, so that a wrong key is said as such.
		if err := s.Verify(key, nil); err != nil {
			return err
		}
	}
	return s.do(key, r, func() error {
		v, err := keyVerifier(key)
		if err != nil {
			return err
		}
		keys := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
			return root.NewExpiringKey(v, time.Time{}, time.Time{}), nil
		})
		var material root.TrustedMaterial = keys
		opts := []verify.VerifierOption{verify.WithoutStatementPredicate()}
		if r == nil {
			opts = append(opts, verify.WithNoObserverTimestamps())
		} else {
			tr, err := trustedRoot(*r)
			if err != nil {
				return err
			}
			material = root.TrustedMaterialCollection{tr, keys}
			opts = append(opts, verify.WithTransparencyLog(1), verify.WithIntegratedTimestamps(1))
		}
		sv, err := verify.NewVerifier(material, opts...)
		if err != nil {
			return fmt.Errorf("making a verifier: %w", err)
		}
		_, err = sv.Verify(s.b, verify.NewPolicy(verify.WithoutArtifactUnsafe(), verify.WithKey()))
		switch {
		case err == nil:
			return nil
		case r == nil:
			return fmt.Errorf("does not verify with %s", key.Name)
		}
		return fmt.Errorf("verifies with %s, but not its transparency-log entry against %s: %s", key.Name, r.Name, shorten(err.Error()))
	})
}

// shorten keeps an error from a library to one readable line.
func shorten(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return truncate(s, 300)
}

// verifierCache keeps a sigstore verifier per key and a parsed trusted
// root per root: policies name few, reloads may bring new ones.
type verifierCache struct {
	mu    sync.Mutex
	keys  map[string]signature.Verifier
	roots map[string]*root.TrustedRoot
}

// maxCachedKeys bounds the cache; past it, it starts over.
const maxCachedKeys = 256

var verifiers verifierCache

// keyVerifier loads a verifier for a policy's key, as cosign verifies with
// a key: SHA-256 for ECDSA and RSA (PKCS #1 v1.5), pure Ed25519.
func keyVerifier(k lineage.PublicKey) (signature.Verifier, error) {
	verifiers.mu.Lock()
	defer verifiers.mu.Unlock()
	if v, ok := verifiers.keys[k.ID]; ok {
		return v, nil
	}
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(k.PEM)
	if err != nil {
		return nil, fmt.Errorf("loading key %s: %w", k.Name, err)
	}
	v, err := signature.LoadVerifier(pub, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("loading key %s: %w", k.Name, err)
	}
	if verifiers.keys == nil || len(verifiers.keys) >= maxCachedKeys {
		verifiers.keys = map[string]signature.Verifier{}
	}
	verifiers.keys[k.ID] = v
	return v, nil
}

// trustedRoot parses a policy's trusted root with sigstore-go.
func trustedRoot(r lineage.TrustedRoot) (*root.TrustedRoot, error) {
	verifiers.mu.Lock()
	defer verifiers.mu.Unlock()
	if tr, ok := verifiers.roots[r.ID]; ok {
		return tr, nil
	}
	tr, err := root.NewTrustedRootFromJSON(r.JSON)
	if err != nil {
		return nil, fmt.Errorf("loading trusted root %s: %w", r.Name, err)
	}
	if verifiers.roots == nil || len(verifiers.roots) >= maxCachedKeys {
		verifiers.roots = map[string]*root.TrustedRoot{}
	}
	verifiers.roots[r.ID] = tr
	return tr, nil
}
