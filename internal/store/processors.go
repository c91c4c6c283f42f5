package store

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/cascadehq/cascade/internal/breach"
)

// BucketProcessors is the processor registry: one record per registered
// processor (breach.Processor), keyed by its id.
const BucketProcessors = "cascade-processors"

// PutProcessors upserts processors into the registry bucket and returns
// what it wrote; a processor stored exactly so already is not written
// again. Processors are never deleted by a load (as organisations).
func (s *Store) PutProcessors(ctx context.Context, ps []breach.Processor) (PutResult, error) {
	var res PutResult
	for _, p := range ps {
		if !p.ID.Valid() {
			return res, fmt.Errorf("processor id %q does not match %s", p.ID, breach.ProcessorIDPattern)
		}
		data, err := json.Marshal(p)
		if err != nil {
			return res, err
		}
		if e, err := s.processors.Get(ctx, string(p.ID)); err == nil && bytes.Equal(e.Value(), data) {
			res.Unchanged++
			continue
		} else if err != nil && !isNotFound(err) {
			return res, fmt.Errorf("read processor %s: %w", p.ID, err)
		}
		if _, err := s.processors.Put(ctx, string(p.ID), data); err != nil {
			return res, fmt.Errorf("store processor %s: %w", p.ID, err)
		}
		res.Written++
	}
	return res, nil
}

// GetProcessor returns a registered processor; breach.ErrNotFound if there
// is none with that id.
func (s *Store) GetProcessor(ctx context.Context, id breach.ProcessorID) (*breach.Processor, error) {
	if !id.Valid() {
		return nil, fmt.Errorf("processor %q: %w", id, breach.ErrNotFound)
	}
	e, err := s.processors.Get(ctx, string(id))
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("processor %s: %w", id, breach.ErrNotFound)
		}
		return nil, fmt.Errorf("read processor %s: %w", id, err)
	}
	var p breach.Processor
	if err := json.Unmarshal(e.Value(), &p); err != nil {
		return nil, fmt.Errorf("decode processor %s: %w", id, err)
	}
	return &p, nil
}

// processorsBucket is the configuration of BucketProcessors.
var processorsBucket = jetstream.KeyValueConfig{Bucket: BucketProcessors, Description: "Processor registry by id", History: 1}

// ReportSubject is where processor p's reports are published: SubjectReport
// for the default processor.
func ReportSubject(p breach.ProcessorID) string { return processorSubject(p, SubjectReport) }

// UpdateSubject is where processor p's updates are published.
func UpdateSubject(p breach.ProcessorID) string { return processorSubject(p, SubjectUpdate) }

// RejectedSubject is where processor p's rejections are published.
func RejectedSubject(p breach.ProcessorID) string { return processorSubject(p, SubjectRejected) }

func processorSubject(p breach.ProcessorID, def string) string {
	if p == "" {
		return def
	}
	return SubjectProcessor + "." + string(p) + "." + def[len("cascade."):]
}

// IntakeSubject parses an intake subject: the processor whose it is and
// whether it is an update; ok is false for any other subject.
func IntakeSubject(subject string) (p breach.ProcessorID, update, ok bool) {
	switch subject {
	case SubjectReport:
		return "", false, true
	case SubjectUpdate:
		return "", true, true
	}
	rest, found := strings.CutPrefix(subject, SubjectProcessor+".")
	if !found {
		return "", false, false
	}
	id, kind, found := strings.Cut(rest, ".")
	if !found || !breach.ProcessorID(id).Valid() {
		return "", false, false
	}
	switch kind {
	case "breach.report":
		return breach.ProcessorID(id), false, true
	case "breach.update":
		return breach.ProcessorID(id), true, true
	}
	return "", false, false
}
