// Package apperr is where errors become sentences a user can act on. Lower
// packages return wrapped errors with context; the CLI and the app call
// Message once, at the edge. The app also calls Localize, so the UI can
// show the sentence in its own language (see text.go).
package apperr

import (
	"context"
	"errors"

	"io/fs"
)

// Code says what kind of trouble an error is, for the UI to pick an icon or
// a next step. The message carries the details.
type Code string

const (
	CodeUnreachable   Code = "server_unreachable"
	CodeUnknownModel  Code = "unknown_model"
	CodeModelNotReady Code = "model_not_ready"
	CodeContract      Code = "model_contract"
	CodeServer        Code = "server_error"
	CodeBadInput      Code = "bad_input"
	CodeFile          Code = "file"
	CodeCanceled      Code = "canceled"
	CodeInternal      Code = "internal"
	CodeTLS           Code = "tls"               // TLS settings or handshake: mismatch, untrusted CA, client certificate
	CodeTooLarge      Code = "request_too_large" // a message exceeds the server's or a gateway's size limit
	CodeSettings      Code = "settings"          // a connection setting that cannot work (e.g. a malformed header)
)

// Error is an error with a user-facing message.
type Error struct {
	Code    Code
	Message string // a whole sentence, no trailing period needed
	Err     error  // the cause, for logs
	text    Text   // Message as a catalog key and parameters; zero for an Error built by hand
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

// New makes an *Error. The format must be a constant string: its words are
// the key of the sentence in the UI's catalog (TestCatalog lists them).
func New(code Code, err error, format string, args ...any) *Error {
	t := Textf(format, args...)
	return &Error{Code: code, Message: t.Text, Err: err, text: t}
}

// CodeOf returns the code of the first *Error in err's chain.
func CodeOf(err error) Code {
	var e *Error
	switch {
	case errors.As(err, &e):
		return e.Code
	case errors.Is(err, context.Canceled):
		return CodeCanceled
	}
	return CodeInternal
}

// Message is the text to show a user for err: the message of the first
// *Error in the chain, with the context wrapped around it kept in front
// ("sample.wav: …"), or the error's own text. A bare cancellation is
// "cancelled"; an *Error that wraps one keeps its sentence (a call given
// up on by a retired connection is a failure, not the user's cancel).
func Message(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.Is(err, context.Canceled) && !errors.As(err, &e) {
		return "cancelled"
	}
	return err.Error()
}

// PathReason is what went wrong with a file, without the operation and
// path an *fs.PathError puts in front ("permission denied" rather than
// "open /a/b.wav: permission denied"), for a message that names the file
// itself.
func PathReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
