// Package probe is localserver.Prober over the app's inference client
// (backend/inference): it asks Triton at an address whether it is ready
// and how each model of its repository stands.
package probe

import (
	"context"

	"github.com/nemo-transcribe/nemo-transcribe/backend/inference"
	"github.com/nemo-transcribe/nemo-transcribe/backend/localserver"
)

// Inference probes with a plaintext connection to addr, opened for the
// call and closed after it (the local server is on this machine).
type Inference struct{}

// Probe implements localserver.Prober.
func (Inference) Probe(ctx context.Context, addr string) (localserver.Health, error) {
	s, err := inference.Connect(addr)
	if err != nil {
		return localserver.Health{}, err
	}
	defer s.Close()
	st, err := s.Status(ctx)
	if err != nil {
		return localserver.Health{}, err
	}
	return FromStatus(st), nil
}

// FromStatus is Triton's status as the local server reads it, for an app
// that already holds an inference.Server to the local address.
func FromStatus(st inference.ServerStatus) localserver.Health {
	h := localserver.Health{Live: st.Live, Ready: st.Ready}
	for _, m := range st.Models {
		h.Models = append(h.Models, localserver.ModelHealth{Name: m.Name, Ready: m.Ready, State: m.State, Reason: m.Reason})
	}
	return h
}
