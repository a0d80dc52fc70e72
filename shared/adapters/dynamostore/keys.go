package dynamostore

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credence-oss/credence/shared/domain"
)

// Attribute names of the table's keys (the CDK stack creates exactly these).
const (
	attrPK     = "pk"
	attrSK     = "sk"
	attrGSI1PK = "gsi1pk"
	attrGSI1SK = "gsi1sk"
	attrGSI2PK = "gsi2pk"
	attrGSI2SK = "gsi2sk"
	attrTTL    = "ttl"
	indexGSI1  = "gsi1"
	indexGSI2  = "gsi2"
)

const (
	skMeta  = "META"
	skDoc   = "DOC"
	skEmail = "EMAIL"
	skCount = "COUNT"

	prefixIssuer  = "ISSUER#"
	prefixCred    = "CRED#"
	prefixAch     = "ACH#"
	prefixAudit   = "AUDIT#"
	gsiAllIssuers = "ISSUERS"
)

// esc keeps '#' out of ids so that no id can forge the separator of a composite key ("a#b" +
// "c" must not meet "a" + "b#c"). '%' is escaped too, to keep the mapping reversible.
var escaper = strings.NewReplacer("%", "%25", "#", "%23")

func esc(s string) string { return escaper.Replace(s) }

func issuerPK(id string) string         { return prefixIssuer + esc(id) }
func achSK(id string) string            { return prefixAch + esc(id) }
func statusListSK(listID string) string { return "STATUSLIST#" + esc(listID) }
func credPK(id string) string           { return prefixCred + esc(id) }
func credAllGSI(issuerID string) string { return prefixIssuer + esc(issuerID) + "#CRED" }
func credAchGSI(issuerID, ach string) string {
	return prefixIssuer + esc(issuerID) + "#ACH#" + esc(ach)
}
func credEmailGSI(issuerID, ek string) string {
	return prefixIssuer + esc(issuerID) + "#EMAIL#" + esc(ek)
}
func credSortKey(issuedAt, id string) string { return issuedAt + "#" + esc(id) }
func claimPK(issuerID, listID string) string {
	return "STATUSIDX#" + esc(issuerID) + "#" + esc(listID)
}
func claimSK(index int) string        { return fmt.Sprintf("IDX#%020d", index) }
func apiKeyPK(id string) string       { return "APIKEY#" + esc(id) }
func apiKeyHashPK(hash string) string { return "APIKEYHASH#" + esc(hash) }

// apiKeysGSI partitions key listings by scope; admin-wide keys get a partition no issuer id can
// produce (issuer partitions always contain '#').
func apiKeysGSI(issuerID string) string {
	if issuerID == "" {
		return "APIKEYS"
	}
	return "APIKEYS#" + esc(issuerID)
}

func idemPK(scope, key string) string { return "IDEM#" + esc(scope) + "#" + esc(key) }

// --- cursors

// A cursor is base64url of the JSON of the last returned item's key attributes (exactly the
// LastEvaluatedKey DynamoDB wants back). Decoding checks the attribute set, that the index
// partition is the one being listed, and that the key is one this adapter writes: a cursor of
// another listing, another issuer or another filter is refused, never silently restarted.

// maxCursor bounds what is decoded at all; real cursors hold a few short keys.
const maxCursor = 4 << 10

func encodeCursor(last item, attrs []string) (string, error) {
	m := make(map[string]string, len(attrs))
	for _, a := range attrs {
		v, ok := last[a].(*types.AttributeValueMemberS)
		if !ok {
			return "", fmt.Errorf("cursor: the last item has no string attribute %s", a)
		}
		m[a] = v.Value
	}
	b, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("cursor: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// cursorShape says what a listing's cursor must look like.
type cursorShape struct {
	attrs []string                      // exactly these key attributes
	check func(map[string]string) error // listing-specific checks of their values
}

func decodeCursor(cursor string, shape cursorShape) (item, error) {
	if len(cursor) > maxCursor {
		return nil, fmt.Errorf("%w: %d characters is longer than any cursor this store makes", domain.ErrInvalidCursor, len(cursor))
	}
	raw, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, fmt.Errorf("%w: not base64url: %v", domain.ErrInvalidCursor, err)
	}
	var m map[string]string
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, fmt.Errorf("%w: not a position this store made", domain.ErrInvalidCursor)
	}
	if len(m) != len(shape.attrs) {
		return nil, fmt.Errorf("%w: it belongs to another listing", domain.ErrInvalidCursor)
	}
	for _, a := range shape.attrs {
		if m[a] == "" {
			return nil, fmt.Errorf("%w: it belongs to another listing", domain.ErrInvalidCursor)
		}
	}
	if err := shape.check(m); err != nil {
		return nil, fmt.Errorf("%w: %v", domain.ErrInvalidCursor, err)
	}
	key := make(item, len(m))
	for k, v := range m {
		key[k] = sAV(v)
	}
	return key, nil
}

var (
	errOtherPartition = fmt.Errorf("it belongs to another issuer or filter")
	errMalformedKey   = fmt.Errorf("malformed position")
)

// credCursor is the cursor shape of a credential listing on index gsi (gsi1 or gsi2) within the
// partition part, over items with sort key sk (META records, or EMAIL entries).
func credCursor(pkAttr, skAttr, part, sk string) cursorShape {
	return cursorShape{
		attrs: []string{attrPK, attrSK, pkAttr, skAttr},
		check: func(m map[string]string) error {
			if m[pkAttr] != part {
				return errOtherPartition
			}
			if m[attrSK] != sk {
				return errOtherPartition
			}
			id, ok := strings.CutPrefix(m[attrPK], prefixCred)
			if !ok || id == "" {
				return errMalformedKey
			}
			ts, ok := strings.CutSuffix(m[skAttr], "#"+id)
			if !ok || len(ts) != len("2006-01-02T15:04:05.000000000Z") {
				return errMalformedKey
			}
			if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
				return errMalformedKey
			}
			return nil
		},
	}
}

func issuersCursor() cursorShape {
	return cursorShape{
		attrs: []string{attrPK, attrSK, attrGSI1PK, attrGSI1SK},
		check: func(m map[string]string) error {
			if m[attrGSI1PK] != gsiAllIssuers || m[attrSK] != skMeta {
				return errOtherPartition
			}
			if m[attrPK] != prefixIssuer+m[attrGSI1SK] {
				return errMalformedKey
			}
			return nil
		},
	}
}

func achievementsCursor(issuerID string) cursorShape {
	return cursorShape{
		attrs: []string{attrPK, attrSK},
		check: func(m map[string]string) error {
			if m[attrPK] != issuerPK(issuerID) {
				return errOtherPartition
			}
			if id, ok := strings.CutPrefix(m[attrSK], prefixAch); !ok || id == "" {
				return errMalformedKey
			}
			return nil
		},
	}
}
