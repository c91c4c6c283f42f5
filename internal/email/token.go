package email

import (
	"encoding/json"
	"fmt"

	"github.com/cascadehq/cascade/internal/message"
)

// tokenTexts are the words of a token message's e-mail in one language.
type tokenTexts struct {
	subjIssued, subjRevoked, introIssued, introRevoked string
	lToken, lLabel, lRole, lIssued, lRevoked, lBy      string
	checkTitle, checkPara                              string
	verifyPara, footer                                 string
}

var tokenSwedish = tokenTexts{
	subjIssued:   "Ny API-nyckel för %s i Cascade [%s]",
	subjRevoked:  "API-nyckel för %s återkallad i Cascade [%s]",
	introIssued:  "En API-nyckel som kan agera för er organisation i Cascade har utfärdats. Nyckeln själv finns inte i detta meddelande.",
	introRevoked: "En API-nyckel som kunde agera för er organisation i Cascade har återkallats och fungerar inte längre.",
	lToken:       "Nyckel-id",
	lLabel:       "Beskrivning",
	lRole:        "Roll",
	lIssued:      "Utfärdad",
	lRevoked:     "Återkallad",
	lBy:          "Av",
	checkTitle:   "Känner ni inte igen detta?",
	checkPara:    "Om ni inte har bett om nyckeln: kontakta ert personuppgiftsbiträde, som driver Cascade, och be att nyckel %s återkallas.",
	footer:       "Skickat av Cascade. Meddelande-id %s.",
	verifyPara:   "Meddelandet är signerat med Cascades nyckel %s (Ed25519). Spara bilagan " + AttachmentName + " och kör:",
}

var tokenEnglish = tokenTexts{
	subjIssued:   "New API token for %s in Cascade [%s]",
	subjRevoked:  "API token for %s revoked in Cascade [%s]",
	introIssued:  "An API token that can act for your organisation in Cascade has been issued. The token itself is not in this message.",
	introRevoked: "An API token that could act for your organisation in Cascade has been revoked and no longer works.",
	lToken:       "Token id",
	lLabel:       "Label",
	lRole:        "Role",
	lIssued:      "Issued",
	lRevoked:     "Revoked",
	lBy:          "By",
	checkTitle:   "Do you not recognise this?",
	checkPara:    "If you did not ask for this token: contact your processor, who runs Cascade, and ask for token %s to be revoked.",
	footer:       "Sent by Cascade. Message id %s.",
	verifyPara:   "This message is signed with Cascade's key %s (Ed25519). Save the attachment " + AttachmentName + " and run:",
}

// tokenContent builds the e-mail of a token message (message.Token,
// decoded from the signed body).
func tokenContent(m *Message) doc {
	tx, tt := language(m.Locale), &tokenSwedish
	if tx.lang == "en" {
		tt = &tokenEnglish
	}
	var t message.Token
	_ = json.Unmarshal(m.Body, &t) // the dispatcher decoded it already; a field it lacks shows empty
	org := oneLine(t.OrgName)
	if org == "" {
		org = string(m.Msg.OrgID)
	}
	d := doc{Lang: tx.lang, Greeting: fmt.Sprintf(tx.greeting, org), Warning: tx.warning,
		Footer: fmt.Sprintf(tt.footer, m.MessageID)}
	id := oneLine(t.TokenID)
	if t.Event == message.EventTokenRevoked {
		d.Subject = fmt.Sprintf(tt.subjRevoked, org, id)
		d.Intro = []string{tt.introRevoked}
	} else {
		d.Subject = fmt.Sprintf(tt.subjIssued, org, id)
		d.Intro = []string{tt.introIssued}
	}
	d.Facts = append(d.Facts, fact{tt.lToken, id}, fact{tt.lRole, oneLine(t.Role)})
	if t.Label != "" {
		d.Facts = append(d.Facts, fact{tt.lLabel, oneLine(t.Label)})
	}
	d.Facts = append(d.Facts, fact{tt.lIssued, formatTime(t.IssuedAt)})
	if !t.RevokedAt.IsZero() {
		d.Facts = append(d.Facts, fact{tt.lRevoked, formatTime(t.RevokedAt)})
	}
	if t.By.Kind != "" {
		d.Facts = append(d.Facts, fact{tt.lBy, oneLine(t.By.String())})
	}
	if t.Event != message.EventTokenRevoked {
		d.Sections = append(d.Sections, section{Title: tt.checkTitle, Paras: []string{fmt.Sprintf(tt.checkPara, id)}})
	}
	if m.KeyID != "" {
		d.Sections = append(d.Sections, section{Title: tx.verifyTitle, Paras: []string{fmt.Sprintf(tt.verifyPara, m.KeyID)},
			Commands: []string{"cascadectl keys list --save keys.json", "cascadectl verify " + AttachmentName + " --keys keys.json"}})
	}
	return d
}
