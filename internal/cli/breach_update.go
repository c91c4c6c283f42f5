package cli

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// subjectUpdate is where follow-up information is published (stream
// CASCADE_INTAKE, like reports).
const subjectUpdate = "cascade.breach.update"

func breachUpdateCmd() *command {
	return &command{
		name:    "breach update",
		args:    "FILE",
		summary: "Publish follow-up information (JSON) as a breach's next revision",
		details: `Publishes the update in FILE ("-" for stdin), a JSON object with the fields
of cascade.v1.BreachUpdate, on cascade.breach.update and waits for JetStream
to store it. "breach_id" names the breach and "summary" says what changed;
non-empty fields replace the breach's facts, and "add_affected" names
organisations newly found affected, which get their own notice and clock
(Art. 33(4): information provided in phases). Publishing the same update
again is idempotent.

Then, unless --no-wait, it waits until Cascade has recorded the update as
the breach's next revision and delivered it to every affected organisation,
showing the progress on stderr, and prints the revision number, how many
organisations it added and the breach status. Added organisations that are
not in the registry are reported as a WARNING on stderr. An update Cascade
rejects (for example an unknown breach) is explained on stderr and ends
with exit status 1.`,
		examples: `
# Publish follow-up facts and wait until every organisation has them
cascadectl breach update update.json
# From stdin, returning once JetStream has stored the update
cascadectl breach update --no-wait - < update.json`,
		setup: func(fs *flag.FlagSet) runFunc {
			noWait := fs.Bool("no-wait", false, "return once JetStream has stored the update; do not wait for the revision")
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs("breach update", args, 1); err != nil {
					return err
				}
				return a.update(ctx, args[0], *noWait)
			}
		},
	}
}

// updateJSON is the -o json form of breach update.
type updateJSON struct {
	Published      *publishedJSON  `json:"published,omitempty"`
	Revision       json.RawMessage `json:"revision,omitempty"`
	AlreadyApplied bool            `json:"already_applied,omitempty"`
	Breach         json.RawMessage `json:"breach,omitempty"`
	Summary        json.RawMessage `json:"summary,omitempty"`
}

// pendingUpdate is a published update the CLI waits for.
type pendingUpdate struct {
	breachID string
	summary  string
	// parsed is the update as protojson reads it; nil if it does not (the
	// daemon rejects it as malformed).
	parsed *cascadev1.BreachUpdate
	// before is the breach's latest revision before the publish (0: the
	// breach was not found).
	before int32
}

// matches reports whether revision r is this update: the same content,
// or, among revisions recorded since the publish, the same summary.
func (p *pendingUpdate) matches(r *cascadev1.BreachRevision) bool {
	if p.parsed != nil && proto.Equal(normalUpdate(r.GetUpdate()), normalUpdate(p.parsed)) {
		return true
	}
	return r.GetNumber() > p.before && r.GetUpdate().GetSummary() == p.summary
}

// normalUpdate drops what the daemon does not keep of an update, so a
// published update compares equal to the revision it became.
func normalUpdate(u *cascadev1.BreachUpdate) *cascadev1.BreachUpdate {
	u = proto.CloneOf(u)
	if c := u.GetContact(); c != nil && proto.Equal(c, &cascadev1.Contact{}) {
		u.Contact = nil
	}
	return u
}

func (a *app) update(ctx context.Context, file string, noWait bool) error {
	data, err := a.readMessage(file, "update")
	if err != nil {
		return err
	}
	pu, err := prepareUpdate(data)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	id := pu.breachID
	ctx, cancel := a.withTimeout(ctx)
	defer cancel()
	nc, err := a.connectNATS(ctx)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("JetStream: %w", err)
	}

	var c *clients
	var rw *rejectionWatch
	if !noWait {
		if c, err = a.dial(); err != nil {
			return err
		}
		defer c.Close()
		resp, err := c.breach.GetBreach(ctx, &cascadev1.GetBreachRequest{BreachId: id})
		switch {
		case err == nil:
			pu.before = latestRevision(resp.GetBreach())
		case isCode(err, codes.NotFound), isCode(err, codes.InvalidArgument):
			// Cascade rejects the update, and says why on cascade.breach.rejected.
		default:
			return err
		}
		// A registered processor hears its rejections live (see publish).
		who, err := c.tokens.WhoAmI(ctx, &cascadev1.WhoAmIRequest{})
		if err != nil {
			return err
		}
		if who.GetProcessorId() != "" {
			rw, err = listenRejections(nc)
		} else {
			rw, err = watchRejections(ctx, js, time.Now().Add(-rejectionLookback))
		}
		if err != nil {
			return err
		}
		defer rw.stop()
	}

	msg := &nats.Msg{Subject: subjectUpdate, Data: data, Header: nats.Header{}}
	msg.Header.Set("Content-Type", "application/json")
	sum := sha256.Sum256(data)
	// The breach id and a content hash: a retry of the same update is
	// deduplicated by JetStream; a changed one is a new revision.
	ack, err := js.PublishMsg(ctx, msg, jetstream.WithExpectStream(streamIntake),
		jetstream.WithMsgID("cli-update/"+publisherTag(nc)+id+"/"+hex.EncodeToString(sum[:])[:16]))
	if err != nil {
		if errors.Is(err, jetstream.ErrNoStreamResponse) {
			return &hintError{err: fmt.Errorf("publish on %s: no JetStream stream stored the update", subjectUpdate),
				hint: fmt.Sprintf("(is cascaded running with the NATS server at %s? It creates the stream %s.)", a.g.natsURL, streamIntake)}
		}
		return fmt.Errorf("publish on %s: %w", subjectUpdate, err)
	}
	pub := &publishedJSON{BreachID: id, Subject: subjectUpdate, Stream: ack.Stream, Seq: ack.Sequence, Duplicate: ack.Duplicate}
	if a.g.output == outputTable {
		fmt.Fprintf(a.stdout, "Published update of breach %s on %s: stream %s, sequence %d.\n", id, subjectUpdate, ack.Stream, ack.Sequence)
		if ack.Duplicate {
			fmt.Fprintf(a.stdout, "The same update was published moments ago; JetStream kept the first copy only.\n")
		}
	}
	if noWait {
		if a.g.output == outputJSON {
			return writeJSON(a.stdout, updateJSON{Published: pub})
		}
		return nil
	}

	b, rev, err := a.awaitRevision(ctx, c, js, rw, pu, ack)
	if err != nil {
		var rej *rejectedError
		if errors.As(err, &rej) {
			return a.rejected(pub, rej.r, "breach update")
		}
		return err
	}
	again := rev.GetNumber() <= pu.before
	if a.g.output == outputTable {
		if again {
			fmt.Fprintf(a.stdout, "The same update was recorded before as revision %d of breach %s; nothing new is sent.\n", rev.GetNumber(), id)
		} else {
			fmt.Fprintf(a.stdout, "Revision %d of breach %s recorded: %s added.\n", rev.GetNumber(), id, plural(rev.GetAdded(), "organisation", "organisations"))
		}
	}
	warnUnknown(a.stderr, rev.GetUnknownOrgIds())
	waited := !rev.GetFanoutComplete()
	if waited {
		if rev, err = a.awaitRevisionFanout(ctx, c, b, rev.GetNumber()); err != nil {
			return err
		}
	}
	b, s, err := fetchStatus(ctx, c, id)
	if err != nil {
		return err
	}
	if a.g.output == outputJSON {
		out := updateJSON{Published: pub, AlreadyApplied: again}
		if out.Revision, err = protoJSON(rev); err != nil {
			return err
		}
		if out.Breach, err = protoJSON(b); err != nil {
			return err
		}
		if out.Summary, err = protoJSON(s); err != nil {
			return err
		}
		return writeJSON(a.stdout, out)
	}
	if !again || waited {
		fmt.Fprintf(a.stdout, "Revision %d delivered to every affected organisation.\n", rev.GetNumber())
	}
	fmt.Fprintln(a.stdout)
	return renderBreachStatus(a.stdout, b, s, time.Now())
}

// prepareUpdate checks that data is a JSON object naming its breach. The
// rest is the server's to validate; data is published as it is.
func prepareUpdate(data []byte) (*pendingUpdate, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("the file is empty; want a JSON object")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil || trimmed[0] != '{' {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, fmt.Errorf("not valid JSON (at byte %d): %w", syn.Offset, err)
		}
		return nil, errors.New("not a JSON object")
	}
	str := func(names ...string) string {
		for _, n := range names {
			var s string
			if raw, ok := obj[n]; ok && json.Unmarshal(raw, &s) == nil {
				return s
			}
		}
		return ""
	}
	pu := &pendingUpdate{breachID: str("breach_id", "breachId"), summary: str("summary")}
	if pu.breachID == "" {
		return nil, errors.New(`the update has no "breach_id": name the breach it updates`)
	}
	var u cascadev1.BreachUpdate
	if protojson.Unmarshal(trimmed, &u) == nil {
		pu.parsed = &u
	}
	return pu, nil
}

// latestRevision is the breach's latest revision number (1 without updates).
func latestRevision(b *cascadev1.Breach) int32 {
	latest := max(b.GetLatestRevision(), b.GetRevision())
	for _, r := range b.GetRevisions() {
		latest = max(latest, r.GetNumber())
	}
	return latest
}

// findRevision returns revision n of b, if recorded.
func findRevision(b *cascadev1.Breach, n int32) *cascadev1.BreachRevision {
	for _, r := range b.GetRevisions() {
		if r.GetNumber() == n {
			return r
		}
	}
	return nil
}

// awaitRevision waits until the published update has become a revision of
// its breach, or was rejected.
func (a *app) awaitRevision(ctx context.Context, c *clients, js jetstream.JetStream, rw *rejectionWatch, pu *pendingUpdate, ack *jetstream.PubAck) (*cascadev1.Breach, *cascadev1.BreachRevision, error) {
	notRecorded := func() error {
		return &hintError{
			err: fmt.Errorf("the update is stored (stream %s, sequence %d) but no revision of breach %s is recorded for it yet: %w",
				ack.Stream, ack.Sequence, pu.breachID, context.Cause(ctx)),
			hint: "(is cascaded running? An update waits while an earlier revision is still being delivered. Check with 'cascadectl breach status " + pu.breachID + "'.)",
		}
	}
	// find looks for the revision the update became; settled: the intake
	// has processed the update, so the newest revision since the publish
	// is it even if no revision matches (the daemon may have normalised
	// the update).
	find := func(settled bool) (*cascadev1.Breach, *cascadev1.BreachRevision, error) {
		resp, err := c.breach.GetBreach(ctx, &cascadev1.GetBreachRequest{BreachId: pu.breachID})
		switch {
		case err == nil:
		case isCode(err, codes.NotFound), isCode(err, codes.InvalidArgument):
			return nil, nil, nil
		default:
			return nil, nil, err
		}
		b := resp.GetBreach()
		// The newest matching revision: a re-published update is the one
		// it was before.
		revs := b.GetRevisions()
		for i := len(revs) - 1; i >= 0; i-- {
			if pu.matches(revs[i]) {
				return b, revs[i], nil
			}
		}
		if settled && latestRevision(b) > pu.before {
			return b, findRevision(b, latestRevision(b)), nil
		}
		return b, nil, nil
	}
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		if r, ok := rw.match(ack.Sequence); ok {
			return nil, nil, &rejectedError{r}
		}
		b, rev, err := find(false)
		switch {
		case ctx.Err() != nil:
			return nil, nil, notRecorded()
		case err != nil:
			return nil, nil, err
		case rev != nil:
			return b, rev, nil
		}
		// A processor's user cannot read the intake's progress: its update
		// is settled once its revision shows, or a rejection arrives
		// (above), polled until the context ends.
		var done bool
		if !rw.live {
			done, err = intakeProcessed(ctx, js, ack.Sequence)
			if err == nil && done {
				done, err = rw.caughtUp(ctx)
			}
		}
		switch {
		case ctx.Err() != nil:
			return nil, nil, notRecorded()
		case err != nil:
			return nil, nil, err
		case done:
			if r, ok := rw.match(ack.Sequence); ok {
				return nil, nil, &rejectedError{r}
			}
			b, rev, err := find(true)
			switch {
			case ctx.Err() != nil:
				return nil, nil, notRecorded()
			case err != nil:
				return nil, nil, err
			case rev != nil:
				return b, rev, nil
			}
			return nil, nil, fmt.Errorf("Cascade processed the update (sequence %d) without rejecting it, but no revision of breach %s matches it; check with 'cascadectl breach status %s'",
				ack.Sequence, pu.breachID, pu.breachID)
		}
		select {
		case <-ctx.Done():
			return nil, nil, notRecorded()
		case <-rw.notify:
		case <-ticker.C:
		}
	}
}

// awaitRevisionFanout shows the progress on stderr until revision rev of b
// is delivered to every affected organisation, and returns the revision.
func (a *app) awaitRevisionFanout(ctx context.Context, c *clients, b *cascadev1.Breach, rev int32) (*cascadev1.BreachRevision, error) {
	id := b.GetId()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := watchSummaries(wctx, c, id)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(a.stderr, "Delivering revision %d to every affected organisation...\n", rev)
	// The bar counts the notices recorded, including the ones the
	// revision adds.
	p := newProgress(a.stderr, b.GetNoticeCount(), time.Second)
	defer p.finish()
	notComplete := func() error {
		return &hintError{
			err:  fmt.Errorf("revision %d of breach %s is recorded, but not yet delivered to every organisation: %w", rev, id, context.Cause(ctx)),
			hint: "(follow it with 'cascadectl breach status " + id + " --watch')",
		}
	}
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	var delivered int64
	for {
		select {
		case ev, ok := <-events:
			switch {
			case !ok || ctx.Err() != nil:
				return nil, notComplete()
			case ev.err != nil:
				return nil, ev.err
			case ev.summary != nil:
				p.update(ev.summary)
				delivered = ev.summary.GetDelivered()
			}
			continue
		case <-ctx.Done():
			return nil, notComplete()
		case <-ticker.C:
		}
		// Delivering a revision to organisations notified before changes
		// no count: the revision's own flag tells when it is done.
		resp, err := c.breach.GetBreach(ctx, &cascadev1.GetBreachRequest{BreachId: id})
		switch {
		case ctx.Err() != nil:
			return nil, notComplete()
		case err != nil:
			return nil, err
		}
		// The summary follows the ledger by a moment: wait for it too, so
		// the status printed next counts every delivery.
		if r := findRevision(resp.GetBreach(), rev); r.GetFanoutComplete() && delivered >= resp.GetBreach().GetNoticeCount() {
			return r, nil
		}
	}
}

// plural is "1 organisation" or "3 organisations".
func plural(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
