package ob3

import (
	"crypto/md5" //nolint:gosec // OB 3.0 allows md5 identity hashes; we only ever verify them.
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
)

// Identity types Credence writes.
const (
	IdentityTypeEmail = "emailAddress"
	IdentityTypeName  = "name"
)

// NormalizeEmail is what Credence hashes: the address without surrounding white space, in lower
// case. The OB 3.0 spec prescribes no normalisation (IdentityHash: "a hash across an identifier
// and an optionally appended salt string", UTF-8, hex digits in either case); its example hashes
// 'a@example.com' + 'Kosher' as is, which this reproduces. Verifiers (1EdTech's validator among
// them) hash the address they are given exactly as given, so lower-casing at issue time makes
// the hash match what people type, whatever capitals a roster happened to use; Matches also
// tries the candidate as given, for other issuers' case-preserving hashes.
func NormalizeEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// HashEmail returns the OB 3.0 IdentityHash of an e-mail address:
// "sha256$" + hex(SHA-256(NormalizeEmail(email) + salt)).
func HashEmail(email, salt string) string {
	return hashIdentity(NormalizeEmail(email), salt)
}

func hashIdentity(value, salt string) string {
	sum := sha256.Sum256([]byte(value + salt))
	return "sha256$" + hex.EncodeToString(sum[:])
}

// NewSalt returns a random salt (26 base32 characters, 130 bits) for an identity hash. Salting
// per credential stops anyone from telling that two credentials belong to the same address.
func NewSalt() string {
	return rand.Text()
}

func ptr[T any](v T) *T { return &v }

// NewEmailIdentity returns a hashed, salted e-mail IdentityObject.
func NewEmailIdentity(email, salt string) IdentityObject {
	return IdentityObject{
		Type:         "IdentityObject",
		IdentityType: IdentityTypeEmail,
		Hashed:       ptr(true),
		IdentityHash: HashEmail(email, salt),
		Salt:         salt,
	}
}

// NewNameIdentity returns the recipient's display name as a plain (unhashed) IdentityObject of
// identityType "name". This is the form OB 3.0 defines for a recipient name ("name" is in the
// IdentifierTypeEnum; AchievementSubject has no name property) and it is safe-mode valid: every
// IdentityObject term is in the OB context. Wallets read it from the first identifier (Learner
// Credential Wallet prefers it to credentialSubject.name when it is not hashed), so SetRecipient
// puts it first.
func NewNameIdentity(name string) IdentityObject {
	return IdentityObject{
		Type:         "IdentityObject",
		IdentityType: IdentityTypeName,
		Hashed:       ptr(false),
		IdentityHash: strings.TrimSpace(name),
	}
}

// SetRecipient identifies the subject by name and e-mail, the way Credence issues: the name as
// the first identifier and as credentialSubject.name (for wallets that only read that), the
// e-mail only as a salted hash. Empty values are left out.
func (s *AchievementSubject) SetRecipient(name, email, salt string) {
	s.Identifier = nil
	s.Name = strings.TrimSpace(name)
	if s.Name != "" {
		s.Identifier = append(s.Identifier, NewNameIdentity(s.Name))
	}
	if strings.TrimSpace(email) != "" {
		s.Identifier = append(s.Identifier, NewEmailIdentity(email, salt))
	}
}

// RecipientName returns the recipient's display name: an unhashed "name" identifier first,
// then credentialSubject.name.
func (s *AchievementSubject) RecipientName() string {
	for _, id := range s.Identifier {
		if id.IdentityType == IdentityTypeName && (id.Hashed == nil || !*id.Hashed) && id.IdentityHash != "" {
			return id.IdentityHash
		}
	}
	return s.Name
}

// Matches reports whether value (an e-mail address a verifier was given, a name, an id) is the
// identity this object asserts. Hashed identities are recomputed with the object's salt, as
// "md5$" or "sha256$", comparing hex case-insensitively as the spec allows; verifiers such as
// 1EdTech's hash the candidate exactly as given, so Matches tries the value as given, trimmed,
// and (for e-mail) normalised, which also accepts hashes from issuers that do not lower-case.
// Plain identities compare exactly, or case-insensitively for e-mail.
func (o IdentityObject) Matches(value string) bool {
	candidates := []string{value, strings.TrimSpace(value)}
	if o.IdentityType == IdentityTypeEmail {
		candidates = append(candidates, NormalizeEmail(value))
	}
	if o.Hashed == nil || !*o.Hashed {
		for _, c := range candidates {
			if c == o.IdentityHash || (o.IdentityType == IdentityTypeEmail && strings.EqualFold(c, strings.TrimSpace(o.IdentityHash))) {
				return true
			}
		}
		return false
	}
	alg, digest, ok := strings.Cut(o.IdentityHash, "$")
	if !ok {
		return false
	}
	want, err := hex.DecodeString(digest)
	if err != nil {
		return false
	}
	for _, c := range candidates {
		var got []byte
		switch strings.ToLower(alg) {
		case "sha256":
			s := sha256.Sum256([]byte(c + o.Salt))
			got = s[:]
		case "md5":
			s := md5.Sum([]byte(c + o.Salt)) //nolint:gosec // verifying what the spec allows
			got = s[:]
		default:
			return false
		}
		if subtle.ConstantTimeCompare(got, want) == 1 {
			return true
		}
	}
	return false
}
