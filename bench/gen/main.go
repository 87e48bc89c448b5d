// Command gen writes N mixed Kubernetes resources for benchmarks: every
// pod-bearing kind, several containers and container lists, approved,
// deprecated, versioned and invalid-free images, labels that select the
// strict tier. The output is deterministic for a given -n and -seed.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"

	"github.com/baseguard/baseguard/subject"
)

var images = []string{
	"registry.example.com/base/alpine:3.19",
	"registry.example.com/base/wolfi:latest",
	"registry.example.com/base/distroless/static:nonroot",
	"registry.example.com/base/ubuntu:22.04",
	"registry.example.com/base/ubuntu:20.04",
	"centos:7",
	"debian:12",
	"docker.io/library/ubuntu:18.04",
	"quay.io/team/app:1.4@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	"ghcr.io/org/tool:v2",
}

var kinds = []string{"Pod", "Deployment", "Deployment", "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet", "ReplicationController", "PodTemplate", "Service", "ConfigMap"}

func main() {
	n := flag.Int("n", 10000, "number of resources")
	seed := flag.Uint64("seed", 1, "random seed")
	onePod := flag.Int("one-pod", 0, "instead, write one Pod with this many containers (400000 is 15 MB)")
	flag.Parse()
	if *onePod > 0 {
		writeOnePod(*onePod)
		return
	}
	r := rand.New(rand.NewPCG(*seed, *seed))
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for i := 0; i < *n; i++ {
		kind := kinds[r.IntN(len(kinds))]
		fmt.Fprintf(w, "---\napiVersion: v1\nkind: %s\nmetadata:\n  name: res-%d\n  namespace: team-%d\n", kind, i, i%20)
		if r.IntN(5) == 0 {
			fmt.Fprintf(w, "  labels:\n    security.enforce: \"high\"\n    app: res-%d\n", i)
		}
		path, ok := subject.PodKinds[kind]
		if !ok {
			fmt.Fprintf(w, "data:\n  key: value-%d\n", i)
			continue
		}
		indent := ""
		for _, key := range path {
			fmt.Fprintf(w, "%s%s:\n", indent, key)
			indent += "  "
		}
		writeList(w, r, indent, "containers", 1+r.IntN(3))
		if r.IntN(3) == 0 {
			writeList(w, r, indent, "initContainers", 1)
		}
	}
}

func writeList(w *bufio.Writer, r *rand.Rand, indent, list string, n int) {
	fmt.Fprintf(w, "%s%s:\n", indent, list)
	for j := 0; j < n; j++ {
		fmt.Fprintf(w, "%s  - name: c%d\n%s    image: %s\n", indent, j, indent, images[r.IntN(len(images))])
		fmt.Fprintf(w, "%s    ports:\n%s      - containerPort: %d\n", indent, indent, 8000+j)
		fmt.Fprintf(w, "%s    resources:\n%s      requests: {cpu: 100m, memory: 64Mi}\n", indent, indent)
		fmt.Fprintf(w, "%s    env:\n%s      - {name: MODE, value: %s}\n", indent, indent, strings.Repeat("x", 8))
	}
}

// short are images of the one large Pod, short so that 400,000 containers
// make a 15 MB manifest.
var short = []string{"alpine:3.19", "centos:7", "debian:12"}

// writeOnePod writes a single Pod holding n containers: the largest
// resource check must stay bounded on.
func writeOnePod(n int) {
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	fmt.Fprintf(w, "apiVersion: v1\nkind: Pod\nmetadata: {name: big}\nspec:\n  containers:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "  - {name: c%d, image: %s}\n", i, short[i%len(short)])
	}
}
