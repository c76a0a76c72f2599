package inference

import (
	"context"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/triton"
)

// WatchQueue polls the model's statistics every interval (default 5 s)
// until ctx ends, and tells lim the average time the server kept requests
// queued over each interval — with several replicas, the worst of them. A
// queue time that grows makes lim lower the requests in flight: on a
// shared server it is the sign that others are waiting too. Run it in its
// own goroutine while chunks are being sent; a failed poll is skipped (the
// requests themselves report trouble).
func (m *Model) WatchQueue(ctx context.Context, lim *Limiter, every time.Duration) {
	if every <= 0 {
		every = 5 * time.Second
	}
	clients := m.server.replicas
	if len(clients) == 0 {
		clients = []*triton.Client{m.server.client}
	}
	prev := make([]queueTotals, len(clients))
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		var worst time.Duration
		for i, c := range clients {
			cur, ok := m.queueTotals(ctx, c, every)
			if !ok {
				continue
			}
			if prev[i].valid && cur.count > prev[i].count && cur.ns >= prev[i].ns {
				worst = max(worst, time.Duration((cur.ns-prev[i].ns)/(cur.count-prev[i].count)))
			}
			prev[i] = cur
		}
		if worst > 0 {
			lim.ObserveQueue(worst)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

type queueTotals struct {
	valid     bool
	count, ns uint64
}

func (m *Model) queueTotals(ctx context.Context, c *triton.Client, timeout time.Duration) (queueTotals, bool) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	stats, err := c.ModelStatistics(ctx, m.Name, "")
	if err != nil {
		return queueTotals{}, false
	}
	q := queueTotals{valid: true}
	for _, s := range stats {
		q.count += s.GetInferenceStats().GetQueue().GetCount()
		q.ns += s.GetInferenceStats().GetQueue().GetNs()
	}
	return q, true
}
