package main

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// histogram is the server's cumulative request-duration histogram: bucket
// upper bound (seconds) to count, for answered (code 200) requests.
type histogram map[float64]float64

const handlerMetric = `baseguard_admission_request_duration_seconds_bucket{code="200",le="`

// scrape reads the server's histogram from /metrics (empty on failure).
func (b *bench) scrape() histogram {
	h := histogram{}
	resp, err := b.client.Get(b.metricsURL)
	if err != nil {
		return h
	}
	defer resp.Body.Close()
	parseHistogram(resp.Body, h)
	return h
}

func parseHistogram(r io.Reader, h histogram) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), handlerMetric)
		if !ok {
			continue
		}
		le, count, ok := strings.Cut(line, `"} `)
		if !ok {
			continue
		}
		bound := math.Inf(1)
		if le != "+Inf" {
			bound, _ = strconv.ParseFloat(le, 64)
		}
		n, _ := strconv.ParseFloat(count, 64)
		h[bound] = n
	}
}

func (h histogram) minus(before histogram) histogram {
	out := histogram{}
	for k, v := range h {
		out[k] = v - before[k]
	}
	return out
}

// quantile is the upper bound of the bucket holding quantile q, as `≤ 2.5 ms`.
func (h histogram) quantile(q float64) string {
	if len(h) == 0 {
		return "n/a"
	}
	bounds := make([]float64, 0, len(h))
	for k := range h {
		bounds = append(bounds, k)
	}
	sort.Float64s(bounds)
	total := h[bounds[len(bounds)-1]]
	if total == 0 {
		return "n/a"
	}
	for _, b := range bounds {
		if h[b] >= q*total {
			if math.IsInf(b, 1) {
				return "> 5 s"
			}
			return fmt.Sprintf("≤ %g ms", b*1000)
		}
	}
	return "n/a"
}
