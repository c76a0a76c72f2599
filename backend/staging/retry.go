package staging

import (
	"context"
	"errors"
	"time"

	"github.com/avast/retry-go/v4"
)

const (
	defaultBudget    = 3 * time.Second
	defaultBaseDelay = 50 * time.Millisecond
	maxStepDelay     = time.Second
)

// retrier runs the steps of one Stage or WriteFileAtomic call. All steps
// share one budget of waiting time, so the whole call never waits longer
// than Options.RetryBudget in total, however many steps hit a busy file.
type retrier struct {
	ctx     context.Context
	budget  time.Duration
	base    time.Duration
	timer   retry.Timer // nil: real time
	onRetry func(Retry) // nil: nobody listens
	waited  time.Duration
}

func newRetrier(ctx context.Context, opts Options) *retrier {
	r := &retrier{ctx: ctx, budget: opts.RetryBudget, base: opts.baseDelay, timer: opts.timer, onRetry: opts.OnRetry}
	if r.budget == 0 {
		r.budget = defaultBudget
	}
	if r.base <= 0 {
		r.base = defaultBaseDelay
	}
	return r
}

// do runs step until it succeeds, fails with an error that is not
// transient, or the budget is spent. step reports failures as *Error; do
// fills in how often it tried and how long it waited. op and path describe
// the step if the context ends before it ever runs.
func (r *retrier) do(op, path string, step func() *Error) error {
	var (
		attempts int
		waited   time.Duration
		last     *Error
	)
	err := retry.Do(
		func() error {
			attempts++
			last = step()
			if last == nil {
				return nil
			}
			if !isTransient(last.Err) {
				return retry.Unrecoverable(last)
			}
			return last
		},
		retry.Context(r.ctx),
		retry.Attempts(0), // the budget, not a count, ends the retries
		retry.RetryIf(func(error) bool { return r.waited < r.budget }),
		retry.Delay(r.base),
		retry.MaxJitter(r.base/2+1),
		retry.DelayType(func(n uint, err error, c *retry.Config) time.Duration {
			d := retry.BackOffDelay(n, err, c) + retry.RandomDelay(n, err, c)
			d = min(d, maxStepDelay, r.budget-r.waited)
			if r.onRetry != nil {
				r.onRetry(Retry{Op: last.Op, Path: last.Path, Attempt: attempts, Delay: d, Waited: r.waited, Err: last.Err})
			}
			r.waited += d
			waited += d
			return d
		}),
		r.timerOption(),
	)
	if err == nil {
		return nil
	}
	if last == nil {
		// Cancelled before the first attempt.
		return &Error{Op: op, Path: path, Err: err}
	}
	if ctxErr := r.ctx.Err(); ctxErr != nil && !errors.Is(last.Err, ctxErr) {
		// Cancelled while waiting for the next attempt.
		last.Err = ctxErr
	}
	last.Attempts = attempts
	last.Waited = waited
	return last
}

func (r *retrier) timerOption() retry.Option {
	if r.timer == nil {
		return func(*retry.Config) {}
	}
	return retry.WithTimer(r.timer)
}
