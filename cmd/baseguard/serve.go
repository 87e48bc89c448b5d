package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/baseguard/baseguard/admission"
	"github.com/baseguard/baseguard/trust"
	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

type serveOptions struct {
	policies       []string
	listen         string
	probeListen    string
	certFile       string
	keyFile        string
	kubeconfig     string
	noNamespaces   bool
	resolve        bool
	pullSecrets    bool
	resolveBudget  time.Duration
	reloadInterval time.Duration
	memoryBudget   string
	maxConns       int
	logLevel       string
	logFormat      string
	audit          auditServeOptions
	certs          certServeOptions
	// whyNoLabels says why namespace labels cannot be read, for the error
	// that refuses a policy needing them.
	whyNoLabels string
	// policyObjects and kyvernoPolicies watch policies as cluster objects;
	// objects are the ones watched (serve_policies.go).
	policyObjects, kyvernoPolicies bool
	objects                        *admission.ClusterPolicies
}

func newServeCmd() *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the validating admission webhook",
		Long: `Serve AdmissionReview v1 requests over HTTPS on /validate, with /healthz,
/readyz and Prometheus /metrics beside it. With --probe-listen, those three
are also served over plain HTTP on a listener of their own, which a flood
of connections or TLS handshakes on the webhook's port does not starve;
nothing that judges is served there.

CREATE and UPDATE of every pod-bearing kind and the pods/ephemeralcontainers
subresource are judged. An UPDATE judges the whole new object and the old
one alike, and is denied for every failure the old object did not have (a
new image, a label bringing a stricter rule into force); failures it had
already do not block it and are told in a warning. Enforced rules deny with
one message naming the first failing containers and counting the rest;
audit and warn rules answer with warnings.

The certificate, key and policy files are re-read when they change; files
that do not load leave the previous ones in force. Namespace labels (for
namespaceSelector) are watched when a cluster is reachable: in a pod through
its service account, elsewhere with --kubeconfig. When a policy selects
namespaces by label and no namespace labels can be read (no cluster, or
RBAC does not let the webhook list namespaces), serve does not start, and a
policy change that would need them is refused; --no-namespace-labels skips
those rules instead, with a warning in every response they would apply to.

With --resolve, lineages are looked up in registries, and the catalog of
known bases is the policies' at start-up (restart to change it). When the
policies judge signatures or scans (signedBy, vulnerabilities), those of
every lineage entry are read from the same registries. /mutate then pins
each image a CREATE or UPDATE brings to the digest its tag resolves to
(repo:tag@sha256:...), so that /validate judges, and the kubelet pulls,
the same image; images already pinned are left alone. With
--pull-secrets too, a pod's images are looked up with its imagePullSecrets
and its service account's, as the kubelet pulls them, then with Docker's
credentials; each credential set has a registry client and caches of its
own, and its secrets are read again every minute.
` + policyObjectsHelp + `

With --cert-secret, serve keeps its own serving certificate instead of
reading one from files: a CA and a pair it signs for --cert-dns-name, in one
Secret shared by the replicas (when they race, one write wins and the others
read it), renewed with a third of their lifetime left (a renewed CA stays
trusted beside the new one until it expires). The caBundle of each
--validating-webhook-configuration and --mutating-webhook-configuration is
kept set to the CA (set again at once when something resets it), and the
pair is written to --cert-dir only after that, so a replica serves only what
kube-apiserver trusts. serve listens once the first certificate is in place.

SIGINT and SIGTERM shut the server down gracefully.`,
		Example: `  # Certificates for a local test, then serve the built-in policy
  baseguard certs --dir certs --dns-name 127.0.0.1
  baseguard serve --tls-cert-file certs/tls.crt --tls-private-key-file certs/tls.key

  # Resolve bases from registries with pods' pull secrets, outside a cluster
  baseguard serve --resolve --pull-secrets --kubeconfig ~/.kube/config \
    --tls-cert-file certs/tls.crt --tls-private-key-file certs/tls.key

  # In a cluster, its own certificate (what the Helm chart runs by default)
  baseguard serve --listen :8443 --policy-objects --cert-secret baseguard-tls --cert-dir /var/run/baseguard/tls \
    --cert-dns-name baseguard.baseguard.svc --validating-webhook-configuration baseguard

  # In a cluster, a certificate from cert-manager or your own Secret
  baseguard serve --listen :8443 --policy /etc/baseguard/policy --policy-objects \
    --tls-cert-file /etc/baseguard/tls/tls.crt --tls-private-key-file /etc/baseguard/tls/tls.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.policies, "policy", "p", nil, "policy file or directory (repeatable; reloaded on change); default: the built-in policy")
	f.StringVar(&o.listen, "listen", admission.DefaultAddr, "address to serve HTTPS on")
	f.StringVar(&o.probeListen, "probe-listen", "", "address to serve /healthz, /readyz and /metrics on over plain HTTP too, apart from the webhook's connections (the chart's probes use it); default: none")
	f.StringVar(&o.certFile, "tls-cert-file", "", "serving certificate, PEM, with its chain (reloaded on change); or --cert-secret")
	f.StringVar(&o.keyFile, "tls-private-key-file", "", "serving certificate's private key, PEM (reloaded on change); or --cert-secret")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig for reading namespace labels and pull secrets (default: in-cluster config when in a pod)")
	f.BoolVar(&o.resolve, "resolve", false, "resolve lineages from registries (anonymous or Docker-config credentials; see --pull-secrets); default: the image as written")
	f.BoolVar(&o.pullSecrets, "pull-secrets", false, "with --resolve, also authenticate with pods' imagePullSecrets and their service accounts' (RBAC: get secrets and serviceaccounts)")
	f.BoolVar(&o.noNamespaces, "no-namespace-labels", false, "do not read namespace labels: rules with namespaceSelector are skipped, with a warning in the response (without it, serve does not start when such a rule cannot be decided)")
	f.DurationVar(&o.resolveBudget, "resolve-budget", admission.DefaultResolveBudget, "time lineage resolution may take per request (lowered to 60% of the request's timeout)")
	f.DurationVar(&o.reloadInterval, "reload-interval", admission.DefaultReloadInterval, "how often certificate and policy files are checked for changes")
	f.StringVar(&o.memoryBudget, "memory-budget", resource.NewQuantity(admission.DefaultMemoryBudget, resource.BinarySI).String(), "memory reviews in flight may hold (a review finding no room within 500ms is answered 429 with Retry-After); keep it below the memory limit less about 64Mi")
	f.IntVar(&o.maxConns, "max-connections", admission.DefaultMaxConnections, "open connections kept at most; at the bound, an idle one of the address holding the most is closed for a new one")
	addPolicyObjectFlags(f, o)
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug (every decision), info (denials, warnings), warn or error")
	f.StringVar(&o.logFormat, "log-format", "json", "log format: json or text")
	o.audit.register(f)
	o.certs.register(f)
	return cmd
}

func runServe(ctx context.Context, o *serveOptions) error {
	log, err := newLogger(o.logLevel, o.logFormat)
	if err != nil {
		return err
	}
	cfg, err := o.restConfig()
	if err != nil {
		return err
	}
	if err := o.startCerts(ctx, cfg, log); err != nil {
		return err
	}
	namespaces := o.namespaceLabeler(ctx, cfg, log)
	roles, err := o.roleLookup(ctx, cfg)
	if err != nil {
		return err
	}
	if o.objects, err = o.clusterPolicies(ctx, cfg, log); err != nil {
		return err
	}
	kube, err := o.kubeClient(cfg)
	if err != nil {
		return err
	}
	need := &trust.Need{}
	resolver, err := o.resolver(log, kube, need)
	if err != nil {
		return err
	}
	budget, err := resource.ParseQuantity(o.memoryBudget)
	if err != nil || budget.Value() <= 0 {
		return fmt.Errorf("--memory-budget %q: want a size such as 160Mi", o.memoryBudget)
	}
	srv, err := admission.NewServer(admission.Options{
		Resolver:               resolver,
		Addr:                   o.listen,
		ProbeAddr:              o.probeListen,
		CertFile:               o.certFile,
		KeyFile:                o.keyFile,
		PolicyPaths:            o.policies,
		ClusterPolicies:        o.objects,
		Namespaces:             namespaces,
		Roles:                  roles,
		SkipNamespaceSelectors: o.noNamespaces,
		ResolveBudget:          o.resolveBudget,
		ReloadInterval:         o.reloadInterval,
		MemoryBudget:           budget.Value(),
		MaxConnections:         o.maxConns,
		Logger:                 log,
		Registry:               o.audit.registry(),
		OnPolicies:             need.UsePolicies,
	})
	if errors.Is(err, admission.ErrNoNamespaceLabels) {
		return fmt.Errorf("%w (%s): run in a cluster or give --kubeconfig, with RBAC to get, list and watch namespaces; or --no-namespace-labels to skip those rules with a warning", err, o.whyNoLabels)
	}
	if err != nil {
		return err
	}
	if err := o.startAudit(ctx, cfg, resolver, srv.Policies, log); err != nil {
		return err
	}
	return srv.Run(ctx)
}

// restConfig is --kubeconfig's cluster, or the in-cluster config in a pod;
// nil without either. Namespace labels, pull secrets and requesters' roles
// are read from it, each only when needed.
func (o *serveOptions) restConfig() (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	switch {
	case o.kubeconfig != "":
		if cfg, err = clientcmd.BuildConfigFromFlags("", o.kubeconfig); err != nil {
			return nil, fmt.Errorf("reading --kubeconfig: %w", err)
		}
	case os.Getenv("KUBERNETES_SERVICE_HOST") != "":
		if cfg, err = rest.InClusterConfig(); err != nil {
			return nil, fmt.Errorf("reading the in-cluster config: %w", err)
		}
	default:
		o.whyNoLabels = "no cluster is configured: no --kubeconfig, not in a pod"
		return nil, nil
	}
	cfg.UserAgent = "baseguard/" + version
	return cfg, nil
}

// namespaceLabeler watches namespaces in cfg's cluster; without one, or
// with --no-namespace-labels, labels are unknown. Namespaces that cannot be
// listed leave them unknown too, and say why: the server then refuses
// policies that need them.
func (o *serveOptions) namespaceLabeler(ctx context.Context, cfg *rest.Config, log *slog.Logger) admission.NamespaceLabeler {
	if o.noNamespaces || cfg == nil {
		return nil
	}
	ns, err := admission.WatchNamespaces(ctx, cfg)
	if err != nil {
		o.whyNoLabels = err.Error()
		log.Warn("namespace labels cannot be read: policies that select namespaces by label will not load", "error", err)
		return nil
	}
	return ns
}

// roleLookup watches role bindings in cfg's cluster, from the first review
// a policy selecting requesters by role needs them; without a cluster,
// roles are unknown and such rules apply.
func (o *serveOptions) roleLookup(ctx context.Context, cfg *rest.Config) (admission.RoleLookup, error) {
	if cfg == nil {
		return nil, nil
	}
	return admission.WatchRoleBindings(ctx, cfg)
}

func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want json or text", format)
}
