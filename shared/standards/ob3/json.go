package ob3

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// Many is a multi-valued property. The VC data model lets most of them be written as a single
// value or as an array, so Many reads both; the OB 3.0 JSON Schema wants arrays, so Many always
// writes an array.
type Many[T any] []T

// MarshalJSON writes the values as a JSON array (an empty Many is omitted by omitempty).
func (m Many[T]) MarshalJSON() ([]byte, error) {
	return json.Marshal([]T(m))
}

// UnmarshalJSON reads a JSON array or a single value.
func (m *Many[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*m = nil
		return nil
	}
	if len(b) > 0 && b[0] == '[' {
		var vs []T
		if err := json.Unmarshal(b, &vs); err != nil {
			return err
		}
		*m = vs
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*m = Many[T]{v}
	return nil
}

// Contains reports whether v is one of the values; for type lists.
func Contains[T comparable](m Many[T], v T) bool {
	return slices.Contains(m, v)
}

// StatusEntries is the credentialStatus property. Unlike the other multi-valued properties, OB
// 3.0 gives it a multiplicity of [0..1] and its JSON Schema wants a single object, while VC Data
// Model 2.0 allows one or more (OB 3.1 is expected to follow, 1EdTech/openbadges-specification
// issue #623). So one entry is written as an object, which every OB 3.0 validator accepts, and
// only several entries as an array.
type StatusEntries []CredentialStatus

// MarshalJSON writes one entry as an object and several as an array.
func (s StatusEntries) MarshalJSON() ([]byte, error) {
	if len(s) == 1 {
		return json.Marshal(s[0])
	}
	return json.Marshal([]CredentialStatus(s))
}

// UnmarshalJSON reads an object or an array of objects.
func (s *StatusEntries) UnmarshalJSON(b []byte) error {
	var m Many[CredentialStatus]
	if err := m.UnmarshalJSON(b); err != nil {
		return err
	}
	*s = StatusEntries(m)
	return nil
}

// knownKeys caches, per struct type, the JSON names its fields claim, so that everything else in
// an object can be kept as an extension property.
var knownKeys sync.Map // reflect.Type -> names

// names are the JSON property names of a struct, as a set and as a list for case folding.
type names struct {
	exact map[string]bool
	list  []string
}

// folds reports whether k is not one of the names but encoding/json would still match it to one
// (it folds case the way strings.EqualFold does, including ſ and the Kelvin sign).
func (n names) folds(k string) bool {
	if n.exact[k] {
		return false
	}
	for _, name := range n.list {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

func jsonNames(t reflect.Type) names {
	if v, ok := knownKeys.Load(t); ok {
		return v.(names)
	}
	n := names{exact: make(map[string]bool, t.NumField())}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		n.exact[name] = true
		n.list = append(n.list, name)
	}
	knownKeys.Store(t, n)
	return n
}

// unmarshalExtra decodes b into plain (a pointer to a struct without JSON methods) and collects
// the properties the struct does not name into *extra. Numbers in extensions are kept as
// json.Number so they are written back exactly as they came.
//
// encoding/json matches field names case-insensitively, JSON-LD does not: {"NAME": "x"} would
// fill Name here while a JSON-LD processor sees an unrelated (undefined) term that no signature
// covers. Such look-alike keys are refused rather than shown as if they were signed.
func unmarshalExtra(b []byte, plain any, extra *map[string]any) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	known := jsonNames(reflect.TypeOf(plain).Elem())
	for k := range raw {
		if known.folds(k) {
			return fmt.Errorf("property %q differs from a defined property only in letter case", k)
		}
	}
	if err := json.Unmarshal(b, plain); err != nil {
		return err
	}
	var out map[string]any
	for k, v := range raw {
		if known.exact[k] {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(v))
		dec.UseNumber()
		var val any
		if err := dec.Decode(&val); err != nil {
			return fmt.Errorf("property %q: %w", k, err)
		}
		if out == nil {
			out = make(map[string]any)
		}
		out[k] = val
	}
	*extra = out
	return nil
}

// marshalExtra encodes plain and appends the extension properties, in key order so the output is
// deterministic. A property the struct names always wins over an extension of the same name.
func marshalExtra(plain any, extra map[string]any) ([]byte, error) {
	b, err := json.Marshal(plain)
	if err != nil {
		return nil, err
	}
	if len(extra) == 0 {
		return b, nil
	}
	known := jsonNames(reflect.TypeOf(plain))
	keys := make([]string, 0, len(extra))
	for k := range extra {
		if !known.exact[k] {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return b, nil
	}
	slices.Sort(keys)
	var buf bytes.Buffer
	buf.Grow(len(b) + 64*len(keys))
	buf.Write(b[:len(b)-1]) // drop the closing brace
	empty := len(b) == 2
	for _, k := range keys {
		kb, err := json.Marshal(k)
		if err != nil {
			return nil, err
		}
		vb, err := json.Marshal(extra[k])
		if err != nil {
			return nil, fmt.Errorf("extension property %q: %w", k, err)
		}
		if !empty {
			buf.WriteByte(',')
		}
		empty = false
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(vb)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
