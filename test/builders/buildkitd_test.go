package builders

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

// buildkitdStart bounds how long buildkitd may take to answer.
const buildkitdStart = time.Minute

// buildkitd is a running buildkitd on a temporary root.
type buildkitd struct {
	dir  string
	addr string // unix://.../buildkitd.sock
	cmd  *exec.Cmd
	log  *bytes.Buffer
	done chan error
}

// buildkitdConfig keeps buildkitd inside dir: its state, its socket, its
// trace socket; CDI off; the OCI worker with the native snapshotter and the
// runc built with the tools; the loopback registry over plain HTTP.
const buildkitdConfig = `root = %[1]q
[grpc]
  address = [%[2]q]
[otel]
  socketPath = %[3]q
[cdi]
  disabled = true
[worker.oci]
  enabled = true
  snapshotter = "native"
  binary = %[4]q
  gc = false
  networkMode = "host"
[worker.containerd]
  enabled = false
[registry.%[5]q]
  http = true
  insecure = true
`

func startBuildkitd(dir, registryHost string) (*buildkitd, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	b := &buildkitd{dir: dir, addr: "unix://" + filepath.Join(dir, "buildkitd.sock"), log: &bytes.Buffer{}, done: make(chan error, 1)}
	cfg := fmt.Sprintf(buildkitdConfig, filepath.Join(dir, "root"), b.addr, filepath.Join(dir, "otel.sock"), filepath.Join(tools, "runc"), registryHost)
	cfgPath := filepath.Join(dir, "buildkitd.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	b.cmd = exec.Command(filepath.Join(tools, "buildkitd"), "--config", cfgPath)
	b.cmd.Env = append(os.Environ(), "PATH="+tools+":"+os.Getenv("PATH"), "OTEL_TRACES_EXPORTER=none")
	b.cmd.Stdout, b.cmd.Stderr = b.log, b.log
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := b.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting buildkitd: %w", err)
	}
	go func() { b.done <- b.cmd.Wait() }()
	if err := b.waitReady(); err != nil {
		b.stop()
		return nil, fmt.Errorf("%w\nbuildkitd's log:\n%s", err, b.log)
	}
	return b, nil
}

// waitReady waits until buildctl lists a worker.
func (b *buildkitd) waitReady() error {
	deadline := time.Now().Add(buildkitdStart)
	for time.Now().Before(deadline) {
		select {
		case err := <-b.done:
			return fmt.Errorf("buildkitd exited: %v", err)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		out, err := exec.CommandContext(ctx, filepath.Join(tools, "buildctl"), "--addr", b.addr, "debug", "workers").CombinedOutput()
		cancel()
		if err == nil && strings.Count(string(out), "\n") > 1 {
			return nil
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("buildkitd did not answer within %s", buildkitdStart)
}

// stop ends buildkitd and undoes every mount it left under its directory.
func (b *buildkitd) stop() {
	if b.cmd != nil && b.cmd.Process != nil {
		b.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.done:
		case <-time.After(10 * time.Second):
			b.cmd.Process.Kill()
			<-b.done
		}
	}
	unmountUnder(b.dir)
}

// unmountUnder detaches every mount below dir, deepest first.
func unmountUnder(dir string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return
	}
	defer f.Close()
	var points []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) > 4 && strings.HasPrefix(fields[4], dir+"/") {
			points = append(points, fields[4])
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(points)))
	for _, p := range points {
		syscall.Unmount(p, syscall.MNT_DETACH)
	}
}

// build runs buildctl with the Dockerfile frontend on a context directory.
// opts are more buildctl build flags; output is the image exporter's
// attributes (name=..., oci-artifact=...).
func (b *buildkitd) build(contextDir, dockerfile string, opts []string, output string) error {
	args := []string{"--addr", b.addr, "build", "--frontend", "dockerfile.v0",
		"--local", "context=" + contextDir, "--local", "dockerfile=" + filepath.Dir(dockerfile),
		"--opt", "filename=" + filepath.Base(dockerfile),
		"--output", "type=image,push=true,registry.insecure=true," + output}
	args = append(args, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, filepath.Join(tools, "buildctl"), args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("buildctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return nil
}
