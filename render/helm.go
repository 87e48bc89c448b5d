package render

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
)

// ChartOptions say how a chart is rendered.
type ChartOptions struct {
	// ValuesFiles are merged over the chart's default values, in order
	// (`helm template --values`).
	ValuesFiles []string
	// Namespace is the release namespace; empty is "default".
	Namespace string
	// KubeVersion is the Kubernetes version rendered for
	// (`helm template --kube-version`); empty is Helm's default.
	KubeVersion string
	// Timeout bounds the render (DefaultTimeout when zero).
	Timeout time.Duration
}

// releaseName is the release name `helm template` uses when given none.
const releaseName = "release-name"

// Chart renders the chart in dir as `helm template dir` does, within
// opt.Timeout, and returns each template's output, its Source the
// template's path under dir.
func Chart(dir string, opt ChartOptions) ([]Manifest, error) {
	return within(opt.Timeout, "chart "+dir, func() ([]Manifest, error) { return chart(dir, opt) })
}

// chart renders the chart in dir.
func chart(dir string, opt ChartOptions) ([]Manifest, error) {
	ch, err := loader.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("loading chart %s: %w", dir, err)
	}
	vals := map[string]any{}
	for _, f := range opt.ValuesFiles {
		v, err := common.ReadValuesFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading values %s: %w", f, err)
		}
		vals = loader.MergeMaps(vals, v)
	}
	if err := chartutil.ProcessDependencies(ch, vals); err != nil {
		return nil, fmt.Errorf("chart %s: processing dependencies: %w", dir, err)
	}
	ns := opt.Namespace
	if ns == "" {
		ns = "default"
	}
	rel := common.ReleaseOptions{Name: releaseName, Namespace: ns, Revision: 1, IsInstall: true}
	caps := common.DefaultCapabilities.Copy()
	if opt.KubeVersion != "" {
		kv, err := common.ParseKubeVersion(opt.KubeVersion)
		if err != nil {
			return nil, fmt.Errorf("chart %s: kube version %q: %w", dir, opt.KubeVersion, err)
		}
		caps.KubeVersion = *kv
	}
	if v := ch.Metadata.KubeVersion; v != "" && !chartutil.IsCompatibleRange(v, caps.KubeVersion.String()) {
		return nil, fmt.Errorf("chart %s requires kubeVersion %s, not %s", dir, v, caps.KubeVersion.String())
	}
	render, err := util.ToRenderValuesWithSchemaValidation(ch, vals, rel, caps, false)
	if err != nil {
		return nil, fmt.Errorf("chart %s: %w", dir, err)
	}
	files, err := engine.Render(ch, render)
	if err != nil {
		return nil, fmt.Errorf("rendering chart %s: %w", dir, err)
	}
	return chartManifests(dir, ch.Name(), files)
}

// chartManifests orders rendered templates by name, drops NOTES.txt and
// empty output, and names each by its path under the chart directory.
func chartManifests(dir, name string, files map[string]string) ([]Manifest, error) {
	names := make([]string, 0, len(files))
	total := 0
	for n, data := range files {
		total += len(data)
		if strings.HasSuffix(n, "NOTES.txt") || strings.TrimSpace(data) == "" {
			continue
		}
		names = append(names, n)
	}
	if err := checkSize("chart "+dir, total); err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]Manifest, 0, len(names))
	for _, n := range names {
		rel := strings.TrimPrefix(n, name+"/")
		out = append(out, Manifest{Source: filepath.Join(dir, filepath.FromSlash(rel)), Data: []byte(files[n])})
	}
	return out, nil
}
