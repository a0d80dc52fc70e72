package jsonld

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/piprate/json-gold/ld"
)

// decode parses JSON the way callers do (encoding/json into any).
func decode(t testing.TB, raw []byte) any {
	t.Helper()
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// clone deep-copies a decoded JSON value (mutations must not touch shared fixtures).
func clone(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = clone(x)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, x := range t {
			a[i] = clone(x)
		}
		return a
	}
	return v
}

func TestCanonicalizeOfficialVectors(t *testing.T) {
	ob := filepath.Join(vectors, "ob3-ldp-test-vector")
	di := filepath.Join(vectors, "w3c-vc-di-eddsa")
	withContext := func(optsPath, docPath string) func(t *testing.T) any {
		return func(t *testing.T) any {
			opts := readJSON(t, optsPath)
			opts["@context"] = readJSON(t, docPath)["@context"]
			return opts
		}
	}
	plain := func(path string) func(t *testing.T) any {
		return func(t *testing.T) any { return decode(t, readFile(t, path)) }
	}
	withoutProof := func(path string) func(t *testing.T) any {
		return func(t *testing.T) any {
			d := readJSON(t, path)
			delete(d, "proof")
			return d
		}
	}
	cases := []struct {
		name string
		doc  func(t *testing.T) any
		want string
	}{
		{"ob3 credential", plain(filepath.Join(ob, "credential-unsigned.json")), filepath.Join(ob, "document-canon.nq")},
		{"ob3 proof options", withContext(filepath.Join(ob, "proof-options.json"), filepath.Join(ob, "credential-unsigned.json")), filepath.Join(ob, "proof-canon.nq")},
		{"eddsa-rdfc-2022 document", plain(filepath.Join(di, "unsigned.json")), filepath.Join(di, "eddsa-rdfc-2022", "canonDocDataInt.txt")},
		{"eddsa-rdfc-2022 proof config", plain(filepath.Join(di, "eddsa-rdfc-2022", "proofConfigDataInt.json")), filepath.Join(di, "eddsa-rdfc-2022", "proofCanonDataInt.txt")},
		{"Ed25519Signature2020 document", withoutProof(filepath.Join(di, "Ed25519Signature2020", "signedEdSig.json")), filepath.Join(di, "Ed25519Signature2020", "canonDocEdSig.txt")},
		{"Ed25519Signature2020 proof config", plain(filepath.Join(di, "Ed25519Signature2020", "proofConfigEdSig.json")), filepath.Join(di, "Ed25519Signature2020", "proofCanonEdSig.txt")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			doc := c.doc(t)
			want := string(readFile(t, c.want))
			before := fallbacks.Load()
			got, err := Canonicalize(doc)
			if err != nil {
				t.Fatal(err)
			}
			if fallbacks.Load() != before {
				t.Fatal("the fast path fell back to json-gold")
			}
			if got != want {
				t.Fatalf("canonical N-Quads differ\n got: %q\nwant: %q", got, want)
			}
			ref, err := CanonicalizeReference(doc)
			if err != nil || ref != want {
				t.Fatalf("reference: %v\n got: %q\nwant: %q", err, ref, want)
			}
		})
	}
}

type corpusDoc struct {
	name       string
	doc        any
	credential bool // has an @context: must canonicalize on the fast path
}

// corpus is every JSON file of the official material plus this package's fixtures; signed
// documents appear with their proof and without it.
func corpus(t testing.TB) []corpusDoc {
	var files []string
	for _, root := range []string{vectors, "testdata"} {
		err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
			if err == nil && !info.IsDir() && strings.HasSuffix(p, ".json") {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(files)
	if len(files) < 20 {
		t.Fatalf("only %d JSON files found under %s and testdata", len(files), vectors)
	}
	var out []corpusDoc
	for _, f := range files {
		doc := decode(t, readFile(t, f))
		m, _ := doc.(map[string]any)
		_, hasCtx := m["@context"]
		out = append(out, corpusDoc{name: f, doc: doc, credential: hasCtx})
		if _, ok := m["proof"]; ok {
			d := clone(m).(map[string]any)
			delete(d, "proof")
			out = append(out, corpusDoc{name: f + " (proof removed)", doc: d, credential: true})
		}
	}
	return out
}

// agree checks one document on both paths: equal output when the fast path succeeds, and an
// error from json-gold or a documented safe-mode, limit or complexity refusal otherwise.
func agree(t *testing.T, name string, doc any) (ok bool) {
	t.Helper()
	fast, ferr := Canonicalize(doc)
	gold, gerr := normalizeGold(doc)
	if ferr == nil {
		if gerr != nil {
			t.Errorf("%s: json-gold fails (%v) where the fast path succeeds", name, gerr)
			return false
		}
		if fast != gold {
			t.Errorf("%s: canonical N-Quads differ from json-gold\nfast:\n%s\ngold:\n%s", name, fast, gold)
			return false
		}
		return true
	}
	if !errors.Is(ferr, ErrSafeMode) && !errors.Is(ferr, ErrLimit) && !errors.Is(ferr, ErrTooComplex) && gerr == nil {
		t.Errorf("%s: the fast path fails (%v) where json-gold succeeds", name, ferr)
	}
	return false
}

func TestFastPathMatchesJSONGoldOnCorpus(t *testing.T) {
	for _, c := range corpus(t) {
		before := fallbacks.Load()
		fast, ferr := Canonicalize(c.doc)
		ref, rerr := CanonicalizeReference(c.doc)
		if (ferr == nil) != (rerr == nil) {
			t.Errorf("%s: fast error %v, reference error %v", c.name, ferr, rerr)
			continue
		}
		if c.credential {
			if ferr != nil {
				t.Errorf("%s: %v", c.name, ferr)
				continue
			}
			if fallbacks.Load() != before {
				t.Errorf("%s: the fast path fell back to json-gold", c.name)
			}
			if fast != ref {
				t.Errorf("%s: fast and reference differ", c.name)
			}
			if strings.Count(fast, "\n") < 3 {
				t.Errorf("%s: suspiciously small output:\n%s", c.name, fast)
			}
			agree(t, c.name, c.doc)
		} else if !errors.Is(ferr, ErrSafeMode) {
			// key pairs, intermediate values: JSON without a context loses every property
			t.Errorf("%s: want a safe-mode error for a document without @context, got %v", c.name, ferr)
		}
	}
}

func TestExpandMatchesJSONGold(t *testing.T) {
	proc := ld.NewJsonLdProcessor()
	n := 0
	for _, c := range corpus(t) {
		if !c.credential {
			continue
		}
		got, err := Expand(c.doc)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		want, err := proc.Expand(clone(c.doc), goldOptions())
		if err != nil {
			t.Fatalf("%s: json-gold: %v", c.name, err)
		}
		if !ld.DeepCompare(any(got), any(want), true) {
			g, _ := json.MarshalIndent(got, "", " ")
			w, _ := json.MarshalIndent(want, "", " ")
			t.Errorf("%s: expanded forms differ\n got: %s\nwant: %s", c.name, g, w)
		}
		n++
	}
	if n < 10 {
		t.Fatalf("only %d documents compared", n)
	}
}

// mutate returns systematic variations of a credential: properties dropped, values
// duplicated, wrapped and unwrapped, strings replaced by escapes and unicode, numbers,
// booleans, language-tagged values, identifiers removed (more blank nodes) and objects
// duplicated (identical blank nodes that need Hash N-Degree Quads).
func mutate(doc map[string]any, rng *rand.Rand, limit int) []any {
	type edit struct {
		name  string
		apply func(root any)
	}
	var edits []edit
	var walk func(path []any, v any)
	at := func(root any, path []any) any {
		for _, p := range path {
			switch k := p.(type) {
			case string:
				root = root.(map[string]any)[k]
			case int:
				root = root.([]any)[k]
			}
		}
		return root
	}
	set := func(path []any) func(root any, v any) {
		return func(root any, v any) {
			parent := at(root, path[:len(path)-1])
			switch k := path[len(path)-1].(type) {
			case string:
				parent.(map[string]any)[k] = v
			case int:
				parent.([]any)[k] = v
			}
		}
	}
	strs := []any{"tab\there", `quote " and back\slash`, "line\nbreak\r\n", "ünïcödé 😀 \u2028 \u00a0 ∑", "", "bell\u0007", "del\u007f"}
	nums := []any{0.0, math.Copysign(0, -1), 1.0, 1.5, 0.1, 1e21, 1e-7, 42.0, -273.15, 9007199254740993.0, 1.2e20, json.Number("7.50"), json.Number("1e2"), true, false}
	walk = func(path []any, v any) {
		p := append([]any(nil), path...)
		name := fmt.Sprint(p...)
		switch t := v.(type) {
		case map[string]any:
			for k := range t {
				if k == "@context" {
					continue
				}
				kp := append(append([]any(nil), p...), k)
				kk := k
				edits = append(edits, edit{"drop " + name + "/" + k, func(root any) {
					delete(at(root, p).(map[string]any), kk)
				}})
				if _, isArr := t[k].([]any); !isArr {
					s := set(kp)
					edits = append(edits, edit{"wrap " + name + "/" + k, func(root any) {
						s(root, []any{at(root, kp)})
					}})
				}
				walk(kp, t[k])
			}
			if _, hasID := t["id"]; hasID && len(p) > 0 {
				edits = append(edits, edit{"blank " + name, func(root any) {
					delete(at(root, p).(map[string]any), "id")
				}})
			}
		case []any:
			if len(p) > 0 {
				s := set(p)
				if len(t) == 1 {
					edits = append(edits, edit{"unwrap " + name, func(root any) { s(root, at(root, p).([]any)[0]) }})
				}
				if len(t) > 0 {
					edits = append(edits, edit{"duplicate " + name, func(root any) {
						a := at(root, p).([]any)
						s(root, append(append([]any(nil), a...), clone(a[0])))
					}})
				}
			}
			for i, x := range t {
				walk(append(append([]any(nil), p...), i), x)
			}
		case string:
			if k, ok := p[len(p)-1].(string); ok && (k == "id" || k == "type") {
				break // other values there are only ever syntax errors
			}
			if _, ok := p[len(p)-1].(int); ok && len(p) > 1 && p[len(p)-2] == "type" {
				break
			}
			s := set(p)
			for _, r := range strs {
				r := r
				edits = append(edits, edit{fmt.Sprintf("string %s=%q", name, r), func(root any) { s(root, r) }})
			}
			for _, r := range nums {
				r := r
				edits = append(edits, edit{fmt.Sprintf("value %s=%v", name, r), func(root any) { s(root, r) }})
			}
			edits = append(edits, edit{"language " + name, func(root any) {
				s(root, map[string]any{"@value": at(root, p), "@language": "en-GB"})
			}})
			edits = append(edits, edit{"bad language " + name, func(root any) {
				s(root, map[string]any{"@value": at(root, p), "@language": "not a tag"})
			}})
		case float64, bool:
			s := set(p)
			for _, r := range nums {
				r := r
				edits = append(edits, edit{fmt.Sprintf("value %s=%v", name, r), func(root any) { s(root, r) }})
			}
		}
	}
	walk(nil, doc)
	sort.Slice(edits, func(i, j int) bool { return edits[i].name < edits[j].name })
	rng.Shuffle(len(edits), func(i, j int) { edits[i], edits[j] = edits[j], edits[i] })
	// Every duplication is kept (they make the identical blank nodes); the rest is sampled.
	var kept, rest []edit
	for _, e := range edits {
		if strings.HasPrefix(e.name, "duplicate ") {
			kept = append(kept, e)
		} else {
			rest = append(rest, e)
		}
	}
	if len(rest) > limit {
		rest = rest[:limit]
	}
	edits = append(kept, rest...)
	out := make([]any, len(edits))
	for i, e := range edits {
		d := clone(doc)
		e.apply(d)
		out[i] = d
	}
	return out
}

func TestFastPathMatchesJSONGoldOnMutations(t *testing.T) {
	limit := 120
	if os.Getenv("JSONLD_MUTANTS") == "all" {
		limit = 1 << 20
	}
	if testing.Short() {
		limit = 30
	}
	bases := []string{
		filepath.Join(vectors, "ob3-ldp-test-vector", "credential-unsigned.json"),
		filepath.Join(vectors, "ob3-spec", "achievement-alignment-case.json"),
		filepath.Join(vectors, "ob3-spec", "endorsementcredential.json"),
		filepath.Join(vectors, "w3c-vc-di-eddsa", "eddsa-rdfc-2022", "signedDataInt.json"),
		"testdata/rich-credential.json",
	}
	rng := rand.New(rand.NewSource(20250630))
	total, succeeded, safe := 0, 0, 0
	nd := nDegreeRuns.Load()
	before := fallbacks.Load()
	for _, b := range bases {
		for i, m := range mutate(readJSON(t, b), rng, limit) {
			total++
			name := fmt.Sprintf("%s mutant %d", filepath.Base(b), i)
			if agree(t, name, m) {
				succeeded++
			} else if _, err := Canonicalize(m); errors.Is(err, ErrSafeMode) {
				safe++
			}
		}
	}
	if fallbacks.Load() != before {
		t.Errorf("%d mutants fell back to json-gold", fallbacks.Load()-before)
	}
	t.Logf("%d mutants: %d canonicalized and equal to json-gold, %d refused by safe mode", total, succeeded, safe)
	if succeeded < total/3 || safe == 0 {
		t.Fatalf("the mutations exercise too little: %d of %d succeeded, %d safe-mode refusals", succeeded, total, safe)
	}
	if nDegreeRuns.Load() == nd {
		t.Fatal("no mutant needed Hash N-Degree Quads")
	}
}

// vocabDoc builds a document with an inline @vocab context (supported by the fast path,
// processed uncached) so that graphs of blank nodes can be written freely.
func vocabDoc(body string) any {
	var doc any
	if err := json.Unmarshal([]byte(`{"@context": {"@vocab": "http://example.org/"}, `+body+`}`), &doc); err != nil {
		panic(err)
	}
	return doc
}

func jsonString(s string) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestHashNDegreeQuads(t *testing.T) {
	cases := map[string]string{
		"three identical objects": `"@id": "http://example.org/s", "p": [{"q": "x"}, {"q": "x"}, {"q": "x"}]`,
		"ring of three": `"@graph": [
			{"@id": "_:a", "next": {"@id": "_:b"}},
			{"@id": "_:b", "next": {"@id": "_:c"}},
			{"@id": "_:c", "next": {"@id": "_:a"}}]`,
		"two rings of three": `"@graph": [
			{"@id": "_:a", "next": {"@id": "_:b"}}, {"@id": "_:b", "next": {"@id": "_:c"}}, {"@id": "_:c", "next": {"@id": "_:a"}},
			{"@id": "_:d", "next": {"@id": "_:e"}}, {"@id": "_:e", "next": {"@id": "_:f"}}, {"@id": "_:f", "next": {"@id": "_:d"}}]`,
		"clique of four": `"@graph": [
			{"@id": "_:a", "link": [{"@id": "_:b"}, {"@id": "_:c"}, {"@id": "_:d"}]},
			{"@id": "_:b", "link": [{"@id": "_:a"}, {"@id": "_:c"}, {"@id": "_:d"}]},
			{"@id": "_:c", "link": [{"@id": "_:a"}, {"@id": "_:b"}, {"@id": "_:d"}]},
			{"@id": "_:d", "link": [{"@id": "_:a"}, {"@id": "_:b"}, {"@id": "_:c"}]}]`,
		"identical nested trees": `"@id": "http://example.org/s", "p": [
			{"q": {"r": "x", "s": {"t": 1}}}, {"q": {"r": "x", "s": {"t": 1}}}]`,
		"identical nodes in named graphs": `"@id": "http://example.org/s", "g": {"@id": "_:g1", "@graph": [{"q": "x"}, {"q": "x"}]}`,
		"diamond": `"@graph": [
			{"@id": "_:top", "l": {"@id": "_:l"}, "r": {"@id": "_:r"}},
			{"@id": "_:l", "down": {"@id": "_:bottom"}}, {"@id": "_:r", "down": {"@id": "_:bottom"}}]`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			doc := vocabDoc(body)
			nd, fb := nDegreeRuns.Load(), fallbacks.Load()
			got, err := Canonicalize(doc)
			if err != nil {
				t.Fatal(err)
			}
			if fallbacks.Load() != fb {
				t.Fatal("fell back to json-gold")
			}
			if name != "diamond" && nDegreeRuns.Load() == nd {
				t.Fatal("Hash N-Degree Quads was not needed")
			}
			if !agree(t, name, doc) {
				return
			}
			// The canonical form must not depend on blank node labels or order.
			relabeled := strings.NewReplacer("_:a", "_:zz9", "_:b", "_:q1", "_:c", "_:m", "_:d", "_:aa").Replace(body)
			got2, err := Canonicalize(vocabDoc(relabeled))
			if err != nil || got2 != got {
				t.Fatalf("relabeling changed the canonical form (%v):\n%s\nvs\n%s", err, got2, got)
			}
		})
	}
	// Two credentials whose identifier entries are identical blank nodes.
	doc := readJSON(t, "testdata/rich-credential.json")
	cs := doc["credentialSubject"].(map[string]any)
	id := cs["identifier"].([]any)[0]
	cs["identifier"] = []any{id, clone(id), clone(id)}
	nd := nDegreeRuns.Load()
	if !agree(t, "rich credential with identical identifiers", doc) {
		return
	}
	if nDegreeRuns.Load() == nd {
		t.Fatal("identical IdentityObjects did not need Hash N-Degree Quads")
	}
}

func TestPoisonGraphIsRefusedOnBothPaths(t *testing.T) {
	// A clique of identical blank nodes makes Hash N-Degree Quads factorial.
	var nodes []string
	const n = 9
	for i := 0; i < n; i++ {
		var links []string
		for j := 0; j < n; j++ {
			if j != i {
				links = append(links, fmt.Sprintf(`{"@id": "_:n%d"}`, j))
			}
		}
		nodes = append(nodes, fmt.Sprintf(`{"@id": "_:n%d", "link": [%s]}`, i, strings.Join(links, ",")))
	}
	doc := vocabDoc(`"@graph": [` + strings.Join(nodes, ",") + `]`)
	if _, err := Canonicalize(doc); !errors.Is(err, ErrTooComplex) {
		t.Fatalf("Canonicalize: want ErrTooComplex, got %v", err)
	}
	if _, err := CanonicalizeReference(doc); !errors.Is(err, ErrTooComplex) {
		t.Fatalf("CanonicalizeReference: want ErrTooComplex, got %v", err)
	}
}

func TestStringEscapingMatchesJSONGold(t *testing.T) {
	for _, s := range []string{"tab\tin", `"quoted"`, `back\slash`, "lf\nand\rcr", "ünïcödé ∑ 😀", "\u2028\u2029", "nbsp\u00a0", "zero\u200bwidth", "é (NFD e\u0301)"} {
		doc := vocabDoc(`"@id": "http://example.org/s", "p": ` + jsonString(s))
		got, err := Canonicalize(doc)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if !agree(t, fmt.Sprintf("%q", s), doc) {
			continue
		}
		esc := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s)
		if !strings.Contains(got, `"`+esc+`"`) {
			t.Errorf("%q: literal not written as %q in\n%s", s, esc, got)
		}
	}
	// RDFC-1.0 writes these as \b, \f or \uXXXX and json-gold raw: refused on both paths.
	for _, c := range []string{"\u0000", "\u0001", "\b", "\f", "\u000b", "\u001f", "\u007f"} {
		doc := vocabDoc(`"@id": "http://example.org/s", "p": ` + jsonString("x"+c+"y"))
		for name, f := range map[string]func(any) (string, error){"fast": Canonicalize, "reference": CanonicalizeReference} {
			_, err := f(doc)
			var se *SafeModeError
			if !errors.As(err, &se) || se.Code != "unportable literal" || se.Path != "/p" {
				t.Errorf("%s %q: want an unportable literal error at /p, got %v", name, c, err)
			}
		}
	}
}

func TestCanonicalDoubleMatchesJSONGold(t *testing.T) {
	vals := []float64{0, 1, -1, 0.1, 0.5, 1.5, 1.1, 100, 1e21, 1e22, 1e-7, 1e-300, 5e-324, math.MaxFloat64,
		-math.MaxFloat64, math.SmallestNonzeroFloat64, 123456789.123456789, 1.7976931348623157e308, 9007199254740993}
	rng := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		vals = append(vals, math.Float64frombits(rng.Uint64()), rng.NormFloat64()*math.Pow(10, float64(rng.Intn(40)-20)))
	}
	for _, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		if got, want := canonicalDouble(v), ld.GetCanonicalDouble(v); got != want {
			t.Fatalf("%v: got %s, json-gold %s", v, got, want)
		}
	}
}

func TestNumbersMatchJSONGold(t *testing.T) {
	numbers := []string{"0", "-0", "1", "-1", "1.5", "0.1", "42.0", "1e21", "1e-7", "5e-324", "1.7976931348623157e308",
		"9007199254740993", "4611686018427387904", "-9223372036854775808", "1E2", "7.50", "123456.789e3"}
	for _, useNumber := range []bool{false, true} {
		for _, n := range numbers {
			for _, prop := range []string{`"p"`, `"d"`, `"i"`, `"f"`} {
				body := fmt.Sprintf(`{"@context": {"@vocab": "http://example.org/",
					"d": {"@id": "http://example.org/d", "@type": "http://www.w3.org/2001/XMLSchema#double"},
					"i": {"@id": "http://example.org/i", "@type": "http://www.w3.org/2001/XMLSchema#integer"},
					"f": {"@id": "http://example.org/f", "@type": "http://www.w3.org/2001/XMLSchema#float"}},
					"@id": "http://example.org/s", %s: %s}`, prop, n)
				dec := json.NewDecoder(strings.NewReader(body))
				if useNumber {
					dec.UseNumber()
				}
				var doc any
				if err := dec.Decode(&doc); err != nil {
					t.Fatal(err)
				}
				name := fmt.Sprintf("%s=%s (UseNumber %v)", prop, n, useNumber)
				if !agree(t, name, doc) {
					t.Errorf("%s: not canonicalized", name)
				}
			}
		}
	}
	// Integral numbers JavaScript writes as xsd:integer and json-gold as xsd:double.
	for _, n := range []string{"1e20", "9223372036854775808", "-1e19"} {
		doc := vocabDoc(`"@id": "http://example.org/s", "p": ` + n)
		var se *SafeModeError
		if _, err := Canonicalize(doc); !errors.As(err, &se) || se.Code != "unportable number" {
			t.Errorf("%s: want an unportable number error, got %v", n, err)
		}
	}
}

func TestDuplicateStatementsAreKeptLikeJSONGold(t *testing.T) {
	// 1 and "1" are different values to json-gold's de-duplication but the same literal.
	doc := decode(t, []byte(`{"@context": {"p": {"@id": "http://example.org/p", "@type": "http://www.w3.org/2001/XMLSchema#integer"}},
		"@id": "http://example.org/s", "p": [1, "1", 1.0]}`))
	got, err := Canonicalize(doc)
	if err != nil {
		t.Fatal(err)
	}
	agree(t, "duplicates", doc)
	if c := strings.Count(got, `"1"^^`); c != 2 {
		t.Fatalf("want the statement twice as json-gold writes it, got %d times:\n%s", c, got)
	}
}

func TestUnsupportedFeaturesFallBackToJSONGold(t *testing.T) {
	docs := map[string]string{
		"@reverse": `"@id": "http://example.org/s", "@reverse": {"http://example.org/knows": {"@id": "http://example.org/o"}}`,
		"@nest":    `"@id": "http://example.org/s", "@nest": {"p": "x"}`,
		"@list":    `"@id": "http://example.org/s", "p": {"@list": ["a", "b"]}`,
		"@json":    `"@id": "http://example.org/s", "p": {"@value": {"a": 1}, "@type": "@json"}`,
		"@index":   `"@id": "http://example.org/s", "p": {"@value": "x", "@index": "i"}`,
	}
	for name, body := range docs {
		doc := vocabDoc(body)
		before := fallbacks.Load()
		got, err := Canonicalize(doc)
		if fallbacks.Load() != before+1 {
			t.Errorf("%s: expected exactly one fallback", name)
		}
		ref, rerr := CanonicalizeReference(doc)
		if (err == nil) != (rerr == nil) || got != ref {
			t.Errorf("%s: fallback %q (%v) differs from reference %q (%v)", name, got, err, ref, rerr)
		}
		if err == nil && got == "" {
			t.Errorf("%s: empty output", name)
		}
	}
}

func TestLimitsOnBothPaths(t *testing.T) {
	deep := any("x")
	for i := 0; i < MaxDepth+1; i++ {
		deep = []any{deep}
	}
	wide := make([]any, MaxValues+1)
	for i := range wide {
		wide[i] = 1.0
	}
	docs := map[string]any{
		"too deep":         map[string]any{"@context": CredentialsV2, "name": deep},
		"too many values":  map[string]any{"@context": CredentialsV2, "name": wide},
		"too much text":    map[string]any{"@context": CredentialsV2, "name": strings.Repeat("x", MaxTextBytes+1)},
		"non-JSON Go type": map[string]any{"@context": CredentialsV2, "name": 42},
	}
	for name, doc := range docs {
		for path, f := range map[string]func(any) (string, error){"fast": Canonicalize, "reference": CanonicalizeReference} {
			_, err := f(doc)
			if err == nil {
				t.Errorf("%s %s: accepted", path, name)
			} else if name != "non-JSON Go type" && !errors.Is(err, ErrLimit) {
				t.Errorf("%s %s: want ErrLimit, got %v", path, name, err)
			}
		}
	}
}

func TestConcurrentCanonicalize(t *testing.T) {
	docs := corpus(t)
	want := make([]string, len(docs))
	for i, c := range docs {
		want[i], _ = Canonicalize(c.doc)
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for r := 0; r < 5; r++ {
				for i, c := range docs {
					got, _ := Canonicalize(c.doc)
					if got != want[i] {
						errs <- fmt.Sprintf("goroutine %d: %s differs", g, c.name)
						return
					}
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestInputIsNotModified(t *testing.T) {
	raw := readFile(t, "testdata/rich-credential.json")
	doc := decode(t, raw)
	if _, err := Canonicalize(doc); err != nil {
		t.Fatal(err)
	}
	after, _ := json.Marshal(doc)
	var a, b any
	_ = json.Unmarshal(after, &a)
	_ = json.Unmarshal(raw, &b)
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	if !bytes.Equal(ab, bb) {
		t.Fatal("Canonicalize modified its input")
	}
}
