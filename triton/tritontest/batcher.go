package tritontest

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
)

// Batching simulates Triton's dynamic batcher with one model instance:
// requests queue, and whenever the instance is free it takes as many as
// fit in MaxBatch rows, waiting up to Window after the oldest arrived for
// more to come, then executes them together. Latency is the simulated
// compute time of one execution, whatever its size — what makes batching
// pay on a GPU — so the server's capacity is MaxBatch requests per Latency.
type Batching struct {
	MaxBatch int           // rows per execution; 0 or above the model's max_batch_size means max_batch_size
	Window   time.Duration // max_queue_delay: how long a batch that is not full waits for more
	Latency  time.Duration // simulated compute time of one execution
	MaxQueue int           // requests waiting beyond this are refused UNAVAILABLE, as Triton's max_queue_size; 0 = unbounded
}

// batchJob is one validated request waiting for an execution.
type batchJob struct {
	ctx     context.Context
	req     *pb.ModelInferRequest
	inputs  []Tensor
	params  map[string]*pb.InferParameter
	want    map[string]bool
	size    int64 // rows
	arrived time.Time
	input   time.Duration // time spent validating
	done    chan batchResult
}

type batchResult struct {
	resp *pb.ModelInferResponse
	err  error
}

type batcher struct {
	h   *hosted
	cfg Batching
	max int64

	mu      sync.Mutex
	queue   []*batchJob
	more    chan struct{} // signalled (non-blocking) when a job is queued
	stopped chan struct{}
	once    sync.Once
}

func newBatcher(h *hosted, cfg Batching) *batcher {
	mbs := int64(h.cfg.GetMaxBatchSize())
	b := &batcher{h: h, cfg: cfg, max: mbs, more: make(chan struct{}, 1), stopped: make(chan struct{})}
	if cfg.MaxBatch > 0 && int64(cfg.MaxBatch) < mbs {
		b.max = int64(cfg.MaxBatch)
	}
	go b.run()
	return b
}

func (b *batcher) stop() { b.once.Do(func() { close(b.stopped) }) }

// submit queues a job and waits for its answer.
func (b *batcher) submit(ctx context.Context, j *batchJob) (*pb.ModelInferResponse, error) {
	j.ctx = ctx
	b.mu.Lock()
	if b.cfg.MaxQueue > 0 && len(b.queue) >= b.cfg.MaxQueue {
		b.mu.Unlock()
		b.h.stats.failure(j.arrived)
		return nil, status.Errorf(codes.Unavailable, "Exceeds maximum queue size")
	}
	b.queue = append(b.queue, j)
	b.mu.Unlock()
	select {
	case b.more <- struct{}{}:
	default:
	}
	select {
	case r := <-j.done:
		return r.resp, r.err
	case <-ctx.Done():
		// The executor sees the context too and skips or fails the job.
		return nil, status.FromContextError(ctx.Err()).Err()
	case <-b.stopped:
		return nil, status.Error(codes.Unavailable, "Server is shutting down")
	}
}

// take removes the jobs that fit in the rows left, oldest first; a job
// too big for what is left stays for the next execution (one bigger than
// MaxBatch alone runs on its own).
func (b *batcher) take(batch []*batchJob, rows int64) ([]*batchJob, int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for len(b.queue) > 0 && (rows+b.queue[0].size <= b.max || len(batch) == 0) {
		j := b.queue[0]
		b.queue = b.queue[1:]
		if j.ctx.Err() != nil {
			b.h.stats.failure(j.arrived)
			continue
		}
		batch = append(batch, j)
		rows += j.size
	}
	return batch, rows
}

func (b *batcher) run() {
	for {
		var batch []*batchJob
		var rows int64
		for len(batch) == 0 {
			if batch, rows = b.take(nil, 0); len(batch) > 0 {
				break
			}
			select {
			case <-b.more:
			case <-b.stopped:
				return
			}
		}
		// Wait for more until the oldest has waited Window, unless full.
		if b.cfg.Window > 0 && rows < b.max {
			deadline := time.NewTimer(time.Until(batch[0].arrived.Add(b.cfg.Window)))
		fill:
			for rows < b.max {
				select {
				case <-b.more:
					batch, rows = b.take(batch, rows)
				case <-deadline.C:
					break fill
				case <-b.stopped:
					deadline.Stop()
					return
				}
			}
			deadline.Stop()
		}
		if !b.execute(batch, rows) {
			return
		}
	}
}

// execute runs one batch: the simulated compute time, then the model on
// each request (a real backend would run them as one tensor).
func (b *batcher) execute(batch []*batchJob, rows int64) bool {
	start := time.Now()
	if b.cfg.Latency > 0 {
		t := time.NewTimer(b.cfg.Latency)
		select {
		case <-t.C:
		case <-b.stopped:
			t.Stop()
			return false
		}
	}
	var exec timing
	results := make([]batchResult, len(batch))
	for i, j := range batch {
		t := timing{queue: start.Sub(j.arrived), input: j.input}
		exec.input += j.input
		resp, err := b.run1(j)
		t.infer = time.Since(start)
		if err != nil {
			b.h.stats.failure(j.arrived)
		} else {
			b.h.stats.success(j.arrived, j.size, t)
		}
		results[i] = batchResult{resp, err}
	}
	exec.infer = time.Since(start)
	// Statistics first: a client that has its answer sees them counted.
	b.h.stats.execution(rows, exec)
	for i, j := range batch {
		j.done <- results[i]
	}
	return true
}

func (b *batcher) run1(j *batchJob) (*pb.ModelInferResponse, error) {
	if err := j.ctx.Err(); err != nil {
		return nil, status.FromContextError(err).Err()
	}
	outputs, err := b.h.model.Execute(j.ctx, j.inputs, j.params)
	if err != nil {
		if _, ok := status.FromError(err); ok {
			return nil, err
		}
		return nil, status.Error(codes.Internal, err.Error())
	}
	return b.h.response(j.req, outputs, j.want)
}
