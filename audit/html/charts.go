package html

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/baseguard/baseguard/audit"
)

// barChart is a list of labelled bars; geometry is computed here so the
// template only places numbers.
type barChart struct {
	Bars   []bar
	Height int // of the SVG
	More   int // rows left out
}

type bar struct {
	Label, Value, Class string
	// Title is the full label, shown on hover.
	Title string
	// X, Y, W, H place the bar (user units of the SVG's viewBox).
	X, Y, W, H float64
	// TextX, TextY place the value; LabelY the label (vertical charts).
	TextX, TextY, LabelY float64
}

// Horizontal bar geometry: a label column, then bars up to 100%.
const (
	rowHeight      = 28
	barHeight      = 18
	labelWidth     = 150
	barAreaWidth   = 300
	maxLabel       = 22
	maxNamespaces  = 25
	histogramH     = 160
	histogramBarW  = 70
	histogramGap   = 24
	histogramLabel = 36
)

// namespaceChart draws compliance per namespace, least compliant first.
func namespaceChart(inv audit.Inventory) barChart {
	ns := slices.Clone(inv.Namespaces)
	slices.SortStableFunc(ns, func(x, y audit.NamespaceStat) int {
		switch {
		case x.Compliance < y.Compliance:
			return -1
		case x.Compliance > y.Compliance:
			return 1
		}
		return strings.Compare(x.Name, y.Name)
	})
	var c barChart
	if len(ns) > maxNamespaces {
		c.More = len(ns) - maxNamespaces
		ns = ns[:maxNamespaces]
	}
	for i, n := range ns {
		y := float64(i*rowHeight + 4)
		w := n.Compliance * barAreaWidth
		c.Bars = append(c.Bars, bar{
			Label: shorten(n.Name), Title: n.Name, Value: fmt.Sprintf("%.1f%%  %d/%d", n.Compliance*100, n.Compliant, n.Containers),
			Class: grade(n.Compliance), X: labelWidth, Y: y, W: w, H: barHeight,
			TextX: labelWidth + barAreaWidth + 8, TextY: y + barHeight - 3, LabelY: y + barHeight - 3,
		})
	}
	c.Height = max(len(ns)*rowHeight+8, 40)
	return c
}

// shorten cuts a label that would run off the chart.
func shorten(s string) string {
	r := []rune(s)
	if len(r) <= maxLabel {
		return s
	}
	return string(r[:maxLabel-1]) + "…"
}

// ageBucket is a range of base ages, in days.
type ageBucket struct {
	label string
	upTo  float64 // exclusive; 0: unbounded
	class string
}

var ageBuckets = []ageBucket{
	{"< 30 days", 30, "good"},
	{"30–90 days", 90, "good"},
	{"90–180 days", 180, "fair"},
	{"180–365 days", 365, "poor"},
	{"> 1 year", 0, "poor"},
}

// ageChart is the histogram of the containers' base ages, with those of
// unknown base age last.
func ageChart(inv audit.Inventory, now time.Time) barChart {
	counts := make([]int, len(ageBuckets)+1)
	for _, b := range inv.Bases {
		if b.Created == nil {
			counts[len(ageBuckets)] += b.Containers
			continue
		}
		d := b.Age(now).Hours() / 24
		for i, bk := range ageBuckets {
			if bk.upTo == 0 || d < bk.upTo {
				counts[i] += b.Containers
				break
			}
		}
	}
	counts[len(ageBuckets)] += inv.UnknownBase
	top := max(slices.Max(counts), 1)
	var c barChart
	for i, n := range counts {
		label, class := "unknown", "unknown"
		if i < len(ageBuckets) {
			label, class = ageBuckets[i].label, ageBuckets[i].class
		}
		h := float64(n) / float64(top) * (histogramH - 30)
		x := float64(i*(histogramBarW+histogramGap) + 10)
		y := histogramH - h
		c.Bars = append(c.Bars, bar{Label: label, Value: fmt.Sprint(n), Class: class,
			X: x, Y: y, W: histogramBarW, H: h, TextX: x + histogramBarW/2, TextY: y - 6, LabelY: histogramH + 18})
	}
	c.Height = histogramH + histogramLabel
	return c
}

// trendChart is compliance and mean base age over the history.
type trendChart struct {
	Compliance, Age string // SVG polyline points
	From, To        string
	First, Last     string // compliance then and now
	AgeMax          string
	Points          int
	Dots            []dot
}

type dot struct {
	X, Y  float64
	Title string
}

// Trend geometry: the plot between trendLeft and trendRight, trendTop
// and trendBottom; axis labels around it.
const (
	trendLeft, trendRight = 56, 980
	trendTop, trendBottom = 12, 192
)

func newTrend(h []audit.HistoryEntry) *trendChart {
	if len(h) < 2 {
		return nil
	}
	t0, t1 := h[0].Time, h[len(h)-1].Time
	span := t1.Sub(t0).Seconds()
	ageMax := 1.0
	for _, e := range h {
		ageMax = max(ageMax, e.MeanBaseAge)
	}
	var comp, ages []string
	var dots []dot
	for i, e := range h {
		x := trendLeft + float64(i)/float64(len(h)-1)*(trendRight-trendLeft)
		if span > 0 {
			x = trendLeft + e.Time.Sub(t0).Seconds()/span*(trendRight-trendLeft)
		}
		yc := trendTop + (1-e.Compliance)*(trendBottom-trendTop)
		ya := trendTop + (1-e.MeanBaseAge/ageMax)*(trendBottom-trendTop)
		comp = append(comp, fmt.Sprintf("%.1f,%.1f", x, yc))
		ages = append(ages, fmt.Sprintf("%.1f,%.1f", x, ya))
		dots = append(dots, dot{X: x, Y: yc, Title: fmt.Sprintf("%s: %.1f%% compliant, bases %.0f days old on average", e.Time.Format("2006-01-02 15:04"), e.Compliance*100, e.MeanBaseAge)})
	}
	return &trendChart{
		Compliance: strings.Join(comp, " "), Age: strings.Join(ages, " "),
		From: t0.Format("2006-01-02"), To: t1.Format("2006-01-02"),
		First: fmt.Sprintf("%.1f%%", h[0].Compliance*100), Last: fmt.Sprintf("%.1f%%", h[len(h)-1].Compliance*100),
		AgeMax: fmt.Sprintf("%.0f days", ageMax), Points: len(h), Dots: dots,
	}
}
