package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// retryBackoff is the default backoff for 429 and 5xx answers: three tries
// within about a second, so that a deadline of a few seconds still leaves
// room for an answer.
var retryBackoff = remote.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 3}

// retryStatusCodes are the answers worth another try.
var retryStatusCodes = []int{
	http.StatusRequestTimeout,
	http.StatusTooManyRequests,
	http.StatusInternalServerError,
	http.StatusBadGateway,
	http.StatusServiceUnavailable,
	http.StatusGatewayTimeout,
}

// remoteFetcher fetches from registries through one remote.Puller, which
// keeps one authenticated transport per repository for the life of the
// process.
type remoteFetcher struct {
	puller *remote.Puller
}

var _ Fetcher = (*remoteFetcher)(nil)

// RemoteConfig configures NewRemote.
type RemoteConfig struct {
	// Keychain finds credentials; authn.DefaultKeychain when nil.
	Keychain authn.Keychain
	// Transport is the HTTP transport; remote.DefaultTransport when nil.
	Transport http.RoundTripper
	// Limits bound what is read; DefaultLimits when zero.
	Limits Limits
	// Backoff is the retry backoff for 429 and 5xx; a short default when
	// zero.
	Backoff remote.Backoff
	// UserAgent is sent with every request when set.
	UserAgent string
}

// NewRemote returns a Fetcher that talks to registries. Create one per
// process and share it.
func NewRemote(c RemoteConfig) (Fetcher, error) {
	if c.Keychain == nil {
		c.Keychain = authn.DefaultKeychain
	}
	if c.Transport == nil {
		c.Transport = remote.DefaultTransport
	}
	if c.Limits == (Limits{}) {
		c.Limits = DefaultLimits
	}
	if c.Backoff.Steps == 0 {
		c.Backoff = retryBackoff
	}
	opts := []remote.Option{
		remote.WithAuthFromKeychain(c.Keychain),
		remote.WithTransport(&limitTransport{inner: c.Transport, manifest: c.Limits.Manifest, blob: c.Limits.blob()}),
		remote.WithRetryBackoff(c.Backoff),
		remote.WithRetryStatusCodes(retryStatusCodes...),
	}
	if c.UserAgent != "" {
		opts = append(opts, remote.WithUserAgent(c.UserAgent))
	}
	p, err := remote.NewPuller(opts...)
	if err != nil {
		return nil, fmt.Errorf("creating registry client: %w", err)
	}
	return &remoteFetcher{puller: p}, nil
}

// unlessOthersCancelled calls f again when it failed with a cancellation
// that was not its own: the Puller shares one authentication handshake per
// repository between concurrent callers, and a caller that gives up
// mid-handshake fails the others waiting on it.
func unlessOthersCancelled[T any](ctx context.Context, f func() (T, error)) (T, error) {
	v, err := f()
	if err != nil && errors.Is(err, context.Canceled) && ctx.Err() == nil {
		return f()
	}
	return v, err
}

func (r *remoteFetcher) Head(ctx context.Context, ref name.Reference) (v1.Descriptor, error) {
	d, err := unlessOthersCancelled(ctx, func() (*v1.Descriptor, error) { return r.puller.Head(ctx, ref) })
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("looking up %s: %w", ref, classify(err))
	}
	return *d, nil
}

func (r *remoteFetcher) Manifest(ctx context.Context, ref name.Reference) (*Manifest, error) {
	d, err := unlessOthersCancelled(ctx, func() (*remote.Descriptor, error) { return r.puller.Get(ctx, ref) })
	if err != nil {
		return nil, fmt.Errorf("fetching manifest %s: %w", ref, classify(err))
	}
	if d.MediaType.IsSchema1() {
		return nil, fmt.Errorf("fetching manifest %s: %w: Docker schema 1 manifests are not supported", ref, ErrMalformed)
	}
	return &Manifest{Digest: d.Digest, MediaType: d.MediaType, Raw: d.Manifest}, nil
}

func (r *remoteFetcher) Blob(ctx context.Context, ref name.Digest, limit int64) ([]byte, error) {
	l, err := unlessOthersCancelled(ctx, func() (v1.Layer, error) { return r.puller.Layer(ctx, ref) })
	if err != nil {
		return nil, fmt.Errorf("fetching blob %s: %w", ref, classify(err))
	}
	rc, err := l.Compressed()
	if err != nil {
		return nil, fmt.Errorf("fetching blob %s: %w", ref, classify(err))
	}
	defer rc.Close()
	b, err := readBounded(rc, limit)
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", ref, classify(err))
	}
	return b, nil
}
