package inference

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/avast/retry-go/v4"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/triton"
)

// RetryPolicy bounds how hard one chunk is retried after transient
// failures: the server unreachable or restarting, overloaded, the model
// reloading, an attempt past its deadline. Requests the server refused as
// wrong are never retried.
//
// The defaults ride out about half a minute of trouble: 10 attempts, waits
// of 250 ms doubling to 5 s (each ±20 % at random, so that many clients do
// not retry in step), about 28 s of waiting in all.
type RetryPolicy struct {
	Attempts int           // attempts per chunk, the first included; default 10
	MaxWait  time.Duration // no retry (but the first) starts later than this after the first attempt; default 60 s
	Delay    time.Duration // wait before the first retry, doubling after each; default 250 ms
	MaxDelay time.Duration // the longest wait between attempts; default 5 s
	// AttemptTimeout is each attempt's deadline before adding twice the
	// chunk's audio duration: a busy server queues requests. Default 10 s.
	AttemptTimeout time.Duration
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = 10
	}
	if p.MaxWait <= 0 {
		p.MaxWait = 60 * time.Second
	}
	if p.Delay <= 0 {
		p.Delay = 250 * time.Millisecond
	}
	if p.MaxDelay <= 0 {
		p.MaxDelay = 5 * time.Second
	}
	p.MaxDelay = max(p.MaxDelay, p.Delay)
	if p.AttemptTimeout <= 0 {
		p.AttemptTimeout = 10 * time.Second
	}
	return p
}

// DefaultRetryPolicy is the policy zero fields fall back to.
func DefaultRetryPolicy() RetryPolicy { return RetryPolicy{}.withDefaults() }

// wait is the pause after the nth failed attempt (from 1): exponential,
// capped, with ±20 % jitter.
func (p RetryPolicy) wait(n int) time.Duration {
	d := p.MaxDelay
	if n-1 < 30 {
		d = min(p.Delay<<(n-1), p.MaxDelay)
	}
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// attemptTimeout is the deadline of one attempt carrying audio.
func (p RetryPolicy) attemptTimeout(audio time.Duration) time.Duration {
	return p.AttemptTimeout + 2*audio
}

// RetryEvent tells about one failed attempt that will be retried.
type RetryEvent struct {
	Chunk    int           // the id given to Recognize
	Attempt  int           // the attempt that failed, from 1
	Attempts int           // the most attempts that will be made
	Wait     time.Duration // before the next attempt
	Elapsed  time.Duration // since the first attempt began
	Err      error         // why it failed, as an *apperr.Error for the user
}

// inferWithRetry sends req until it succeeds, fails for good, or the
// policy's attempts or time run out.
func (s *Server) inferWithRetry(ctx context.Context, req triton.InferRequest, audio time.Duration, chunk int, model string, opts Options) (*triton.InferResult, error) {
	pol := s.cfg.Retry.withDefaults()
	start := time.Now()
	attempts := 0
	var next time.Duration
	var last error
	res, err := retry.DoWithData(func() (*triton.InferResult, error) {
		attempts++
		if opts.Limiter != nil {
			if err := opts.Limiter.Acquire(ctx); err != nil {
				return nil, retry.Unrecoverable(err)
			}
		}
		callCtx, cancel := context.WithTimeout(ctx, pol.attemptTimeout(audio))
		res, err := s.client.Infer(callCtx, req)
		cancel()
		if opts.Limiter != nil {
			opts.Limiter.Release(outcomeOf(ctx, err))
		}
		if err == nil {
			return res, nil
		}
		last = err
		var te *triton.Error
		if ctx.Err() != nil || !errors.As(err, &te) || !te.Temporary() || attempts >= pol.Attempts {
			return nil, retry.Unrecoverable(err)
		}
		next = pol.wait(attempts)
		elapsed := time.Since(start)
		// Past the budget, stop; but a first attempt that used up its
		// whole deadline (a 30 s chunk may take 70 s) still gets one more.
		if elapsed+next > pol.MaxWait && attempts > 1 {
			return nil, retry.Unrecoverable(err)
		}
		if opts.OnRetry != nil {
			opts.OnRetry(RetryEvent{Chunk: chunk, Attempt: attempts, Attempts: pol.Attempts, Wait: next, Elapsed: elapsed, Err: s.explain(err, model)})
		}
		return nil, err
	},
		retry.Context(ctx),
		retry.Attempts(uint(pol.Attempts)),
		retry.DelayType(func(uint, error, *retry.Config) time.Duration { return next }),
		retry.LastErrorOnly(true),
	)
	if err == nil {
		return res, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if last == nil {
		last = err
	}
	explained := s.explain(last, model)
	var ae *apperr.Error
	if attempts > 1 && errors.As(explained, &ae) {
		return nil, apperr.New(ae.Code, last, "%s (tried %d times over %s)", ae.Message, attempts, roundDuration(time.Since(start)))
	}
	return nil, explained
}

// outcomeOf reads an attempt's end for the Limiter. An attempt that ran
// out of time while the caller still waited counts as overload: the
// server had it queued too long.
func outcomeOf(ctx context.Context, err error) Outcome {
	if err == nil {
		return OutcomeSuccess
	}
	var te *triton.Error
	if ctx.Err() == nil && errors.As(err, &te) && (te.Overloaded() || te.Code == triton.CodeDeadlineExceeded) {
		return OutcomeOverload
	}
	return OutcomeOther
}

func roundDuration(d time.Duration) time.Duration {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond)
	}
	return d.Round(time.Second)
}
