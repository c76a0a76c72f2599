package triton

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Code classifies a failed call in the terms callers act on, so that no
// code outside this package needs gRPC's status codes or their texts.
type Code string

const (
	CodeUnreachable       Code = "unreachable"        // no connection: refused, unknown host, connect timeout
	CodeTLS               Code = "tls"                // the TLS handshake failed; see Error.Problem
	CodeUnavailable       Code = "unavailable"        // the server or connection said unavailable (restarting, dropped, queue full)
	CodeModelNotReady     Code = "model_not_ready"    // the model is loading or reloading
	CodeInvalidArgument   Code = "invalid_argument"   // the request is wrong; retrying won't help
	CodeNotFound          Code = "not_found"          // no such thing on the server
	CodeDeadlineExceeded  Code = "deadline_exceeded"  // the call's deadline passed
	CodeCanceled          Code = "canceled"           // the caller gave up (its own context ended)
	CodeServerCanceled    Code = "server_canceled"    // CANCELLED while the caller still wanted the answer: the server, a proxy or the connection gave up
	CodeUnimplemented     Code = "unimplemented"      // e.g. ModelInfer on a decoupled model
	CodeResourceExhausted Code = "resource_exhausted" // the server (or a gateway) is overloaded
	CodeTooLarge          Code = "too_large"          // a message exceeds a size limit
	CodeInternal          Code = "internal"
	CodeUnknown           Code = "unknown"
)

// Problem pins down why a connection could not be set up, when the
// transport's text tells.
type Problem string

const (
	ProblemServerWantsTLS     Problem = "server_wants_tls"     // plaintext client, TLS server
	ProblemServerPlaintext    Problem = "server_plaintext"     // TLS client, plaintext server
	ProblemUnknownAuthority   Problem = "unknown_authority"    // certificate not signed by a trusted CA
	ProblemNameMismatch       Problem = "name_mismatch"        // certificate is for another name
	ProblemClientCertRequired Problem = "client_cert_required" // server wants a client certificate (mTLS)
	ProblemTLSOther           Problem = "tls_other"            // any other handshake failure (expired, …)
	ProblemNotGRPC            Problem = "not_grpc"             // an HTTP/1.1 server answered, e.g. Triton's HTTP port
)

// Error is a failed call to the server.
type Error struct {
	Op      string  // the RPC, e.g. "ModelInfer"
	Addr    string  // the server address(es) as configured
	Code    Code    //
	Problem Problem // set for CodeTLS, and ProblemNotGRPC for CodeUnreachable
	Message string  // the server's or transport's text, passed through
	Err     error   // the original error
}

func (e *Error) Error() string {
	return fmt.Sprintf("triton %s at %s: %s: %s", e.Op, e.Addr, e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether the same call may succeed later: the server
// may come back, finish loading, drain its queue. A deadline counts: an
// inference is idempotent, so sending it again is safe.
func (e *Error) Temporary() bool {
	switch e.Code {
	case CodeUnreachable, CodeUnavailable, CodeModelNotReady, CodeResourceExhausted, CodeDeadlineExceeded:
		return e.Problem == ""
	case CodeServerCanceled:
		// A proxy or a server shutting down gives up on calls it carries;
		// our own closed client never comes back.
		return !strings.Contains(e.Message, "client connection is closing")
	}
	return false
}

// Overloaded reports whether the server said it has too much to do, the
// signal for a client to send less.
func (e *Error) Overloaded() bool {
	return e.Code == CodeResourceExhausted ||
		(e.Code == CodeUnavailable && strings.Contains(e.Message, "Exceeds maximum queue size"))
}

// CodeOf returns the Code of an error from this package, or CodeUnknown.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeUnknown
}

var grpcCodes = map[codes.Code]Code{
	codes.Unavailable:       CodeUnavailable,
	codes.InvalidArgument:   CodeInvalidArgument,
	codes.NotFound:          CodeNotFound,
	codes.DeadlineExceeded:  CodeDeadlineExceeded,
	codes.Canceled:          CodeCanceled,
	codes.Unimplemented:     CodeUnimplemented,
	codes.ResourceExhausted: CodeResourceExhausted,
	codes.Internal:          CodeInternal,
}

// wrap turns a gRPC error into *Error. When the caller's own context ended,
// that is the truth of what happened, whatever code the transport chose.
func (c *Client) wrap(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	e := &Error{Op: op, Addr: c.display, Code: CodeUnknown, Err: err}
	if st, ok := status.FromError(err); ok {
		e.Message = st.Message()
		if code, ok := grpcCodes[st.Code()]; ok {
			e.Code = code
		}
	} else {
		e.Message = err.Error()
	}
	switch ctx.Err() {
	case context.Canceled:
		e.Code, e.Err = CodeCanceled, errors.Join(ctx.Err(), err)
		return e
	case context.DeadlineExceeded:
		e.Code, e.Err = CodeDeadlineExceeded, errors.Join(ctx.Err(), err)
		return e
	}
	c.refine(e)
	return e
}

// refine reads the transport's and Triton's texts to tell apart failures
// that share a status code but call for different actions.
func (c *Client) refine(e *Error) {
	msg := e.Message
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(msg, s) {
				return true
			}
		}
		return false
	}
	switch e.Code {
	case CodeUnavailable:
		if p := tlsProblem(msg); p != "" {
			e.Code, e.Problem = CodeTLS, p
			return
		}
		switch {
		case has("frame header looked like an HTTP/1.1 header"):
			e.Code, e.Problem = CodeUnreachable, ProblemNotGRPC
			return
		case has("is not at ready state", "is not ready"):
			e.Code = CodeModelNotReady
			return
		}
		// The connection broke while being set up: a TLS mismatch often
		// looks just like this, so ask the server directly what it speaks.
		if has("error reading server preface", "broken pipe", "connection reset by peer") {
			if p, detail := c.diagnose(); p != "" {
				e.Code, e.Problem = CodeTLS, p
				if detail != "" {
					e.Message += "; TLS check: " + detail
				}
				return
			}
		}
		if has("connection error:", "name resolver error", "produced zero addresses", "no children to pick from",
			"Error while dialing", "connection refused", "no such host", "error reading server preface") {
			e.Code = CodeUnreachable
		}
	case CodeCanceled:
		// The caller's context is still going (wrap checked): someone else
		// cancelled, which is a failure of the call, not the caller's wish.
		e.Code = CodeServerCanceled
	case CodeNotFound:
		if has("has no available versions") {
			e.Code = CodeModelNotReady
		}
	case CodeResourceExhausted:
		if has("larger than max") {
			e.Code = CodeTooLarge
		}
	}
}

// tlsProblem recognises Go's TLS and x509 error texts.
func tlsProblem(msg string) Problem {
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(msg, s) {
				return true
			}
		}
		return false
	}
	switch {
	case has("certificate signed by unknown authority"):
		return ProblemUnknownAuthority
	case has("x509: certificate is valid for", "x509: certificate is not valid for any names"):
		return ProblemNameMismatch
	case has("first record does not look like a TLS handshake"):
		return ProblemServerPlaintext
	case has("tls: certificate required", "tls: bad certificate", "tls: unknown certificate authority", "tls: unknown certificate"):
		return ProblemClientCertRequired
	case has("authentication handshake failed", "tls: ", "x509: "):
		return ProblemTLSOther
	}
	return ""
}

// ConfigError is a setting that cannot work, found before any connection.
type ConfigError struct {
	Setting string // "address", "tls" or "header"
	Message string
	Err     error
}

func (e *ConfigError) Error() string { return "triton: " + e.Message }
func (e *ConfigError) Unwrap() error { return e.Err }

func configErr(setting string, err error, format string, args ...any) *ConfigError {
	return &ConfigError{Setting: setting, Message: fmt.Sprintf(format, args...), Err: err}
}
