package loadtest

import (
	"math"
	"slices"
	"time"
)

// Stat summarises one figure over the repetitions of a scenario.
type Stat struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Values []float64 `json:"values"` // one per repetition, in run order
}

// Summarize is the median, minimum and maximum of vs (all zero if vs is empty).
func Summarize(vs []float64) Stat {
	if len(vs) == 0 {
		return Stat{Values: []float64{}}
	}
	return Stat{Median: Median(vs), Min: slices.Min(vs), Max: slices.Max(vs), Values: slices.Clone(vs)}
}

// Median of vs: the middle value, or the mean of the two middle values
// when len(vs) is even; 0 for no values. vs is not modified.
func Median(vs []float64) float64 {
	n := len(vs)
	if n == 0 {
		return 0
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of sorted,
// which must be sorted ascending: the smallest value such that at least p%
// of the values are at most it. p ≤ 0 gives the minimum; no values give
// the zero value.
func Percentile[T int64 | float64 | time.Duration](sorted []T, p float64) T {
	n := len(sorted)
	if n == 0 {
		var zero T
		return zero
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	return sorted[min(max(rank, 1), n)-1]
}

// Latency summarises one repetition's latency samples, in milliseconds.
type Latency struct {
	Count  int     `json:"count"`
	P50ms  float64 `json:"p50_ms"`
	P99ms  float64 `json:"p99_ms"`
	Maxms  float64 `json:"max_ms"`
	Meanms float64 `json:"mean_ms"`
}

// LatencyOf summarises ds (which it sorts in place).
func LatencyOf(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return Latency{
		Count:  len(ds),
		P50ms:  ms(Percentile(ds, 50)),
		P99ms:  ms(Percentile(ds, 99)),
		Maxms:  ms(ds[len(ds)-1]),
		Meanms: ms(sum / time.Duration(len(ds))),
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// rate is count per second over d (0 if d is not positive).
func rate(count int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(count) / d.Seconds()
}
