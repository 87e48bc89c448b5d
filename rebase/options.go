package rebase

import (
	"fmt"
	"net/http"
	"time"

	"github.com/baseguard/baseguard/lineage/registry"
	"github.com/baseguard/baseguard/policy"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// Options configure a Rebaser or a Checker.
type Options struct {
	// Lineage resolves what images are built on; required.
	Lineage *registry.Client
	// Policies judge would-be lineages and bases; nil means no policy
	// check (rebase) or that every version is allowed (outdated, update).
	Policies *policy.Set
	// Keychain finds credentials for pulling and pushing;
	// authn.DefaultKeychain when nil.
	Keychain authn.Keychain
	// Transport is the HTTP transport; remote.DefaultTransport when nil.
	Transport http.RoundTripper
	// UserAgent is sent to registries when set.
	UserAgent string
	// CacheDir keeps tag lists for registry.DefaultTagTTL; none when empty.
	CacheDir string
	// Now is the clock policies are evaluated at; time.Now when nil.
	Now func() time.Time
}

func (o *Options) defaults() error {
	if o.Lineage == nil {
		return fmt.Errorf("rebase options: a lineage client is required")
	}
	if o.Keychain == nil {
		o.Keychain = authn.DefaultKeychain
	}
	if o.Transport == nil {
		o.Transport = remote.DefaultTransport
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

// remoteOptions are the options of the one puller and pusher.
func (o *Options) remoteOptions() []remote.Option {
	opts := []remote.Option{remote.WithAuthFromKeychain(o.Keychain), remote.WithTransport(o.Transport)}
	if o.UserAgent != "" {
		opts = append(opts, remote.WithUserAgent(o.UserAgent))
	}
	return opts
}
