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
	"io"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/grpc/codes"

	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// The NATS side of the public contract (see docs/api.md).
const (
	subjectReport   = "cascade.breach.report"
	subjectRejected = "cascade.breach.rejected"
	streamIntake    = "CASCADE_INTAKE"
	streamRejected  = "CASCADE_REJECTED"
	// intakeConsumer is the durable consumer the daemons process reports
	// with; its ack floor tells that a report has been processed.
	intakeConsumer = "cascade-intake"
	// maxReportBytes is the largest report CASCADE_INTAKE stores.
	maxReportBytes = 1 << 20
	// rejectionLookback is how far before the publish the rejections are
	// read from: a re-publish deduplicated by JetStream (2 minutes window)
	// gets the sequence, and so the rejection, of the original, and the
	// clocks of cascadectl and the server may differ.
	rejectionLookback = 5 * time.Minute
	// intakeDedupWindow is the Duplicates window of CASCADE_INTAKE.
	intakeDedupWindow = 2 * time.Minute
	// pollInterval paces the polling for the recorded breach.
	pollInterval = 100 * time.Millisecond
	// DefaultChannelWait is how long breach publish waits, once every
	// notice is stored on NATS, for the first webhook or e-mail delivery to
	// organisations that take no notices over NATS (--channel-wait).
	DefaultChannelWait = 10 * time.Second
	// exitPendingChannels: the breach is recorded, but organisations
	// without NATS have not been reached by webhook or e-mail yet.
	exitPendingChannels = 3
)

func breachPublishCmd() *command {
	return &command{
		name:    "breach publish",
		args:    "FILE",
		summary: "Publish a breach report (JSON) and follow its fan-out",
		details: `Publishes the report in FILE ("-" for stdin), a JSON object with the fields
of cascade.v1.BreachReport, on cascade.breach.report and waits for JetStream
to store it. A report without an "id" gets a UUIDv7 here, so its breach can
be followed.

Then, unless --no-wait, it waits until Cascade has recorded the breach and
delivered every notice, showing the progress on stderr, and prints the
breach status. Affected organisations that are not in the registry are
reported as a WARNING on stderr. A report Cascade rejects is explained on
stderr and ends with exit status 1.

An organisation that takes notices only by webhook or e-mail is delivered
when its first webhook or e-mail delivery succeeds, which may take long (a
receiver that is down is retried for 24 hours). Once every notice is
stored on NATS, breach publish waits at most --channel-wait for those
deliveries; then it prints the breach status, lists on stderr the
organisations still waiting and why (each channel's last error), and ends
with exit status 3: the breach is recorded and Cascade keeps retrying, but
those organisations have not been reached yet.`,
		examples: `
# Publish the example report and wait until every notice is delivered
cascadectl breach publish deploy/examples/breach.json
# From stdin, without waiting for the fan-out
generate-report | cascadectl breach publish --no-wait -`,
		setup: func(fs *flag.FlagSet) runFunc {
			noWait := fs.Bool("no-wait", false, "return once JetStream has stored the report; do not wait for the breach")
			channelWait := fs.Duration("channel-wait", DefaultChannelWait, "once every notice is stored on NATS, how long (a `duration`) to wait for the first webhook or e-mail delivery to organisations without NATS")
			return func(ctx context.Context, a *app, args []string) error {
				if err := wantArgs("breach publish", args, 1); err != nil {
					return err
				}
				if *channelWait < 0 {
					return usageErrorf("breach publish", "--channel-wait must not be negative")
				}
				a.channelWait = *channelWait
				return a.publish(ctx, args[0], *noWait)
			}
		},
	}
}

// publishedJSON is the -o json form of a PubAck.
type publishedJSON struct {
	BreachID  string `json:"breach_id,omitempty"`
	Subject   string `json:"subject"`
	Stream    string `json:"stream"`
	Seq       uint64 `json:"seq"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// rejection is what Cascade publishes on cascade.breach.rejected.
type rejection struct {
	Reason        string      `json:"reason"`
	Detail        string      `json:"detail"`
	Field         string      `json:"field,omitempty"`
	Violations    []violation `json:"violations,omitempty"`
	BreachID      string      `json:"breach_id,omitempty"`
	UnknownOrgIDs []string    `json:"unknown_org_ids,omitempty"`
	Partial       bool        `json:"partial,omitempty"`
	Subject       string      `json:"subject"`
	StreamSeq     uint64      `json:"stream_seq"`
	At            time.Time   `json:"at"`
}

// violation is one invalid field of a rejected report.
type violation struct {
	Field  string `json:"field"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail"`
}

func (a *app) publish(ctx context.Context, file string, noWait bool) error {
	data, err := a.readReport(file)
	if err != nil {
		return err
	}
	data, id, err := prepareReport(data)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
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
	existed := false
	if !noWait {
		if c, err = a.dial(); err != nil {
			return err
		}
		defer c.Close()
		// A breach that exists already says nothing about this publish.
		if id != "" {
			_, err := c.breach.GetBreach(ctx, &cascadev1.GetBreachRequest{BreachId: id})
			switch {
			case err == nil:
				existed = true
			case !isCode(err, codes.NotFound):
				return err
			}
		}
		// A registered processor's NATS user reads no JetStream API: it
		// hears its own rejections live (subscribed before it publishes)
		// and follows the rest over gRPC.
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

	msg := &nats.Msg{Subject: subjectReport, Data: data, Header: nats.Header{}}
	msg.Header.Set("Content-Type", "application/json")
	opts := []jetstream.PublishOpt{jetstream.WithExpectStream(streamIntake)}
	if id != "" {
		// The id and a content hash: a retry of the same report is
		// deduplicated by JetStream, a changed one is stored and rejected
		// by the daemon as a conflict.
		sum := sha256.Sum256(data)
		// Every processor publishes into one intake stream, whose
		// duplicate detection is by message id alone: the id carries the
		// publishing NATS user's key, so two processors' reports of the
		// same id and content are two reports.
		opts = append(opts, jetstream.WithMsgID("cli/"+publisherTag(nc)+id+"/"+hex.EncodeToString(sum[:8])))
	}
	ack, err := js.PublishMsg(ctx, msg, opts...)
	if err != nil {
		if errors.Is(err, jetstream.ErrNoStreamResponse) {
			return &hintError{err: fmt.Errorf("publish on %s: no JetStream stream stored the report", subjectReport),
				hint: fmt.Sprintf("(is cascaded running with the NATS server at %s? It creates the stream %s.)", a.g.natsURL, streamIntake)}
		}
		return fmt.Errorf("publish on %s: %w", subjectReport, err)
	}
	pub := &publishedJSON{BreachID: id, Subject: subjectReport, Stream: ack.Stream, Seq: ack.Sequence, Duplicate: ack.Duplicate}
	if ack.Duplicate && (rw == nil || !rw.live) {
		// JetStream dropped the message for its Nats-Msg-Id: fine for a
		// retry, but a changed report would be lost without a word. (The
		// Nats-Msg-Id holds a hash of the content, so only a collision
		// could hide a change; a processor's user cannot read the stream
		// to compare.)
		if err := sameAsStored(ctx, js, ack.Sequence, data); err != nil {
			return err
		}
	}
	if a.g.output == outputTable {
		fmt.Fprintf(a.stdout, "Published breach %s on %s: stream %s, sequence %d.\n", orNone(id), subjectReport, ack.Stream, ack.Sequence)
		if ack.Duplicate {
			fmt.Fprintf(a.stdout, "The same report was published moments ago; JetStream kept the first copy only.\n")
		}
	}
	if noWait {
		if a.g.output == outputJSON {
			return writeJSON(a.stdout, statusJSON{Published: pub})
		}
		return nil
	}

	b, again, err := a.awaitRecorded(ctx, c, js, rw, id, ack, existed)
	if err != nil {
		var rej *rejectedError
		if errors.As(err, &rej) {
			return a.rejected(pub, rej.r, "breach report")
		}
		return err
	}
	if a.g.output == outputTable {
		if again {
			fmt.Fprintf(a.stdout, "Breach %s was recorded before with the same content; nothing new is sent.\n", id)
		} else {
			fmt.Fprintf(a.stdout, "Breach %s recorded: %s.\n", id, plural(int64(b.GetNoticeCount()), "notice", "notices"))
		}
	}
	warnUnknown(a.stderr, b.GetUnknownOrgIds())
	last, err := a.awaitFanout(ctx, c, rw, b, ack.Sequence)
	var pending *pendingChannelsError
	if err != nil && !errors.As(err, &pending) {
		var rej *rejectedError
		if errors.As(err, &rej) {
			return a.rejected(pub, rej.r, "breach report")
		}
		return err
	}
	b, s, err := fetchStatus(ctx, c, id)
	if err != nil {
		return err
	}
	if s.GetDelivered() < last.GetDelivered() {
		// GetBreachSummary is served from a view that may trail the watch
		// that saw every notice delivered by a moment: show what was seen.
		s = last
	}
	var waiting []*cascadev1.Notice
	if pending != nil {
		if waiting, err = pendingNotices(ctx, c, id); err != nil {
			return err
		}
	}
	if a.g.output == outputJSON {
		out := statusJSON{Published: pub}
		if out.Breach, err = protoJSON(b); err != nil {
			return err
		}
		if out.Summary, err = protoJSON(s); err != nil {
			return err
		}
		for _, n := range waiting {
			out.PendingChannels = append(out.PendingChannels, pendingJSON(n))
		}
		if err := writeJSON(a.stdout, out); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(a.stdout)
		if err := renderBreachStatus(a.stdout, b, s, time.Now()); err != nil {
			return err
		}
	}
	if pending == nil {
		return nil
	}
	a.reportPending(id, pending.waited, waiting, s.GetTotal())
	return &exitError{code: exitPendingChannels}
}

// pendingChannelsError ends the wait of breach publish when every notice
// is stored on NATS but organisations without NATS are still waiting for
// their first webhook or e-mail delivery after --channel-wait.
type pendingChannelsError struct{ waited time.Duration }

func (e *pendingChannelsError) Error() string {
	return fmt.Sprintf("webhook or e-mail deliveries still pending after %s", e.waited)
}

// pendingNotices are the notices of breach id still PENDING.
func pendingNotices(ctx context.Context, c *clients, id string) ([]*cascadev1.Notice, error) {
	var out []*cascadev1.Notice
	tok := ""
	for {
		r, err := c.notices.ListNotices(ctx, &cascadev1.ListNoticesRequest{BreachId: id, State: cascadev1.NoticeState_NOTICE_STATE_PENDING, PageSize: 500, PageToken: tok})
		if err != nil {
			return nil, err
		}
		out = append(out, r.GetNotices()...)
		if tok = r.GetNextPageToken(); tok == "" {
			return out, nil
		}
	}
}

// pendingChannel is the -o json form of a notice waiting for its first
// webhook or e-mail delivery.
type pendingChannel struct {
	NoticeID string               `json:"notice_id"`
	OrgID    string               `json:"org_id"`
	Channels []pendingChannelInfo `json:"channels,omitempty"`
}

type pendingChannelInfo struct {
	Channel       string `json:"channel"`
	Attempts      int32  `json:"attempts"`
	LastError     string `json:"last_error,omitempty"`
	NotConfigured string `json:"not_configured,omitempty"`
	DeadLettered  int32  `json:"dead_lettered,omitempty"`
}

func pendingJSON(n *cascadev1.Notice) pendingChannel {
	p := pendingChannel{NoticeID: n.GetId(), OrgID: n.GetOrgId()}
	for _, ch := range n.GetChannels() {
		p.Channels = append(p.Channels, pendingChannelInfo{Channel: channelName(ch.GetChannel()), Attempts: ch.GetAttempts(),
			LastError: ch.GetLastError(), NotConfigured: ch.GetNotConfigured(), DeadLettered: ch.GetDeadLettered()})
	}
	return p
}

// reportPending says on stderr which organisations breach publish left
// waiting, why, and what to do.
func (a *app) reportPending(id string, waited time.Duration, waiting []*cascadev1.Notice, total int64) {
	w := a.stderr
	verb, who, whose := "have", "they take notices", "each one's"
	if len(waiting) == 1 {
		verb, who, whose = "has", "it takes notices", "its"
	}
	fmt.Fprintf(w, "cascadectl: breach %s is recorded and every notice is stored on NATS, but %d of %s %s not received its notice after %s: %s only by webhook or e-mail, and %s clock starts at the first successful delivery.\n",
		id, len(waiting), plural(total, "organisation", "organisations"), verb, waited, who, whose)
	const maxShown = 20
	tw := newTable(w)
	for i, n := range waiting {
		if i == maxShown {
			break
		}
		why := "no attempt yet"
		if cs := n.GetChannels(); len(cs) > 0 {
			var parts []string
			for _, ch := range cs {
				parts = append(parts, channelName(ch.GetChannel())+": "+formatChannel(ch))
			}
			why = strings.Join(parts, "; ")
		}
		row(tw, "  "+safeText(n.GetOrgId()), safeText(truncate(why, 200)))
	}
	_ = tw.Flush()
	if len(waiting) > maxShown {
		fmt.Fprintf(w, "  … and %d more ('cascadectl notice list --breach %s --state pending')\n", len(waiting)-maxShown, id)
	}
	show := "NOTICE_ID"
	if len(waiting) == 1 {
		show = waiting[0].GetId()
	}
	fmt.Fprintf(w, "Cascade keeps retrying (for 24 hours; then a dead letter: 'cascadectl deadletter list --breach %s'). Follow it with 'cascadectl breach status %s --watch' or 'cascadectl notice show %s'; fix the receiver (or issue its secret: 'cascadectl webhook secret --org ID'), or reach the organisation another way.\n", id, id, safeText(show))
}

// sameAsStored checks that the report JetStream deduplicated against the
// message stored at seq has the same content.
func sameAsStored(ctx context.Context, js jetstream.JetStream, seq uint64, data []byte) error {
	stream, err := js.Stream(ctx, streamIntake)
	if err != nil {
		return fmt.Errorf("read %s: %w", streamIntake, err)
	}
	stored, err := stream.GetMsg(ctx, seq)
	if err != nil {
		return fmt.Errorf("read the report stored at %s sequence %d: %w", streamIntake, seq, err)
	}
	var x, y any
	if bytes.Equal(stored.Data, data) ||
		json.Unmarshal(stored.Data, &x) == nil && json.Unmarshal(data, &y) == nil && reflect.DeepEqual(x, y) {
		return nil
	}
	return &hintError{
		err: fmt.Errorf("NOT published: a different report with the same id was published within the last %.0f minutes (stream %s, sequence %d), and JetStream dropped this one as a duplicate",
			intakeDedupWindow.Minutes(), streamIntake, seq),
		hint: "(a breach's facts cannot be replaced; publish follow-up facts as an update on cascade.breach.update.)",
	}
}

// readReport reads FILE, or stdin for "-".
func (a *app) readReport(file string) ([]byte, error) { return a.readMessage(file, "report") }

// readMessage reads FILE, or stdin for "-": a message of at most
// maxReportBytes, what ("report", "update") naming it in errors.
func (a *app) readMessage(file, what string) ([]byte, error) {
	var r io.Reader
	if file == "-" {
		r = a.stdin
	} else {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxReportBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if len(data) > maxReportBytes {
		return nil, fmt.Errorf("%s: a %s may have at most %d bytes", file, what, maxReportBytes)
	}
	return data, nil
}

// prepareReport checks that data is a JSON object and returns it with its
// breach id, adding a generated UUIDv7 when it has none. Everything else is
// the server's to validate. The id is "" if the report's id is not a
// string (the server rejects it).
func prepareReport(data []byte) ([]byte, string, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, "", errors.New("the file is empty; want a JSON object")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil || trimmed[0] != '{' {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			return nil, "", fmt.Errorf("not valid JSON (at byte %d): %w", syn.Offset, err)
		}
		return nil, "", errors.New("not a JSON object")
	}
	if raw, ok := obj["id"]; ok {
		var id string
		if json.Unmarshal(raw, &id) != nil {
			return data, "", nil // not a string: the server rejects it
		}
		if id != "" {
			return data, id, nil
		}
	}
	u, err := uuid.NewV7()
	if err != nil {
		return nil, "", fmt.Errorf("generate a breach id: %w", err)
	}
	id := u.String()
	idJSON, _ := json.Marshal(id)
	if _, ok := obj["id"]; ok || len(obj) == 0 { // "id": "" or {}
		obj["id"] = idJSON
		out, err := json.Marshal(obj)
		return out, id, err
	}
	// Append the id as the last member, so that positions in the server's
	// error messages still point into the file as written.
	end := bytes.LastIndexByte(data, '}')
	out := make([]byte, 0, len(data)+len(idJSON)+8)
	out = append(out, data[:end]...)
	out = append(out, `,"id":`...)
	out = append(out, idJSON...)
	out = append(out, data[end:]...)
	return out, id, nil
}

// rejectedError ends a wait with the rejection of the published report.
type rejectedError struct{ r rejection }

func (e *rejectedError) Error() string { return "rejected: " + e.r.Reason }

// awaitRecorded waits until the published report has become a breach, or
// was rejected. again is true when the breach was recorded before from
// the same content (an idempotent re-publish).
func (a *app) awaitRecorded(ctx context.Context, c *clients, js jetstream.JetStream, rw *rejectionWatch, id string, ack *jetstream.PubAck, existed bool) (_ *cascadev1.Breach, again bool, _ error) {
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		if r, ok := rw.match(ack.Sequence); ok {
			return nil, false, &rejectedError{r}
		}
		var b *cascadev1.Breach
		if id != "" {
			resp, err := c.breach.GetBreach(ctx, &cascadev1.GetBreachRequest{BreachId: id})
			switch {
			case err == nil:
				b = resp.GetBreach()
				if !existed && !ack.Duplicate {
					return b, false, nil
				}
			case ctx.Err() != nil:
				return nil, false, a.notRecorded(ctx, id, ack)
			case !isCode(err, codes.NotFound):
				return nil, false, err
			}
		}
		// A processor's user cannot read the intake's progress: a report
		// of a breach that existed is the same one again unless rejected
		// within liveQuiet.
		if rw.live && b != nil {
			select {
			case <-ctx.Done():
				return nil, false, a.notRecorded(ctx, id, ack)
			case <-time.After(liveQuiet):
			}
			if r, ok := rw.match(ack.Sequence); ok {
				return nil, false, &rejectedError{r}
			}
			return b, true, nil
		}
		// The breach existed before (or the id is unusable): only the
		// intake having processed the message tells the outcome.
		if b != nil || id == "" {
			done, err := intakeProcessed(ctx, js, ack.Sequence)
			if err == nil && done {
				done, err = rw.caughtUp(ctx)
			}
			switch {
			case ctx.Err() != nil:
				return nil, false, a.notRecorded(ctx, id, ack)
			case err != nil:
				return nil, false, err
			case done:
				if r, ok := rw.match(ack.Sequence); ok {
					return nil, false, &rejectedError{r}
				}
				if b != nil {
					return b, true, nil
				}
				return nil, false, fmt.Errorf("Cascade processed the report (sequence %d) without rejecting it, but its id is unknown; find it with 'cascadectl breach list'", ack.Sequence)
			}
		}
		select {
		case <-ctx.Done():
			return nil, false, a.notRecorded(ctx, id, ack)
		case <-rw.notify:
		case <-ticker.C:
		}
	}
}

func (a *app) notRecorded(ctx context.Context, id string, ack *jetstream.PubAck) error {
	return &hintError{
		err: fmt.Errorf("the report is stored (stream %s, sequence %d) but breach %s is not recorded yet: %w",
			ack.Stream, ack.Sequence, orNone(id), context.Cause(ctx)),
		hint: "(is cascaded running? It processes the report when it starts. Check with 'cascadectl breach status " + orNone(id) + "'.)",
	}
}

// awaitFanout shows the delivery progress of b on stderr until every
// notice is recorded and delivered once, and returns the summary that
// said so. A rejection of the report stored at seq still ends it: another
// report may have created the breach first.
func (a *app) awaitFanout(ctx context.Context, c *clients, rw *rejectionWatch, b *cascadev1.Breach, seq uint64) (*cascadev1.BreachSummary, error) {
	id := b.GetId()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := watchSummaries(wctx, c, id)
	if err != nil {
		return nil, err
	}
	p := newProgress(a.stderr, b.GetNoticeCount(), time.Second)
	notComplete := func() error {
		return &hintError{
			err:  fmt.Errorf("breach %s is recorded, but its fan-out is not complete: %w", id, context.Cause(ctx)),
			hint: "(follow it with 'cascadectl breach status " + id + " --watch')",
		}
	}
	complete := false
	var last *cascadev1.BreachSummary
	// Once every notice is stored on NATS (the breach's fanout_complete),
	// what is left to deliver waits for webhooks or e-mail: wait for it at
	// most a.channelWait.
	fanout := time.NewTicker(4 * pollInterval)
	defer fanout.Stop()
	var channelWait <-chan time.Time
	for !complete {
		select {
		case <-fanout.C:
			if channelWait != nil || last == nil {
				continue
			}
			resp, err := c.breach.GetBreach(ctx, &cascadev1.GetBreachRequest{BreachId: id})
			if err == nil && resp.GetBreach().GetFanoutComplete() {
				channelWait = time.After(a.channelWait)
				fanout.Stop()
			}
		case <-channelWait:
			p.finish()
			return last, &pendingChannelsError{waited: a.channelWait}
		case ev, ok := <-events:
			switch {
			case !ok || ctx.Err() != nil:
				p.finish()
				return nil, notComplete()
			case ev.err != nil:
				p.finish()
				return nil, ev.err
			case ev.summary != nil:
				p.update(ev.summary)
				s := ev.summary
				last = s
				// At least: revisions may have added organisations since.
				complete = s.GetTotal() >= b.GetNoticeCount() && s.GetDelivered() == s.GetTotal()
			}
		case <-rw.notify:
			if r, ok := rw.match(seq); ok {
				p.finish()
				return nil, &rejectedError{r}
			}
		case <-ctx.Done():
			p.finish()
			return nil, notComplete()
		}
	}
	p.finish()
	cancel()
	// The summary can run ahead of the breach record by a moment.
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		resp, err := c.breach.GetBreach(ctx, &cascadev1.GetBreachRequest{BreachId: id})
		switch {
		case ctx.Err() != nil:
			return nil, notComplete()
		case err != nil:
			return nil, err
		case resp.GetBreach().GetFanoutComplete():
			return last, nil
		}
		select {
		case <-ctx.Done():
			return nil, notComplete()
		case <-ticker.C:
		}
	}
}

// warnUnknown reports affected organisations that got no notice.
func warnUnknown(w io.Writer, ids []string) {
	switch len(ids) {
	case 0:
	case 1:
		fmt.Fprintf(w, "WARNING: affected organisation %s is not in the registry, got no notice.\n", safeText(ids[0]))
	default:
		fmt.Fprintf(w, "WARNING: %d affected organisations are not in the registry, got no notice: %s\n", len(ids), safeText(strings.Join(ids, ", ")))
	}
}

// rejected explains the rejection of the published message, what ("breach
// report", "breach update"), on stderr (and as JSON with -o json).
func (a *app) rejected(pub *publishedJSON, r rejection, what string) error {
	if a.g.output == outputJSON {
		if err := writeJSON(a.stdout, statusJSON{Published: pub, Rejection: &r}); err != nil {
			return err
		}
	}
	w := a.stderr
	fmt.Fprintf(w, "cascadectl: Cascade rejected the %s (stream sequence %d): %s\n", what, r.StreamSeq, safeText(r.Reason))
	if len(r.Violations) == 0 {
		if r.Detail != "" {
			fmt.Fprintf(w, "  %s\n", safeText(r.Detail))
		}
		if r.Field != "" {
			fmt.Fprintf(w, "  field: %s\n", safeText(r.Field))
		}
	}
	for _, v := range r.Violations {
		fmt.Fprintf(w, "  %s: %s\n", safeText(v.Field), safeText(v.Detail))
	}
	if len(r.UnknownOrgIDs) > 0 {
		fmt.Fprintf(w, "  not in the registry: %s\n", safeText(strings.Join(r.UnknownOrgIDs, ", ")))
	}
	fmt.Fprintln(w, "  Nothing was recorded.")
	return &exitError{code: 1}
}

// rejectionWatch reads cascade.breach.rejected with an ordered consumer.
type rejectionWatch struct {
	cons   jetstream.Consumer
	cc     jetstream.ConsumeContext
	notify chan struct{} // signalled after each rejection read
	// live: a core subscription (listenRejections) instead of the stream.
	live bool
	sub  *nats.Subscription

	mu      sync.Mutex
	bySeq   map[uint64]rejection // by the stream sequence of the rejected report
	lastSeq uint64               // consumer sequence of the last message read
}

// watchRejections starts reading the rejections stored since start.
func watchRejections(ctx context.Context, js jetstream.JetStream, start time.Time) (*rejectionWatch, error) {
	cons, err := js.OrderedConsumer(ctx, streamRejected, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{subjectRejected},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &start,
	})
	if err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, &hintError{err: fmt.Errorf("stream %s not found", streamRejected),
				hint: "(is cascaded running with this NATS server? It creates the stream.)"}
		}
		return nil, fmt.Errorf("read %s: %w", streamRejected, err)
	}
	rw := &rejectionWatch{cons: cons, notify: make(chan struct{}, 1), bySeq: map[uint64]rejection{}}
	rw.cc, err = cons.Consume(func(m jetstream.Msg) {
		// Partial rejections (unknown organisations of a recorded breach)
		// carry no sequence; the breach lists those organisations itself.
		var r rejection
		decoded := json.Unmarshal(m.Data(), &r) == nil && r.StreamSeq != 0 && !r.Partial
		rw.mu.Lock()
		if md, err := m.Metadata(); err == nil {
			rw.lastSeq = md.Sequence.Consumer
		}
		if decoded {
			rw.bySeq[r.StreamSeq] = r
		}
		rw.mu.Unlock()
		select {
		case rw.notify <- struct{}{}:
		default:
		}
	})
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", streamRejected, err)
	}
	return rw, nil
}

// publisherTag is the start of the publishing NATS user's public key and a
// slash, for message ids (empty without a user): JetStream detects
// duplicates in a stream by message id alone, and every processor
// publishes into the one intake stream.
func publisherTag(nc *nats.Conn) string {
	pub, ok := strings.CutPrefix(nc.Opts.InboxPrefix, "_INBOX.")
	if !ok || len(pub) < 16 {
		return ""
	}
	return pub[:16] + "/"
}

// liveQuiet is how long breach publish, as a registered processor, waits
// for a rejection of a report whose breach existed before.
const liveQuiet = 3 * time.Second

// listenRejections hears the rejections published from now on, on the
// caller's own cascade.breach.rejected (a registered processor's account
// maps its own rejections there).
func listenRejections(nc *nats.Conn) (*rejectionWatch, error) {
	rw := &rejectionWatch{notify: make(chan struct{}, 1), bySeq: map[uint64]rejection{}, live: true}
	sub, err := nc.Subscribe(subjectRejected, func(m *nats.Msg) {
		var r rejection
		if json.Unmarshal(m.Data, &r) != nil || r.StreamSeq == 0 || r.Partial {
			return
		}
		rw.mu.Lock()
		rw.bySeq[r.StreamSeq] = r
		rw.mu.Unlock()
		select {
		case rw.notify <- struct{}{}:
		default:
		}
	})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", subjectRejected, err)
	}
	if err := nc.Flush(); err != nil { // subscribed before the report is published
		return nil, fmt.Errorf("listen on %s: %w", subjectRejected, err)
	}
	rw.sub = sub
	return rw, nil
}

func (rw *rejectionWatch) stop() {
	if rw.sub != nil {
		_ = rw.sub.Unsubscribe()
		return
	}
	rw.cc.Stop()
}

// match returns the rejection of the report stored at seq, if read yet.
func (rw *rejectionWatch) match(seq uint64) (rejection, bool) {
	rw.mu.Lock()
	defer rw.mu.Unlock()
	r, ok := rw.bySeq[seq]
	return r, ok && seq != 0
}

// caughtUp reports whether every rejection stored so far has been read.
func (rw *rejectionWatch) caughtUp(ctx context.Context) (bool, error) {
	info, err := rw.cons.Info(ctx)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", streamRejected, err)
	}
	rw.mu.Lock()
	defer rw.mu.Unlock()
	return info.NumPending == 0 && rw.lastSeq >= info.Delivered.Consumer, nil
}

// intakeProcessed reports whether the daemons have finished processing the
// report stored at seq in CASCADE_INTAKE.
func intakeProcessed(ctx context.Context, js jetstream.JetStream, seq uint64) (bool, error) {
	cons, err := js.Consumer(ctx, streamIntake, intakeConsumer)
	if errors.Is(err, jetstream.ErrConsumerNotFound) {
		return false, nil // no daemon has started its intake yet
	}
	if err != nil {
		return false, fmt.Errorf("intake consumer: %w", err)
	}
	info, err := cons.Info(ctx)
	if err != nil {
		return false, fmt.Errorf("intake consumer: %w", err)
	}
	return info.AckFloor.Stream >= seq || (info.Delivered.Stream >= seq && info.NumAckPending == 0), nil
}
