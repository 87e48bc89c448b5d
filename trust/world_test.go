package trust_test

import (
	"context"
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
	"io"
	"log"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/baseguard/baseguard/policy"
	"github.com/baseguard/baseguard/trust"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
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

// world is an in-memory registry (ggcr's, behind httptest) and the keys
// the tests sign with.
type world struct {
	t    *testing.T
	host string
}

func newWorld(t *testing.T, referrersAPI bool) *world {
	t.Helper()
	srv := httptest.NewServer(ggcr.New(ggcr.WithReferrersSupport(referrersAPI), ggcr.Logger(log.New(io.Discard, "", 0))))
	t.Cleanup(srv.Close)
	return &world{t: t, host: strings.TrimPrefix(srv.URL, "http://")}
}

// key is a signing key and the policy's view of its public half.
type key struct {
	signer signature.Signer
	public lineage.PublicKey
	pem    []byte
}

func newKey(t *testing.T, kind string) key {
	t.Helper()
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
		t.Fatalf("unknown key kind %s", kind)
	}
	if err != nil {
		t.Fatal(err)
	}
	s, err := signature.LoadSigner(priv, crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	pemBytes, err := cryptoutils.MarshalPublicKeyToPEM(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	pk, err := policy.ParsePublicKey("inline key", pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	return key{signer: s, public: pk, pem: pemBytes}
}

func (k key) sign(t *testing.T, msg []byte) []byte {
	t.Helper()
	sig, err := k.signer.SignMessage(strings.NewReader(string(msg)))
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

func (w *world) ref(s string) name.Reference {
	w.t.Helper()
	r, err := name.ParseReference(w.host + "/" + s)
	if err != nil {
		w.t.Fatal(err)
	}
	return r
}

// pushImage pushes a random single-platform image and returns its digest.
func (w *world) pushImage(repoTag string) v1.Hash {
	w.t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		w.t.Fatal(err)
	}
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{OS: "linux", Architecture: "amd64", RootFS: v1.RootFS{Type: "layers"}})
	if err != nil {
		w.t.Fatal(err)
	}
	if err := remote.Write(w.ref(repoTag), img); err != nil {
		w.t.Fatal(err)
	}
	d, _ := img.Digest()
	return d
}

// pushIndex pushes a two-platform index and returns its digest and the
// linux/amd64 manifest's.
func (w *world) pushIndex(repoTag string) (index, amd64 v1.Hash) {
	w.t.Helper()
	var adds []mutate.IndexAddendum
	var first v1.Hash
	for _, arch := range []string{"amd64", "arm64"} {
		img, err := random.Image(256, 1)
		if err != nil {
			w.t.Fatal(err)
		}
		img, err = mutate.ConfigFile(img, &v1.ConfigFile{OS: "linux", Architecture: arch, RootFS: v1.RootFS{Type: "layers"}})
		if err != nil {
			w.t.Fatal(err)
		}
		if arch == "amd64" {
			first, _ = img.Digest()
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}}})
	}
	idx := mutate.AppendManifests(mutate.IndexMediaType(empty.Index, types.OCIImageIndex), adds...)
	if err := remote.WriteIndex(w.ref(repoTag), idx); err != nil {
		w.t.Fatal(err)
	}
	d, _ := idx.Digest()
	return d, first
}

// simpleSigning is cosign's payload for an image digest.
func simpleSigning(repo string, d v1.Hash) []byte {
	return fmt.Appendf(nil, `{"critical":{"identity":{"docker-reference":%q},"image":{"docker-manifest-digest":%q},"type":"cosign container image signature"},"optional":null}`, repo, d.String())
}

// signTag attaches a tag-layout signature of payload, signed by k, to the
// image digest at: repo:sha256-<hex>.sig.
func (w *world) signTag(repo string, at v1.Hash, payload []byte, sig []byte) {
	w.t.Helper()
	l := static.NewLayer(payload, "application/vnd.dev.cosign.simplesigning.v1+json")
	w.appendTagLayer(repo, at, "sig", l, map[string]string{"dev.cosignproject.cosign/signature": base64.StdEncoding.EncodeToString(sig)})
}

// appendTagLayer adds a layer to repo:sha256-<hex>.<suffix>, as cosign
// does when it signs again.
func (w *world) appendTagLayer(repo string, at v1.Hash, suffix string, l v1.Layer, ann map[string]string) {
	w.t.Helper()
	tag := w.ref(fmt.Sprintf("%s:sha256-%s.%s", repo, at.Hex, suffix))
	base, err := remote.Image(tag)
	if err != nil {
		base = mutate.MediaType(mutate.ConfigMediaType(empty.Image, types.OCIConfigJSON), types.OCIManifestSchema1)
	}
	img, err := mutate.Append(base, mutate.Addendum{Layer: l, Annotations: ann})
	if err != nil {
		w.t.Fatal(err)
	}
	if err := remote.Write(tag, img); err != nil {
		w.t.Fatal(err)
	}
}

// statement is an in-toto statement naming digests.
func statement(predicateType string, predicate any, digests ...v1.Hash) []byte {
	var subs []map[string]any
	for _, d := range digests {
		subs = append(subs, map[string]any{"name": "image", "digest": map[string]string{"sha256": d.Hex}})
	}
	b, _ := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v0.1", "subject": subs, "predicateType": predicateType, "predicate": predicate})
	return b
}

// envelope signs a statement into a DSSE envelope.
func envelope(t *testing.T, k key, body []byte) []byte {
	t.Helper()
	sig := k.sign(t, dsse.PAE("application/vnd.in-toto+json", body))
	b, _ := json.Marshal(dsse.Envelope{PayloadType: "application/vnd.in-toto+json", Payload: base64.StdEncoding.EncodeToString(body), Signatures: []dsse.Signature{{Sig: base64.StdEncoding.EncodeToString(sig)}}})
	return b
}

// attestTag attaches a DSSE envelope at repo:sha256-<hex>.att, with the
// layer annotations cosign writes.
func (w *world) attestTag(repo string, at v1.Hash, env []byte, predicateType string) {
	w.t.Helper()
	l := static.NewLayer(env, "application/vnd.dsse.envelope.v1+json")
	w.appendTagLayer(repo, at, "att", l, map[string]string{"dev.cosignproject.cosign/signature": "", "predicateType": predicateType})
}

// bundle makes a Sigstore bundle v0.3 holding a DSSE envelope of body,
// signed by k.
func bundleOf(t *testing.T, k key, body []byte) []byte {
	t.Helper()
	sig := k.sign(t, dsse.PAE("application/vnd.in-toto+json", body))
	b := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: hint(k)}},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload: body, PayloadType: "application/vnd.in-toto+json",
			Signatures: []*protodsse.Signature{{Sig: sig}},
		}},
	}
	out, err := protojson.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func hint(k key) string {
	sum := sha256.Sum256(k.pem)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// attachBundle attaches a bundle to the digest at as an OCI 1.1 referrer,
// as cosign 3 does: an artifact manifest with the bundle as its layer and
// the image as its subject (the registry's referrers API lists it, or the
// sha256-<hex> tag does).
func (w *world) attachBundle(repo string, at v1.Hash, bundle []byte, predicateType string) {
	w.t.Helper()
	mt := "application/vnd.dev.sigstore.bundle.v0.3+json"
	subject, err := remote.Head(w.ref(repo + "@" + at.String()))
	if err != nil {
		w.t.Fatal(err)
	}
	layer := static.NewLayer(bundle, types.MediaType(mt))
	cfg := static.NewLayer([]byte("{}"), "application/vnd.oci.empty.v1+json")
	repoRef := w.ref(repo).Context()
	for _, l := range []v1.Layer{layer, cfg} {
		if err := remote.WriteLayer(repoRef, l); err != nil {
			w.t.Fatal(err)
		}
	}
	ld, _ := layer.Digest()
	cd, _ := cfg.Digest()
	m := v1.Manifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  mt,
		Config:        v1.Descriptor{MediaType: "application/vnd.oci.empty.v1+json", Digest: cd, Size: 2},
		Layers:        []v1.Descriptor{{MediaType: types.MediaType(mt), Digest: ld, Size: int64(len(bundle))}},
		Subject:       &v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		Annotations:   map[string]string{"dev.sigstore.bundle.content": "dsse-envelope", "dev.sigstore.bundle.predicateType": predicateType},
	}
	raw, _ := json.Marshal(m)
	sum := sha256.Sum256(raw)
	ref := w.ref(repo + "@sha256:" + hex.EncodeToString(sum[:]))
	if err := remote.Put(ref, rawManifest{raw, types.OCIManifestSchema1}); err != nil {
		w.t.Fatal(err)
	}
}

type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (r rawManifest) RawManifest() ([]byte, error)        { return r.raw, nil }
func (r rawManifest) MediaType() (types.MediaType, error) { return r.mt, nil }

// signBundle attaches a cosign 3 signature: a bundle whose statement is
// the sign/v1 predicate naming the digest signed.
func (w *world) signBundle(repo string, at v1.Hash, k key, names ...v1.Hash) {
	w.t.Helper()
	if len(names) == 0 {
		names = []v1.Hash{at}
	}
	w.attachBundle(repo, at, bundleOf(w.t, k, statement(trust.PredicateCosignSign, map[string]any{}, names...)), trust.PredicateCosignSign)
}

// resolver makes the pipeline over a fresh registry client.
func (w *world) resolver(opts ...trust.Option) *trust.Resolver {
	w.t.Helper()
	c, err := registry.New(registry.WithTimeout(10 * time.Second))
	if err != nil {
		w.t.Fatal(err)
	}
	return trust.New(c, append([]trust.Option{trust.Always()}, opts...)...)
}

func (w *world) lineage(r *trust.Resolver, s string) lineage.Lineage {
	w.t.Helper()
	ref, err := imageref.Parse(w.host + "/" + s)
	if err != nil {
		w.t.Fatal(err)
	}
	return r.Lineage(context.Background(), ref)
}
