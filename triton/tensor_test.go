package triton

import (
	"bytes"
	"math"
	"testing"
)

func TestBytesRoundTrip(t *testing.T) {
	cases := [][][]byte{
		nil,
		{[]byte("")},
		{[]byte("1 2 3")},
		{[]byte("héllo"), []byte(""), []byte(`{"words":[]}`)},
	}
	for _, elems := range cases {
		raw := EncodeBytes(elems)
		got, err := DecodeBytes(raw)
		if err != nil {
			t.Fatalf("DecodeBytes(%q): %v", raw, err)
		}
		if len(got) != len(elems) {
			t.Fatalf("got %d elements, want %d", len(got), len(elems))
		}
		for i := range elems {
			if !bytes.Equal(got[i], elems[i]) {
				t.Errorf("element %d = %q, want %q", i, got[i], elems[i])
			}
		}
	}
}

func TestBytesLengthIsFourByteLittleEndian(t *testing.T) {
	raw := EncodeBytes([][]byte{[]byte("ab")})
	if want := []byte{2, 0, 0, 0, 'a', 'b'}; !bytes.Equal(raw, want) {
		t.Fatalf("EncodeBytes = %v, want %v", raw, want)
	}
}

func TestDecodeBytesRejectsMalformed(t *testing.T) {
	for name, raw := range map[string][]byte{
		"short prefix":  {1, 0},
		"overrun":       {5, 0, 0, 0, 'a'},
		"huge length":   {0xff, 0xff, 0xff, 0xff, 'a'},
		"trailing junk": append(EncodeBytes([][]byte{[]byte("x")}), 1),
	} {
		if _, err := DecodeBytes(raw); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func FuzzDecodeBytes(f *testing.F) {
	f.Add(EncodeBytes([][]byte{[]byte("1 2"), []byte(`{"words":[]}`)}))
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, raw []byte) {
		elems, err := DecodeBytes(raw)
		if err != nil {
			return
		}
		if again := EncodeBytes(elems); !bytes.Equal(again, raw) {
			t.Fatalf("re-encoding %q gave %q", raw, again)
		}
	})
}

func TestFP32RoundTrip(t *testing.T) {
	in := []float32{0, 1, -1, 0.5, float32(math.Inf(1)), math.SmallestNonzeroFloat32}
	raw := EncodeFP32(in)
	if len(raw) != 4*len(in) {
		t.Fatalf("%d bytes for %d samples", len(raw), len(in))
	}
	if !bytes.Equal(raw[4:8], []byte{0, 0, 0x80, 0x3f}) { // 1.0, little-endian
		t.Errorf("1.0 encoded as % x", raw[4:8])
	}
	out, err := DecodeFP32(raw)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in {
		if out[i] != in[i] {
			t.Errorf("sample %d = %v, want %v", i, out[i], in[i])
		}
	}
	if _, err := DecodeFP32([]byte{1, 2, 3}); err == nil {
		t.Error("DecodeFP32 accepted 3 bytes")
	}
}

func TestInferParameterTypes(t *testing.T) {
	for _, ok := range []any{true, 3, int64(4), 1.5, "en"} {
		if _, err := inferParameter(ok); err != nil {
			t.Errorf("%T: %v", ok, err)
		}
	}
	for _, bad := range []any{uint64(1), float32(1), []byte("x"), nil} {
		if _, err := inferParameter(bad); err == nil {
			t.Errorf("%T accepted", bad)
		}
	}
}

func TestFP32BytesIsEncodeFP32(t *testing.T) {
	in := []float32{0, 1, -1, 0.5, float32(math.Inf(-1)), 3.25e-20}
	if !bytes.Equal(FP32Bytes(in), EncodeFP32(in)) {
		t.Fatalf("FP32Bytes % x, EncodeFP32 % x", FP32Bytes(in), EncodeFP32(in))
	}
	if len(FP32Bytes(nil)) != 0 {
		t.Error("nil samples")
	}
}
