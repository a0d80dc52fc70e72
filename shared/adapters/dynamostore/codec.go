package dynamostore

import (
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// item is one DynamoDB item. The adapter maps each entity by hand rather than through the
// SDK's reflection-based marshaller: the domain types' json tags shape the public API and hide
// fields the store must keep, and an explicit mapping keeps the stored attribute names stable.
type item = map[string]types.AttributeValue

func sAV(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func nAV(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}

// timeLayout is fixed-width UTC with nanoseconds, so that timestamps inside sort keys order as
// the instants they name, and string comparison in condition expressions works.
const timeLayout = "2006-01-02T15:04:05.000000000Z07:00"

func fmtTime(t time.Time) (string, error) {
	t = t.UTC()
	if y := t.Year(); y < 1 || y > 9999 {
		return "", fmt.Errorf("time %v is outside the years 1 to 9999 the store can hold", t)
	}
	return t.Format(timeLayout), nil
}

// enc builds an item, leaving out empty values (DynamoDB has no use for them and the decoder
// reads an absent attribute as the zero value) and remembering the first error.
type enc struct {
	m   item
	err error
}

func newItem(pairs ...string) *enc {
	e := &enc{m: item{}}
	for i := 0; i+1 < len(pairs); i += 2 {
		e.m[pairs[i]] = sAV(pairs[i+1])
	}
	return e
}

func (e *enc) s(name, v string) *enc {
	if v == "" {
		return e
	}
	if !utf8.ValidString(v) && e.err == nil {
		e.err = fmt.Errorf("attribute %s is not valid UTF-8", name)
	}
	e.m[name] = sAV(v)
	return e
}

func (e *enc) t(name string, t time.Time) *enc {
	if t.IsZero() {
		return e
	}
	v, err := fmtTime(t)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("attribute %s: %w", name, err)
	}
	e.m[name] = sAV(v)
	return e
}

func (e *enc) n(name string, v int64) *enc {
	e.m[name] = nAV(v)
	return e
}

func (e *enc) b(name string, v []byte) *enc {
	if len(v) == 0 {
		return e
	}
	e.m[name] = &types.AttributeValueMemberB{Value: v}
	return e
}

func (e *enc) list(name string, v []types.AttributeValue) *enc {
	if len(v) == 0 {
		return e
	}
	e.m[name] = &types.AttributeValueMemberL{Value: v}
	return e
}

func (e *enc) mapv(name string, sub *enc) *enc {
	if sub.err != nil && e.err == nil {
		e.err = fmt.Errorf("attribute %s: %w", name, sub.err)
	}
	if len(sub.m) == 0 {
		return e
	}
	e.m[name] = &types.AttributeValueMemberM{Value: sub.m}
	return e
}

func (e *enc) done() (item, error) { return e.m, e.err }

// dec reads an item; an absent attribute is the zero value, a wrong type an error.
type dec struct {
	m   item
	err error
}

func (d *dec) fail(name, want string, v types.AttributeValue) {
	if d.err == nil {
		d.err = fmt.Errorf("attribute %s: stored as %T, want %s", name, v, want)
	}
}

func (d *dec) s(name string) string {
	v, ok := d.m[name]
	if !ok {
		return ""
	}
	s, ok := v.(*types.AttributeValueMemberS)
	if !ok {
		d.fail(name, "S", v)
		return ""
	}
	return s.Value
}

func (d *dec) t(name string) time.Time {
	s := d.s(name)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil && d.err == nil {
		d.err = fmt.Errorf("attribute %s: %w", name, err)
	}
	return t.UTC()
}

func (d *dec) n(name string) int64 {
	v, ok := d.m[name]
	if !ok {
		return 0
	}
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		d.fail(name, "N", v)
		return 0
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil && d.err == nil {
		d.err = fmt.Errorf("attribute %s: %w", name, err)
	}
	return i
}

func (d *dec) b(name string) []byte {
	v, ok := d.m[name]
	if !ok {
		return nil
	}
	b, ok := v.(*types.AttributeValueMemberB)
	if !ok {
		d.fail(name, "B", v)
		return nil
	}
	return b.Value
}

func (d *dec) list(name string) []types.AttributeValue {
	v, ok := d.m[name]
	if !ok {
		return nil
	}
	l, ok := v.(*types.AttributeValueMemberL)
	if !ok {
		d.fail(name, "L", v)
		return nil
	}
	return l.Value
}

func (d *dec) sub(name string) *dec {
	v, ok := d.m[name]
	if !ok {
		return &dec{m: item{}}
	}
	m, ok := v.(*types.AttributeValueMemberM)
	if !ok {
		d.fail(name, "M", v)
		return &dec{m: item{}}
	}
	return &dec{m: m.Value}
}

// join passes a sub-decoder's error up.
func (d *dec) join(sub *dec) {
	if sub.err != nil && d.err == nil {
		d.err = sub.err
	}
}

// maxItemSize is DynamoDB's item size limit.
const maxItemSize = 400 * 1024

// ErrItemTooLarge is returned before a write DynamoDB would refuse for its 400 KB item limit.
var ErrItemTooLarge = errors.New("dynamostore: item larger than DynamoDB's 400 KB limit")

// itemSize estimates an item's size the way DynamoDB counts it (attribute names plus values),
// rounding up where DynamoDB's own rules are fuzzy (numbers, nested overhead), so a write that
// passes the check is never refused for size.
func itemSize(m item) int {
	n := 0
	for k, v := range m {
		n += len(k) + avSize(v)
	}
	return n
}

func avSize(v types.AttributeValue) int {
	switch v := v.(type) {
	case *types.AttributeValueMemberS:
		return len(v.Value)
	case *types.AttributeValueMemberB:
		return len(v.Value)
	case *types.AttributeValueMemberN:
		return len(v.Value) + 1
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range v.Value {
			n += 1 + avSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range v.Value {
			n += 1 + len(k) + avSize(e)
		}
		return n
	case *types.AttributeValueMemberSS:
		n := 0
		for _, e := range v.Value {
			n += len(e)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, e := range v.Value {
			n += len(e)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, e := range v.Value {
			n += len(e) + 1
		}
		return n
	default: // BOOL, NULL
		return 1
	}
}

func checkSize(what string, m item) error {
	if n := itemSize(m); n > maxItemSize {
		return fmt.Errorf("%s: %w (%d bytes of %d)", what, ErrItemTooLarge, n, maxItemSize)
	}
	return nil
}
