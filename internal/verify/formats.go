package verify

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/nats-io/nats.go"

	"github.com/cascadehq/cascade/internal/breach"
	"github.com/cascadehq/cascade/internal/signing"
)

// Format names the form a message was saved in.
type Format string

// The forms Parse reads.
const (
	// FormatSaved: {"subject", "headers", "data"}, the e-mail's attachment
	// cascade-message.json and what cascadectl verify has always read.
	FormatSaved Format = "cascade-saved"
	// FormatStreamGet: the output of nats stream get --json (a JetStream
	// stored message: "hdrs" is the NATS header block in base64).
	FormatStreamGet Format = "nats-stream-get"
	// FormatSubDump: a file of nats sub --dump (a Go nats.Msg as JSON:
	// "Subject", "Header", "Data"), or one record of --dump - on stdout.
	FormatSubDump Format = "nats-sub-dump"
	// FormatHTTP: a webhook request as a receiver saved it, request line
	// (optional) and headers, an empty line, and the body byte for byte.
	FormatHTTP Format = "http-request"
	// FormatWebhookJSON: a JSON object with the webhook request's
	// "headers" and its "body" (text, base64 in "body_base64", or the JSON
	// value exactly as received).
	FormatWebhookJSON Format = "webhook-json"
	// FormatEmail: the whole e-mail (.eml), whose attachment
	// cascade-message.json is read.
	FormatEmail Format = "email"
	// FormatBodyOnly: a message body without its headers, so without its
	// signature: read so that the answer can say so, never verified.
	FormatBodyOnly Format = "body-only"
)

// ErrUnsupported: the input is none of the forms Parse reads.
var ErrUnsupported = errors.New("unsupported format")

// attachmentName is the signed message attached to Cascade's e-mails
// (internal/email).
const attachmentName = "cascade-message.json"

// subjectHeader is the webhook header naming the subject the signature
// covers (internal/webhook).
const subjectHeader = "Cascade-Subject"

// Parse reads a received message in any form a recipient may have saved
// it: see the Format constants. Errors wrap ErrUnsupported and say which
// forms are read; a form that is recognised but broken says what is wrong
// with it.
func Parse(data []byte) (signing.SavedMessage, Format, error) {
	text := bytes.TrimSpace(bytes.TrimPrefix(bytes.TrimSpace(data), []byte("\ufeff")))
	if len(text) == 0 {
		return signing.SavedMessage{}, "", fmt.Errorf("%w: the input is empty", ErrUnsupported)
	}
	if text[0] == '{' {
		return parseJSON(text)
	}
	if looksLikeEmail(text) {
		m, err := parseEmail(text)
		return m, FormatEmail, err
	}
	if m, err, ok := parseHTTP(data); ok {
		return m, FormatHTTP, err
	}
	return signing.SavedMessage{}, "", unsupported("it is neither JSON, an e-mail nor an HTTP request")
}

func unsupported(why string) error {
	return fmt.Errorf("%w: %s; give the cascade-message.json attached to Cascade's e-mail (or the whole e-mail), "+
		"a webhook request saved with its headers, or a message saved with nats stream get --json or nats sub --dump", ErrUnsupported, why)
}

// parseJSON tells the JSON forms apart by their exact keys.
func parseJSON(text []byte) (signing.SavedMessage, Format, error) {
	// nats sub --dump - ends each record with a NUL.
	if i := bytes.IndexByte(text, 0); i >= 0 {
		if len(bytes.Trim(text[i:], "\x00 \t\r\n")) > 0 {
			return signing.SavedMessage{}, FormatSubDump, errors.New("nats sub --dump: several messages: check one at a time")
		}
		text = bytes.TrimSpace(text[:i])
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(text, &keys); err != nil {
		return signing.SavedMessage{}, "", unsupported("not a JSON object: " + err.Error())
	}
	has := func(k string) bool { _, ok := keys[k]; return ok }
	switch {
	case has("hdrs") || (has("seq") && has("subject") && !has("headers")):
		m, err := parseStreamGet(text)
		return m, FormatStreamGet, err
	case has("Subject") || has("Header") || has("Data"):
		m, err := parseSubDump(text)
		return m, FormatSubDump, err
	case has("body") || has("body_base64"):
		m, err := parseWebhookJSON(text)
		return m, FormatWebhookJSON, err
	case has("subject") || has("headers") || has("data"):
		var m signing.SavedMessage
		err := m.Unmarshal(text)
		return m, FormatSaved, err
	case has("notice_id") && has("event"):
		// A message body saved without its headers.
		var v struct {
			OrgID string `json:"org_id"`
		}
		_ = json.Unmarshal(text, &v)
		return signing.SavedMessage{Subject: "cascade.notice." + v.OrgID, Headers: nats.Header{}, Data: text}, FormatBodyOnly, nil
	}
	return signing.SavedMessage{}, "", unsupported("a JSON object without subject, headers or data")
}

// parseStreamGet reads nats stream get --json: {"subject", "seq", "hdrs"
// (base64 of "NATS/1.0\r\n" + headers), "data" (base64; absent when
// empty), "time"}.
func parseStreamGet(text []byte) (signing.SavedMessage, error) {
	var v struct {
		Subject string `json:"subject"`
		Hdrs    []byte `json:"hdrs"`
		Data    []byte `json:"data"`
	}
	if err := json.Unmarshal(text, &v); err != nil {
		return signing.SavedMessage{}, fmt.Errorf("nats stream get --json: %w", err)
	}
	if v.Subject == "" {
		return signing.SavedMessage{}, errors.New(`nats stream get --json: no "subject"`)
	}
	h, err := natsHeaders(v.Hdrs)
	if err != nil {
		return signing.SavedMessage{}, fmt.Errorf("nats stream get --json: hdrs: %w", err)
	}
	return signing.SavedMessage{Subject: v.Subject, Headers: h, Data: nonNil(v.Data)}, nil
}

// natsHeaders decodes a NATS header block, "NATS/1.0[ status]\r\n" and
// MIME headers. Keys keep their spelling; none is an empty map.
func natsHeaders(b []byte) (nats.Header, error) {
	if len(b) == 0 {
		return nats.Header{}, nil
	}
	line, rest, _ := bytes.Cut(b, []byte("\n"))
	if !bytes.HasPrefix(line, []byte("NATS/1.0")) {
		return nil, errors.New("not a NATS header block (want NATS/1.0 first)")
	}
	h := nats.Header{}
	for _, l := range strings.Split(string(rest), "\n") {
		l = strings.TrimSuffix(l, "\r")
		if l == "" {
			continue
		}
		k, v, ok := strings.Cut(l, ":")
		if !ok || k == "" {
			return nil, fmt.Errorf("header line %q without a colon", clip(l))
		}
		h[k] = append(h[k], strings.TrimSpace(v))
	}
	return h, nil
}

// parseSubDump reads one nats sub --dump record: a nats.Msg as JSON.
func parseSubDump(text []byte) (signing.SavedMessage, error) {
	var v struct {
		Subject string
		Header  nats.Header
		Data    []byte
	}
	if err := json.Unmarshal(text, &v); err != nil {
		return signing.SavedMessage{}, fmt.Errorf("nats sub --dump: %w", err)
	}
	if v.Subject == "" {
		return signing.SavedMessage{}, errors.New(`nats sub --dump: no "Subject"`)
	}
	return signing.SavedMessage{Subject: v.Subject, Headers: v.Header, Data: nonNil(v.Data)}, nil
}

// parseWebhookJSON reads {"headers": {name: value or [values]}, "body":
// text or JSON value, or "body_base64", optional "subject"}.
func parseWebhookJSON(text []byte) (signing.SavedMessage, error) {
	var v struct {
		Subject    string                     `json:"subject"`
		Headers    map[string]json.RawMessage `json:"headers"`
		Body       json.RawMessage            `json:"body"`
		BodyBase64 []byte                     `json:"body_base64"`
	}
	if err := json.Unmarshal(text, &v); err != nil {
		return signing.SavedMessage{}, fmt.Errorf("webhook JSON: %w", err)
	}
	h := nats.Header{}
	for k, raw := range v.Headers {
		var one string
		if json.Unmarshal(raw, &one) == nil {
			h[k] = append(h[k], one)
			continue
		}
		var many []string
		if err := json.Unmarshal(raw, &many); err != nil {
			return signing.SavedMessage{}, fmt.Errorf("webhook JSON: header %q: want a string or a list of strings", clip(k))
		}
		h[k] = append(h[k], many...)
	}
	var body []byte
	switch {
	case v.BodyBase64 != nil:
		body = v.BodyBase64
	case len(v.Body) > 0 && v.Body[0] == '"':
		var s string
		if err := json.Unmarshal(v.Body, &s); err != nil {
			return signing.SavedMessage{}, fmt.Errorf("webhook JSON: body: %w", err)
		}
		body = []byte(s)
	default: // the JSON value as it stands in the file
		body = []byte(v.Body)
	}
	m := signing.SavedMessage{Subject: v.Subject, Headers: h, Data: nonNil(body)}
	return m, fillSubject(&m, "webhook JSON")
}

// fillSubject sets the subject of a webhook message from its
// Cascade-Subject header or, failing that, from the organisation of its
// Cascade-Notice-Id (the only subject Cascade signs an organisation's
// message for). A wrong guess only makes the check fail.
func fillSubject(m *signing.SavedMessage, form string) error {
	if m.Subject != "" {
		return nil
	}
	if s := headerValue(m.Headers, subjectHeader); s != "" {
		m.Subject = s
		return nil
	}
	if id, err := breach.ParseNoticeID(headerValue(m.Headers, signing.HeaderNoticeID)); err == nil {
		m.Subject = "cascade.notice." + string(id.Org)
		return nil
	}
	return fmt.Errorf("%s: no %s or %s header: keep the request's headers when saving it", form, subjectHeader, signing.HeaderNoticeID)
}

// parseHTTP reads a saved HTTP request: an optional request line, header
// lines, an empty line and the body. ok is false when data does not look
// like one. A Content-Length, when given, must match the body (trailing
// white space added by an editor is dropped).
func parseHTTP(data []byte) (_ signing.SavedMessage, _ error, ok bool) {
	data = bytes.TrimLeft(data, "\ufeff \t\r\n")
	first, _, _ := bytes.Cut(data, []byte("\n"))
	first = bytes.TrimSuffix(first, []byte("\r"))
	hasRequestLine := false
	if f := strings.Fields(string(first)); len(f) == 3 && strings.HasPrefix(f[2], "HTTP/") && f[0] == strings.ToUpper(f[0]) {
		hasRequestLine = true
	} else if k, _, found := bytes.Cut(first, []byte(":")); !found || len(k) == 0 || bytes.ContainsAny(k, " \t") {
		return signing.SavedMessage{}, nil, false
	}
	if hasRequestLine {
		_, data, _ = bytes.Cut(data, []byte("\n"))
	}
	// The header block ends at the first empty line (CRLF or LF).
	end, sep := -1, 0
	for _, s := range []string{"\r\n\r\n", "\n\n", "\n\r\n"} {
		if i := bytes.Index(data, []byte(s)); i >= 0 && (end < 0 || i < end) {
			end, sep = i, len(s)
		}
	}
	var head, body []byte
	if end < 0 {
		head = data
	} else {
		head, body = data[:end], data[end+sep:]
	}
	tp := textproto.NewReader(bufio.NewReader(io.MultiReader(bytes.NewReader(head), strings.NewReader("\r\n\r\n"))))
	mh, err := tp.ReadMIMEHeader()
	if err != nil {
		return signing.SavedMessage{}, fmt.Errorf("saved HTTP request: headers: %w", err), true
	}
	h := nats.Header(mh)
	if cl := http.Header(mh).Get("Content-Length"); cl != "" {
		n, err := strconv.Atoi(cl)
		switch {
		case err != nil || n < 0:
			return signing.SavedMessage{}, fmt.Errorf("saved HTTP request: Content-Length %q", clip(cl)), true
		case n <= len(body) && len(bytes.TrimSpace(body[n:])) == 0:
			body = body[:n]
		case n != len(body):
			return signing.SavedMessage{}, fmt.Errorf("saved HTTP request: the body has %d bytes, Content-Length says %d: save the body byte for byte", len(body), n), true
		}
	} else if utf8.Valid(body) {
		// Without a length, a final line break was most likely added when
		// saving: Cascade's bodies are JSON without one.
		body = bytes.TrimRight(body, "\r\n")
	}
	m := signing.SavedMessage{Headers: h, Data: nonNil(body)}
	return m, fillSubject(&m, "saved HTTP request"), true
}

// looksLikeEmail: MIME headers of a message (a From, a MIME-Version or a
// multipart Content-Type) before the first empty line.
func looksLikeEmail(text []byte) bool {
	head, _, _ := bytes.Cut(bytes.ReplaceAll(text, []byte("\r\n"), []byte("\n")), []byte("\n\n"))
	low := strings.ToLower(string(head))
	return strings.Contains(low, "\nmime-version:") || strings.HasPrefix(low, "mime-version:") ||
		(strings.Contains(low, "content-type: multipart/") && (strings.HasPrefix(low, "from:") || strings.Contains(low, "\nfrom:") || strings.HasPrefix(low, "received:") || strings.HasPrefix(low, "return-path:")))
}

// maxParts bounds the MIME parts read from an e-mail.
const maxParts = 50

// parseEmail finds the attachment cascade-message.json in an e-mail and
// reads it as a saved message.
func parseEmail(text []byte) (signing.SavedMessage, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(text))
	if err != nil {
		return signing.SavedMessage{}, fmt.Errorf("e-mail: %w", err)
	}
	att, err := findAttachment(textproto.MIMEHeader(msg.Header), msg.Body, 0, new(int))
	if err != nil {
		return signing.SavedMessage{}, fmt.Errorf("e-mail: %w", err)
	}
	if att == nil {
		return signing.SavedMessage{}, fmt.Errorf("e-mail: no attachment %s: Cascade attaches the signed message to every e-mail; a forwarded copy may have lost it", attachmentName)
	}
	var m signing.SavedMessage
	if err := m.Unmarshal(att); err != nil {
		return signing.SavedMessage{}, fmt.Errorf("e-mail: %s: %w", attachmentName, err)
	}
	return m, nil
}

// findAttachment walks the MIME tree for the part named attachmentName
// and returns its decoded content, or nil.
func findAttachment(h textproto.MIMEHeader, body io.Reader, depth int, parts *int) ([]byte, error) {
	if *parts++; *parts > maxParts || depth > 5 {
		return nil, errors.New("too many MIME parts")
	}
	mt, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil, nil
			}
			if err != nil {
				return nil, err
			}
			found, err := findAttachment(p.Header, p, depth+1, parts)
			if err != nil || found != nil {
				return found, err
			}
		}
	}
	name := params["name"]
	if _, dp, err := mime.ParseMediaType(h.Get("Content-Disposition")); err == nil && dp["filename"] != "" {
		name = dp["filename"]
	}
	if name != attachmentName {
		return nil, nil
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "base64":
		dec, err := base64.StdEncoding.DecodeString(string(bytes.Join(bytes.Fields(raw), nil)))
		if err != nil {
			return nil, fmt.Errorf("%s: base64: %w", attachmentName, err)
		}
		return dec, nil
	case "quoted-printable":
		return nil, fmt.Errorf("%s: quoted-printable is not read; save the attachment itself", attachmentName)
	}
	return raw, nil
}

func headerValue(h nats.Header, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// clip is s cut short for an error message.
func clip(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
