package api

import (
	"context"
	"fmt"

	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cascadehq/cascade/internal/signing"
	cascadev1 "github.com/cascadehq/cascade/proto/cascade/v1"
)

// Keys is the signing key ring (implemented by signing.Ring).
type Keys interface {
	// Active is the key that signs (here: evidence manifests).
	Active() *signing.Key
	Public() []signing.PublicKey
	Rotate(ctx context.Context) (*signing.Key, error)
	PublishKeys(ctx context.Context) error
}

type keyService struct {
	cascadev1.UnimplementedKeyServiceServer
	*Server
}

func keyProto(k signing.PublicKey) *cascadev1.SigningKey {
	p := &cascadev1.SigningKey{KeyId: k.ID, Algorithm: signing.Algorithm, PublicKey: k.Public, CreatedAt: timestamppb.New(k.CreatedAt), Active: k.Active}
	if !k.ExpiresAt.IsZero() {
		p.ExpiresAt = timestamppb.New(k.ExpiresAt)
	}
	return p
}

func (s keyService) ListSigningKeys(ctx context.Context, _ *cascadev1.ListSigningKeysRequest) (*cascadev1.ListSigningKeysResponse, error) {
	resp := &cascadev1.ListSigningKeysResponse{}
	for _, k := range s.keys.Public() {
		resp.Keys = append(resp.Keys, keyProto(k))
	}
	return resp, nil
}

func (s keyService) RotateSigningKey(ctx context.Context, _ *cascadev1.RotateSigningKeyRequest) (*cascadev1.RotateSigningKeyResponse, error) {
	k, err := s.keys.Rotate(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.keys.PublishKeys(ctx); err != nil {
		return nil, err
	}
	s.log.Info("signing key rotated", "key_id", k.ID, "by", fmt.Sprint(principal(ctx)))
	return &cascadev1.RotateSigningKeyResponse{Key: keyProto(k.PublicPart())}, nil
}
