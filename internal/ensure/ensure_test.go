package ensure_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/ensure"
	"github.com/cascadehq/cascade/internal/natstest"
)

func TestStream(t *testing.T) {
	srv := natstest.Start(t)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, Storage: jetstream.FileStorage, AllowDirect: true, Description: "one"}
	st, err := ensure.Stream(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	created := st.CachedInfo().Created
	// The same configuration again: nothing changes, the server's
	// defaults (filled in) do not count as a difference.
	if !ensure.Same(st.CachedInfo().Config, cfg) {
		t.Fatalf("a stream is not the same as the configuration it was made with: %+v", st.CachedInfo().Config)
	}
	if _, err := ensure.Stream(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	// A changed field, and a boolean turned off, are updated.
	cfg.Description, cfg.AllowDirect = "two", false
	if ensure.Same(st.CachedInfo().Config, cfg) {
		t.Fatal("a changed configuration counts as the same")
	}
	st, err = ensure.Stream(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Config.Description != "two" || info.Config.AllowDirect || !info.Created.Equal(created) {
		t.Errorf("after the update: %+v", info.Config)
	}
}

func TestKeyValue(t *testing.T) {
	srv := natstest.Start(t)
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := jetstream.KeyValueConfig{Bucket: "B", Description: "one", History: 1, Storage: jetstream.FileStorage}
	kv, err := ensure.KeyValue(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	status := func() jetstream.StreamConfig {
		st, err := kv.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return st.(*jetstream.KeyValueBucketStatus).StreamInfo().Config
	}
	if !ensure.SameBucket(status(), cfg) {
		t.Fatalf("a bucket is not the same as the configuration it was made with: %+v", status())
	}
	cfg.Description = "two"
	if ensure.SameBucket(status(), cfg) {
		t.Fatal("a changed description counts as the same")
	}
	if kv, err = ensure.KeyValue(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	if d := status().Description; d != "two" {
		t.Errorf("description after the update: %q", d)
	}
}
