package api

import (
	"encoding/base64"
	"encoding/json"

	"github.com/cascadehq/cascade/internal/breach"
)

// Page sizes.
const (
	defaultPageSize = 100
	maxPageSize     = 1000
)

func pageSize(n int32) (int, error) {
	switch {
	case n < 0:
		return 0, invalid("page_size", "page_size must not be negative")
	case n == 0:
		return defaultPageSize, nil
	case n > maxPageSize:
		return maxPageSize, nil
	}
	return int(n), nil
}

// cursor is the position a page token encodes: a breach, a membership
// chunk and an index into it (for a breach listing, only Breach).
type cursor struct {
	Breach breach.BreachID `json:"b,omitempty"`
	Org    breach.OrgID    `json:"o,omitempty"`
	Chunk  int             `json:"c,omitempty"`
	Index  int             `json:"i,omitempty"`
}

func (c cursor) token() string {
	data, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(data)
}

func parseToken(tok string) (cursor, error) {
	var c cursor
	if tok == "" {
		return c, nil
	}
	data, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || json.Unmarshal(data, &c) != nil || c.Chunk < 0 || c.Index < 0 ||
		(c.Breach != "" && !c.Breach.Valid()) || (c.Org != "" && !c.Org.Valid()) {
		return c, invalid("page_token", "page_token is not a token returned by this service")
	}
	return c, nil
}
