package triton

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Code classifies a failed call in the terms callers act on, so that no
// code outside this package needs gRPC's status codes.
type Code string

const (
	CodeUnavailable       Code = "unavailable"        // server down, restarting, model loading
	CodeInvalidArgument   Code = "invalid_argument"   // the request is wrong; retrying won't help
	CodeNotFound          Code = "not_found"          // model has no available version
	CodeDeadlineExceeded  Code = "deadline_exceeded"  // the call's deadline passed
	CodeCanceled          Code = "canceled"           // the caller gave up
	CodeUnimplemented     Code = "unimplemented"      // e.g. ModelInfer on a decoupled model
	CodeResourceExhausted Code = "resource_exhausted" // server overloaded, or message too large
	CodeInternal          Code = "internal"
	CodeUnknown           Code = "unknown"
)

// Error is a failed call to the server.
type Error struct {
	Op      string // the RPC, e.g. "ModelInfer"
	Addr    string // the server address as configured
	Code    Code
	Message string // the server's text, passed through
	Err     error  // the original error
}

func (e *Error) Error() string {
	return fmt.Sprintf("triton %s at %s: %s: %s", e.Op, e.Addr, e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Temporary reports whether the same call may succeed later.
func (e *Error) Temporary() bool {
	switch e.Code {
	case CodeUnavailable, CodeResourceExhausted, CodeDeadlineExceeded:
		return true
	}
	return false
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
	e := &Error{Op: op, Addr: c.cfg.Addr, Code: CodeUnknown, Err: err}
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
	case context.DeadlineExceeded:
		e.Code, e.Err = CodeDeadlineExceeded, errors.Join(ctx.Err(), err)
	}
	return e
}
