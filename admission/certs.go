package admission

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
)

// certificate serves a key pair read from files and re-reads them when
// they change. A pair that fails to load (a certificate renewed before its
// key, say) leaves the previous pair in use until both files agree.
type certificate struct {
	certFile, keyFile string
	pair              atomic.Pointer[tls.Certificate]
	certPEM, keyPEM   []byte // the content last tried
}

func loadCertificate(certFile, keyFile string) (*certificate, error) {
	c := &certificate{certFile: certFile, keyFile: keyFile}
	if _, err := c.reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// GetCertificate is a tls.Config.GetCertificate.
func (c *certificate) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return c.pair.Load(), nil
}

// reload reads the files and swaps in the pair if they changed and agree.
func (c *certificate) reload() (bool, error) {
	certPEM, err := os.ReadFile(c.certFile)
	if err != nil {
		return false, fmt.Errorf("reading certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(c.keyFile)
	if err != nil {
		return false, fmt.Errorf("reading key: %w", err)
	}
	if bytes.Equal(certPEM, c.certPEM) && bytes.Equal(keyPEM, c.keyPEM) {
		return false, nil
	}
	c.certPEM, c.keyPEM = certPEM, keyPEM
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return false, fmt.Errorf("loading key pair %s, %s: %w", c.certFile, c.keyFile, err)
	}
	if pair.Leaf == nil {
		if pair.Leaf, err = x509.ParseCertificate(pair.Certificate[0]); err != nil {
			return false, fmt.Errorf("parsing certificate %s: %w", c.certFile, err)
		}
	}
	c.pair.Store(&pair)
	return true, nil
}

// watch reloads every interval until ctx ends.
func (c *certificate) watch(ctx context.Context, interval time.Duration, log *slog.Logger, m *metrics) {
	every(ctx, interval, func() {
		switch changed, err := c.reload(); {
		case err != nil:
			m.reloads.WithLabelValues("certificate", "error").Inc()
			log.Error("certificate files changed but do not load; the previous certificate stays in use", "error", err)
		case changed:
			m.reloads.WithLabelValues("certificate", "success").Inc()
			leaf := c.pair.Load().Leaf
			log.Info("certificate reloaded", "file", c.certFile, "serial", leaf.SerialNumber.String(), "notAfter", leaf.NotAfter)
		}
	})
}

// every calls f every interval until ctx ends.
func every(ctx context.Context, interval time.Duration, f func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f()
		}
	}
}
