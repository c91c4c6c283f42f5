package natsauth

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"

	"github.com/nats-io/nats.go"
)

// UserOption authenticates a client connection as the user whose NKey seed
// is seed (signing the server's nonce with it) and sets the connection's
// inbox prefix to the user's, InboxPrefix(public key), the only one on which
// the server lets it receive replies. An invalid seed makes nats.Connect
// fail with the reason.
func UserOption(seed []byte) nats.Option {
	kp, err := userKeyPair(seed)
	if err != nil {
		return func(*nats.Options) error { return fmt.Errorf("natsauth: %w", err) }
	}
	pub, err := kp.PublicKey()
	if err != nil {
		return func(*nats.Options) error { return fmt.Errorf("natsauth: %w", err) }
	}
	sign := func(nonce []byte) ([]byte, error) { return kp.Sign(nonce) }
	return func(o *nats.Options) error {
		if err := nats.Nkey(pub, sign)(o); err != nil {
			return err
		}
		return nats.CustomInboxPrefix(InboxPrefix(pub))(o)
	}
}

// UserOptionFromFile is UserOption with the seed read from a seed file.
func UserOptionFromFile(path string) (nats.Option, error) {
	data, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return nil, fmt.Errorf("natsauth: %w", err)
	}
	seed := bytes.TrimSpace(data)
	if _, err := userKeyPair(seed); err != nil {
		return nil, fmt.Errorf("natsauth: %s: %w", path, err)
	}
	return UserOption(seed), nil
}

// PublicKeyFromFile is the public key of the user whose seed file is path.
func PublicKeyFromFile(path string) (string, error) {
	data, err := os.ReadFile(filepath.Clean(path))
	if err != nil {
		return "", fmt.Errorf("natsauth: %w", err)
	}
	kp, err := userKeyPair(bytes.TrimSpace(data))
	if err != nil {
		return "", fmt.Errorf("natsauth: %s: %w", path, err)
	}
	defer kp.Wipe()
	pub, err := kp.PublicKey()
	if err != nil {
		return "", fmt.Errorf("natsauth: %s: %w", path, err)
	}
	return pub, nil
}
