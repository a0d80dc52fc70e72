package statuslist

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strconv"
	"time"
)

// Names from the Bitstring Status List and VC 2.0 vocabularies, and the legacy ones Check reads.
const (
	PurposeRevocation = "revocation"
	PurposeSuspension = "suspension"

	EntryType      = "BitstringStatusListEntry"
	CredentialType = "BitstringStatusListCredential"
	SubjectType    = "BitstringStatusList"

	// StatusList2021 is the W3C CCG predecessor; same bitstring, different names, and an
	// encodedList without the multibase prefix.
	LegacyEntryType      = "StatusList2021Entry"
	LegacyCredentialType = "StatusList2021Credential"
	LegacySubjectType    = "StatusList2021"

	// RevocationListType is the 1EdTech Revocation List Status Method (deprecated in OB 3.0):
	// credentialStatus.id is the URL of a plain JSON document listing revoked credential ids.
	RevocationListType = "1EdTechRevocationList"

	vcV2Context = "https://www.w3.org/ns/credentials/v2"
)

var (
	// ErrInvalid marks a status entry or list credential that breaks a MUST of the spec
	// (MALFORMED_VALUE_ERROR).
	ErrInvalid = errors.New("statuslist: invalid status data")
	// ErrPurpose means the entry's statusPurpose is not one of the list's (STATUS_VERIFICATION_ERROR).
	ErrPurpose = errors.New("statuslist: status purpose mismatch")
	// ErrUnsupported marks a status method or feature this package does not evaluate.
	ErrUnsupported = errors.New("statuslist: unsupported status method")
)

// Entry is a BitstringStatusListEntry, the credentialStatus value of an issued credential.
type Entry struct {
	ID                   string `json:"id,omitempty"`
	Type                 string `json:"type"`
	StatusPurpose        string `json:"statusPurpose"`
	StatusListIndex      string `json:"statusListIndex"`
	StatusListCredential string `json:"statusListCredential"`
}

// NewEntry returns the entry for index in the list credential at listURL; its id is
// listURL#index, the pattern of the spec's examples.
func NewEntry(listURL, purpose string, index int) Entry {
	i := strconv.Itoa(index)
	return Entry{
		ID:                   listURL + "#" + i,
		Type:                 EntryType,
		StatusPurpose:        purpose,
		StatusListIndex:      i,
		StatusListCredential: listURL,
	}
}

// Map returns the entry as a JSON object value, for credentials built as map[string]any.
func (e Entry) Map() map[string]any {
	m := map[string]any{
		"type":                 e.Type,
		"statusPurpose":        e.StatusPurpose,
		"statusListIndex":      e.StatusListIndex,
		"statusListCredential": e.StatusListCredential,
	}
	if e.ID != "" {
		m["id"] = e.ID
	}
	return m
}

// Credential returns the unsigned BitstringStatusListCredential publishing list at id, ready for
// a Data Integrity or JWT proof. Its arrays are []any so that JSON-LD processors that only know
// decoded-JSON shapes take it as is. The subject id is id#list, as in the spec's example.
func Credential(id, issuer, purpose string, list *List, validFrom time.Time) (map[string]any, error) {
	u, err := url.Parse(id)
	if err != nil || !u.IsAbs() || u.Fragment != "" || u.RawFragment != "" {
		return nil, fmt.Errorf("statuslist: credential id %q must be an absolute URL without a fragment", id)
	}
	if issuer == "" {
		return nil, errors.New("statuslist: credential needs an issuer")
	}
	if purpose != PurposeRevocation && purpose != PurposeSuspension {
		return nil, fmt.Errorf("statuslist: purpose %q: only %q and %q lists are issued", purpose, PurposeRevocation, PurposeSuspension)
	}
	if list == nil {
		return nil, errors.New("statuslist: credential needs a list")
	}
	if list.Len() < MinSize {
		return nil, fmt.Errorf("%w: %d entries", ErrTooSmall, list.Len())
	}
	if validFrom.IsZero() {
		return nil, errors.New("statuslist: credential needs validFrom")
	}
	enc, err := list.Encode()
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"@context":  []any{vcV2Context},
		"id":        id,
		"type":      []any{"VerifiableCredential", CredentialType},
		"issuer":    issuer,
		"validFrom": validFrom.UTC().Format(time.RFC3339),
		"credentialSubject": map[string]any{
			"id":            id + "#list",
			"type":          SubjectType,
			"statusPurpose": purpose,
			"encodedList":   enc,
		},
	}, nil
}

// Entries returns the credentialStatus entries of a credential (an object or an array of them),
// or nil when it has none.
func Entries(credential map[string]any) ([]map[string]any, error) {
	switch v := credential["credentialStatus"].(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return []map[string]any{v}, nil
	case []any:
		out := make([]map[string]any, 0, len(v))
		for i, e := range v {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%w: credentialStatus[%d] is not an object", ErrInvalid, i)
			}
			out = append(out, m)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("%w: credentialStatus is %T, not an object or array", ErrInvalid, v)
	}
}

// Check evaluates one credentialStatus entry against the status list credential it points to
// (fetched, and its proof verified, by the caller; the caller also judges the list credential's
// validity period and issuer). It follows the spec's validate algorithm for statusSize 1: the
// entry type is BitstringStatusListEntry (or legacy StatusList2021Entry) and the list credential
// of the matching type; if the list credential names an id, it is the entry's
// statusListCredential (so a different list of the same issuer cannot be passed off); the entry's
// statusPurpose is one of the list's; the list has at least MinSize entries; the index is in
// range. It returns the status bit (true = revoked / suspended) and the entry's purpose.
//
// A 1EdTechRevocationList entry is refused with ErrUnsupported: that method lists revoked
// credential ids rather than bits, and is checked with CheckRevocationList.
func Check(statusCredential, entry map[string]any) (set bool, purpose string, err error) {
	if entry == nil {
		return false, "", fmt.Errorf("%w: no status entry", ErrInvalid)
	}
	entryTypes := types(entry["type"])
	var credType, subjType string
	switch {
	case slices.Contains(entryTypes, EntryType):
		credType, subjType = CredentialType, SubjectType
	case slices.Contains(entryTypes, LegacyEntryType):
		credType, subjType = LegacyCredentialType, LegacySubjectType
	case slices.Contains(entryTypes, RevocationListType):
		return false, "", fmt.Errorf("%w: %s lists revoked credential ids, not bits; use CheckRevocationList with the credential's id", ErrUnsupported, RevocationListType)
	case len(entryTypes) == 0:
		return false, "", fmt.Errorf("%w: status entry has no type", ErrInvalid)
	default:
		return false, "", fmt.Errorf("%w: status entry type %v", ErrUnsupported, entryTypes)
	}

	purpose, _ = entry["statusPurpose"].(string)
	if purpose == "" {
		return false, "", fmt.Errorf("%w: status entry has no statusPurpose string", ErrInvalid)
	}
	if size, ok := entry["statusSize"]; ok {
		n, err := parseIndex(size)
		if err != nil || n < 1 {
			return false, "", fmt.Errorf("%w: statusSize %v is not a positive integer", ErrInvalid, size)
		}
		if n != 1 {
			return false, "", fmt.Errorf("%w: statusSize %d (only 1-bit entries are evaluated)", ErrUnsupported, n)
		}
	}
	index, err := parseIndex(entry["statusListIndex"])
	if err != nil {
		return false, "", err
	}
	listURL, _ := entry["statusListCredential"].(string)
	if listURL == "" {
		return false, "", fmt.Errorf("%w: status entry has no statusListCredential", ErrInvalid)
	}

	if statusCredential == nil {
		return false, "", fmt.Errorf("%w: no status list credential", ErrInvalid)
	}
	if !slices.Contains(types(statusCredential["type"]), credType) {
		return false, "", fmt.Errorf("%w: status list credential type %v does not include %s", ErrInvalid, types(statusCredential["type"]), credType)
	}
	if id, ok := statusCredential["id"].(string); ok && id != listURL {
		return false, "", fmt.Errorf("%w: status list credential id %q is not the entry's statusListCredential %q", ErrInvalid, id, listURL)
	}
	subject, err := singleSubject(statusCredential["credentialSubject"])
	if err != nil {
		return false, "", err
	}
	if !slices.Contains(types(subject["type"]), subjType) {
		return false, "", fmt.Errorf("%w: status list subject type %v is not %s", ErrInvalid, types(subject["type"]), subjType)
	}
	listPurposes := types(subject["statusPurpose"])
	if len(listPurposes) == 0 {
		return false, "", fmt.Errorf("%w: status list has no statusPurpose", ErrInvalid)
	}
	if !slices.Contains(listPurposes, purpose) {
		return false, "", fmt.Errorf("%w: entry is for %q, list is for %v", ErrPurpose, purpose, listPurposes)
	}
	encoded, _ := subject["encodedList"].(string)
	if encoded == "" {
		return false, "", fmt.Errorf("%w: status list has no encodedList", ErrInvalid)
	}
	list, err := Decode(encoded)
	if err != nil {
		return false, "", err
	}
	set, err = list.Get(index)
	if err != nil {
		return false, "", err
	}
	return set, purpose, nil
}

// CheckRevocationList reports whether credentialID is revoked by a 1EdTech Revocation List
// document (fetched by the caller from the entry's id). Per that method, the credential is revoked
// when an item of revokedCredentials has its id and "revoked" is true or absent; bare id strings
// (OB 2.0 style) are read as revoked too.
func CheckRevocationList(list map[string]any, credentialID string) (bool, error) {
	if credentialID == "" {
		return false, fmt.Errorf("%w: no credential id to look up", ErrInvalid)
	}
	var items []any
	switch v := list["revokedCredentials"].(type) {
	case []any:
		items = v
	case []map[string]any:
		for _, m := range v {
			items = append(items, m)
		}
	default:
		return false, fmt.Errorf("%w: revocation list has no revokedCredentials array", ErrInvalid)
	}
	for _, it := range items {
		switch x := it.(type) {
		case string:
			if x == credentialID {
				return true, nil
			}
		case map[string]any:
			if id, _ := x["id"].(string); id != credentialID {
				continue
			}
			switch r := x["revoked"].(type) {
			case nil:
				return true, nil
			case bool:
				if r {
					return true, nil
				}
			default:
				return false, fmt.Errorf("%w: revoked is %T, not a boolean", ErrInvalid, r)
			}
		}
	}
	return false, nil
}

func singleSubject(v any) (map[string]any, error) {
	switch s := v.(type) {
	case map[string]any:
		return s, nil
	case []any:
		if len(s) == 1 {
			if m, ok := s[0].(map[string]any); ok {
				return m, nil
			}
		}
		return nil, fmt.Errorf("%w: status list credential must have exactly one credentialSubject", ErrInvalid)
	default:
		return nil, fmt.Errorf("%w: status list credential has no credentialSubject object", ErrInvalid)
	}
}

// parseIndex reads statusListIndex: a base-10 string per the spec, or (leniently) a JSON integer,
// which some implementations emit.
func parseIndex(v any) (int, error) {
	switch x := v.(type) {
	case nil:
		return 0, fmt.Errorf("%w: status entry has no statusListIndex", ErrInvalid)
	case string:
		return parseDigits(x)
	case json.Number:
		return parseDigits(string(x))
	case float64:
		if x < 0 || x != math.Trunc(x) {
			return 0, fmt.Errorf("%w: statusListIndex %v is not a non-negative integer", ErrInvalid, x)
		}
		if x >= MaxSize {
			return 0, fmt.Errorf("%w: statusListIndex %v", ErrRange, x)
		}
		return int(x), nil
	case int:
		if x < 0 {
			return 0, fmt.Errorf("%w: statusListIndex %d is negative", ErrInvalid, x)
		}
		return x, nil
	default:
		return 0, fmt.Errorf("%w: statusListIndex is %T", ErrInvalid, v)
	}
}

func parseDigits(s string) (int, error) {
	if s == "" {
		return 0, fmt.Errorf("%w: empty statusListIndex", ErrInvalid)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: statusListIndex %q is not a base-10 integer", ErrInvalid, s)
		}
	}
	// The spec allows arbitrary size; anything past MaxSize is simply out of every list's range.
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n >= MaxSize {
		return 0, fmt.Errorf("%w: statusListIndex %s", ErrRange, s)
	}
	return int(n), nil
}

// types reads a JSON-LD type-like value: a string or an array of strings.
func types(v any) []string {
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil
		}
		return []string{x}
	case []string:
		return x
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
