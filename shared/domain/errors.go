package domain

import (
	"errors"
	"fmt"
)

// Kind classifies a domain error for whoever reports it (the API maps kinds to HTTP statuses,
// the CLI to exit codes, the roster worker to row reports).
type Kind int

// Error kinds.
const (
	KindInvalid      Kind = iota + 1 // the request breaks a rule; details say which field
	KindNotFound                     // absent, or not visible to the caller
	KindConflict                     // the current state forbids it (revoking a revoked credential)
	KindUnauthorized                 // no valid credentials
	KindForbidden                    // valid credentials, not allowed
	KindUnavailable                  // a dependency is throttling or down; retry later
)

// FieldError is one invalid field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is a domain error with a stable machine-readable code.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Fields  []FieldError
	Err     error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Invalid reports invalid input with per-field messages.
func Invalid(code, msg string, fields ...FieldError) *Error {
	return &Error{Kind: KindInvalid, Code: code, Message: msg, Fields: fields}
}

// NotFound reports an absent (or invisible) object of a kind, e.g. NotFound("issuer").
func NotFound(what string) *Error {
	return &Error{Kind: KindNotFound, Code: what + "_not_found", Message: "no such " + what}
}

// Conflict reports a state conflict.
func Conflict(code, msg string) *Error { return &Error{Kind: KindConflict, Code: code, Message: msg} }

// KindOf returns the kind of err, or 0 for an unclassified (internal) error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return 0
}
