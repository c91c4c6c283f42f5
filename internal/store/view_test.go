package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/testkit"
)

// TestViewFollowsTheBuckets: the view answers only once caught up, then
// with what the buckets hold, following every later write.
func TestViewFollowsTheBuckets(t *testing.T) {
	st := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, _, err := st.CreateBreach(ctx, &breach.Breach{ID: "V1", Report: breach.Report{ID: "V1", Title: "first"}}); err != nil {
		t.Fatal(err)
	}
	v := st.NewView()
	if _, _, ok := v.Summary("V1"); ok {
		t.Fatal("the view answered before it ran")
	}
	done := make(chan error, 1)
	go func() { done <- v.Run(ctx) }()
	// No summary stored yet: the view cannot answer for V1.
	sv, err := st.GetSummary(ctx, "V1")
	if err != nil {
		t.Fatal(err)
	}
	for total := int64(1); total <= 3; total++ {
		sv.Summary.Total = total
		if ok, err := st.PutSummary(ctx, sv); err != nil || !ok {
			t.Fatalf("put summary: %v %v", ok, err)
		}
		if sv, err = st.GetSummary(ctx, "V1"); err != nil {
			t.Fatal(err)
		}
		testkit.Eventually(t, 10*time.Second, func() error {
			b, sum, ok := v.Summary("V1")
			if !ok || b.Report.Title != "first" || sum.Total != total {
				return fmt.Errorf("view: ok %v, summary %+v", ok, sum)
			}
			return nil
		})
	}
	if _, _, ok := v.Summary("NOPE"); ok {
		t.Fatal("the view answered for an unknown breach")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
}
