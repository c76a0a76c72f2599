package transcribe

import (
	"context"
	"time"
)

// LiveModel is a model opened for a caller that sends its own clips (a
// live session) rather than files: Recognizer follows the engine's
// Reconnect like a job's chunks do.
type LiveModel struct {
	Recognizer
	// Name and Version are what the server calls the model.
	Name, Version string
}

// Recognizer checks that the server at addr hosts model fit for the
// contract (waiting while it loads, onWait is told) and returns it as a
// Recognizer over the engine's connection to addr: each clip leases the
// connection current then, so settings changed meanwhile take effect from
// the next clip on. The clips bypass the server's request pool, which
// paces file jobs: a live session has at most two requests in flight and
// must not queue behind a batch.
func (e *Engine) Recognizer(ctx context.Context, addr, model string, onWait func(elapsed time.Duration, state string)) (LiveModel, error) {
	m, err := e.model(ctx, addr, model, onWait)
	if err != nil {
		return LiveModel{}, err
	}
	return LiveModel{Recognizer: m.Recognizer, Name: m.name, Version: m.version}, nil
}
