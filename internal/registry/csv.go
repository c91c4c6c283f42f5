// Package registry parses the customer-organisation registry: the CSV file
// in which the processor lists its customers (the controllers) with their
// contacts, delivery channels and locale. Parsing is all or nothing: a file
// with one bad row yields no organisations and a *ParseError naming every
// bad row by line number.
package registry

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/webhook"
)

// Limits on a registry file. They bound the memory one load can take.
const (
	MaxBytes     = 64 << 20  // input size, after which ParseCSV fails with ErrTooLarge
	MaxRows      = 1_000_000 // data rows (the header not counted)
	MaxField     = 200       // characters in any field but webhook_url
	MaxURL       = 2000      // characters in webhook_url
	MaxRowErrors = 10_000    // RowErrors kept in a ParseError; the rest are counted
)

// Column names of the registry CSV. ColID and ColName are required.
const (
	ColID            = "id"
	ColName          = "name"
	ColDPOEmail      = "dpo_email"
	ColSecurityEmail = "security_email"
	ColPhone         = "phone"
	ColWebhookURL    = "webhook_url"
	ColLocale        = "locale"
	ColChannels      = "channels"
	// The escalation contact (e.g. the head of administration): the last
	// reminder and the overdue message go to escalation_email too.
	ColEscalationEmail = "escalation_email"
	ColEscalationPhone = "escalation_phone"
	// ColRegimes names the legal regimes whose reporting obligations the
	// organisation's notices carry: gdpr and nis2, separated by spaces or
	// semicolons; empty means gdpr. GDPR applies to every personal-data
	// breach, so nis2 alone means gdpr and nis2.
	ColRegimes = "regimes"
)

// Columns lists every column a registry file may have, in the canonical
// order.
var Columns = []string{ColID, ColName, ColDPOEmail, ColSecurityEmail, ColPhone, ColWebhookURL, ColLocale, ColChannels,
	ColEscalationEmail, ColEscalationPhone, ColRegimes}

// Locales are the accepted values of the locale column (empty is accepted
// too and means the deployment's default).
var Locales = []string{"sv", "en"}

const utf8BOM = "\ufeff"

// limits are the bounds ParseCSV enforces; tests shrink them.
type limits struct {
	bytes int64
	rows  int
}

var defaultLimits = limits{bytes: MaxBytes, rows: MaxRows}

// ParseCSV reads a registry file: a header row naming the columns (id and
// name required; dpo_email, security_email, phone, webhook_url, locale,
// channels, escalation_email and escalation_phone optional; any order), then one organisation per row. Surrounding
// whitespace of every header name and value is ignored, as are a leading
// UTF-8 byte-order mark and blank lines.
//
// Every row is checked: id matches breach.OrgIDPattern and is unique in the
// file; name is present; every value is valid UTF-8 without control
// characters or bidirectional overrides (breach.UnsafeRune) and at most MaxField characters long (webhook_url: MaxURL);
// e-mail columns (dpo_email, security_email, escalation_email) hold a bare
// address; webhook_url is an absolute https URL
// (http only for a loopback host, which cascaded posts to only with
// --webhook-allow-private, for development) whose host is not an
// unspecified, multicast or broadcast address (cascaded checks every other
// address when it connects: webhook.AllowedIP); locale is
// empty, "sv" or "en"; channels is empty (the default: nats, plus webhook
// with a webhook_url, plus email with an e-mail address) or names some of
// nats, webhook and email, separated by spaces or semicolons, and names
// webhook only with a webhook_url and email only with an e-mail address;
// regimes is empty (gdpr) or names some of gdpr and nis2, separated by
// spaces or semicolons (nis2 alone means gdpr and nis2: GDPR applies to
// every personal-data breach). If any row fails, ParseCSV
// returns no organisations and a *ParseError listing every problem with its
// line number. A bad header is reported alone: the rows cannot be read
// without it.
//
// Input beyond MaxBytes or MaxRows fails with an error wrapping ErrTooLarge.
// Organisations are returned in file order.
func ParseCSV(r io.Reader) ([]breach.Org, error) {
	return parse(r, defaultLimits)
}

// LoadFile reads the registry file at path with ParseCSV.
func LoadFile(path string) ([]breach.Org, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load registry: %w", err)
	}
	defer f.Close()
	orgs, err := ParseCSV(f)
	if err != nil {
		return nil, fmt.Errorf("load registry %s: %w", path, err)
	}
	return orgs, nil
}

func parse(r io.Reader, lim limits) ([]breach.Org, error) {
	lr := &limitedReader{r: r, remaining: lim.bytes, limit: lim.bytes}
	br := bufio.NewReader(lr)
	if b, err := br.Peek(len(utf8BOM)); err == nil && string(b) == utf8BOM {
		_, _ = br.Discard(len(utf8BOM))
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // checked here, so that every bad row is reported
	cr.ReuseRecord = false

	var perr ParseError

	// The header.
	var cols []string
	for cols == nil {
		rec, err := cr.Read()
		switch {
		case lr.exceeded:
			return nil, lr.tooLarge()
		case errors.Is(err, io.EOF):
			perr.add(1, "", "", "missing header row (need at least the columns id,name)")
			return nil, &perr
		case err != nil:
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("read registry: %w", err)
			}
			perr.add(pe.StartLine, "", "", "header: "+pe.Err.Error())
			return nil, &perr
		case blank(rec):
			continue
		}
		line, _ := cr.FieldPos(0)
		cols = parseHeader(rec, line, Columns, &perr)
		if perr.err() != nil {
			return nil, &perr
		}
	}

	var (
		orgs  []breach.Org
		seen  = make(map[breach.OrgID]int) // id -> line of first use
		nrows int
	)
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
				return nil, fmt.Errorf("read registry: %w", err)
			}
			// encoding/csv resumes after the bad record, so the rows
			// after it are still checked.
			nrows++
			perr.add(pe.StartLine, "", "", "CSV syntax: "+pe.Err.Error())
		} else if blank(rec) {
			continue
		} else {
			nrows++
			line, _ := cr.FieldPos(0)
			if org, ok := parseRow(rec, cols, line, seen, &perr); ok && perr.err() == nil {
				orgs = append(orgs, org)
			}
		}
		if nrows > lim.rows {
			return nil, fmt.Errorf("%w: more than %d rows", ErrTooLarge, lim.rows)
		}
	}
	if err := perr.err(); err != nil {
		return nil, err
	}
	if orgs == nil {
		orgs = []breach.Org{}
	}
	return orgs, nil
}

// blank reports whether rec is an empty or whitespace-only line.
// encoding/csv skips empty lines itself; a line of spaces reaches us as one
// field.
func blank(rec []string) bool {
	return len(rec) == 1 && strings.TrimSpace(rec[0]) == ""
}

// parseHeader maps each field of the header to its column name, one of
// columns, reporting unknown, duplicate and missing columns (id and name
// are required).
func parseHeader(rec []string, line int, columns []string, perr *ParseError) []string {
	cols := make([]string, len(rec))
	at := make(map[string]int, len(rec)) // column -> 1-based position
	for i, raw := range rec {
		name := strings.TrimSpace(raw)
		switch {
		case name == "":
			perr.add(line, "", "", fmt.Sprintf("header: column %d has no name", i+1))
		case !slices.Contains(columns, name):
			perr.add(line, shorten(name), "", fmt.Sprintf("header: unknown column; expected %s", strings.Join(columns, ", ")))
		case at[name] != 0:
			perr.add(line, name, "", fmt.Sprintf("header: duplicate column (columns %d and %d)", at[name], i+1))
		default:
			at[name] = i + 1
		}
		cols[i] = name
	}
	for _, req := range []string{ColID, ColName} {
		if at[req] == 0 {
			perr.add(line, req, "", "header: required column missing")
		}
	}
	return cols
}

// parseRow checks one data row and builds its organisation. ok is false if
// the row had a problem; every problem is added to perr.
func parseRow(rec, cols []string, line int, seen map[breach.OrgID]int, perr *ParseError) (org breach.Org, ok bool) {
	if len(rec) != len(cols) {
		perr.add(line, "", "", fmt.Sprintf("has %d fields; the header has %d", len(rec), len(cols)))
		return breach.Org{}, false
	}
	before := len(perr.Rows) + perr.Omitted
	channelsSet := false
	for i, col := range cols {
		v := strings.TrimSpace(rec[i])
		if !checkText(col, v, line, perr) {
			continue
		}
		switch col {
		case ColID:
			id := breach.OrgID(v)
			switch {
			case v == "":
				perr.add(line, col, "", "is required")
			case !id.Valid():
				perr.add(line, col, v, "does not match "+breach.OrgIDPattern)
			case seen[id] != 0:
				perr.add(line, col, v, fmt.Sprintf("duplicate; first on line %d", seen[id]))
			default:
				seen[id] = line
			}
			org.ID = id
		case ColName:
			if v == "" {
				perr.add(line, col, "", "is required")
			}
			org.Name = v
		case ColDPOEmail, ColSecurityEmail, ColEscalationEmail:
			if v != "" {
				if a, err := mail.ParseAddress(v); err != nil || a.Address != v {
					perr.add(line, col, v, "is not a bare e-mail address (like dpo@example.org)")
				}
			}
			switch col {
			case ColDPOEmail:
				org.DPOEmail = v
			case ColSecurityEmail:
				org.SecurityEmail = v
			default:
				org.EscalationEmail = v
			}
		case ColPhone:
			org.Phone = v
		case ColEscalationPhone:
			org.EscalationPhone = v
		case ColWebhookURL:
			if v != "" {
				if detail := checkURL(v); detail != "" {
					perr.add(line, col, v, detail)
				}
			}
			org.WebhookURL = v
		case ColLocale:
			if v != "" && !validLocale(v) {
				perr.add(line, col, v, fmt.Sprintf("must be empty or one of %s", strings.Join(Locales, ", ")))
			}
			org.Locale = v
		case ColChannels:
			channelsSet = v != ""
			org.Channels = parseChannels(v, line, perr)
		case ColRegimes:
			org.Regimes = parseRegimes(v, line, perr)
		}
	}
	if channelsSet {
		checkChannels(org, line, perr)
	}
	if org.EscalationPhone != "" && org.EscalationEmail == "" {
		perr.add(line, ColEscalationPhone, org.EscalationPhone, "needs an escalation_email: escalation is by e-mail, the phone is shown to the vendor with it")
	}
	return org, len(perr.Rows)+perr.Omitted == before
}

// checkText applies the rules every value shares: valid UTF-8, no control
// characters, bounded length. It reports whether v passed.
func checkText(col, v string, line int, perr *ParseError) bool {
	limit := MaxField
	if col == ColWebhookURL {
		limit = MaxURL
	}
	switch {
	case !utf8.ValidString(v):
		perr.add(line, col, v, "is not valid UTF-8")
	case strings.ContainsFunc(v, func(r rune) bool { return breach.UnsafeRune(r, false) }):
		perr.add(line, col, v, "contains control characters or bidirectional overrides")
	case utf8.RuneCountInString(v) > limit:
		perr.add(line, col, v, fmt.Sprintf("has %d characters; at most %d", utf8.RuneCountInString(v), limit))
	default:
		return true
	}
	return false
}

// checkURL returns why v is not an absolute https URL (or http to a
// loopback host) to a host a webhook may ever reach, or "". Private and
// loopback addresses pass: whether they may be reached is the daemon's
// --webhook-allow-private, checked when connecting.
func checkURL(v string) string {
	u, err := url.Parse(v)
	switch {
	case err != nil:
		return "is not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an absolute https:// URL"
	case u.Host == "" || u.Hostname() == "":
		return "has no host"
	case u.User != nil:
		return "must not hold a user name or password"
	case u.Scheme == "http" && !LoopbackHost(u.Hostname()):
		return "must be https:// (http:// only to a loopback host such as 127.0.0.1, for development with cascaded --webhook-allow-private)"
	}
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
		var ae *webhook.AddressError
		if errors.As(webhook.AllowedIP(ip), &ae) && ae.Never {
			return fmt.Sprintf("has host %s, which is %s: no webhook is posted there", ae.Addr, ae.Kind)
		}
	}
	return ""
}

// LoopbackHost reports whether host (without port) is "localhost" or a
// loopback IP address.
func LoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// parseChannels reads the channels column: channel names separated by
// spaces or semicolons; empty is the default (nil).
func parseChannels(v string, line int, perr *ParseError) []breach.Channel {
	words := strings.FieldsFunc(v, func(r rune) bool { return r == ';' || unicode.IsSpace(r) })
	if v != "" && len(words) == 0 {
		perr.add(line, ColChannels, v, "names no channel; leave it empty for the default (nats, plus webhook and email where configured)")
		return nil
	}
	var out []breach.Channel
	for _, w := range words {
		c, err := breach.ParseChannel(w)
		switch {
		case err != nil:
			perr.add(line, ColChannels, w, "unknown channel; expected nats, webhook or email")
		case slices.Contains(out, c):
			perr.add(line, ColChannels, w, "named twice")
		default:
			out = append(out, c)
		}
	}
	return out
}

// parseRegimes parses the regimes column: nil for GDPR alone (empty, or
// gdpr), else the regimes in canonical order, GDPR first.
func parseRegimes(v string, line int, perr *ParseError) []breach.Regime {
	words := strings.FieldsFunc(v, func(r rune) bool { return r == ';' || unicode.IsSpace(r) })
	if v != "" && len(words) == 0 {
		perr.add(line, ColRegimes, v, "names no regime; leave it empty for gdpr alone")
		return nil
	}
	var named []breach.Regime
	for _, w := range words {
		r, err := breach.ParseRegime(w)
		switch {
		case err != nil:
			perr.add(line, ColRegimes, w, "unknown regime; expected gdpr or nis2")
		case slices.Contains(named, r):
			perr.add(line, ColRegimes, w, "named twice")
		default:
			named = append(named, r)
		}
	}
	if !slices.Contains(named, breach.RegimeNIS2) {
		return nil
	}
	return []breach.Regime{breach.RegimeGDPR, breach.RegimeNIS2}
}

// checkChannels checks that every channel a row names can deliver.
func checkChannels(org breach.Org, line int, perr *ParseError) {
	if slices.Contains(org.Channels, breach.ChannelWebhook) && org.WebhookURL == "" {
		perr.add(line, ColChannels, "", "names webhook, but the row has no webhook_url")
	}
	if slices.Contains(org.Channels, breach.ChannelEmail) && len(org.EmailAddresses()) == 0 {
		perr.add(line, ColChannels, "", "names email, but the row has no dpo_email or security_email")
	}
}

func validLocale(v string) bool {
	for _, l := range Locales {
		if v == l {
			return true
		}
	}
	return false
}

// limitedReader passes through at most remaining bytes and then fails with
// ErrTooLarge if the underlying reader has more; input of exactly the limit
// is fine.
type limitedReader struct {
	r         io.Reader
	remaining int64 // bytes still allowed
	limit     int64 // the limit, for the error message
	exceeded  bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if l.remaining <= 0 {
		var one [1]byte
		n, err := io.ReadFull(l.r, one[:])
		if n > 0 {
			l.exceeded = true
			return 0, l.tooLarge()
		}
		return 0, err
	}
	if int64(len(p)) > l.remaining {
		p = p[:l.remaining]
	}
	n, err := l.r.Read(p)
	l.remaining -= int64(n)
	return n, err
}

func (l *limitedReader) tooLarge() error {
	return fmt.Errorf("%w: more than %d bytes", ErrTooLarge, l.limit)
}
