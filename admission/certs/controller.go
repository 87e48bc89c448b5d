package certs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/baseguard/baseguard/admission/pki"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Defaults. Each is what an Options field means when left zero.
const (
	// DefaultCAValidity is long: a new CA is the one change every replica
	// must see before it is used.
	DefaultCAValidity = pki.DefaultCAValidity
	// DefaultValidity is a year, renewed after eight months.
	DefaultValidity = pki.DefaultLeafValidity
	// DefaultResync bounds how long a change no watch event told of (a
	// watch reconnecting) goes unseen.
	DefaultResync = 10 * time.Minute
)

// conflictRetries bounds the re-reads after an update lost to another
// replica: each loss means someone else's write, which the next read sees.
const conflictRetries = 5

// Options configure a Controller.
type Options struct {
	// Client reads and writes the Secret and the webhook configurations.
	// RBAC: get, update, list and watch the Secret (by name), and get,
	// update, list and watch the configurations (by name).
	Client kubernetes.Interface
	// Namespace and SecretName name the Secret; it is created when
	// missing (RBAC: create secrets), though a chart creates it empty so
	// that no create right is needed.
	Namespace, SecretName string
	// Names are the DNS names and IP addresses the webhook is called at
	// (its Service's <name>.<namespace>.svc).
	Names []string
	// Dir is where ca.crt, tls.crt and tls.key are written for the server.
	Dir string
	// ValidatingWebhooks and MutatingWebhooks name the configurations
	// whose webhooks' caBundle is kept equal to the CA bundle; a sync
	// fails while one of them does not exist.
	ValidatingWebhooks, MutatingWebhooks []string
	// CAValidity and Validity are the lifetimes of new CAs and serving
	// certificates (DefaultCAValidity, DefaultValidity when zero).
	CAValidity, Validity time.Duration
	// Resync is the longest time between syncs (DefaultResync when zero).
	Resync time.Duration
	// Logger receives a line for each certificate written or caBundle set
	// (discarded when nil).
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Controller keeps the Secret, the caBundles and the files in step.
type Controller struct {
	opts Options
	// written is the Secret data last written to Dir.
	written map[string][]byte
}

// New checks opts and returns a Controller; nothing is read until Sync.
func New(opts Options) (*Controller, error) {
	switch {
	case opts.Client == nil:
		return nil, errors.New("certificate controller: no Kubernetes client")
	case opts.Namespace == "" || opts.SecretName == "":
		return nil, errors.New("certificate controller: the Secret's namespace and name are required")
	case len(opts.Names) == 0:
		return nil, errors.New("certificate controller: at least one DNS name or IP address is required")
	case opts.Dir == "":
		return nil, errors.New("certificate controller: no directory to write the certificate to")
	case len(opts.ValidatingWebhooks)+len(opts.MutatingWebhooks) == 0:
		return nil, errors.New("certificate controller: no webhook configuration to set the caBundle of")
	}
	if opts.CAValidity <= 0 {
		opts.CAValidity = DefaultCAValidity
	}
	if opts.Validity <= 0 {
		opts.Validity = DefaultValidity
	}
	if opts.Resync <= 0 {
		opts.Resync = DefaultResync
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Controller{opts: opts}, nil
}

// CertFile and KeyFile are the files the server reads.
func (c *Controller) CertFile() string { return c.opts.Dir + "/" + pki.CertFile }
func (c *Controller) KeyFile() string  { return c.opts.Dir + "/" + pki.KeyFile }

// Sync makes the Secret hold a good CA and serving pair, sets every
// configured webhook's caBundle to its CA bundle, then writes the pair to
// Dir. It returns when the serving pair is next due.
func (c *Controller) Sync(ctx context.Context) (time.Time, error) {
	var data map[string][]byte
	var err error
	for range conflictRetries {
		if data, err = c.syncSecret(ctx); !apierrors.IsConflict(err) && !apierrors.IsAlreadyExists(err) {
			break
		}
		c.opts.Logger.Debug("another replica wrote the certificate Secret first; reading it", "secret", c.secretRef())
	}
	if err != nil {
		return time.Time{}, err
	}
	if err := c.setCABundles(ctx, data[KeyCABundle]); err != nil {
		return time.Time{}, err
	}
	if err := c.writeFiles(data); err != nil {
		return time.Time{}, err
	}
	return c.nextDue(data), nil
}

// syncSecret reads the Secret and, when it is not good, writes what it
// should hold; it returns the data in force.
func (c *Controller) syncSecret(ctx context.Context) (map[string][]byte, error) {
	secrets := c.opts.Client.CoreV1().Secrets(c.opts.Namespace)
	sec, err := secrets.Get(ctx, c.opts.SecretName, metav1.GetOptions{})
	missing := apierrors.IsNotFound(err)
	if err != nil && !missing {
		return nil, fmt.Errorf("reading Secret %s: %w", c.secretRef(), err)
	}
	if missing {
		sec = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: c.opts.SecretName, Namespace: c.opts.Namespace}}
	}
	want, why, err := plan(sec.Data, c.spec())
	if err != nil {
		return nil, fmt.Errorf("making certificates for Secret %s: %w", c.secretRef(), err)
	}
	if want == nil {
		return sec.Data, nil
	}
	sec.Data = want
	if missing {
		_, err = secrets.Create(ctx, sec, metav1.CreateOptions{})
	} else {
		_, err = secrets.Update(ctx, sec, metav1.UpdateOptions{}) // fails on a conflict: another replica wrote first
	}
	if err != nil {
		return nil, fmt.Errorf("writing Secret %s: %w", c.secretRef(), err)
	}
	c.opts.Logger.Info("wrote a new serving certificate", "secret", c.secretRef(), "why", why)
	return want, nil
}

func (c *Controller) spec() spec {
	return spec{names: c.opts.Names, caValidity: c.opts.CAValidity, leafValidity: c.opts.Validity, now: c.opts.Now()}
}

func (c *Controller) secretRef() string { return c.opts.Namespace + "/" + c.opts.SecretName }

// writeFiles writes the pair and the bundle to Dir when they changed.
func (c *Controller) writeFiles(data map[string][]byte) error {
	if sameData(c.written, data) {
		return nil
	}
	leaf := &pki.Leaf{CertPEM: data[KeyCert], KeyPEM: data[KeyKey]}
	if err := pki.WriteFiles(c.opts.Dir, data[KeyCABundle], leaf); err != nil {
		return err
	}
	c.written = data
	return nil
}

// nextDue is when the serving pair or the CA is next due for renewal.
func (c *Controller) nextDue(data map[string][]byte) time.Time {
	due := c.opts.Now().Add(c.opts.Resync)
	ca, err := pki.ParseCA(data[KeyCABundle], data[KeyCAKey])
	if err == nil && renewAt(ca.Cert).Before(due) {
		due = renewAt(ca.Cert)
	}
	if leaf, err := parseLeaf(data[KeyCert]); err == nil && renewAt(leaf).Before(due) {
		due = renewAt(leaf)
	}
	return due
}

func equalBundle(a, b []byte) bool { return bytes.Equal(bytes.TrimSpace(a), bytes.TrimSpace(b)) }
