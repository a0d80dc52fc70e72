package ob3

import (
	"crypto/md5" //nolint:gosec // testing md5 identity hashes, which OB 3.0 allows
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

func TestHashEmailSpecExample(t *testing.T) {
	// From the OB 3.0 spec, IdentityHash: "'sha256$b5809d8a…' represents the result of
	// calculating a SHA-256 hash on the string 'a@example.comKosher'".
	const spec = "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399"
	if got := HashEmail("a@example.com", "Kosher"); got != spec {
		t.Fatalf("HashEmail = %s, want the spec's %s", got, spec)
	}
	// Normalisation: surrounding space and capitals do not change the hash.
	if got := HashEmail("  A@Example.COM\n", "Kosher"); got != spec {
		t.Fatalf("normalised HashEmail = %s", got)
	}
	// The salt is appended as is (never trimmed or folded).
	if HashEmail("a@example.com", "kosher") == spec || HashEmail("a@example.com", "Kosher ") == spec {
		t.Fatal("salt must be used verbatim")
	}
}

func TestHashEmailIndependent(t *testing.T) {
	// Computed here with crypto/sha256 over the UTF-8 bytes of the lower-cased address followed
	// by the salt, as the spec describes: "Identifiers and salts MUST be encoded in UTF-8 prior
	// to hashing".
	email, salt := "José.Müller@Exämple.org", "3q2+7w=="
	sum := sha256.Sum256([]byte("josé.müller@exämple.org" + salt))
	want := "sha256$" + hex.EncodeToString(sum[:])
	if got := HashEmail(email, salt); got != want {
		t.Fatalf("got %s want %s", got, want)
	}
}

func TestEmailIdentity(t *testing.T) {
	id := NewEmailIdentity("Ada@Example.com", "pepper")
	if id.Type != "IdentityObject" || id.IdentityType != "emailAddress" || id.Hashed == nil || !*id.Hashed ||
		id.Salt != "pepper" || id.IdentityHash != HashEmail("ada@example.com", "pepper") {
		t.Fatalf("unexpected identity: %+v", id)
	}
	for _, candidate := range []string{"ada@example.com", "Ada@Example.com", " ADA@EXAMPLE.COM "} {
		if !id.Matches(candidate) {
			t.Errorf("%q should match", candidate)
		}
	}
	for _, candidate := range []string{"ada@example.org", "", "ada@example.compepper"} {
		if id.Matches(candidate) {
			t.Errorf("%q must not match", candidate)
		}
	}
	// Another issuer hashed the address as typed, with an upper-case hex digest: a verifier
	// typing it the same way matches.
	sum := sha256.Sum256([]byte("Ada@Example.com" + "salt"))
	other := IdentityObject{Type: "IdentityObject", IdentityType: "emailAddress", Hashed: ptr(true), Salt: "salt",
		IdentityHash: "sha256$" + string(upper(hex.EncodeToString(sum[:])))}
	if !other.Matches("Ada@Example.com") {
		t.Error("a case-preserving hash with upper-case hex must match the same address")
	}
	// md5 is allowed by the spec.
	m := md5.Sum([]byte("ada@example.com")) //nolint:gosec
	unsalted := IdentityObject{Type: "IdentityObject", IdentityType: "emailAddress", Hashed: ptr(true), IdentityHash: "md5$" + hex.EncodeToString(m[:])}
	if !unsalted.Matches("ada@example.com") {
		t.Error("unsalted md5 identity must match")
	}
	if (IdentityObject{IdentityType: "emailAddress", Hashed: ptr(true), IdentityHash: "sha1$00"}).Matches("a") {
		t.Error("unsupported algorithms never match")
	}
	plain := IdentityObject{Type: "IdentityObject", IdentityType: "emailAddress", Hashed: ptr(false), IdentityHash: "student@1edtech.edu"}
	if !plain.Matches("Student@1EdTech.edu") || plain.Matches("student@1edtech.org") {
		t.Error("plain e-mail identities compare case-insensitively")
	}
}

func upper(s string) []byte {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'f' {
			b[i] = c - 'a' + 'A'
		}
	}
	return b
}

func TestRecipient(t *testing.T) {
	var s AchievementSubject
	s.SetRecipient(" Ada Lovelace ", "ada@example.com", "s4lt")
	if s.Name != "Ada Lovelace" || len(s.Identifier) != 2 {
		t.Fatalf("%+v", s)
	}
	name := s.Identifier[0]
	if name.IdentityType != "name" || name.Hashed == nil || *name.Hashed || name.IdentityHash != "Ada Lovelace" || name.Salt != "" {
		t.Fatalf("the name must come first, unhashed: %+v", name)
	}
	if s.Identifier[1].IdentityType != "emailAddress" || !s.Identifier[1].Matches("ada@example.com") {
		t.Fatalf("e-mail identity: %+v", s.Identifier[1])
	}
	if s.RecipientName() != "Ada Lovelace" {
		t.Fatal(s.RecipientName())
	}
	// Only credentialSubject.name (older issuers), or a hashed "name" identity (never shown).
	old := AchievementSubject{Name: "Grace", Identifier: Many[IdentityObject]{{IdentityType: "name", Hashed: ptr(true), IdentityHash: "sha256$00"}}}
	if old.RecipientName() != "Grace" {
		t.Fatal(old.RecipientName())
	}
	var anon AchievementSubject
	anon.SetRecipient("", "x@example.com", "s")
	if anon.Name != "" || len(anon.Identifier) != 1 || anon.Identifier[0].IdentityType != "emailAddress" {
		t.Fatalf("%+v", anon)
	}
}

func TestNewSalt(t *testing.T) {
	a, b := NewSalt(), NewSalt()
	if len(a) < 22 || a == b {
		t.Fatalf("salts must be long and random: %q %q", a, b)
	}
}
