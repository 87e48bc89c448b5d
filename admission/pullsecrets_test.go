package admission

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

const privateHost = "private.example.com"

func pullSecret(ns, name, user string) *corev1.Secret {
	cfg, _ := json.Marshal(map[string]any{"auths": map[string]any{privateHost: map[string]string{"username": user, "password": "pw"}}})
	return &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: cfg},
	}
}

// identities makes resolvers that answer with who they authenticate as
// to privateHost and which resolver they are: "user=alice #1".
type identities struct {
	mu sync.Mutex
	n  int
}

func (id *identities) newResolver(kc authn.Keychain) (Resolver, error) {
	id.mu.Lock()
	id.n++
	n := id.n
	id.mu.Unlock()
	return ResolverFunc(func(_ context.Context, ref imageref.Ref, _ Credentials) lineage.Lineage {
		user := "anonymous"
		if a, err := kc.Resolve(fakeRegistry(privateHost)); err == nil {
			if cfg, err := a.Authorization(); err == nil && cfg.Username != "" {
				user = cfg.Username
			}
		}
		l := lineage.Of(ref, lineage.SourceReference)
		l.Err = fmt.Errorf("user=%s #%d", user, n)
		return l
	}), nil
}

type fakeRegistry string

func (r fakeRegistry) String() string      { return string(r) }
func (r fakeRegistry) RegistryStr() string { return string(r) }

var defaultResolver = ResolverFunc(func(_ context.Context, ref imageref.Ref, _ Credentials) lineage.Lineage {
	l := lineage.Of(ref, lineage.SourceReference)
	l.Err = fmt.Errorf("default")
	return l
})

// who resolves one image with creds and says which resolver answered.
func who(t *testing.T, r Resolver, ns, sa string, secrets ...string) string {
	t.Helper()
	ref, err := imageref.Parse(privateHost + "/app:1")
	if err != nil {
		t.Fatal(err)
	}
	l := r.Resolve(context.Background(), ref, Credentials{Namespace: ns, ServiceAccount: sa, PullSecrets: secrets})
	if l.Err == nil {
		return ""
	}
	return l.Err.Error()
}

func TestPullSecretsPerCredentialSet(t *testing.T) {
	kube := fake.NewClientset(
		pullSecret("a", "alice", "alice"),
		pullSecret("a", "bob", "bob"),
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "builder"}, ImagePullSecrets: []corev1.LocalObjectReference{{Name: "bob"}}},
	)
	id := &identities{}
	r := PullSecrets(PullSecretOptions{Client: kube, NewResolver: id.newResolver, Default: defaultResolver, Keychain: authn.NewMultiKeychain()})
	cases := []struct {
		name, ns, sa string
		secrets      []string
		want         string
	}{
		{"pod's secret", "a", "default", []string{"alice"}, "user=alice #1"},
		{"same set, a secret named twice", "a", "default", []string{"alice", "alice"}, "user=alice #1"},
		{"service account's secret", "a", "builder", nil, "user=bob #2"},
		{"pod's and service account's", "a", "builder", []string{"alice"}, "user=alice #3"},
		{"no secrets", "a", "default", nil, "default"},
		{"missing secret", "a", "default", []string{"carol"}, "default"},
		{"missing service account", "a", "ghost", nil, "default"},
		{"same name, another namespace", "b", "default", []string{"alice"}, "default"},
		{"pod's secret again", "a", "default", []string{"alice"}, "user=alice #1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := who(t, r, tc.ns, tc.sa, tc.secrets...); got != tc.want {
				t.Errorf("resolved by %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPullSecretsFallBackToKeychain(t *testing.T) {
	kube := fake.NewClientset(pullSecret("a", "alice", "alice"))
	docker := authn.NewKeychainFromHelper(staticHelper{"other.example.com": "dora"})
	// The keychain a set's resolver gets tries the pull secrets, then
	// Docker's config.
	var got authn.Keychain
	ref, _ := imageref.Parse(privateHost + "/app:1")
	capture := PullSecrets(PullSecretOptions{Client: kube, Default: defaultResolver, Keychain: docker, NewResolver: func(kc authn.Keychain) (Resolver, error) {
		got = kc
		return defaultResolver, nil
	}})
	capture.Resolve(context.Background(), ref, Credentials{Namespace: "a", ServiceAccount: "default", PullSecrets: []string{"alice"}})
	for host, want := range map[string]string{privateHost: "alice", "other.example.com": "dora"} {
		a, err := got.Resolve(fakeRegistry(host))
		if err != nil {
			t.Fatal(err)
		}
		cfg, _ := a.Authorization()
		if cfg.Username != want {
			t.Errorf("%s: user %q, want %q", host, cfg.Username, want)
		}
	}
}

type staticHelper map[string]string

func (h staticHelper) Get(server string) (string, string, error) {
	if u, ok := h[server]; ok {
		return u, "pw", nil
	}
	return "", "", fmt.Errorf("no credentials for %s", server)
}

func TestPullSecretsRefreshAfterTTL(t *testing.T) {
	kube := fake.NewClientset(pullSecret("a", "cred", "alice"))
	id := &identities{}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := PullSecrets(PullSecretOptions{Client: kube, NewResolver: id.newResolver, Default: defaultResolver, Keychain: authn.NewMultiKeychain(), TTL: time.Minute, Now: func() time.Time { return now }})
	if got := who(t, r, "a", "default", "cred"); got != "user=alice #1" {
		t.Fatalf("first: %q", got)
	}
	reads := func() int { return len(kube.Actions()) }
	before := reads()
	who(t, r, "a", "default", "cred")
	if reads() != before {
		t.Errorf("within the TTL the API server was asked %d times", reads()-before)
	}
	now = now.Add(2 * time.Minute)
	if got := who(t, r, "a", "default", "cred"); got != "user=alice #1" {
		t.Errorf("after the TTL, unchanged secret: %q, want the same resolver (and caches)", got)
	}
	if _, err := kube.CoreV1().Secrets("a").Update(context.Background(), pullSecret("a", "cred", "alice2"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := who(t, r, "a", "default", "cred"); got != "user=alice #1" {
		t.Errorf("rotated, within the TTL: %q, want the previous credentials", got)
	}
	now = now.Add(2 * time.Minute)
	if got := who(t, r, "a", "default", "cred"); got != "user=alice2 #2" {
		t.Errorf("rotated, after the TTL: %q, want a new resolver with the new credentials", got)
	}
}

func TestPullSecretsUnreadable(t *testing.T) {
	kube := fake.NewClientset(pullSecret("a", "cred", "alice"))
	forbidden := false
	kube.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		if forbidden {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "cred", fmt.Errorf("RBAC"))
		}
		return false, nil, nil
	})
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	id := &identities{}
	r := PullSecrets(PullSecretOptions{Client: kube, NewResolver: id.newResolver, Default: defaultResolver, Keychain: authn.NewMultiKeychain(), Now: func() time.Time { return now }})
	forbidden = true
	if got := who(t, r, "a", "default", "cred"); !strings.Contains(got, "getting pull secret a/cred") || !strings.Contains(got, "forbidden") {
		t.Errorf("unreadable secret: %q, want the lineage failed naming the secret", got)
	}
	forbidden = false
	if got := who(t, r, "a", "default", "cred"); got != "user=alice #1" {
		t.Fatalf("readable again: %q (a failure is not remembered)", got)
	}
	forbidden = true
	now = now.Add(DefaultPullSecretTTL + time.Second)
	if got := who(t, r, "a", "default", "cred"); got != "user=alice #1" {
		t.Errorf("unreadable on refresh: %q, want the previous credentials kept", got)
	}
	before := len(kube.Actions())
	who(t, r, "a", "default", "cred")
	if n := len(kube.Actions()) - before; n != 0 {
		t.Errorf("after a failed refresh the next request asked the API server %d times; want it to wait for the TTL", n)
	}
}

func TestPullSecretsBounded(t *testing.T) {
	kube := fake.NewClientset(pullSecret("a", "s1", "u1"), pullSecret("a", "s2", "u2"), pullSecret("a", "s3", "u3"))
	id := &identities{}
	r := PullSecrets(PullSecretOptions{Client: kube, NewResolver: id.newResolver, Default: defaultResolver, Keychain: authn.NewMultiKeychain(), MaxResolvers: 2})
	for _, s := range []string{"s1", "s2", "s3"} {
		who(t, r, "a", "default", s)
	}
	if got := who(t, r, "a", "default", "s3"); got != "user=u3 #3" {
		t.Errorf("most recent set: %q, want kept", got)
	}
	if got := who(t, r, "a", "default", "s1"); got != "user=u1 #4" {
		t.Errorf("least recently used set beyond MaxResolvers: %q, want dropped and made anew", got)
	}
}

func TestPullSecretsWaitHonoursContext(t *testing.T) {
	kube := fake.NewClientset(pullSecret("a", "cred", "alice"))
	release, reading := make(chan struct{}), make(chan struct{})
	var once sync.Once
	kube.PrependReactor("get", "serviceaccounts", func(k8stesting.Action) (bool, runtime.Object, error) {
		once.Do(func() { close(reading) })
		<-release
		return false, nil, nil
	})
	r := PullSecrets(PullSecretOptions{Client: kube, NewResolver: (&identities{}).newResolver, Default: defaultResolver})
	ref, _ := imageref.Parse(privateHost + "/app:1")
	creds := Credentials{Namespace: "a", ServiceAccount: "default", PullSecrets: []string{"cred"}}
	go r.Resolve(context.Background(), ref, creds) // holds the set while reading
	<-reading
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	l := r.Resolve(ctx, ref, creds)
	close(release)
	if took := time.Since(start); took > time.Second || l.Err == nil || !strings.Contains(l.Err.Error(), "waiting for the pull secrets") {
		t.Errorf("a second request while the secrets are read: after %v, %v; want its own deadline honoured", took, l.Err)
	}
}
