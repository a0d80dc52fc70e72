// Package web is the small HTTP toolkit the functions share: the documented error shape, JSON
// bodies with size limits and strict decoding, and the middleware that gives every request an
// id, a structured log line and a 500 instead of a crash.
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Detail is one item of an error's details: a field and what is wrong with it.
type Detail struct {
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
	Row     int    `json:"row,omitempty"`
}

// Problem is an error the API reports to the caller as
// {"error": {"code", "message", "details"}} with Status.
type Problem struct {
	Status  int      `json:"-"`
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Details []Detail `json:"details,omitempty"`
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Code, p.Message) }

// Errorf builds a Problem.
func Errorf(status int, code, format string, args ...any) *Problem {
	return &Problem{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// WriteError writes err in the documented error shape. A *Problem anywhere in the chain is
// reported as is; anything else is logged and reported as a 500 without internals.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	var p *Problem
	if !errors.As(err, &p) {
		Logger(r.Context()).Error("internal error", "err", err)
		p = Errorf(http.StatusInternalServerError, "internal", "internal error; the request id is %s", RequestID(r.Context()))
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="credence"`)
	}
	WriteJSON(w, p.Status, map[string]any{"error": p})
}

// MaxBody is the default limit of a JSON request body.
const MaxBody = 1 << 20

// DecodeJSON reads one JSON object into v: at most limit bytes (413 beyond), unknown fields
// refused (a typo must not be silently ignored), nothing after the object.
func DecodeJSON(r *http.Request, v any, limit int64) error {
	if limit <= 0 {
		limit = MaxBody
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.Contains(strings.ToLower(ct), "json") {
		return Errorf(http.StatusUnsupportedMediaType, "unsupported_media_type", "send the body as application/json, not %s", ct)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return Errorf(http.StatusBadRequest, "unreadable_body", "cannot read the request body: %v", err)
	}
	if int64(len(body)) > limit {
		return Errorf(http.StatusRequestEntityTooLarge, "body_too_large", "the request body is larger than %d bytes", limit)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return Errorf(http.StatusBadRequest, "empty_body", "the request body is empty; send a JSON object")
	}
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syn):
			return Errorf(http.StatusBadRequest, "malformed_json", "the body is not valid JSON at byte %d: %v", syn.Offset, err)
		case errors.As(err, &typ):
			return &Problem{Status: http.StatusBadRequest, Code: "invalid_type", Message: "a field has the wrong JSON type",
				Details: []Detail{{Field: typ.Field, Message: fmt.Sprintf("must be %s, not %s", typ.Type, typ.Value)}}}
		case strings.HasPrefix(err.Error(), "json: unknown field"):
			return Errorf(http.StatusBadRequest, "unknown_field", "%s", strings.TrimPrefix(err.Error(), "json: "))
		}
		return Errorf(http.StatusBadRequest, "malformed_json", "the body is not valid JSON: %v", err)
	}
	if dec.More() {
		return Errorf(http.StatusBadRequest, "malformed_json", "the body has data after the JSON object")
	}
	return nil
}

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyLogger
)

// RequestID returns the request's id ("" outside a request).
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(keyRequestID).(string)
	return s
}

// Logger returns the request's logger (with its request id), or the default logger.
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(keyLogger).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// WithLogger returns ctx carrying l, for work outside HTTP (queue workers with job ids).
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, keyLogger, l)
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type recorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *recorder) WriteHeader(s int) { r.status = s; r.ResponseWriter.WriteHeader(s) }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

// Middleware gives each request an id (taken from X-Request-Id when the platform set one), a
// logger carrying it, one access log line, and turns a panic into a logged 500.
func Middleware(base *slog.Logger, next http.Handler) http.Handler {
	if base == nil {
		base = slog.Default()
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-Id")
		if id == "" || len(id) > 128 {
			id = newID()
		}
		log := base.With("requestId", id)
		ctx := context.WithValue(context.WithValue(r.Context(), keyRequestID, id), keyLogger, log)
		r = r.WithContext(ctx)
		w.Header().Set("X-Request-Id", id)
		rec := &recorder{ResponseWriter: w}
		start := time.Now()
		defer func() {
			if v := recover(); v != nil {
				log.Error("panic", "panic", fmt.Sprint(v), "method", r.Method, "path", r.URL.Path)
				if rec.status == 0 {
					WriteError(rec, r, fmt.Errorf("panic: %v", v))
				}
			}
			log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status, "bytes", rec.bytes, "ms", time.Since(start).Milliseconds())
		}()
		next.ServeHTTP(rec, r)
	})
}
