package models

import "testing"

func TestContractMatchesConstants(t *testing.T) {
	c := Contract()
	if c.SampleRate != SampleRate {
		t.Errorf("sample_rate %d, want %d", c.SampleRate, SampleRate)
	}
	if c.MaxBatchSizeMin < 1 {
		t.Errorf("max_batch_size_min %d: the contract needs a batching model", c.MaxBatchSizeMin)
	}
	wantIn := []Tensor{{InputAudio, DatatypeFP32, []int64{-1}}}
	wantOut := []Tensor{{OutputTranscript, DatatypeBytes, []int64{1}}, {OutputTimestamps, DatatypeBytes, []int64{1}}}
	check := func(kind string, got, want []Tensor) {
		if len(got) != len(want) {
			t.Fatalf("%s: %d tensors, want %d", kind, len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Name != w.Name || g.Datatype != w.Datatype || len(g.Dims) != len(w.Dims) || g.Dims[0] != w.Dims[0] {
				t.Errorf("%s[%d] = %+v, want %+v", kind, i, g, w)
			}
		}
	}
	check("inputs", c.Inputs, wantIn)
	check("outputs", c.Outputs, wantOut)
	for name, typ := range map[string]string{ParamTimestamps: "bool", ParamSourceLang: "string", ParamTargetLang: "string", ParamTask: "string", ParamPNC: "bool"} {
		if c.Parameters[name] != typ {
			t.Errorf("parameter %s: %q, want %q", name, c.Parameters[name], typ)
		}
	}
}
