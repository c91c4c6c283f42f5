package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/cascadehq/cascade/internal/breach"
)

// CSVHeader is the header row of the CSV form, in column order.
var CSVHeader = []string{
	"notice_id", "breach_id", "org_id", "org_name",
	"seq", "event", "at", "actor", "prev_state", "state", "detail",
	"deadline", "delivered_at", "revision_delivered", "revision_acknowledged",
	"outcome_kind", "outcome_reference", "principal",
}

// Rendered is an export in its two file forms with their SHA-256 digests
// (lower-case hex).
type Rendered struct {
	JSON, CSV             []byte
	JSONSHA256, CSVSHA256 string
}

// Render encodes e as indented JSON and as CSV. The same export always
// gives the same bytes.
//
// The CSV has CSVHeader, then one row per history entry, notices in the
// export's order. Each row is the notice as of that entry: deadline and
// delivered_at (set once, on delivery) are empty on rows before delivery,
// the outcome (set once, on resolution) is empty on rows before
// resolution, and the revision columns are the entry's own (empty for
// none). The principal column is who made the change through the API, in
// one line (breach.Principal's String), empty for what Cascade did itself;
// the JSON form has its fields. Times are RFC 3339 in UTC with the fraction the data has.
// Text is written as recorded, escaped by CSV quoting only.
//
// A notice without history, or a notice listed twice, is an error: the
// record would not be complete.
func Render(e Export) (Rendered, error) {
	seen := make(map[breach.NoticeID]bool, len(e.Notices))
	for _, n := range e.Notices {
		if len(n.History) == 0 {
			return Rendered{}, fmt.Errorf("evidence: notice %s has no history", n.Notice.ID)
		}
		if seen[n.Notice.ID] {
			return Rendered{}, fmt.Errorf("evidence: notice %s is listed twice", n.Notice.ID)
		}
		seen[n.Notice.ID] = true
	}

	var js bytes.Buffer
	enc := json.NewEncoder(&js)
	enc.SetEscapeHTML(false) // names such as "Kommun & Region" stay readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(e); err != nil {
		return Rendered{}, fmt.Errorf("evidence: encoding JSON: %w", err)
	}

	var cs bytes.Buffer
	w := csv.NewWriter(&cs)
	if err := w.Write(CSVHeader); err != nil {
		return Rendered{}, fmt.Errorf("evidence: encoding CSV: %w", err)
	}
	for _, n := range e.Notices {
		for _, h := range n.History {
			if err := w.Write(csvRow(&n.Notice, h)); err != nil {
				return Rendered{}, fmt.Errorf("evidence: encoding CSV: %w", err)
			}
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return Rendered{}, fmt.Errorf("evidence: encoding CSV: %w", err)
	}

	return Rendered{
		JSON:       js.Bytes(),
		CSV:        cs.Bytes(),
		JSONSHA256: Digest(js.Bytes()),
		CSVSHA256:  Digest(cs.Bytes()),
	}, nil
}

// csvRow is the row of entry h of notice n (see Render).
func csvRow(n *breach.Notice, h Entry) []string {
	var deadline, deliveredAt, kind, ref string
	var principal string
	if h.Principal != nil {
		principal = h.Principal.String()
	}
	if h.State >= breach.StateDelivered {
		deadline, deliveredAt = csvTime(n.Deadline), csvTime(n.DeliveredAt)
	}
	if (h.State == breach.StateResolved || h.State == breach.StateWithdrawn) && n.Outcome != nil {
		kind, ref = string(n.Outcome.Kind), n.Outcome.Reference
	}
	return []string{
		n.ID.String(), string(n.ID.Breach), string(n.ID.Org), n.OrgName,
		strconv.FormatUint(h.Seq, 10), string(h.Event), csvTime(h.At), h.Actor,
		h.Prev.String(), h.State.String(), h.Detail,
		deadline, deliveredAt, csvInt(h.RevisionDelivered), csvInt(h.RevisionAcked),
		kind, ref, principal,
	}
}

func csvTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func csvInt(v int) string {
	if v == 0 {
		return ""
	}
	return strconv.Itoa(v)
}

// Digest is the SHA-256 of data in lower-case hex, as sha256sum prints it.
func Digest(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}
