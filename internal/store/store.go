// Package store keeps Cascade's state in NATS JetStream: the breach and
// registry buckets, the append-only notice ledger (one subject per notice,
// whose last message, with its chunk's reminder rounds, is the notice's
// current state), the membership chunks of each fan-out and the breach
// summaries. Storage errors are translated
// into breach domain errors here, once.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/ensure"
)

// JetStream layout. Stream and bucket names are part of the operator's
// contract (documented in docs/operations.md, "Streams and buckets").
const (
	StreamIntake   = "CASCADE_INTAKE"   // cascade.breach.report, cascade.breach.update
	StreamRejected = "CASCADE_REJECTED" // cascade.breach.rejected
	StreamNotices  = "CASCADE_NOTICES"  // cascade.notice.<org_id>: what organisations receive
	StreamLedger   = "CASCADE_LEDGER"   // cascade.ledger.>: notice changes, chunk reminder rounds, fan-out membership, questions
	StreamEvents   = "CASCADE_EVENTS"   // cascade.events.<breach>._<event>: rounds of reminders, escalations and redeliveries, questions and answers, for the vendor
	StreamTimers   = "CASCADE_TIMERS"   // cascade.timer.>: scheduled timers per fan-out chunk

	BucketBreaches  = "cascade-breaches"
	BucketOrgs      = "cascade-orgs"
	BucketSummaries = "cascade-summaries"

	SubjectReport    = "cascade.breach.report"
	SubjectUpdate    = "cascade.breach.update"
	SubjectRejected  = "cascade.breach.rejected"
	SubjectNotice    = "cascade.notice"     // + "." + org_id
	SubjectEvents    = "cascade.events"     // + ".<breach_id>._<event>": the vendor's rounds
	SubjectTimerAt   = "cascade.timer.at"   // + ".<breach_id>.<chunk>": the chunk's pending schedule
	SubjectTimerFire = "cascade.timer.fire" // + ".<breach_id>.<chunk>": where it fires

	// A registered processor's reports, updates and rejections are on
	// subjects of its own, below SubjectProcessor + ".<processor_id>.":
	// breach.report, breach.update, breach.rejected (ReportSubject etc.).
	// The processor is the subject's, never the payload's.
	SubjectProcessor = "cascade.processor"

	ledgerNotice  = "cascade.ledger.notice"  // + ".<breach>.<org>"
	ledgerMembers = "cascade.ledger.members" // + ".<breach>.<chunk>"

	// MaxReportBytes bounds one intake message.
	MaxReportBytes = 1 << 20
	// NoticeDedupWindow is how long CASCADE_NOTICES remembers a Nats-Msg-Id,
	// so a delivery repeated after a crash is not stored twice.
	NoticeDedupWindow = 24 * time.Hour
)

// Config says how to lay out the streams.
type Config struct {
	// Replicas for every stream and bucket (1 on one server, 3 on a cluster).
	Replicas int
}

// Store is Cascade's JetStream state.
type Store struct {
	nc        *nats.Conn
	js        jetstream.JetStream
	ledger    jetstream.Stream
	breaches  jetstream.KeyValue
	orgs      jetstream.KeyValue
	summaries jetstream.KeyValue
	// processors is the processor registry (processors.go).
	processors jetstream.KeyValue
	log        *slog.Logger
	replicas   int

	ledgerCommit *groupCommit // single notice changes, stored together
	rounds       roundsCache  // decoded chunk reminder records

	tokMu sync.Mutex
	tok   jetstream.KeyValue // created on first use
}

// Open creates or updates the streams and buckets and returns the store.
// It is safe to call from several daemons at once.
func Open(ctx context.Context, nc *nats.Conn, cfg Config, log *slog.Logger) (*Store, error) {
	if cfg.Replicas == 0 {
		cfg.Replicas = 1
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096), jetstream.WithPublishAsyncTimeout(30*time.Second))
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	s := &Store{nc: nc, js: js, log: log, replicas: cfg.Replicas}
	s.ledgerCommit = &groupCommit{s: s, stream: StreamLedger}
	streams := []jetstream.StreamConfig{
		{
			Name:        StreamIntake,
			Description: "Breach reports and updates published by the processor",
			Subjects:    []string{SubjectReport, SubjectUpdate, SubjectProcessor + ".*.breach.report", SubjectProcessor + ".*.breach.update"},
			MaxMsgSize:  MaxReportBytes,
			Duplicates:  2 * time.Minute,
		},
		{
			Name:        StreamRejected,
			Description: "Why a published report or update was rejected",
			Subjects:    []string{SubjectRejected, SubjectProcessor + ".*.breach.rejected"},
			MaxAge:      90 * 24 * time.Hour,
			Duplicates:  time.Hour,
		},
		{
			Name: StreamNotices,
			// One fsync per batch of notices instead of one per notice.
			AllowAtomicPublish: true,
			Description:        "Every message Cascade sends to an organisation, on cascade.notice.<org_id>",
			Subjects:           []string{SubjectNotice + ".*"},
			Duplicates:         NoticeDedupWindow,
			AllowDirect:        true,
		},
		{
			Name: StreamEvents,
			// One fsync per firing's rounds.
			AllowAtomicPublish: true,
			Description:        "Rounds of reminders, overdue escalations and redeliveries (the organisations of each), for the vendor's dashboards",
			Subjects:           []string{SubjectEvents + ".>", SubjectProcessor + ".*.events.>"},
			Duplicates:         NoticeDedupWindow,
		},
		{
			Name:              StreamTimers,
			Description:       "Durable timers: one message schedule per fan-out chunk",
			Subjects:          []string{"cascade.timer.>"},
			AllowMsgSchedules: true,
			AllowMsgTTL:       true,
		},
		{
			Name: StreamLedger,
			// One fsync per batch of notices instead of one per notice.
			AllowAtomicPublish: true,
			Description:        "Append-only notice ledger and fan-out membership",
			Subjects:           []string{"cascade.ledger.>"},
			// Direct gets may be answered by any replica, also one that has
			// not applied the latest write: a notice read right after it was
			// acknowledged could look unacknowledged. On a replicated ledger
			// reads go through the stream leader instead.
			AllowDirect: cfg.Replicas <= 1,
		},
	}
	for _, sc := range streams {
		sc.Storage = jetstream.FileStorage
		sc.Replicas = cfg.Replicas
		st, err := ensure.Stream(ctx, js, sc)
		if err != nil {
			return nil, fmt.Errorf("stream %s: %w", sc.Name, err)
		}
		if sc.Name == StreamLedger {
			s.ledger = st
		}
	}
	buckets := []struct {
		kv  *jetstream.KeyValue
		cfg jetstream.KeyValueConfig
	}{
		{&s.breaches, jetstream.KeyValueConfig{Bucket: BucketBreaches, Description: "Breaches by id", History: 1}},
		{&s.orgs, jetstream.KeyValueConfig{Bucket: BucketOrgs, Description: "Organisation registry by id", History: 1}},
		{&s.summaries, jetstream.KeyValueConfig{Bucket: BucketSummaries, Description: "Breach summaries and the summary checkpoint", History: 1}},
		{&s.processors, processorsBucket},
	}
	for _, b := range buckets {
		b.cfg.Storage = jetstream.FileStorage
		b.cfg.Replicas = cfg.Replicas
		kv, err := ensure.KeyValue(ctx, js, b.cfg)
		if err != nil {
			return nil, fmt.Errorf("bucket %s: %w", b.cfg.Bucket, err)
		}
		*b.kv = kv
	}
	// The registry is loaded in atomic batches (LoadOrgs): one fsync per
	// batch instead of one per organisation.
	if err := allowAtomic(ctx, js, kvStream(BucketOrgs)); err != nil {
		return nil, fmt.Errorf("bucket %s: %w", BucketOrgs, err)
	}
	return s, nil
}

// allowAtomic turns on atomic batch publishing on a bucket's stream (the
// bucket's own configuration has no such option), unless it is on.
func allowAtomic(ctx context.Context, js jetstream.JetStream, stream string) error {
	st, err := js.Stream(ctx, stream)
	if err != nil {
		return err
	}
	cfg := st.CachedInfo().Config
	if cfg.AllowAtomicPublish {
		return nil
	}
	cfg.AllowAtomicPublish = true
	_, err = js.UpdateStream(ctx, cfg)
	return err
}

// JetStream is the context the store was opened with, for the packages
// that consume and publish on Cascade's streams.
func (s *Store) JetStream() jetstream.JetStream { return s.js }

// isConflict reports a failed optimistic-concurrency check
// (Nats-Expected-Last-Subject-Sequence or a KV revision mismatch).
func isConflict(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
			apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant
	}
	return errors.Is(err, jetstream.ErrKeyExists)
}

// isNotFound reports a missing key or message.
func isNotFound(err error) bool {
	return errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrMsgNotFound) ||
		errors.Is(err, jetstream.ErrKeyDeleted)
}
