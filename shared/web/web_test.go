package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestDecodeJSONErrors(t *testing.T) {
	type body struct {
		Name string `json:"name"`
		N    int    `json:"n"`
	}
	cases := []struct {
		in     string
		status int
		code   string
	}{
		{`{"name":"x"`, 400, "malformed_json"},
		{`{"name":"x","extra":1}`, 400, "unknown_field"},
		{`{"n":"seven"}`, 400, "invalid_type"},
		{``, 400, "empty_body"},
		{`{"name":"x"} {}`, 400, "malformed_json"},
		{`{"name":"` + strings.Repeat("a", 2000) + `"}`, 413, "body_too_large"},
	}
	for _, c := range cases {
		r := httptest.NewRequest("POST", "/", strings.NewReader(c.in))
		var b body
		err := DecodeJSON(r, &b, 1000)
		var p *Problem
		if !errors.As(err, &p) || p.Status != c.status || p.Code != c.code {
			t.Errorf("%.30q: got %v, want %d %s", c.in, err, c.status, c.code)
		}
	}
	r := httptest.NewRequest("POST", "/", strings.NewReader(`{"name":"ok","n":2}`))
	var b body
	if err := DecodeJSON(r, &b, 0); err != nil || b.Name != "ok" || b.N != 2 {
		t.Fatalf("valid body: %v %+v", err, b)
	}
}

func TestMiddlewareTurnsPanicInto500WithShape(t *testing.T) {
	h := Middleware(nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { panic("boom") }))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 500 || rec.Header().Get("X-Request-Id") == "" {
		t.Fatalf("status %d headers %v", rec.Code, rec.Header())
	}
	var out struct {
		Error Problem `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Error.Code != "internal" || strings.Contains(rec.Body.String(), "boom") {
		t.Fatalf("body %s", rec.Body)
	}
}
