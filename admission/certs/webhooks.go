package certs

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// setCABundles sets the caBundle of every webhook of the configured
// configurations to bundle, each configuration with an optimistic update
// (retried on a conflict with a fresh read).
func (c *Controller) setCABundles(ctx context.Context, bundle []byte) error {
	for _, name := range c.opts.ValidatingWebhooks {
		if err := c.setValidating(ctx, name, bundle); err != nil {
			return fmt.Errorf("setting the caBundle of ValidatingWebhookConfiguration %s: %w", name, err)
		}
	}
	for _, name := range c.opts.MutatingWebhooks {
		if err := c.setMutating(ctx, name, bundle); err != nil {
			return fmt.Errorf("setting the caBundle of MutatingWebhookConfiguration %s: %w", name, err)
		}
	}
	return nil
}

func (c *Controller) setValidating(ctx context.Context, name string, bundle []byte) error {
	api := c.opts.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations()
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cfg, err := api.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		changed := false
		for i := range cfg.Webhooks {
			if !equalBundle(cfg.Webhooks[i].ClientConfig.CABundle, bundle) {
				cfg.Webhooks[i].ClientConfig.CABundle, changed = bundle, true
			}
		}
		if !changed {
			return nil
		}
		if _, err := api.Update(ctx, cfg, metav1.UpdateOptions{}); err != nil {
			return err
		}
		c.opts.Logger.Info("set the caBundle", "validatingWebhookConfiguration", name)
		return nil
	})
}

func (c *Controller) setMutating(ctx context.Context, name string, bundle []byte) error {
	api := c.opts.Client.AdmissionregistrationV1().MutatingWebhookConfigurations()
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cfg, err := api.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		changed := false
		for i := range cfg.Webhooks {
			if !equalBundle(cfg.Webhooks[i].ClientConfig.CABundle, bundle) {
				cfg.Webhooks[i].ClientConfig.CABundle, changed = bundle, true
			}
		}
		if !changed {
			return nil
		}
		if _, err := api.Update(ctx, cfg, metav1.UpdateOptions{}); err != nil {
			return err
		}
		c.opts.Logger.Info("set the caBundle", "mutatingWebhookConfiguration", name)
		return nil
	})
}
