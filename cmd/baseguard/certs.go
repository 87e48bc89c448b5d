package main

import (
	"encoding/base64"
	"fmt"
	"path/filepath"
	"time"

	"github.com/baseguard/baseguard/admission/pki"
	"github.com/spf13/cobra"
)

type certsOptions struct {
	dir        string
	names      []string
	validity   time.Duration
	caValidity time.Duration
}

func newCertsCmd() *cobra.Command {
	o := &certsOptions{}
	cmd := &cobra.Command{
		Use:   "certs",
		Short: "Make a CA and a serving certificate for the webhook",
		Long: `Write a new self-signed CA (ECDSA P-256) and a serving certificate it signs
for the given DNS names (IP addresses become IP SANs) into --dir:
ca.crt, tls.crt and tls.key. Print the CA certificate base64-encoded, which
is the ValidatingWebhookConfiguration's caBundle.

The CA's key is not kept: to rotate, run again and update the caBundle and
the Secret together. For rotation without a caBundle change, use
cert-manager (the Helm chart's certManager.enabled).`,
		Example: `  # For the Helm chart's Secret mode (release "baseguard" in namespace "baseguard")
  baseguard certs --dir certs --dns-name baseguard.baseguard.svc
  kubectl -n baseguard create secret tls baseguard-tls --cert certs/tls.crt --key certs/tls.key
  helm install baseguard charts/baseguard -n baseguard \
    --set tls.caBundle=$(base64 -w0 < certs/ca.crt)

  # For a local server on loopback
  baseguard certs --dir certs --dns-name 127.0.0.1 --dns-name localhost`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ca, err := pki.NewCA("baseguard-webhook-ca", o.caValidity)
			if err != nil {
				return err
			}
			if err := ca.WriteServing(o.dir, o.names, o.validity); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s, %s, %s; caBundle:\n",
				filepath.Join(o.dir, pki.CAFile), filepath.Join(o.dir, pki.CertFile), filepath.Join(o.dir, pki.KeyFile))
			_, err = fmt.Fprintln(cmd.OutOrStdout(), base64.StdEncoding.EncodeToString(ca.CertPEM))
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", "", "directory to write ca.crt, tls.crt and tls.key into (created if missing)")
	f.StringArrayVar(&o.names, "dns-name", nil, "DNS name or IP address the webhook is reached at (repeatable)")
	f.DurationVar(&o.validity, "validity", pki.DefaultLeafValidity, "how long the serving certificate is valid")
	f.DurationVar(&o.caValidity, "ca-validity", pki.DefaultCAValidity, "how long the CA is valid")
	cmd.MarkFlagRequired("dir")
	cmd.MarkFlagRequired("dns-name")
	return cmd
}
