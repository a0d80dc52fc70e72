package ob3

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"unicode/utf8"
)

// ToMap returns the credential as generic JSON (map[string]any, []any, string, float64, bool,
// nil), the form the JSON-LD canonicalizer and the signers take. The result is exactly what
// decoding json.Marshal(c) would give, built without the encode/decode round trip because it is
// on the issuing hot path.
func (c *Credential) ToMap() (map[string]any, error) {
	if c == nil {
		return nil, fmt.Errorf("ob3: credential to map: nil credential")
	}
	v, err := toGeneric(reflect.ValueOf(*c))
	if err != nil {
		return nil, fmt.Errorf("ob3: credential to map: %w", err)
	}
	return v.(map[string]any), nil
}

var (
	profileType  = reflect.TypeFor[Profile]()
	imageType    = reflect.TypeFor[Image]()
	statusesType = reflect.TypeFor[StatusEntries]()
	extraType    = reflect.TypeFor[map[string]any]()
)

// toGeneric mirrors the JSON encoding of this package's types: json tag names, omitempty, Many
// as arrays, a single status entry as an object, bare references as strings, Extra merged with
// the named fields winning.
func toGeneric(v reflect.Value) (any, error) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil, nil
		}
		return toGeneric(v.Elem())
	case reflect.String:
		return validUTF8(v.String()), nil
	case reflect.Bool:
		return v.Bool(), nil
	case reflect.Float64, reflect.Float32:
		f := v.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, fmt.Errorf("unsupported number %v", f)
		}
		return f, nil
	case reflect.Slice:
		if v.IsNil() {
			return nil, nil
		}
		if v.Type() == statusesType && v.Len() == 1 {
			return toGeneric(v.Index(0))
		}
		out := make([]any, v.Len())
		for i := range out {
			e, err := toGeneric(v.Index(i))
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	case reflect.Map:
		if v.Type() != extraType {
			return viaJSON(v.Interface())
		}
		if v.IsNil() {
			return nil, nil
		}
		return genericValue(v.Interface())
	case reflect.Struct:
		return structToGeneric(v)
	}
	return viaJSON(v.Interface())
}

func structToGeneric(v reflect.Value) (any, error) {
	t := v.Type()
	switch t {
	case profileType:
		if p := v.Interface().(Profile); p.IsRef() {
			return validUTF8(p.ID), nil
		}
	case imageType:
		if i := v.Interface().(Image); i.IsRef() {
			return validUTF8(i.ID), nil
		}
	}
	out := make(map[string]any, t.NumField())
	var extra map[string]any
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			if f.Name == "Extra" && f.Type == extraType {
				extra, _ = v.Field(i).Interface().(map[string]any)
			}
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		fv := v.Field(i)
		if strings.Contains(opts, "omitempty") && isEmpty(fv) {
			continue
		}
		g, err := toGeneric(fv)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		out[name] = g
	}
	for k, val := range extra {
		k = validUTF8(k)
		if _, named := out[k]; named || jsonNames(t).exact[k] {
			continue
		}
		g, err := genericValue(val)
		if err != nil {
			return nil, fmt.Errorf("extension property %q: %w", k, err)
		}
		out[k] = g
	}
	return out, nil
}

// isEmpty is encoding/json's omitempty test for the kinds these types use.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String, reflect.Slice, reflect.Map:
		return v.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return v.IsNil()
	case reflect.Bool:
		return !v.Bool()
	case reflect.Float64, reflect.Float32:
		return v.Float() == 0
	case reflect.Int, reflect.Int64:
		return v.Int() == 0
	}
	return false
}

// genericValue converts an extension value. Values decoded by this package are already generic
// apart from json.Number; anything else a caller put there goes through encoding/json.
func genericValue(val any) (any, error) {
	switch x := val.(type) {
	case nil, bool, float64:
		return x, nil
	case string:
		return validUTF8(x), nil
	case json.Number:
		return viaJSON(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			g, err := genericValue(e)
			if err != nil {
				return nil, err
			}
			out[validUTF8(k)] = g
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			g, err := genericValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = g
		}
		return out, nil
	}
	return viaJSON(val)
}

func viaJSON(val any) (any, error) {
	b, err := json.Marshal(val)
	if err != nil {
		return nil, err
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// validUTF8 replaces each invalid byte with U+FFFD, as encoding/json does when it writes a string.
func validUTF8(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
