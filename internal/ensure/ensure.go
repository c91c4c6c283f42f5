// Package ensure creates JetStream streams, or brings them to the wanted
// configuration, without touching a stream that already has it.
//
// jetstream.CreateOrUpdateStream sends an update on every call. An update
// of a file-backed stream while another client creates a consumer on it
// races inside nats-server (fileStore.UpdateConfig against
// ConsumerStore), and several daemons starting on one server do exactly
// that. A stream that already has the wanted configuration is left alone.
package ensure

import (
	"context"
	"errors"
	"reflect"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream returns the stream cfg names, created with cfg if missing and
// updated only if it differs from cfg (see Same).
func Stream(ctx context.Context, js jetstream.JetStream, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	st, err := js.Stream(ctx, cfg.Name)
	switch {
	case errors.Is(err, jetstream.ErrStreamNotFound):
		st, err = js.CreateStream(ctx, cfg)
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) { // another daemon was first
			return Stream(ctx, js, cfg)
		}
		return st, err
	case err != nil:
		return nil, err
	}
	if Same(st.CachedInfo().Config, cfg) {
		return st, nil
	}
	return js.UpdateStream(ctx, cfg)
}

// Same reports whether a stream configured as have already is as want
// says: every field want sets is have's, and every boolean is (a false
// in want turns an option off). Other zero fields in want stand for the
// server's defaults, which have shows filled in.
func Same(have, want jetstream.StreamConfig) bool {
	merged := have
	mv, wv := reflect.ValueOf(&merged).Elem(), reflect.ValueOf(want)
	for i := range wv.NumField() {
		if f := wv.Field(i); !f.IsZero() || f.Kind() == reflect.Bool {
			mv.Field(i).Set(f)
		}
	}
	return reflect.DeepEqual(merged, have)
}

// KeyValue returns the bucket cfg names, created with cfg if missing and
// updated only if its description, history, time to live, storage or
// replicas differ from cfg's (the fields Cascade sets).
func KeyValue(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	kv, err := js.KeyValue(ctx, cfg.Bucket)
	switch {
	case errors.Is(err, jetstream.ErrBucketNotFound):
		kv, err = js.CreateKeyValue(ctx, cfg)
		if errors.Is(err, jetstream.ErrBucketExists) || errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return KeyValue(ctx, js, cfg)
		}
		return kv, err
	case err != nil:
		return nil, err
	}
	st, err := kv.Status(ctx)
	if err != nil {
		return nil, err
	}
	if bs, ok := st.(*jetstream.KeyValueBucketStatus); ok && SameBucket(bs.StreamInfo().Config, cfg) {
		return kv, nil
	}
	return js.CreateOrUpdateKeyValue(ctx, cfg)
}

// SameBucket reports whether a bucket whose stream is configured as have
// already has cfg's description, history, time to live, storage and
// replicas.
func SameBucket(have jetstream.StreamConfig, cfg jetstream.KeyValueConfig) bool {
	history, replicas := max(cfg.History, 1), max(cfg.Replicas, 1)
	return have.Description == cfg.Description && have.MaxMsgsPerSubject == int64(history) && have.MaxAge == cfg.TTL &&
		have.Storage == cfg.Storage && have.Replicas == replicas
}
