package natstest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/natstest"
	"github.com/cascadehq/cascade/internal/testkit"
)

// TestCluster: an R3 stream on a 3-node cluster keeps accepting writes
// while its leader's node is stopped, and the restarted node catches up.
func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-node cluster")
	}
	start := time.Now()
	c := natstest.StartCluster(t, 3)
	t.Logf("cluster ready in %s: %s", time.Since(start).Round(time.Millisecond), c.URLs())
	js, err := jetstream.New(c.Connect())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "T", Subjects: []string{"t.>"}, Replicas: 3}); err != nil {
		t.Fatal(err)
	}
	publish := func(subj string) {
		t.Helper()
		testkit.Eventually(t, 30*time.Second, func() error {
			pctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			_, err := js.Publish(pctx, subj, nil, jetstream.WithMsgID(subj))
			return err
		})
	}
	publish("t.1")
	// Move the stream's leadership to the last node and stop that node:
	// the others elect a new leader.
	stopped := c.N() - 1
	c.MoveStreamLeader("T", stopped, 30*time.Second)
	if got := c.StreamLeader("T", 10*time.Second); got != stopped {
		t.Fatalf("stream T led by node %d after moving it to %d", got, stopped)
	}
	s, err := js.Stream(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	c.Stop(stopped)
	if c.Server(stopped) != nil {
		t.Fatal("stopped node still listed as running")
	}
	publish("t.2")
	c.Restart(stopped)
	publish("t.3")
	testkit.Eventually(t, 30*time.Second, func() error {
		info, err := s.Info(ctx)
		if err != nil {
			return err
		}
		if info.State.Msgs != 3 {
			return fmt.Errorf("%d messages, want 3", info.State.Msgs)
		}
		for _, r := range info.Cluster.Replicas {
			if !r.Current {
				return fmt.Errorf("replica %s not current", r.Name)
			}
		}
		return nil
	})
	t.Logf("done in %s", time.Since(start).Round(time.Millisecond))
}
