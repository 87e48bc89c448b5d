package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Conditions callers act on. Every error the package returns for one of
// these conditions wraps the matching sentinel, so errors.Is works through
// the "resolving base of ..." context the resolver adds. Deadlines surface
// as context.DeadlineExceeded, cancellation as context.Canceled.
var (
	// ErrNotFound: the registry has no such repository, tag or digest (404).
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: the registry refused the credentials, or there were
	// none (401, 403).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrTooLarge: a manifest, config or attestation is larger than the
	// limit the resolver reads.
	ErrTooLarge = errors.New("too large")
	// ErrMalformed: a manifest, config or attestation could not be parsed.
	ErrMalformed = errors.New("malformed")
	// ErrOffline: the resolver may not use the network and the fact is not
	// cached.
	ErrOffline = errors.New("offline and not cached")
	// ErrUnavailable: the registry failed (5xx or 429) after retries.
	ErrUnavailable = errors.New("registry unavailable")
)

// PlatformError says that an image has no manifest for the platform asked
// for, and which platforms it has.
type PlatformError struct {
	Want      string
	Available []string
}

func (e *PlatformError) Error() string {
	return fmt.Sprintf("no manifest for platform %s (the image has %v)", e.Want, e.Available)
}

// classify wraps a registry client error with the sentinel that names its
// condition, keeping the original for its message.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var te *transport.Error
	if errors.As(err, &te) {
		switch {
		case te.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%w: %w", ErrNotFound, err)
		case te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden:
			return fmt.Errorf("%w: %w", ErrUnauthorized, err)
		case te.StatusCode == http.StatusTooManyRequests || te.StatusCode >= 500:
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("the registry did not answer before the deadline: %w", err)
	}
	return err
}

// negative reports whether a failure may be remembered for a while: the
// registry said no (401, 403, 404). Timeouts, cancellations and server
// errors are never remembered.
func negative(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnauthorized)
}

// permanent reports whether a failure to load a declared base is a fact
// about that base (it is gone, private, broken or too large) rather than a
// passing failure of the registry or of our deadline. A permanent failure
// becomes a problem of the lineage entry; any other failure fails the
// resolution.
func permanent(err error) bool {
	return negative(err) || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrMalformed)
}
