package audio

import "encoding/binary"

// MPEG audio frame headers and the Xing/Info, LAME and VBRI tags that
// encoders put in the first frame. The tag frame is silent; the LAME tag
// says how many samples of encoder delay lead the audio and how many of
// padding trail it, which a decoder must drop to keep times exact.

// mpegHeader is a parsed MPEG audio frame header.
type mpegHeader struct {
	version  int // 1, 2, or 25 for MPEG-2.5
	layer    int // 1, 2 or 3
	crc      bool
	bitrate  int // bits per second
	rate     int // Hz
	padding  bool
	channels int
	size     int // bytes in the frame, header included
	samples  int // samples per channel in the frame
}

var (
	mpegBitrates = [2][3][15]int{
		{ // MPEG-1: layers I, II, III
			{0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},
			{0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},
			{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
		},
		{ // MPEG-2 and 2.5
			{0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},
			{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
			{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
		},
	}
	mpegRates = map[int][3]int{1: {44100, 48000, 32000}, 2: {22050, 24000, 16000}, 25: {11025, 12000, 8000}}
)

// parseMPEGHeader reads the frame header at the start of b. Free-format
// frames (no bitrate) are refused: their size is not in the header.
func parseMPEGHeader(b []byte) (mpegHeader, bool) {
	var h mpegHeader
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return h, false
	}
	switch (b[1] >> 3) & 3 {
	case 0:
		h.version = 25
	case 2:
		h.version = 2
	case 3:
		h.version = 1
	default:
		return h, false
	}
	h.layer = 4 - int((b[1]>>1)&3)
	if h.layer == 4 {
		return h, false
	}
	h.crc = b[1]&1 == 0
	bi, ri := int(b[2]>>4), int((b[2]>>2)&3)
	if bi == 0 || bi == 15 || ri == 3 {
		return h, false
	}
	v := 0
	if h.version != 1 {
		v = 1
	}
	h.bitrate = mpegBitrates[v][h.layer-1][bi] * 1000
	h.rate = mpegRates[h.version][ri]
	h.padding = b[2]&2 != 0
	h.channels = 2
	if b[3]>>6 == 3 {
		h.channels = 1
	}
	pad := 0
	if h.padding {
		pad = 1
	}
	switch {
	case h.layer == 1:
		h.samples = 384
		h.size = (12*h.bitrate/h.rate + pad) * 4
	case h.layer == 3 && h.version != 1:
		h.samples = 576
		h.size = 72*h.bitrate/h.rate + pad
	default:
		h.samples = 1152
		h.size = 144*h.bitrate/h.rate + pad
	}
	return h, h.size > 4
}

// sideInfoSize is the size of a layer III frame's side information.
func (h mpegHeader) sideInfoSize() int {
	switch {
	case h.version == 1 && h.channels == 1:
		return 17
	case h.version == 1:
		return 32
	case h.channels == 1:
		return 9
	}
	return 17
}

// mp3Tag is what the first frame of an MP3 file says about the stream.
type mp3Tag struct {
	// present: the first frame is a Xing/Info or VBRI tag, silent and not
	// part of the audio.
	present bool
	frames  int64 // audio frames after the tag frame, or -1
	bytes   int64 // bytes of audio frames, or -1
	// delay and padding are the LAME tag's encoder delay and padding in
	// samples, or -1 without a LAME tag.
	delay, padding int
	encoder        string
}

// parseMP3Tag reads the Xing/Info (with its LAME extension) or VBRI tag of
// the frame at the start of b, which holds the whole frame.
func parseMP3Tag(b []byte) mp3Tag {
	t := mp3Tag{frames: -1, bytes: -1, delay: -1, padding: -1}
	h, ok := parseMPEGHeader(b)
	if !ok || h.layer != 3 || len(b) < h.size {
		return t
	}
	b = b[:h.size]
	be := binary.BigEndian
	p := 4 + h.sideInfoSize()
	if p+8 <= len(b) && (string(b[p:p+4]) == "Xing" || string(b[p:p+4]) == "Info") {
		t.present = true
		flags := be.Uint32(b[p+4:])
		q := p + 8
		if flags&1 != 0 {
			if q+4 > len(b) {
				return t
			}
			t.frames = int64(be.Uint32(b[q:]))
			q += 4
		}
		if flags&2 != 0 {
			if q+4 > len(b) {
				return t
			}
			t.bytes = int64(be.Uint32(b[q:]))
			q += 4
		}
		if flags&4 != 0 {
			q += 100 // seek table
		}
		if flags&8 != 0 {
			q += 4 // quality
		}
		// The LAME extension: a 9-byte encoder name, then at offset 21 the
		// delay and padding as two 12-bit numbers. LAME writes "LAME",
		// ffmpeg "Lavc"/"Lavf"; others write nothing here.
		if q+24 <= len(b) && isEncoderName(b[q:q+4]) {
			t.encoder = string(b[q : q+9])
			d := b[q+21:]
			t.delay = int(d[0])<<4 | int(d[1]>>4)
			t.padding = int(d[1]&0x0F)<<8 | int(d[2])
		}
		return t
	}
	if v := 4 + 32; v+26 <= len(b) && string(b[v:v+4]) == "VBRI" {
		t.present = true
		t.bytes = int64(be.Uint32(b[v+10:]))
		t.frames = int64(be.Uint32(b[v+14:]))
		t.encoder = "VBRI" // its delay field is not in samples: leave it unknown
	}
	return t
}

func isEncoderName(b []byte) bool {
	for _, c := range b {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == ' ') {
			return false
		}
	}
	return string(b) != "    "
}
