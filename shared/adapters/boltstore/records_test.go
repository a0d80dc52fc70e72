package boltstore

import (
	"bytes"
	"context"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// Signed artefacts come back byte for byte, whether stored in the binary form or in the JSON
// form of earlier versions.
func TestCredentialDocForms(t *testing.T) {
	s, _ := openTemp(t)
	defer s.Close()
	ctx := context.Background()
	ldp := []byte(`{"@context":["https://www.w3.org/ns/credentials/v2"],"proof":{"x":"\u00e9\x00"}}`)
	jwt := "eyJhbGciOiJSUzI1NiJ9.e30.c2ln"
	for i, c := range []struct {
		id  string
		ldp []byte
		jwt string
	}{{"binary", ldp, jwt}, {"empty", nil, ""}, {"json", ldp, jwt}} {
		cred := benchCredential(i)
		cred.ID, cred.LDP, cred.JWT = c.id, c.ldp, c.jwt
		if err := s.CreateCredential(ctx, cred); err != nil {
			t.Fatal(err)
		}
		if c.id == "json" {
			err := s.db.Update(func(tx *bolt.Tx) error {
				return put(tx, bCredDocs, tuple(c.id), docRec{LDP: c.ldp, JWT: c.jwt}, "old doc")
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := s.GetCredential(ctx, c.id)
		if err != nil || !bytes.Equal(got.LDP, c.ldp) || got.JWT != c.jwt {
			t.Fatalf("%s: got %q %q %v", c.id, got.LDP, got.JWT, err)
		}
	}
}
