package inference

import (
	"encoding/binary"
	"math"
	"slices"
	"unsafe"

	"github.com/nemo-transcribe/nemo-transcribe/backend/apperr"
	"github.com/nemo-transcribe/nemo-transcribe/backend/flacenc"
	"github.com/nemo-transcribe/nemo-transcribe/models"
	"github.com/nemo-transcribe/nemo-transcribe/triton"
	"github.com/nemo-transcribe/nemo-transcribe/triton/pb"
)

// The audio forms a request can carry (models/contract.json: AUDIO and the
// compact_inputs), most compact first: the order Recognize prefers them.
var audioPreference = []string{models.InputAudioFLAC, models.InputAudioPCM16, models.InputAudio}

// chooseAudioInput picks the audio input to send to a model: the most
// compact form its metadata declares with the contract's datatype and
// shape (with the batch dimension when batched) that its config lets a
// request carry alone (every other audio input optional). want, when
// set, limits the choice to that form (AUDIO forces FP32). A compact input
// that is declared wrongly is never sent: it is named in warnings, and the
// next form is tried. AUDIO is the answer of last resort; describe has
// checked that the model has it.
func chooseAudioInput(md []triton.TensorMetadata, cfg *pb.ModelConfig, want string) (input string, warnings []apperr.Text) {
	c := models.Contract()
	contract := map[string]models.Tensor{}
	for _, t := range c.AudioInputs() {
		contract[t.Name] = t
	}
	batched := cfg.GetMaxBatchSize() > 0
	required := map[string]bool{}
	for _, in := range cfg.GetInput() {
		if _, audio := contract[in.GetName()]; audio && !in.GetOptional() {
			required[in.GetName()] = true
		}
	}
	// A problem's sentence ends with the form chosen, known only at the end.
	var problems []func(chosen string) apperr.Text
	chosen := models.InputAudio
	for _, name := range audioPreference {
		if want != "" && name != want && name != models.InputAudio {
			continue
		}
		k := slices.IndexFunc(md, func(t triton.TensorMetadata) bool { return t.Name == name })
		if k < 0 {
			continue
		}
		if name == models.InputAudio {
			break
		}
		t, ct := md[k], contract[name]
		wantShape := ct.Dims
		if batched {
			wantShape = append([]int64{-1}, ct.Dims...)
		}
		if t.Datatype != ct.Datatype || !slices.Equal(t.Shape, wantShape) {
			problems = append(problems, func(chosen string) apperr.Text {
				return apperr.Textf("model %q declares %s as %s %v, not the contract's %s %v: ignored, chunks go as %s", cfg.GetName(), name, t.Datatype, t.Shape, ct.Datatype, wantShape, chosen)
			})
			continue
		}
		if other := otherRequired(required, name); other != "" {
			problems = append(problems, func(chosen string) apperr.Text {
				return apperr.Textf("model %q declares %s but requires %s in every request, so %s cannot go alone: ignored, chunks go as %s", cfg.GetName(), name, other, name, chosen)
			})
			continue
		}
		chosen = name
		break
	}
	for _, p := range problems {
		warnings = append(warnings, p(chosen))
	}
	return chosen, warnings
}

// english is the text of each warning, as the CLI and the log show them.
func english(ws []apperr.Text) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Text)
	}
	return out
}

func otherRequired(required map[string]bool, name string) string {
	for _, n := range audioPreference {
		if n != name && required[n] {
			return n
		}
	}
	return ""
}

// audioTensor is the request input carrying samples as form.
func audioTensor(form string, samples []float32, batched bool) triton.Input {
	shape := []int64{int64(len(samples))}
	if batched {
		shape = []int64{1, int64(len(samples))}
	}
	switch form {
	case models.InputAudioPCM16:
		return triton.Input{Name: form, Datatype: models.DatatypeINT16, Shape: shape, Raw: PCM16Bytes(samples)}
	case models.InputAudioFLAC:
		stream := flacenc.Encode(ToPCM16(samples), models.SampleRate)
		shape = []int64{1}
		if batched {
			shape = []int64{1, 1}
		}
		return triton.Input{Name: form, Datatype: models.DatatypeBytes, Shape: shape, Raw: triton.EncodeBytes([][]byte{stream})}
	}
	return triton.Input{Name: models.InputAudio, Datatype: models.DatatypeFP32, Shape: shape, Raw: triton.FP32Bytes(samples)}
}

// ToPCM16 turns samples in [-1, 1] into 16-bit ones: x·32768 rounded to
// the nearest integer (halves away from zero), clamped to [-32768, 32767];
// NaN becomes 0. For a 16-bit source, whose samples are s/32768 exactly,
// it gives back s, so the server's s/32768 is the very float32 sent as
// AUDIO.
func ToPCM16(samples []float32) []int16 {
	out := make([]int16, len(samples))
	done := 0
	if len(out) > 0 {
		done = pcm16Vector(unsafe.Pointer(&out[0]), samples)
	}
	for i, x := range samples[done:] {
		out[done+i] = pcm16(x)
	}
	return out
}

// pcm16 is one sample of ToPCM16. x·32768 is exact in float64, and so is
// adding ±0.5: truncating the sum is math.Round's halves-away-from-zero,
// without its branches (this runs on every sample sent compact).
func pcm16(x float32) int16 {
	v := float64(x) * 32768
	v += math.Copysign(0.5, v)
	switch {
	case v != v: // NaN
		return 0
	case v >= math.MaxInt16:
		return math.MaxInt16
	case v <= math.MinInt16:
		return math.MinInt16
	}
	return int16(v)
}

// PCM16Bytes is ToPCM16 as little-endian bytes, the raw form of INT16,
// written in one pass (an hour sent as PCM16 is 57.6 million samples).
func PCM16Bytes(samples []float32) []byte {
	out := make([]byte, 2*len(samples))
	done := 0
	if len(out) > 0 {
		// The vector path writes int16s in memory order, little-endian
		// on amd64, the only architecture it exists on.
		done = pcm16Vector(unsafe.Pointer(&out[0]), samples)
	}
	for i, x := range samples[done:] {
		binary.LittleEndian.PutUint16(out[2*(done+i):], uint16(pcm16(x)))
	}
	return out
}
