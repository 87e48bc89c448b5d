package certs

import (
	"context"
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
)

// setCABundles sets the caBundle of every webhook of the configured
// configurations to bundle, each configuration with an optimistic update
// (retried on a conflict with a fresh read).
func (c *Controller) setCABundles(ctx context.Context, bundle []byte) error {
	admission := c.opts.Client.AdmissionregistrationV1()
	validating := func(cfg *admissionregistrationv1.ValidatingWebhookConfiguration) []*admissionregistrationv1.WebhookClientConfig {
		var out []*admissionregistrationv1.WebhookClientConfig
		for i := range cfg.Webhooks {
			out = append(out, &cfg.Webhooks[i].ClientConfig)
		}
		return out
	}
	mutating := func(cfg *admissionregistrationv1.MutatingWebhookConfiguration) []*admissionregistrationv1.WebhookClientConfig {
		var out []*admissionregistrationv1.WebhookClientConfig
		for i := range cfg.Webhooks {
			out = append(out, &cfg.Webhooks[i].ClientConfig)
		}
		return out
	}
	for _, name := range c.opts.ValidatingWebhooks {
		if err := setCABundle(ctx, c, admission.ValidatingWebhookConfigurations(), "ValidatingWebhookConfiguration", name, bundle, validating); err != nil {
			return err
		}
	}
	for _, name := range c.opts.MutatingWebhooks {
		if err := setCABundle(ctx, c, admission.MutatingWebhookConfigurations(), "MutatingWebhookConfiguration", name, bundle, mutating); err != nil {
			return err
		}
	}
	return nil
}

// webhookConfigurations is what setCABundle needs of the client of one
// kind of webhook configuration.
type webhookConfigurations[T any] interface {
	Get(ctx context.Context, name string, opts metav1.GetOptions) (T, error)
	Update(ctx context.Context, cfg T, opts metav1.UpdateOptions) (T, error)
}

// setCABundle sets the caBundle of every webhook of the configuration of
// kind named name (its client configurations are clientConfigs') to
// bundle, updating it only when one differs.
func setCABundle[T any](ctx context.Context, c *Controller, api webhookConfigurations[T], kind, name string, bundle []byte, clientConfigs func(T) []*admissionregistrationv1.WebhookClientConfig) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cfg, err := api.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		changed := false
		for _, cc := range clientConfigs(cfg) {
			if !equalBundle(cc.CABundle, bundle) {
				cc.CABundle, changed = bundle, true
			}
		}
		if !changed {
			return nil
		}
		if _, err := api.Update(ctx, cfg, metav1.UpdateOptions{}); err != nil {
			return err
		}
		c.opts.Logger.Info("set the caBundle", "kind", kind, "name", name)
		return nil
	})
	if err != nil {
		return fmt.Errorf("setting the caBundle of %s %s: %w", kind, name, err)
	}
	return nil
}
