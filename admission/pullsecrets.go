package admission

import (
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/baseguard/baseguard/imageref"
	"github.com/baseguard/baseguard/lineage"
	"github.com/google/go-containerregistry/pkg/authn"
	kauth "github.com/google/go-containerregistry/pkg/authn/kubernetes"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Defaults of PullSecretOptions.
const (
	// DefaultPullSecretResolvers bounds the resolvers kept, one per
	// credential set: more than the sets a cluster uses at once, few enough
	// that their caches fit in the webhook's memory.
	DefaultPullSecretResolvers = 64
	// DefaultPullSecretTTL is how long a credential set's secrets are used
	// before they are read again: rotated secrets take effect within a
	// minute, and the API server is asked at most once a minute per set.
	DefaultPullSecretTTL = time.Minute
)

// PullSecretOptions configure PullSecrets.
type PullSecretOptions struct {
	// Client reads pull secrets and service accounts (RBAC: get secrets
	// and serviceaccounts). Required.
	Client kubernetes.Interface
	// NewResolver makes a resolver, with caches of its own, that
	// authenticates to registries with keychain. Required.
	NewResolver func(keychain authn.Keychain) (Resolver, error)
	// Default resolves for credential sets that hold no pull secret.
	// Required.
	Default Resolver
	// Keychain is tried after the pull secrets (authn.DefaultKeychain,
	// Docker's config, when nil).
	Keychain authn.Keychain
	// MaxResolvers bounds the resolvers kept, least recently used dropped
	// first (DefaultPullSecretResolvers when zero).
	MaxResolvers int
	// TTL is how long secrets are used before they are read again
	// (DefaultPullSecretTTL when zero).
	TTL time.Duration
	// Logger receives a line when secrets cannot be re-read (discarded
	// when nil).
	Logger *slog.Logger
	// Now is the clock of the TTL (time.Now when nil).
	Now func() time.Time
}

// PullSecrets returns a Resolver that authenticates to registries as the
// kubelet would pull a pod's images: with the pod's imagePullSecrets and
// its service account's, in its namespace, then with opts.Keychain.
//
// Each credential set (namespace, service account, pull secret names) has
// a resolver of its own, made by opts.NewResolver, so facts fetched with
// one set's credentials are never served to a request with another: a
// private image one namespace may read stays unreadable to the others.
// Credential sets whose secrets (pod's and service account's) are none or
// not found share opts.Default. Secrets are read again after opts.TTL; a
// set whose secrets changed gets a new resolver (and empty caches), one
// whose secrets did not keeps its resolver and caches. A set's secrets that
// cannot be read fail its lineages (onResolveError decides), or, when they
// were read before, the previous credentials stay in use until the next
// try, a TTL later.
func PullSecrets(opts PullSecretOptions) Resolver {
	if opts.Keychain == nil {
		opts.Keychain = authn.DefaultKeychain
	}
	if opts.MaxResolvers <= 0 {
		opts.MaxResolvers = DefaultPullSecretResolvers
	}
	if opts.TTL <= 0 {
		opts.TTL = DefaultPullSecretTTL
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &pullSecretResolver{opts: opts, byKey: map[string]*list.Element{}, order: list.New()}
}

// pullSecretResolver keeps a resolver per credential set in an LRU.
type pullSecretResolver struct {
	opts  PullSecretOptions
	mu    sync.Mutex
	byKey map[string]*list.Element // of *credentialSet
	order *list.List               // most recently used first
}

var _ Resolver = (*pullSecretResolver)(nil)

// credentialSet is one credential set's resolver and the secrets it was
// made with.
type credentialSet struct {
	key  string
	lock chan struct{} // held while the secrets are read: one reader per set
	// Guarded by lock.
	resolver    Resolver // nil until the secrets were read once
	fingerprint string   // of the secrets resolver authenticates with
	readAt      time.Time
}

// Resolve resolves ref with the resolver of creds' credential set.
func (p *pullSecretResolver) Resolve(ctx context.Context, ref imageref.Ref, creds Credentials) lineage.Lineage {
	if creds.Namespace == "" { // no pull secret outside a namespace
		return p.opts.Default.Resolve(ctx, ref, creds)
	}
	r, err := p.resolverFor(ctx, creds)
	if err != nil {
		return lineage.Unconfirmed(ref, lineage.SourceReference, fmt.Errorf("resolving %s: %w", ref.Familiar(), err))
	}
	return r.Resolve(ctx, ref, creds)
}

// resolverFor returns the resolver of creds' set, reading its secrets when
// they were never read or are older than the TTL.
func (p *pullSecretResolver) resolverFor(ctx context.Context, creds Credentials) (Resolver, error) {
	set := p.set(credentialKey(creds))
	select {
	case set.lock <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the pull secrets of %s: %w", describe(creds), ctx.Err())
	}
	defer func() { <-set.lock }()
	if set.resolver != nil && p.opts.Now().Sub(set.readAt) < p.opts.TTL {
		return set.resolver, nil
	}
	err := p.refresh(ctx, set, creds)
	switch {
	case err == nil:
		return set.resolver, nil
	case set.resolver != nil:
		set.readAt = p.opts.Now() // try again after the TTL, not at every request
		p.opts.Logger.Warn("pull secrets could not be read again; the previous credentials stay in use", "credentials", describe(creds), "error", err)
		return set.resolver, nil
	}
	return nil, err
}

// set returns the credential set of key, adding it (and dropping the least
// recently used beyond MaxResolvers) when new.
func (p *pullSecretResolver) set(key string) *credentialSet {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e, ok := p.byKey[key]; ok {
		p.order.MoveToFront(e)
		return e.Value.(*credentialSet)
	}
	set := &credentialSet{key: key, lock: make(chan struct{}, 1)}
	p.byKey[key] = p.order.PushFront(set)
	for p.order.Len() > p.opts.MaxResolvers {
		oldest := p.order.Back()
		p.order.Remove(oldest)
		delete(p.byKey, oldest.Value.(*credentialSet).key)
	}
	return set
}

// refresh reads the set's secrets and, when they changed, makes its new
// resolver. The caller holds set.lock.
func (p *pullSecretResolver) refresh(ctx context.Context, set *credentialSet, creds Credentials) error {
	secrets, err := readPullSecrets(ctx, p.opts.Client, creds)
	if err != nil {
		return err
	}
	fp := fingerprint(secrets)
	if set.resolver == nil || fp != set.fingerprint {
		r, err := p.resolverWith(ctx, secrets)
		if err != nil {
			return fmt.Errorf("using the pull secrets of %s: %w", describe(creds), err)
		}
		set.resolver, set.fingerprint = r, fp
	}
	set.readAt = p.opts.Now()
	return nil
}

// resolverWith makes the resolver that authenticates with secrets, then
// with the fallback keychain; without secrets, the default resolver.
func (p *pullSecretResolver) resolverWith(ctx context.Context, secrets []corev1.Secret) (Resolver, error) {
	if len(secrets) == 0 {
		return p.opts.Default, nil
	}
	kc, err := kauth.NewFromPullSecrets(ctx, secrets)
	if err != nil {
		return nil, err
	}
	return p.opts.NewResolver(authn.NewMultiKeychain(kc, p.opts.Keychain))
}

// readPullSecrets gets the pod's pull secrets, then its service account's,
// each once. Secrets and service accounts that do not exist are skipped,
// as the kubelet skips them.
func readPullSecrets(ctx context.Context, c kubernetes.Interface, creds Credentials) ([]corev1.Secret, error) {
	names := slices.Clone(creds.PullSecrets)
	sa, err := c.CoreV1().ServiceAccounts(creds.Namespace).Get(ctx, creds.ServiceAccount, metav1.GetOptions{})
	switch {
	case err == nil:
		for _, ref := range sa.ImagePullSecrets {
			names = append(names, ref.Name)
		}
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("getting service account %s/%s: %w", creds.Namespace, creds.ServiceAccount, err)
	}
	var secrets []corev1.Secret
	seen := map[string]bool{}
	for _, name := range names {
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		s, err := c.CoreV1().Secrets(creds.Namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("getting pull secret %s/%s: %w", creds.Namespace, name, err)
		}
		secrets = append(secrets, *s)
	}
	return secrets, nil
}

// credentialKey names a credential set: namespace, service account and the
// sorted pull secret names (none of which may hold "/" or ",").
func credentialKey(c Credentials) string {
	names := slices.Clone(c.PullSecrets)
	slices.Sort(names)
	return c.Namespace + "/" + c.ServiceAccount + "/" + strings.Join(slices.Compact(names), ",")
}

// fingerprint identifies the content of secrets, in order: a set whose
// fingerprint is unchanged authenticates as before.
func fingerprint(secrets []corev1.Secret) string {
	h := sha256.New()
	for _, s := range secrets {
		fmt.Fprintf(h, "%s\x00%s\x00", s.Name, s.Type)
		keys := make([]string, 0, len(s.Data))
		for k := range s.Data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(h, "%s\x00%d\x00%s", k, len(s.Data[k]), s.Data[k])
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func describe(c Credentials) string {
	s := fmt.Sprintf("service account %s/%s", c.Namespace, c.ServiceAccount)
	if len(c.PullSecrets) > 0 {
		s += fmt.Sprintf(" with imagePullSecrets %s", strings.Join(c.PullSecrets, ", "))
	}
	return s
}
