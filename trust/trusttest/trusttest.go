// Package trusttest signs and attests images as cosign stores them, for
// tests and benchmarks: keys, simple-signing payloads in the tag layout
// (repo:sha256-<hex>.sig), DSSE envelopes (.att), and Sigstore bundles
// attached as OCI 1.1 referrers. It makes what cosign makes with keys
// (no Fulcio, no transparency log), from the same libraries.
package trusttest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/policy"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	"google.golang.org/protobuf/encoding/protojson"
)

// Media types, annotations and predicate types cosign writes.
const (
	MediaTypeSimpleSigning = "application/vnd.dev.cosign.simplesigning.v1+json"
	MediaTypeDSSE          = "application/vnd.dsse.envelope.v1+json"
	MediaTypeBundle        = "application/vnd.dev.sigstore.bundle.v0.3+json"
	PayloadTypeInToto      = "application/vnd.in-toto+json"
	PredicateSign          = "https://sigstore.dev/cosign/sign/v1"
	PredicateVuln          = "https://cosign.sigstore.dev/attestation/vuln/v1"
)

// Key is a signing key and the policy's view of its public half.
type Key struct {
	Signer signature.Signer
	PEM    []byte
	Public lineage.PublicKey
}

// NewKey makes an ecdsa (P-256), ed25519 or rsa (2048) key.
func NewKey(kind string) (Key, error) {
	var priv crypto.Signer
	var err error
	switch kind {
	case "ecdsa":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "ed25519":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case "rsa":
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		return Key{}, fmt.Errorf("unknown key kind %q", kind)
	}
	if err != nil {
		return Key{}, err
	}
	s, err := signature.LoadSigner(priv, crypto.SHA256)
	if err != nil {
		return Key{}, err
	}
	pemBytes, err := cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		return Key{}, err
	}
	pk, err := policy.ParsePublicKey("inline key", pemBytes)
	if err != nil {
		return Key{}, err
	}
	return Key{Signer: s, PEM: pemBytes, Public: pk}, nil
}

// Sign signs msg as cosign does with a key.
func (k Key) Sign(msg []byte) ([]byte, error) {
	return k.Signer.SignMessage(strings.NewReader(string(msg)))
}

// SimpleSigning is cosign's payload for an image digest.
func SimpleSigning(repo string, d v1.Hash) []byte {
	return fmt.Appendf(nil, `{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`, repo, d.String())
}

// Statement is an in-toto statement naming digests.
func Statement(predicateType string, predicate any, digests ...v1.Hash) []byte {
	subs := []map[string]any{}
	for _, d := range digests {
		subs = append(subs, map[string]any{"name": "image", "digest": map[string]string{"sha256": d.Hex}})
	}
	b, _ := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v0.1", "subject": subs, "predicateType": predicateType, "predicate": predicate})
	return b
}

// Envelope signs a statement into a DSSE envelope.
func Envelope(k Key, body []byte) ([]byte, error) {
	sig, err := k.Sign(dsse.PAE(PayloadTypeInToto, body))
	if err != nil {
		return nil, err
	}
	return json.Marshal(dsse.Envelope{PayloadType: PayloadTypeInToto, Payload: base64.StdEncoding.EncodeToString(body), Signatures: []dsse.Signature{{Sig: base64.StdEncoding.EncodeToString(sig)}}})
}

// Bundle makes a Sigstore bundle v0.3 holding a DSSE envelope of body,
// signed by k, with the key's hint as cosign writes it.
func Bundle(k Key, body []byte) ([]byte, error) {
	sig, err := k.Sign(dsse.PAE(PayloadTypeInToto, body))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(k.PEM)
	b := &protobundle.Bundle{
		MediaType: MediaTypeBundle,
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: base64.StdEncoding.EncodeToString(sum[:])}},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: body, PayloadType: PayloadTypeInToto,
			Signatures: []*protodsse.Signature{{Sig: sig}},
		}},
	}
	return protojson.Marshal(b)
}

// SignTag attaches a tag-layout signature (payload and its signature) to
// the image at in repo: repo:sha256-<hex>.sig, one more layer.
func SignTag(repo name.Repository, at v1.Hash, payload, sig []byte, opts ...remote.Option) error {
	l := static.NewLayer(payload, MediaTypeSimpleSigning)
	return AppendTagLayer(repo, at, "sig", l, map[string]string{"dev.cosignproject.cosign/signature": base64.StdEncoding.EncodeToString(sig)}, opts...)
}

// SignTagWith signs at with k in the tag layout.
func SignTagWith(repo name.Repository, at v1.Hash, k Key, opts ...remote.Option) error {
	p := SimpleSigning(repo.String(), at)
	sig, err := k.Sign(p)
	if err != nil {
		return err
	}
	return SignTag(repo, at, p, sig, opts...)
}

// AttestTag attaches a DSSE envelope at repo:sha256-<hex>.att, with the
// layer annotations cosign writes.
func AttestTag(repo name.Repository, at v1.Hash, env []byte, predicateType string, opts ...remote.Option) error {
	l := static.NewLayer(env, MediaTypeDSSE)
	return AppendTagLayer(repo, at, "att", l, map[string]string{"dev.cosignproject.cosign/signature": "", "predicateType": predicateType}, opts...)
}

// AppendTagLayer adds a layer to repo:sha256-<hex>.<suffix>, as cosign does
// when it signs or attests again.
func AppendTagLayer(repo name.Repository, at v1.Hash, suffix string, l v1.Layer, ann map[string]string, opts ...remote.Option) error {
	tag := repo.Tag(fmt.Sprintf("sha256-%s.%s", at.Hex, suffix))
	base, err := remote.Image(tag, opts...)
	if err != nil {
		base = mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1)
	}
	img, err := mutate.Append(base, mutate.Addendum{Layer: l, Annotations: ann})
	if err != nil {
		return err
	}
	return remote.Write(tag, img, opts...)
}

// AttachBundle attaches a bundle to the image at as an OCI 1.1 referrer,
// as cosign 3 does: an artifact manifest with the bundle as its layer and
// the image as its subject. A registry with the referrers API lists it;
// for one without, the sha256-<hex> tag's index is updated.
func AttachBundle(repo name.Repository, at v1.Hash, bundle []byte, predicateType string, opts ...remote.Option) error {
	subject, err := remote.Head(repo.Digest(at.String()), opts...)
	if err != nil {
		return err
	}
	layer := static.NewLayer(bundle, MediaTypeBundle)
	cfg := static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
	for _, l := range []v1.Layer{layer, cfg} {
		if err := remote.WriteLayer(repo, l, opts...); err != nil {
			return err
		}
	}
	ld, _ := layer.Digest()
	cd, _ := cfg.Digest()
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  MediaTypeBundle,
		Config:        v1.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: cd, Size: 2},
		Layers:        []v1.Descriptor{{MediaType: MediaTypeBundle, Digest: ld, Size: int64(len(bundle))}},
		Subject:       &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations:   map[string]string{"dev.sigstore.bundle.content": "dsse-envelope", "dev.sigstore.bundle.predicateType": predicateType},
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(raw)
	return remote.Put(repo.Digest("sha256:"+hex.EncodeToString(sum[:])), rawManifest{raw, types.OCIManifestSchema1}, opts...)
}

type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// SignBundle attaches a cosign 3 signature to at: a bundle whose statement
// is the sign/v1 predicate naming the digests (at itself when none).
func SignBundle(repo name.Repository, at v1.Hash, k Key, names []v1.Hash, opts ...remote.Option) error {
	if len(names) == 0 {
		names = []v1.Hash{at}
	}
	b, err := Bundle(k, Statement(PredicateSign, map[string]any{}, names...))
	if err != nil {
		return err
	}
	return AttachBundle(repo, at, b, PredicateSign, opts...)
}

// TrustedBasesPolicy is the BaseImagePolicy the trust tests and benchmarks
// judge with: images under host/base/ must be signed by keys/platform.pub,
// and carry a scan attested by keys/scanner.pub that finds nothing high or
// critical, with the scan gate's further settings (maxScanAge, ignore) as
// YAML lines.
func TrustedBasesPolicy(host string, scanSettings ...string) string {
	var settings strings.Builder
	for _, s := range scanSettings {
		for line := range strings.SplitSeq(strings.TrimSpace(s), "\n") {
			settings.WriteString("        " + line + "\n")
		}
	}
	return fmt.Sprintf(`apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: trusted-bases}
spec:
  rules:
    - name: signed-bases
      when: ["%[1]s/base/*"]
      signedBy:
        keys: ["keys/platform.pub"]
    - name: scanned-bases
      when: ["%[1]s/base/*"]
      vulnerabilities:
        keys: ["keys/scanner.pub"]
        failOn: high
%[2]s`, host, settings.String())
}

// WritePolicyDir writes policy as dir/policy.yaml, with the platform's and
// the scanner's public keys as dir/keys/platform.pub and scanner.pub, and
// returns the policy's path.
func WritePolicyDir(dir, policy string, platform, scanner Key) (string, error) {
	if err := os.MkdirAll(filepath.Join(dir, "keys"), 0o755); err != nil {
		return "", err
	}
	for name, pem := range map[string][]byte{"platform.pub": platform.PEM, "scanner.pub": scanner.PEM} {
		if err := os.WriteFile(filepath.Join(dir, "keys", name), pem, 0o644); err != nil {
			return "", err
		}
	}
	file := filepath.Join(dir, "policy.yaml")
	return file, os.WriteFile(file, []byte(policy), 0o644)
}

// TrivyScan is the cosign-vuln predicate Trivy 0.58.1 writes for a scan of
// target finished at finished, with its findings given as ID=SEVERITY.
func TrivyScan(target string, finished time.Time, findings ...string) map[string]any {
	var vulns []any
	for _, f := range findings {
		id, sev, _ := strings.Cut(f, "=")
		vulns = append(vulns, map[string]any{"VulnerabilityID": id, "PkgName": "libcrypto3", "InstalledVersion": "3.1.4-r2", "Severity": sev})
	}
	return map[string]any{
		"invocation": map[string]any{"parameters": nil, "uri": "", "event_id": "", "builder.id": ""},
		"scanner": map[string]any{"uri": "pkg:github/aquasecurity/trivy@0.58.1", "version": "0.58.1", "db": map[string]any{"uri": "", "version": ""},
			"result": map[string]any{"SchemaVersion": 2, "ArtifactName": target, "ArtifactType": "container_image",
				"Results": []any{map[string]any{"Target": target + " (alpine 3.19.1)", "Class": "os-pkgs", "Type": "alpine", "Vulnerabilities": vulns}}}},
		"metadata": map[string]any{"scanStartedOn": finished.Add(-5 * time.Second).Format(time.RFC3339), "scanFinishedOn": finished.Format(time.RFC3339)},
	}
}
