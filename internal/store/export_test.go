package store

import "encoding/hex"

// SignAt gives t the MAC it would get stored at revision rev.
func (t *Token) SignAt(key []byte, rev uint64) {
	t.Rev = rev
	t.MAC = hex.EncodeToString(t.mac(key))
}
