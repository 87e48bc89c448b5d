package certs

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"
)

// Retry bounds after a failed sync: quick at first (a webhook
// configuration created a moment after the pod), at most a minute apart.
const (
	retryMin = time.Second
	retryMax = time.Minute
)

// SyncUntilDone syncs until a sync succeeds or ctx ends, waiting longer
// after each failure; each failure is logged.
func (c *Controller) SyncUntilDone(ctx context.Context) (time.Time, error) {
	wait := retryMin
	for {
		due, err := c.Sync(ctx)
		if err == nil {
			return due, nil
		}
		c.opts.Logger.Warn("the serving certificate is not in place yet; retrying", "error", err, "retryIn", wait.String())
		select {
		case <-ctx.Done():
			return time.Time{}, errors.Join(ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, retryMax)
	}
}

// Run syncs whenever the Secret or a webhook configuration changes, when
// the certificates are due, and every Resync, until ctx ends. Call it
// after a first successful sync.
func (c *Controller) Run(ctx context.Context, due time.Time) {
	changed := make(chan struct{}, 1)
	poke := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	c.watch(ctx, poke)
	wait := retryMin
	for {
		timer := time.NewTimer(max(time.Until(due), 0))
		select {
		case <-ctx.Done():
			timer.Stop()
			return
		case <-changed:
		case <-timer.C:
		}
		timer.Stop()
		next, err := c.Sync(ctx)
		if err != nil {
			c.opts.Logger.Error("syncing the serving certificate", "error", err, "retryIn", wait.String())
			due, wait = time.Now().Add(wait), min(2*wait, retryMax)
			continue
		}
		due, wait = next, retryMin
	}
}

// watch calls poke on every change of the Secret and of each webhook
// configuration, each watched by name, until ctx ends.
func (c *Controller) watch(ctx context.Context, poke func()) {
	type source struct {
		getter cache.Getter
		kind   string
		ns     string
		name   string
		obj    runtime.Object
	}
	core := c.opts.Client.CoreV1().RESTClient()
	reg := c.opts.Client.AdmissionregistrationV1().RESTClient()
	sources := []source{{core, "secrets", c.opts.Namespace, c.opts.SecretName, &corev1.Secret{}}}
	for _, n := range c.opts.ValidatingWebhooks {
		sources = append(sources, source{reg, "validatingwebhookconfigurations", "", n, &admissionregistrationv1.ValidatingWebhookConfiguration{}})
	}
	for _, n := range c.opts.MutatingWebhooks {
		sources = append(sources, source{reg, "mutatingwebhookconfigurations", "", n, &admissionregistrationv1.MutatingWebhookConfiguration{}})
	}
	handler := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { poke() },
		UpdateFunc: func(any, any) { poke() },
		DeleteFunc: func(any) { poke() },
	}
	for _, s := range sources {
		lw := cache.NewListWatchFromClient(s.getter, s.kind, s.ns, fields.OneTermEqualSelector("metadata.name", s.name))
		_, ctl := cache.NewInformerWithOptions(cache.InformerOptions{ListerWatcher: lw, ObjectType: s.obj, Handler: handler, ResyncPeriod: c.opts.Resync})
		go ctl.RunWithContext(ctx)
	}
}

// parseLeaf parses the first certificate of a PEM bundle.
func parseLeaf(certPEM []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(certPEM)
	if block == nil {
		return nil, errors.New("no PEM certificate")
	}
	return x509.ParseCertificate(block.Bytes)
}
