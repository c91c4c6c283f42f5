package draft

import (
	"fmt"
	"strings"
)

// SMSLimit is the most GSM-7 septets an SMS draft takes: one segment of
// a single, unsplit SMS.
const SMSLimit = 160

// gsm7Basic is the GSM 03.38 default alphabet (one septet each);
// gsm7Extension the characters of its extension table (two septets each).
const (
	gsm7Basic     = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
	gsm7Extension = "^{}\\[~]|€\f"
)

// gsm7Fold is how characters outside GSM-7 are written in an SMS.
var gsm7Fold = map[rune]string{
	'á': "a", 'â': "a", 'ã': "a", 'Á': "A", 'Â': "A", 'À': "A", 'Ã': "A",
	'ê': "e", 'ë': "e", 'Ê': "E", 'Ë': "E", 'È': "E",
	'í': "i", 'î': "i", 'ï': "i", 'Í': "I", 'Î': "I", 'Ì': "I", 'Ï': "I",
	'ó': "o", 'ô': "o", 'õ': "o", 'Ó': "O", 'Ô': "O", 'Ò': "O", 'Õ': "O",
	'ú': "u", 'û': "u", 'Ú': "U", 'Û': "U", 'Ù': "U",
	'ç': "c", 'č': "c", 'ć': "c", 'Č': "C", 'Ć': "C", 'š': "s", 'ś': "s", 'Š': "S", 'Ś': "S",
	'ž': "z", 'ź': "z", 'ż': "z", 'Ž': "Z", 'ł': "l", 'Ł': "L", 'ń': "n", 'ý': "y", 'ÿ': "y", 'Ý': "Y",
	'\u00a0': " ", '\t': " ", '–': "-", '—': "-", '‘': "'", '’': "'", '“': "\"", '”': "\"", '„': "\"", '…': "...",
}

// gsm7Len is the septets s takes in GSM-7 and whether every character is in it.
func gsm7Len(s string) (int, bool) {
	n, ok := 0, true
	for _, r := range s {
		switch {
		case strings.ContainsRune(gsm7Basic, r):
			n++
		case strings.ContainsRune(gsm7Extension, r):
			n += 2
		default:
			n++
			ok = false
		}
	}
	return n, ok
}

// toGSM7 writes s in GSM-7 on one line: characters outside it folded to a
// near equivalent, or "?".
func toGSM7(s string) string {
	var b strings.Builder
	for _, r := range strings.Join(strings.Fields(s), " ") {
		switch {
		case strings.ContainsRune(gsm7Basic, r) && r != '\n' && r != '\r':
			b.WriteRune(r)
		case strings.ContainsRune(gsm7Extension, r) && r != '\f':
			b.WriteRune(r)
		case gsm7Fold[r] != "":
			b.WriteString(gsm7Fold[r])
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// SMS is the draft's one SMS: the organisation's name, that a supplier had
// a breach that may involve the reader's data, that the organisation never
// asks for passwords or codes, and its telephone number for questions. It
// holds no link (a link in such an SMS is what phishing looks like) and no
// text of the processor's, and fits SMSLimit GSM-7 septets: the telephone
// number is left out, then the name shortened, when they would not fit.
func (d SubjectDraft) SMS() string {
	w := subjectWordsFor(d.Language)
	name, phone := toGSM7(d.Controller.Name), toGSM7(d.Phone)
	tail := w.smsNoPhone
	if phone != "" {
		tail = fmt.Sprintf(w.smsPhonef, phone)
	}
	fits := func(s string) bool { n, ok := gsm7Len(s); return ok && n <= SMSLimit }
	if s := fmt.Sprintf(w.smsf, name) + tail; fits(s) {
		return s
	}
	if phone != "" {
		tail = w.smsNoPhone
		if s := fmt.Sprintf(w.smsf, name) + tail; fits(s) {
			return s
		}
	}
	rs := []rune(name)
	for len(rs) > 0 {
		rs = rs[:len(rs)-1]
		if s := fmt.Sprintf(w.smsf, strings.TrimSpace(string(rs))+"...") + tail; fits(s) {
			return s
		}
	}
	return strings.TrimPrefix(fmt.Sprintf(w.smsf, ""), ": ") + tail
}
