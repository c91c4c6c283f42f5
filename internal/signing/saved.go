package signing

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// SavedMessage is a received message saved to a file, for verifying later
// (cascadectl verify FILE). Its JSON form is
//
//	{"subject": "cascade.notice.<org_id>",
//	 "headers": {"Cascade-Signature": ["v1;kid=…;sig=…"], "Cascade-Notice-Id": ["…"], …},
//	 "data": "<the body, standard base64>"}
//
// headers holds every header as received (at least the three signed
// ones), each with its list of values.
type SavedMessage struct {
	Subject string      `json:"subject"`
	Headers nats.Header `json:"headers"`
	Data    []byte      `json:"data"`
}

// Save is m as a SavedMessage.
func Save(m *nats.Msg) SavedMessage {
	return SavedMessage{Subject: m.Subject, Headers: m.Header, Data: m.Data}
}

// Marshal is the JSON form, indented, with a final newline.
func (m SavedMessage) Marshal() ([]byte, error) {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// Unmarshal reads the JSON form. Unknown fields are rejected, so a file
// in another format is not mistaken for an unsigned message.
func (m *SavedMessage) Unmarshal(data []byte) error {
	var v struct {
		Subject *string     `json:"subject"`
		Headers nats.Header `json:"headers"`
		Data    *[]byte     `json:"data"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		return fmt.Errorf(`saved message (want {"subject": ..., "headers": {...}, "data": "<base64>"}): %w`, err)
	}
	if dec.More() {
		return errors.New("saved message: data after the JSON object")
	}
	switch {
	case v.Subject == nil || *v.Subject == "":
		return errors.New(`saved message: no "subject"`)
	case v.Data == nil:
		return errors.New(`saved message: no "data" (the body, base64)`)
	}
	*m = SavedMessage{Subject: *v.Subject, Headers: v.Headers, Data: *v.Data}
	return nil
}

// Verify is Verify of the saved message.
func (m SavedMessage) Verify(keys KeySet, now time.Time) (keyID string, err error) {
	return Verify(keys, m.Subject, m.Headers, m.Data, now)
}
