package registry

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"os"
	"slices"
	"strings"

	"github.com/cascadehq/cascade/internal/breach"
)

// Columns of the processor registry CSV (--processors). ProcColID and
// ProcColName are required.
const (
	ProcColID           = "id"
	ProcColName         = "name"
	ProcColContactEmail = "contact_email"
	ProcColContactPhone = "contact_phone"
	// ProcColCustomers lists the organisations the processor serves,
	// separated by spaces or semicolons; "*" means every organisation.
	ProcColCustomers = "customers"
	// ProcColOrgID is the processor as an organisation: the id under which
	// it receives its own suppliers' notices, which it may forward.
	ProcColOrgID = "org_id"
)

// ProcessorColumns lists every column a processor registry may have.
var ProcessorColumns = []string{ProcColID, ProcColName, ProcColContactEmail, ProcColContactPhone, ProcColCustomers, ProcColOrgID}

// Limits on a processor registry file.
const (
	MaxProcessors = 10_000
	// MaxCustomers bounds one processor's customers column.
	MaxCustomers = 1_000_000
)

// ParseProcessorsCSV reads a processor registry: a header naming the
// columns (id and name required; contact_email, contact_phone, customers,
// org_id optional; any order), then one processor per row. id matches
// breach.ProcessorIDPattern and is unique; name is present; contact_email
// is a bare address; customers is empty (no customers yet), "*" (every
// organisation in the registry) or organisation ids separated by spaces or
// semicolons, each matching breach.OrgIDPattern. Whether the customers are
// in the organisation registry is checked by the daemon when it loads the
// file (an unknown customer gets no notice, as an unknown affected
// organisation). Parsing is all or nothing, as ParseCSV's: every problem is
// listed in a *ParseError with its line.
func ParseProcessorsCSV(r io.Reader) ([]breach.Processor, error) {
	lr := &limitedReader{r: r, remaining: MaxBytes, limit: MaxBytes}
	br := bufio.NewReader(lr)
	if b, err := br.Peek(len(utf8BOM)); err == nil && string(b) == utf8BOM {
		_, _ = br.Discard(len(utf8BOM))
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	var perr ParseError
	var cols []string
	var out []breach.Processor
	seen := map[breach.ProcessorID]int{}
	for {
		rec, err := cr.Read()
		if lr.exceeded {
			return nil, lr.tooLarge()
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("read processor registry: %w", err)
			}
			perr.add(pe.StartLine, "", "", "CSV syntax: "+pe.Err.Error())
			if cols == nil {
				return nil, &perr
			}
			continue
		}
		if blank(rec) {
			continue
		}
		line, _ := cr.FieldPos(0)
		if cols == nil {
			cols = parseHeader(rec, line, ProcessorColumns, &perr)
			if perr.err() != nil {
				return nil, &perr
			}
			continue
		}
		if len(out) >= MaxProcessors {
			return nil, fmt.Errorf("%w: more than %d processors", ErrTooLarge, MaxProcessors)
		}
		if p, ok := processorRow(rec, cols, line, seen, &perr); ok {
			out = append(out, p)
		}
	}
	if cols == nil {
		perr.add(1, "", "", "missing header row (need at least the columns id,name)")
	}
	if err := perr.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// LoadProcessorsFile reads the processor registry at path.
func LoadProcessorsFile(path string) ([]breach.Processor, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load processor registry: %w", err)
	}
	defer f.Close()
	ps, err := ParseProcessorsCSV(f)
	if err != nil {
		return nil, fmt.Errorf("load processor registry %s: %w", path, err)
	}
	return ps, nil
}

func processorRow(rec, cols []string, line int, seen map[breach.ProcessorID]int, perr *ParseError) (breach.Processor, bool) {
	var p breach.Processor
	if len(rec) != len(cols) {
		perr.add(line, "", "", fmt.Sprintf("has %d fields; the header has %d", len(rec), len(cols)))
		return p, false
	}
	before := len(perr.Rows) + perr.Omitted
	for i, col := range cols {
		v := strings.TrimSpace(rec[i])
		if col == ProcColCustomers {
			p.AllCustomers, p.Customers = parseCustomers(v, line, perr)
			continue
		}
		if !checkText(col, v, line, perr) {
			continue
		}
		switch col {
		case ProcColID:
			id := breach.ProcessorID(v)
			switch {
			case v == "":
				perr.add(line, col, "", "is required")
			case !id.Valid():
				perr.add(line, col, v, "does not match "+breach.ProcessorIDPattern)
			case seen[id] != 0:
				perr.add(line, col, v, fmt.Sprintf("duplicate; first on line %d", seen[id]))
			default:
				seen[id] = line
			}
			p.ID = id
		case ProcColName:
			if v == "" {
				perr.add(line, col, "", "is required")
			}
			p.Name = v
		case ProcColContactEmail:
			if v != "" {
				if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
					perr.add(line, col, v, "is not a bare e-mail address (like security@example.com)")
				}
			}
			p.ContactEmail = v
		case ProcColContactPhone:
			p.ContactPhone = v
		case ProcColOrgID:
			if v != "" && !breach.OrgID(v).Valid() {
				perr.add(line, col, v, "does not match "+breach.OrgIDPattern)
			}
			p.OrgID = breach.OrgID(v)
		}
	}
	return p, len(perr.Rows)+perr.Omitted == before
}

// parseCustomers reads a customers value: "*", or organisation ids
// separated by spaces or semicolons (sorted and deduplicated).
func parseCustomers(v string, line int, perr *ParseError) (all bool, ids []breach.OrgID) {
	if v == "*" {
		return true, nil
	}
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ' ' || r == '\t' }) {
		id := breach.OrgID(f)
		if !id.Valid() {
			perr.add(line, ProcColCustomers, shorten(f), "is not an organisation id ("+breach.OrgIDPattern+`) nor "*"`)
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) > MaxCustomers {
		perr.add(line, ProcColCustomers, "", fmt.Sprintf("lists more than %d organisations", MaxCustomers))
		return false, nil
	}
	slices.Sort(ids)
	return false, slices.Compact(ids)
}
