package loadtest

import (
	"math"
	"slices"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{7}, 7},
		{[]float64{3, 1}, 2},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{1, 1, 1, 100}, 1},
		{[]float64{-2, 10, 0}, 0},
	} {
		in := slices.Clone(tc.in)
		if got := Median(tc.in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("Median modified its input: %v", tc.in)
		}
	}
}

func TestPercentileNearestRank(t *testing.T) {
	// 1..100: the p-th percentile is p.
	var hundred []float64
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, float64(i))
	}
	for _, p := range []float64{1, 50, 99, 100} {
		if got := Percentile(hundred, p); got != p {
			t.Errorf("Percentile(1..100, %v) = %v", p, got)
		}
	}
	if got := Percentile(hundred, 99.5); got != 100 {
		t.Errorf("Percentile(1..100, 99.5) = %v, want 100", got)
	}
	if got := Percentile(hundred, 0); got != 1 {
		t.Errorf("Percentile(1..100, 0) = %v, want the minimum", got)
	}
	if got := Percentile(hundred, 150); got != 100 {
		t.Errorf("Percentile(1..100, 150) = %v, want the maximum", got)
	}
	// Few samples: p99 of 10 values is the largest, p50 the 5th.
	ten := []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	if got := Percentile(ten, 99); got != 10 {
		t.Errorf("p99 of 10 = %v", got)
	}
	if got := Percentile(ten, 50); got != 5 {
		t.Errorf("p50 of 10 = %v", got)
	}
	if got := Percentile([]int64{42}, 99); got != 42 {
		t.Errorf("p99 of one = %v", got)
	}
	if got := Percentile([]float64(nil), 50); got != 0 {
		t.Errorf("p50 of none = %v", got)
	}
	// 1000 samples: 990 fast, 10 slow: p99 is still fast, p99.1 slow.
	var lat []time.Duration
	for range 990 {
		lat = append(lat, time.Millisecond)
	}
	for range 10 {
		lat = append(lat, time.Second)
	}
	if got := Percentile(lat, 99); got != time.Millisecond {
		t.Errorf("p99 = %v, want 1ms", got)
	}
	if got := Percentile(lat, 99.1); got != time.Second {
		t.Errorf("p99.1 = %v, want 1s", got)
	}
}

func TestSummarize(t *testing.T) {
	s := Summarize([]float64{3, 9, 1})
	if s.Median != 3 || s.Min != 1 || s.Max != 9 || !slices.Equal(s.Values, []float64{3, 9, 1}) {
		t.Fatalf("Summarize = %+v", s)
	}
	if e := Summarize(nil); e.Median != 0 || e.Values == nil || len(e.Values) != 0 {
		t.Fatalf("Summarize(nil) = %+v", e)
	}
}

func TestLatencyOf(t *testing.T) {
	ds := []time.Duration{4 * time.Millisecond, time.Millisecond, 3 * time.Millisecond, 2 * time.Millisecond}
	l := LatencyOf(ds)
	if l.Count != 4 || l.P50ms != 2 || l.P99ms != 4 || l.Maxms != 4 || l.Meanms != 2.5 {
		t.Fatalf("LatencyOf = %+v", l)
	}
	if z := LatencyOf(nil); z != (Latency{}) {
		t.Fatalf("LatencyOf(nil) = %+v", z)
	}
}

func TestRatioOfMedians(t *testing.T) {
	r := &runner{rep: &Report{}}
	r.ratio("k", "k", []float64{10, 30, 20}, []float64{5, 5, 10})
	f := r.rep.Figure("k")
	if f == nil || f.Median != 4 || !slices.Equal(f.Values, []float64{2, 6, 2}) || f.Min != 2 || f.Max != 6 {
		t.Fatalf("ratio = %+v", f)
	}
}

func TestNum(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 0.01234: "0.012", 1.5: "1.500", 12.345: "12.35", 123.45: "123.5", 12345.6: "12346", math.NaN(): "-"} {
		if got := num(v); got != want {
			t.Errorf("num(%v) = %q, want %q", v, got, want)
		}
	}
}
