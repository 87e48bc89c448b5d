package admission

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	runtimemetrics "runtime/metrics"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// BenchmarkReview measures the handler alone (no TLS, no network) on a
// denied Deployment, an admitted Pod, an unchanged scale, and the largest
// objects by images.
func BenchmarkReview(b *testing.B) {
	bodies := map[string][]byte{}
	for _, name := range []string{"deployment-create-denied", "pod-create-approved-allowed", "deployment-scale-unchanged-allowed"} {
		bodies[name] = readRequest(&testing.T{}, name)
	}
	shapes := memoryShapes()
	for _, name := range []string{"10000 distinct images", "10000 images, failing all"} {
		bodies[name] = shapes[name]
	}
	for _, name := range slices.Sorted(maps.Keys(bodies)) {
		b.Run(name, func(b *testing.B) {
			body := bodies[name]
			s, err := NewServer(Options{})
			if err != nil {
				b.Fatal(err)
			}
			h := s.Handler()
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, PathValidate+"?timeout=5s", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusOK {
					b.Fatal(w.Code)
				}
			}
		})
	}
}

// memoryShapes are the worst shapes an object can take for the memory a
// review holds: as many images as allowed, each distinct; as many values
// as allowed, each as small as JSON lets it be; and an ordinary review.
func memoryShapes() map[string][]byte {
	distinct := manyContainers(MaxObjectImages, func(i int) string { return fmt.Sprintf("registry.example.com/team/app-%d:1.%d", i, i) })
	values := spec{kind: "Pod", main: []string{"app=" + alpine}, annotations: map[string]string{}}
	for i := range MaxObjectValues/2 - 64 {
		values.annotations[strconv.Itoa(i)] = ""
	}
	return map[string][]byte{
		"ordinary":                  reviewOf(nil, spec{replicas: 1, main: []string{"app=" + alpine}}),
		"10000 distinct images":     reviewOf(nil, distinct),
		"update of 10000 images":    reviewOf(&distinct, distinct.with(func(s *spec) { s.labels = map[string]string{"a": "b"} })),
		"2^18 values":               reviewOf(nil, values),
		"update of 2^18 values":     reviewOf(&values, values.with(func(s *spec) { s.labels = map[string]string{"a": "b"} })),
		"10000 images, failing all": reviewOf(nil, manyContainers(MaxObjectImages, func(i int) string { return fmt.Sprintf("centos:%d", i) })),
	}
}

// BenchmarkReviewMemory measures the most one review holds at once
// (sampled every 100µs with the collector running at GOGC=5, so what is
// sampled is close to what is live), against what the memory budget
// reserves for it: peak/weight must stay below 1. It reports the time of a
// review too (slower than alone: the collector runs all the time).
func BenchmarkReviewMemory(b *testing.B) {
	shapes := memoryShapes()
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	for _, name := range slices.Sorted(maps.Keys(shapes)) {
		body := shapes[name]
		b.Run(name, func(b *testing.B) {
			s, err := NewServer(Options{})
			if err != nil {
				b.Fatal(err)
			}
			h := s.Handler()
			var raw struct {
				Request struct{ Object, OldObject json.RawMessage }
			}
			json.Unmarshal(body, &raw)
			values := [2]int{countValues(raw.Request.Object), 0}
			if len(raw.Request.OldObject) > 0 {
				values[1] = countValues(raw.Request.OldObject)
			}
			weight := reviewWeight(len(body)+bytes.MinRead, values)
			var peak uint64
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, PathValidate+"?timeout=30s", bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				runtime.GC()
				stop := sampleHeap(&peak, heapBytes())
				h.ServeHTTP(w, req)
				stop()
				if w.Code != http.StatusOK {
					b.Fatalf("%d %s", w.Code, w.Body.String())
				}
			}
			b.ReportMetric(float64(len(body))/(1<<20), "body-MiB")
			b.ReportMetric(float64(peak)/(1<<20), "peak-MiB")
			b.ReportMetric(float64(weight)/(1<<20), "weight-MiB")
			b.ReportMetric(float64(peak)/float64(weight), "peak/weight")
		})
	}
}

// heapBytes is the bytes of live and not yet swept heap objects.
func heapBytes() uint64 {
	s := []runtimemetrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	runtimemetrics.Read(s)
	return s[0].Value.Uint64()
}

// sampleHeap records in peak the most the heap grew over base until the
// returned func is called.
func sampleHeap(peak *uint64, base uint64) func() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(100 * time.Microsecond)
		defer t.Stop()
		for {
			if h := heapBytes(); h > base && h-base > *peak {
				*peak = h - base
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
