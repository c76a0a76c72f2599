package transcribe

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/store"
	"github.com/nemo-transcribe/nemo-transcribe/triton/tritontest"
)

// fastRetries connects with a short retry policy, so that a job whose
// every attempt fails ends in well under a second.
func fastRetries(addr string) (*inference.Server, error) {
	return inference.ConnectConfig(inference.Config{Addresses: []string{addr},
		Retry: inference.RetryPolicy{Attempts: 2, Delay: 5 * time.Millisecond, MaxDelay: 5 * time.Millisecond}})
}

// storeStates lists the states the store records for the queue's jobs.
func storeStates(t *testing.T, e *Engine) []string {
	t.Helper()
	recs, err := e.Store().Jobs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range recs {
		out = append(out, r.State)
	}
	return out
}

// TestServerCancelledIsAFailure: a server or proxy answering CANCELLED is
// not the user cancelling. The job fails with a sentence, the store says
// failed, and the next start does not run it again.
func TestServerCancelledIsAFailure(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{CancelRate: 1})
	f := makeKeys(t, t.TempDir(), 1, 5)[0]
	e := openEngine(t, Config{Connect: fastRetries})
	q := NewQueue(e, QueueOptions{})
	id, err := q.Add(Request{Path: f.path, Server: addr, Model: "dtmf", Timestamps: true})
	if err != nil {
		t.Fatal(err)
	}
	waitQueue(t, q)
	j, _ := q.Job(id)
	if j.State != StageFailed || !strings.Contains(j.Error, "cancelled the request") || j.ErrorCode != string(apperr.CodeServer) {
		t.Fatalf("job: %s %q (code %s), want failed saying the server cancelled the request", j.State, j.Error, j.ErrorCode)
	}
	q.Close()
	if got := storeStates(t, e); len(got) != 1 || got[0] != string(StageFailed) {
		t.Errorf("store records %v, want [failed]", got)
	}
	q2 := NewQueue(e, QueueOptions{})
	defer q2.Close()
	if ids, err := q2.Restore(context.Background()); err != nil || len(ids) != 0 {
		t.Errorf("restored %v, %v; a failed job is not run again", ids, err)
	}
}

// TestClosedConnectionIsAFailure: a connection closed under a running
// chunk ("the client connection is closing", gRPC's CANCELLED) fails the
// job; it does not pass for a cancellation.
func TestClosedConnectionIsAFailure(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{Latency: 300 * time.Millisecond})
	f := makeKeys(t, t.TempDir(), 1, 5)[0]
	var srv atomic.Pointer[inference.Server]
	dialled := make(chan struct{})
	e := openEngine(t, Config{Connect: func(a string) (*inference.Server, error) {
		s, err := fastRetries(a)
		if err == nil && srv.CompareAndSwap(nil, s) {
			close(dialled)
		}
		return s, err
	}})
	q := NewQueue(e, QueueOptions{})
	defer q.Close()
	id, _ := q.Add(Request{Path: f.path, Server: addr, Model: "dtmf", Timestamps: true})
	select {
	case <-dialled:
	case <-time.After(30 * time.Second):
		t.Fatal("the engine never connected")
	}
	waitUntil(t, "a chunk in flight", func() bool {
		j, _ := q.Job(id)
		return j.State == StageTranscribing
	})
	srv.Load().Close()
	waitQueue(t, q)
	j, _ := q.Job(id)
	if j.State != StageFailed || j.ErrorCode == string(apperr.CodeCanceled) || j.Error == "cancelled" {
		t.Fatalf("job: %s %q (code %s), want failed with a reason", j.State, j.Error, j.ErrorCode)
	}
	if got := storeStates(t, e); len(got) != 1 || got[0] != string(StageFailed) {
		t.Errorf("store records %v, want [failed]", got)
	}
}

// TestCancelFromBelowIsAFailure: an error that wraps context.Canceled
// without the user cancelling (here a dial whose keyring read was given
// up on; elsewhere the resend limit, which wraps the call its retired
// connection called back) fails the job with its sentence. The store
// says failed, so the next start does not run it again.
func TestCancelFromBelowIsAFailure(t *testing.T) {
	f := makeKeys(t, t.TempDir(), 1, 5)[0]
	e := openEngine(t, Config{Connect: func(string) (*inference.Server, error) {
		return nil, apperr.New(apperr.CodeTLS, context.Canceled, "reading the client key from the keyring was interrupted: try again")
	}})
	q := NewQueue(e, QueueOptions{})
	id, _ := q.Add(Request{Path: f.path, Server: "127.0.0.1:1", Model: "dtmf", Timestamps: true})
	waitQueue(t, q)
	j, _ := q.Job(id)
	if j.State != StageFailed || j.Error != "reading the client key from the keyring was interrupted: try again" || j.ErrorCode != string(apperr.CodeTLS) {
		t.Fatalf("job: %s %q (code %s), want failed with the keyring's sentence", j.State, j.Error, j.ErrorCode)
	}
	q.Close()
	if got := storeStates(t, e); len(got) != 1 || got[0] != string(StageFailed) {
		t.Errorf("store records %v, want [failed]", got)
	}
}

// TestWrappedCancelKeepsItsSentence: an error that wraps a cancellation
// from below (the resend limit wraps the call its retired connection
// called back) reads as its own sentence, not as "cancelled".
func TestWrappedCancelKeepsItsSentence(t *testing.T) {
	err := &fileError{name: "a.wav", err: apperr.New(apperr.CodeUnreachable, context.Canceled, "the connection settings changed 4 times while chunk 2 was being sent: try again")}
	if got := Reason(err); got != "the connection settings changed 4 times while chunk 2 was being sent: try again" {
		t.Errorf("Reason = %q", got)
	}
	if got := Reason(&fileError{name: "a.wav", err: context.Canceled}); got != "cancelled" {
		t.Errorf("Reason of a bare cancel = %q", got)
	}
}

// gatedStore holds CreateJob until released, as a slow disk would.
type gatedStore struct {
	Store
	entered chan struct{}
	release chan struct{}
}

func (g *gatedStore) CreateJob(ctx context.Context, source string, settings any, state string) (int64, error) {
	g.entered <- struct{}{}
	<-g.release
	return g.Store.CreateJob(ctx, source, settings, state)
}

// TestAddRecordsBeforeListing: a job is listed only once its record
// exists, so a Cancel or Remove right after Add is written down and the
// next start does not run the job again.
func TestAddRecordsBeforeListing(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{Latency: time.Second})
	f := makeKeys(t, t.TempDir(), 1, 5)[0]
	base := openEngine(t, Config{})
	g := &gatedStore{Store: base.Store(), entered: make(chan struct{}), release: make(chan struct{})}
	e := openEngine(t, Config{Store: g})
	q := NewQueue(e, QueueOptions{})
	defer q.Close()
	req := Request{Path: f.path, Server: addr, Model: "dtmf", Timestamps: true}

	known := map[JobID]bool{}
	for _, act := range []string{"cancel", "remove"} {
		added := make(chan JobID, 1)
		go func() {
			id, err := q.Add(req)
			if err != nil {
				t.Error(err)
			}
			added <- id
		}()
		<-g.entered
		for _, j := range q.Jobs() {
			if !known[j.ID] {
				t.Fatalf("%s: job %d listed (%s) before its record exists", act, j.ID, j.State)
			}
		}
		close(g.release)
		id := <-added
		known[id] = true
		g.release = make(chan struct{})
		switch act {
		case "cancel":
			if err := q.Cancel(id); err != nil {
				t.Fatal(err)
			}
		case "remove":
			if err := q.Remove(id); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitQueue(t, q)
	// One record: the cancelled job's; the removed one's record is gone.
	if got := storeStates(t, e); len(got) != 1 || got[0] != string(StageCancelled) {
		t.Errorf("store records %v, want [cancelled]", got)
	}
}

// TestDialOutsideTheLock: a slow dial (TLS files, the OS keyring) to one
// server holds up neither calls to another server nor a second caller
// for the same one, which waits for that one dial; a dial that a
// Reconnect overtook is not kept.
func TestDialOutsideTheLock(t *testing.T) {
	slowAddr := tritontest.Start(t, tritontest.Options{})
	fastAddr := tritontest.Start(t, tritontest.Options{})
	var dials atomic.Int32
	gate := make(chan struct{})
	e := openEngine(t, Config{Connect: func(a string) (*inference.Server, error) {
		if a == slowAddr {
			dials.Add(1)
			<-gate
		}
		return inference.Connect(a)
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for range 2 {
		wg.Go(func() {
			_, err := e.ServerStatus(ctx, slowAddr)
			errs <- err
		})
	}
	released := false
	defer func() {
		if !released {
			close(gate)
		}
	}()
	waitUntil(t, "the slow dial", func() bool { return dials.Load() == 1 })
	fast := make(chan error, 1)
	go func() {
		_, err := e.ServerStatus(ctx, fastAddr)
		fast <- err
	}()
	select {
	case err := <-fast:
		if err != nil {
			t.Fatalf("status of the other server while one dial is slow: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the status of another server waited for the slow dial")
	}
	e.Reconnect() // the dial in progress now carries stale settings
	gate <- struct{}{}
	waitUntil(t, "the second dial", func() bool { return dials.Load() == 2 })
	close(gate)
	released = true
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("status of the slow server: %v", err)
		}
	}
	if n := dials.Load(); n != 2 {
		t.Errorf("%d dials to the slow server, want 2 (the one Reconnect overtook, then one for both callers)", n)
	}
}

// TestSlowSubscriberBlocksNothing: a subscriber that does not return (a
// desktop notification that hangs) holds up neither the queue nor the
// other subscribers.
func TestSlowSubscriberBlocksNothing(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	f := makeKeys(t, t.TempDir(), 1, 5)[0]
	e := openEngine(t, Config{})
	q := NewQueue(e, QueueOptions{})
	stuck := make(chan struct{})
	var once sync.Once
	entered := make(chan struct{})
	q.Subscribe(func(Event) {
		once.Do(func() { close(entered) })
		<-stuck
	})
	done := make(chan struct{})
	var doneOnce sync.Once
	q.Subscribe(func(ev Event) {
		if ev.Job.State == StageDone {
			doneOnce.Do(func() { close(done) })
		}
	})
	defer func() {
		close(stuck)
		q.Close()
	}()
	if _, err := q.Add(Request{Path: f.path, Server: addr, Model: "dtmf", Timestamps: true}); err != nil {
		t.Fatal(err)
	}
	<-entered
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the other subscriber never heard the job finish while one subscriber was stuck")
	}
	if _, err := q.Add(Request{Path: f.path, Server: addr, Model: "dtmf", Timestamps: true}); err != nil {
		t.Fatal(err)
	}
	waitQueue(t, q)
}

// endGatedStore holds the update that records a job's end until
// released.
type endGatedStore struct {
	Store
	entered chan struct{}
	release chan struct{}
}

func (g *endGatedStore) UpdateJob(ctx context.Context, id int64, u store.JobUpdate) error {
	if Stage(u.State).Finished() {
		g.entered <- struct{}{}
		<-g.release
	}
	return g.Store.UpdateJob(ctx, id, u)
}

// TestStoreKnowsTheEndWhenWaitReturns: the store records a job's end
// before the queue shows it (and Wait returns), so a program that reads
// the store or exits right after Wait never leaves a finished job to be
// run again at the next start.
func TestStoreKnowsTheEndWhenWaitReturns(t *testing.T) {
	addr := tritontest.Start(t, tritontest.Options{})
	f := makeKeys(t, t.TempDir(), 1, 5)[0]
	base := openEngine(t, Config{})
	g := &endGatedStore{Store: base.Store(), entered: make(chan struct{}), release: make(chan struct{})}
	e := openEngine(t, Config{Store: g})
	q := NewQueue(e, QueueOptions{})
	defer q.Close()
	id, err := q.Add(Request{Path: f.path, Server: addr, Model: "dtmf", Timestamps: true})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-g.entered:
	case <-time.After(time.Minute):
		t.Fatal("the job's end was never recorded")
	}
	if j, _ := q.Job(id); j.State.Finished() {
		t.Errorf("job shown %s before the store has its end", j.State)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	if err := q.Wait(ctx); err == nil {
		t.Error("Wait returned before the store had the job's end")
	}
	cancel()
	close(g.release)
	waitQueue(t, q)
	if got := storeStates(t, e); strings.Join(got, ",") != "done" {
		t.Errorf("store after Wait: %v, want [done]", got)
	}
}
