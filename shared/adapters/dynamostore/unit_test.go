package dynamostore

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/credence-oss/credence/shared/domain"
)

// These tests need no emulator: they cover what DynamoDB Local does not provoke. It runs
// transactions one at a time, so it never cancels one for a concurrent transaction
// (TransactionConflict), and the retry on contention must be checked with synthetic errors.

func canceled(codes ...string) error {
	e := &types.TransactionCanceledException{Message: aws.String("Transaction cancelled")}
	for _, c := range codes {
		e.CancellationReasons = append(e.CancellationReasons, types.CancellationReason{Code: aws.String(c)})
	}
	return e
}

func TestClassify(t *testing.T) {
	cases := []struct {
		name       string
		err        error
		contention bool
		condFailed []bool
	}{
		{"plain", errors.New("boom"), false, nil},
		{"conflict exception", &types.TransactionConflictException{}, true, nil},
		{"cancelled by a concurrent transaction", canceled("None", "TransactionConflict"), true, nil},
		{"cancelled by a condition", canceled("ConditionalCheckFailed", "None"), false, []bool{true, false}},
		{"condition and conflict", canceled("TransactionConflict", "ConditionalCheckFailed"), false, []bool{false, true}},
		{"throttled", canceled("ThrottlingError", "None"), false, nil},
		{"validation", canceled("ValidationError"), false, nil},
		{"wrapped", errors.Join(errors.New("ctx"), canceled("TransactionConflict")), true, nil},
	}
	for _, c := range cases {
		if got := isContention(c.err); got != c.contention {
			t.Errorf("%s: isContention = %v, want %v", c.name, got, c.contention)
		}
		failed, ok := txConditionFailed(c.err)
		if ok != (c.condFailed != nil) {
			t.Errorf("%s: txConditionFailed ok = %v", c.name, ok)
			continue
		}
		for i := range c.condFailed {
			if failed[i] != c.condFailed[i] {
				t.Errorf("%s: failed = %v, want %v", c.name, failed, c.condFailed)
			}
		}
	}
}

func fastBackoff(t *testing.T) {
	saved := backoff
	backoff.first, backoff.max = time.Microsecond, 10*time.Microsecond
	t.Cleanup(func() { backoff = saved })
}

func TestRetry(t *testing.T) {
	fastBackoff(t)
	ctx := t.Context()
	calls := 0
	err := retry(ctx, "x", func() error {
		calls++
		if calls < 4 {
			return canceled("TransactionConflict", "None")
		}
		return nil
	})
	if err != nil || calls != 4 {
		t.Errorf("contended three times then done: err %v after %d calls", err, calls)
	}

	calls = 0
	err = retry(ctx, "x", func() error { calls++; return &types.TransactionConflictException{} })
	if !errors.Is(err, domain.ErrConflict) || calls != maxAttempts {
		t.Errorf("always contended: err %v after %d calls, want ErrConflict after %d", err, calls, maxAttempts)
	}

	calls = 0
	cond := canceled("ConditionalCheckFailed")
	err = retry(ctx, "x", func() error { calls++; return cond })
	if !errors.Is(err, cond) || calls != 1 {
		t.Errorf("a failed condition is not retried: err %v after %d calls", err, calls)
	}

	cctx, cancel := context.WithCancel(ctx)
	backoff.first, backoff.max = time.Hour, time.Hour
	calls = 0
	go func() { time.Sleep(10 * time.Millisecond); cancel() }()
	err = retry(cctx, "x", func() error { calls++; return canceled("TransactionConflict") })
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("cancelled during backoff: err %v after %d calls", err, calls)
	}
}

func TestCursorShape(t *testing.T) {
	part := credAllGSI("iss-a")
	last := item{attrPK: sAV(credPK("c#1")), attrSK: sAV(skMeta), attrGSI1PK: sAV(part),
		attrGSI1SK: sAV(credSortKey("2025-03-14T09:26:53.589793238Z", "c#1")), "name": sAV("not a key")}
	attrs := []string{attrPK, attrSK, attrGSI1PK, attrGSI1SK}
	cur, err := encodeCursor(last, attrs)
	if err != nil {
		t.Fatal(err)
	}
	key, err := decodeCursor(cur, credCursor(attrGSI1PK, attrGSI1SK, part, skMeta))
	if err != nil {
		t.Fatalf("own cursor refused: %v", err)
	}
	if len(key) != 4 || key[attrPK].(*types.AttributeValueMemberS).Value != "CRED#c%231" {
		t.Errorf("decoded key %v", key)
	}
	forge := func(m map[string]string) string {
		var b strings.Builder
		b.WriteString("{")
		first := true
		for k, v := range m {
			if !first {
				b.WriteString(",")
			}
			first = false
			b.WriteString(`"` + k + `":"` + v + `"`)
		}
		b.WriteString("}")
		return base64.RawURLEncoding.EncodeToString([]byte(b.String()))
	}
	good := map[string]string{"pk": "CRED#c1", "sk": "META", "gsi1pk": part, "gsi1sk": "2025-03-14T09:26:53.589793238Z#c1"}
	if _, err := decodeCursor(forge(good), credCursor(attrGSI1PK, attrGSI1SK, part, skMeta)); err != nil {
		t.Fatalf("well-formed cursor refused: %v", err)
	}
	bad := []map[string]string{
		{"pk": "CRED#c1", "sk": "META", "gsi1pk": part, "gsi1sk": "2025-03-14T09:26:53.589793238Z#c2"},   // sort key names another id
		{"pk": "CRED#c1", "sk": "META", "gsi1pk": part, "gsi1sk": "2025-03-14T09:26:53Z#c1"},             // not the fixed-width time
		{"pk": "CRED#c1", "sk": "META", "gsi1pk": part, "gsi1sk": "2025-13-14T09:26:53.589793238Z#c1"},   // no such month
		{"pk": "CRED#c1", "sk": "DOC", "gsi1pk": part, "gsi1sk": "2025-03-14T09:26:53.589793238Z#c1"},    // not a record
		{"pk": "ISSUER#c1", "sk": "META", "gsi1pk": part, "gsi1sk": "2025-03-14T09:26:53.589793238Z#c1"}, // not a credential
		{"pk": "CRED#c1", "sk": "META", "gsi1pk": part},                                                  // attribute missing
		{"pk": "CRED#c1", "sk": "META", "gsi1pk": part, "gsi1sk": "2025-03-14T09:26:53.589793238Z#c1", "x": "y"},
		{"pk": "CRED#c1", "sk": "META", "gsi2pk": part, "gsi2sk": "2025-03-14T09:26:53.589793238Z#c1"}, // another index
	}
	for _, m := range bad {
		if _, err := decodeCursor(forge(m), credCursor(attrGSI1PK, attrGSI1SK, part, skMeta)); !errors.Is(err, domain.ErrInvalidCursor) {
			t.Errorf("cursor %v: %v, want ErrInvalidCursor", m, err)
		}
	}
}

func TestItemSize(t *testing.T) {
	it := item{"pk": sAV("CRED#1"), "ldp": &types.AttributeValueMemberB{Value: make([]byte, 1000)}, "n": nAV(12345)}
	// 2+6 + 3+1000 + 1+(5+1)
	if got := itemSize(it); got != 1018 {
		t.Errorf("itemSize = %d, want 1018", got)
	}
	if err := checkSize("x", item{"b": &types.AttributeValueMemberB{Value: make([]byte, maxItemSize)}}); !errors.Is(err, ErrItemTooLarge) {
		t.Errorf("400 KB of value plus a name: %v, want ErrItemTooLarge", err)
	}
}

func FuzzDecodeCursor(f *testing.F) {
	part := credAchGSI("iss", "ach")
	shape := credCursor(attrGSI2PK, attrGSI2SK, part, skMeta)
	good, _ := encodeCursor(item{attrPK: sAV("CRED#c1"), attrSK: sAV(skMeta), attrGSI2PK: sAV(part),
		attrGSI2SK: sAV("2025-03-14T09:26:53.589793238Z#c1")}, []string{attrPK, attrSK, attrGSI2PK, attrGSI2SK})
	for _, s := range []string{good, "", "e30", "bnVsbA", "W10", good + "A", "%%%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cursor string) {
		key, err := decodeCursor(cursor, shape)
		if err != nil {
			if !errors.Is(err, domain.ErrInvalidCursor) {
				t.Fatalf("error %v is not ErrInvalidCursor", err)
			}
			return
		}
		if key[attrGSI2PK].(*types.AttributeValueMemberS).Value != part {
			t.Fatalf("accepted a cursor of partition %v", key[attrGSI2PK])
		}
	})
}
