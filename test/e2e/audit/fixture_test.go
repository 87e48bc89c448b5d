package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// auditTime is the time audits are judged at (--now): bases' ages and
// exceptions' expiry are as of then.
var auditTime = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// Creation times of the bases.
var (
	alpineOld = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	alpineNew = time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	wolfiAt   = time.Date(2026, 9, 15, 0, 0, 0, 0, time.UTC)
	centosAt  = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
)

// auditPolicy approves alpine and wolfi bases, denies CentOS (excepted in
// the legacy namespace until 2027-01-31), and allows only wolfi in
// namespaces labelled tier=restricted.
const auditPolicy = `apiVersion: baseguard.dev/v1alpha1
kind: BaseImagePolicy
metadata: {name: bases}
spec:
  action: enforce
  rules:
    - name: approved-bases
      allow: ["*/base/alpine:*", "*/base/wolfi:*"]
    - name: deprecated-bases
      deny: ["*centos*"]
    - name: restricted-wolfi
      match: {namespaceSelector: {matchLabels: {tier: restricted}}}
      allow: ["*/base/wolfi:*"]
  exceptions:
    - {name: legacy-centos, namespaces: [legacy], images: ["*/library/centos:7"],
       rules: [approved-bases, deprecated-bases], expires: "2027-01-31", reason: moving to wolfi}
`

// fixture is the cluster and registries every audit test reads.
type fixture struct {
	pub, priv  *registry
	policyFile string
	digests    map[string]string // base ref -> digest
}

const (
	privUser, privPassword = "puller", "s3cret"
	goneImage              = "127.0.0.1:1/team/gone:1" // nothing listens on port 1
)

func newFixture() (*fixture, error) {
	f := &fixture{pub: newRegistry("", ""), priv: newRegistry(privUser, privPassword), digests: map[string]string{}}
	if err := f.pushImages(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "baseguard-audit-policy-")
	if err != nil {
		return nil, err
	}
	f.policyFile = filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(f.policyFile, []byte(auditPolicy), 0o644); err != nil {
		return nil, err
	}
	return f, f.createCluster(context.Background())
}

func (f *fixture) close() {
	f.pub.srv.Close()
	f.priv.srv.Close()
	os.RemoveAll(filepath.Dir(f.policyFile))
}

// pushImages pushes the bases and the apps built on them. alpine:3.19 is
// pushed twice: report:1 is built on the first, which the tag no longer
// names (a stale base), web:1 on the second.
func (f *fixture) pushImages() error {
	old, d, err := f.pub.pushBase("base/alpine:3.19", alpineOld)
	if err != nil {
		return err
	}
	f.digests["alpine-old"] = d.String()
	if err := f.pub.pushApp("team/report:1", old, f.pub.ref("base/alpine:3.19")); err != nil {
		return err
	}
	steps := []struct {
		key, repo, app string
		created        time.Time
		reg            *registry
	}{
		{"alpine", "base/alpine:3.19", "team/web:1", alpineNew, f.pub},
		{"wolfi", "base/wolfi:1", "team/api:1", wolfiAt, f.pub},
		{"centos", "library/centos:7", "team/legacy:1", centosAt, f.pub},
		{"private-wolfi", "base/wolfi:1", "team/private:1", wolfiAt, f.priv},
	}
	for _, s := range steps {
		base, d, err := s.reg.pushBase(s.repo, s.created)
		if err != nil {
			return err
		}
		f.digests[s.key] = d.String()
		if err := s.reg.pushApp(s.app, base, s.reg.ref(s.repo)); err != nil {
			return err
		}
	}
	return f.pub.pushApp("team/orphan:1", nil, "")
}

// createCluster makes the namespaces and workloads, with ReplicaSets, Jobs
// and Pods made as their controllers would make them (envtest runs no
// controllers).
func (f *fixture) createCluster(ctx context.Context) error {
	for name, labels := range map[string]map[string]string{
		"shop": {"team": "shop"}, "payments": {"tier": "restricted"}, "legacy": nil,
	} {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
		if _, err := clientset.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			return err
		}
	}
	for _, step := range []func(context.Context) error{f.shop, f.payments, f.legacy} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

func (f *fixture) shop(ctx context.Context) error {
	web := []corev1.Container{{Name: "app", Image: f.pub.ref("team/web:1")}}
	init := []corev1.Container{{Name: "init", Image: f.pub.ref("team/web:1")}}
	d, err := createDeployment(ctx, "shop", "web", 3, podSpecOf(web, init))
	if err != nil {
		return err
	}
	rs, err := createReplicaSet(ctx, d, "web-7d9", 3, podSpecOf(web, init))
	if err != nil {
		return err
	}
	// The previous revision, scaled down: not what runs, never judged.
	if _, err := createReplicaSet(ctx, d, "web-5c4", 0, podSpecOf([]corev1.Container{{Name: "app", Image: f.pub.ref("team/legacy:1")}}, nil)); err != nil {
		return err
	}
	for _, p := range []string{"web-7d9-a", "web-7d9-b", "web-7d9-c"} {
		if _, err := createPod(ctx, "shop", p, owner("apps/v1", "ReplicaSet", rs.Name, rs.UID), podSpecOf(web, init)); err != nil {
			return err
		}
	}
	if err := f.cronJob(ctx); err != nil {
		return err
	}
	if _, err := createPod(ctx, "shop", "debug", nil, podSpecOf([]corev1.Container{{Name: "shell", Image: f.pub.ref("team/orphan:1")}}, nil)); err != nil {
		return err
	}
	_, err = createDeployment(ctx, "shop", "idle", 0, podSpecOf([]corev1.Container{{Name: "app", Image: f.pub.ref("team/legacy:1")}}, nil))
	return err
}

// cronJob makes CronJob report with a running Job and a finished one.
func (f *fixture) cronJob(ctx context.Context) error {
	spec := podSpecOf([]corev1.Container{{Name: "report", Image: f.pub.ref("team/report:1")}}, nil)
	spec.RestartPolicy = corev1.RestartPolicyNever
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "report", Namespace: "shop"},
		Spec: batchv1.CronJobSpec{Schedule: "0 * * * *", JobTemplate: batchv1.JobTemplateSpec{
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: spec}},
		}},
	}
	cj, err := clientset.BatchV1().CronJobs("shop").Create(ctx, cj, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	finished := spec
	finished.Containers = []corev1.Container{{Name: "report", Image: f.pub.ref("team/orphan:1")}}
	for _, j := range []struct {
		name string
		spec corev1.PodSpec
		done bool
	}{{"report-1", spec, false}, {"report-0", finished, true}} {
		job := &batchv1.Job{
			ObjectMeta: metav1.ObjectMeta{Name: j.name, Namespace: "shop", OwnerReferences: owner("batch/v1", "CronJob", cj.Name, cj.UID)},
			Spec:       batchv1.JobSpec{Template: corev1.PodTemplateSpec{Spec: j.spec}},
		}
		job, err := clientset.BatchV1().Jobs("shop").Create(ctx, job, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		pod, err := createPod(ctx, "shop", j.name+"-x", owner("batch/v1", "Job", job.Name, job.UID), j.spec)
		if err != nil {
			return err
		}
		if j.done {
			pod.Status.Phase = corev1.PodSucceeded
			if _, err := clientset.CoreV1().Pods("shop").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *fixture) payments(ctx context.Context) error {
	api := podSpecOf([]corev1.Container{{Name: "db", Image: f.pub.ref("team/api:1")}}, nil)
	ss := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: "payments"},
		Spec: appsv1.StatefulSetSpec{Replicas: new(int32(2)), ServiceName: "db", Selector: selector("db"),
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "db"}}, Spec: api}},
	}
	ss, err := clientset.AppsV1().StatefulSets("payments").Create(ctx, ss, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	for _, p := range []string{"db-0", "db-1"} {
		if _, err := createPod(ctx, "payments", p, owner("apps/v1", "StatefulSet", ss.Name, ss.UID), api); err != nil {
			return err
		}
	}
	web := podSpecOf([]corev1.Container{{Name: "app", Image: f.pub.ref("team/web:1")}}, nil)
	d, err := createDeployment(ctx, "payments", "pay", 1, web)
	if err != nil {
		return err
	}
	rs, err := createReplicaSet(ctx, d, "pay-1", 1, web)
	if err != nil {
		return err
	}
	if _, err := createPod(ctx, "payments", "pay-1-a", owner("apps/v1", "ReplicaSet", rs.Name, rs.UID), web); err != nil {
		return err
	}
	return f.privatePod(ctx)
}

// privatePod runs an image of the private registry, pulled with a real
// kubernetes.io/dockerconfigjson pull secret.
func (f *fixture) privatePod(ctx context.Context) error {
	cfgJSON, _ := json.Marshal(map[string]any{"auths": map[string]any{f.priv.host: map[string]string{"username": privUser, "password": privPassword}}})
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "regcred", Namespace: "payments"},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: cfgJSON},
	}
	if _, err := clientset.CoreV1().Secrets("payments").Create(ctx, secret, metav1.CreateOptions{}); err != nil {
		return err
	}
	spec := podSpecOf([]corev1.Container{{Name: "app", Image: f.priv.ref("team/private:1")}}, nil)
	spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
	_, err := createPod(ctx, "payments", "private", nil, spec)
	return err
}

func (f *fixture) legacy(ctx context.Context) error {
	spec := podSpecOf([]corev1.Container{{Name: "agent", Image: f.pub.ref("team/legacy:1")}}, nil)
	ds := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: "agent", Namespace: "legacy"},
		Spec: appsv1.DaemonSetSpec{Selector: selector("agent"),
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "agent"}}, Spec: spec}},
	}
	ds, err := clientset.AppsV1().DaemonSets("legacy").Create(ctx, ds, metav1.CreateOptions{})
	if err != nil {
		return err
	}
	for _, p := range []string{"agent-a", "agent-b"} {
		if _, err := createPod(ctx, "legacy", p, owner("apps/v1", "DaemonSet", ds.Name, ds.UID), spec); err != nil {
			return err
		}
	}
	_, err = createPod(ctx, "legacy", "gone", nil, podSpecOf([]corev1.Container{{Name: "app", Image: goneImage}}, nil))
	return err
}

func podSpecOf(containers, init []corev1.Container) corev1.PodSpec {
	return corev1.PodSpec{Containers: containers, InitContainers: init}
}

func selector(app string) *metav1.LabelSelector {
	return &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}
}

func owner(apiVersion, kind, name string, uid types.UID) []metav1.OwnerReference {
	return []metav1.OwnerReference{{APIVersion: apiVersion, Kind: kind, Name: name, UID: uid, Controller: new(true), BlockOwnerDeletion: new(true)}}
}

func createDeployment(ctx context.Context, ns, name string, replicas int32, spec corev1.PodSpec) (*appsv1.Deployment, error) {
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": name}},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: selector(name),
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}}, Spec: spec}},
	}
	return clientset.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{})
}

// replicaSetOf is a one-replica ReplicaSet owned by owners.
func replicaSetOf(ns, name string, owners []metav1.OwnerReference, spec corev1.PodSpec) *appsv1.ReplicaSet {
	one := int32(1)
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, OwnerReferences: owners},
		Spec: appsv1.ReplicaSetSpec{Replicas: &one, Selector: selector(name),
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}}, Spec: spec}},
	}
}

func createReplicaSet(ctx context.Context, d *appsv1.Deployment, name string, replicas int32, spec corev1.PodSpec) (*appsv1.ReplicaSet, error) {
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: d.Namespace, OwnerReferences: owner("apps/v1", "Deployment", d.Name, d.UID)},
		Spec: appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: selector(d.Name),
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": d.Name}}, Spec: spec}},
	}
	return clientset.AppsV1().ReplicaSets(d.Namespace).Create(ctx, rs, metav1.CreateOptions{})
}

func createPod(ctx context.Context, ns, name string, owners []metav1.OwnerReference, spec corev1.PodSpec) (*corev1.Pod, error) {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, OwnerReferences: owners}, Spec: spec}
	p, err := clientset.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating pod %s/%s: %w", ns, name, err)
	}
	return p, nil
}
