package tritontest

import (
	"slices"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
)

// timing is where one successful request spent its time.
type timing struct {
	queue  time.Duration // arrival to validation: mostly Options.Latency
	input  time.Duration // validating and assembling the inputs
	infer  time.Duration // Model.Execute
	output time.Duration // building the response
}

// stats are one model's statistics in Triton's form. Every request that
// reaches the model is counted once: as a success, or as a failure when it
// was refused (injected failure, validation) or its execution failed.
// Successful requests add their batch size to inference_count; each
// execution of the model adds one to execution_count and one to the
// batch_stats entry of its batch size. Without a batcher every request is
// an execution of its own; with one, several requests share one.
type stats struct {
	mu sync.Mutex
	m  *pb.ModelStatistics
}

func newStats(name string) *stats {
	return &stats{m: &pb.ModelStatistics{
		Name:    name,
		Version: modelVersion,
		InferenceStats: &pb.InferStatistics{
			Success: &pb.StatisticDuration{}, Fail: &pb.StatisticDuration{},
			Queue: &pb.StatisticDuration{}, ComputeInput: &pb.StatisticDuration{},
			ComputeInfer: &pb.StatisticDuration{}, ComputeOutput: &pb.StatisticDuration{},
			CacheHit: &pb.StatisticDuration{}, CacheMiss: &pb.StatisticDuration{},
		},
	}}
}

func add(d *pb.StatisticDuration, t time.Duration) {
	d.Count++
	d.Ns += uint64(max(t, 0))
}

func (s *stats) failure(arrived time.Time) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	add(s.m.InferenceStats.Fail, now.Sub(arrived))
	s.m.LastInference = max(s.m.LastInference, uint64(now.UnixMilli()))
}

// success counts one request that was answered.
func (s *stats) success(arrived time.Time, batch int64, t timing) {
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	is := s.m.InferenceStats
	add(is.Success, now.Sub(arrived))
	add(is.Queue, t.queue)
	add(is.ComputeInput, t.input)
	add(is.ComputeInfer, t.infer)
	add(is.ComputeOutput, t.output)
	s.m.InferenceCount += uint64(batch)
	s.m.LastInference = max(s.m.LastInference, uint64(now.UnixMilli()))
}

// execution counts one run of the model over a batch of batch rows.
func (s *stats) execution(batch int64, t timing) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m.ExecutionCount++
	i := slices.IndexFunc(s.m.BatchStats, func(b *pb.InferBatchStatistics) bool { return b.BatchSize == uint64(batch) })
	if i < 0 {
		s.m.BatchStats = append(s.m.BatchStats, &pb.InferBatchStatistics{
			BatchSize:    uint64(batch),
			ComputeInput: &pb.StatisticDuration{}, ComputeInfer: &pb.StatisticDuration{}, ComputeOutput: &pb.StatisticDuration{},
		})
		slices.SortFunc(s.m.BatchStats, func(a, b *pb.InferBatchStatistics) int { return int(a.BatchSize) - int(b.BatchSize) })
		i = slices.IndexFunc(s.m.BatchStats, func(b *pb.InferBatchStatistics) bool { return b.BatchSize == uint64(batch) })
	}
	b := s.m.BatchStats[i]
	add(b.ComputeInput, t.input)
	add(b.ComputeInfer, t.infer)
	add(b.ComputeOutput, t.output)
}

// snapshot returns a copy that is safe to send while requests go on.
func (s *stats) snapshot() *pb.ModelStatistics {
	s.mu.Lock()
	defer s.mu.Unlock()
	return proto.Clone(s.m).(*pb.ModelStatistics)
}
