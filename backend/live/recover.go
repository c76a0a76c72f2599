package live

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/staging"
	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// note is what a running session leaves beside its audio, so that Recover
// can finish it after a crash: live-<id>.json. The session touches it
// every SyncEvery, so a fresh note is a session still running.
type note struct {
	ID           string    `json:"id"`
	Audio        string    `json:"audio"` // file name in the same folder
	Server       string    `json:"server"`
	Model        string    `json:"model"`
	ModelVersion string    `json:"modelVersion"`
	Started      time.Time `json:"started"`
}

func notePath(dir, id string) string { return filepath.Join(dir, "live-"+id+".json") }

func writeNote(dir string, n note) error {
	data, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		return err
	}
	return staging.WriteFileAtomic(context.Background(), notePath(dir, n.ID), data, 0o644, staging.Options{})
}

func removeNote(dir, id string) { _ = os.Remove(notePath(dir, id)) }

func touchNote(dir, id string, now time.Time) { _ = os.Chtimes(notePath(dir, id), now, now) }

// RecoverOptions tune Recover.
type RecoverOptions struct {
	// Fresh: a note touched this recently belongs to a session still
	// running (in this process or another) and is left alone; default
	// 10 s.
	Fresh time.Duration
	Now   func() time.Time
}

// Recover finishes the sessions in dir that a crash interrupted: each
// audio file gets its real header (RepairWAV), the finals stored so far
// become the session's history entry, and the note goes. Sessions still
// running are left alone. st may be nil (only the audio is repaired).
// It returns one Result per session finished.
func Recover(ctx context.Context, dir string, st Store, opts RecoverOptions) ([]Result, error) {
	if opts.Fresh <= 0 {
		opts.Fresh = 10 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	paths, err := filepath.Glob(filepath.Join(dir, "live-*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths)
	var out []Result
	var errs []error
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			continue
		}
		if opts.Now().Sub(info.ModTime()) < opts.Fresh {
			continue
		}
		res, err := recoverOne(ctx, dir, p, st)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", filepath.Base(p), err))
			continue
		}
		out = append(out, res)
	}
	return out, errors.Join(errs...)
}

func recoverOne(ctx context.Context, dir, notePath string, st Store) (Result, error) {
	data, err := os.ReadFile(notePath)
	if err != nil {
		return Result{}, err
	}
	var n note
	if err := json.Unmarshal(data, &n); err != nil || n.ID == "" || strings.ContainsAny(n.Audio, `/\`) {
		return Result{}, fmt.Errorf("not a live session's note")
	}
	res := Result{ID: n.ID, AudioPath: filepath.Join(dir, n.Audio)}
	samples, err := RepairWAV(res.AudioPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		res.AudioPath = ""
		res.Warnings = append(res.Warnings, "the session's audio file is missing")
	case err != nil:
		return Result{}, err
	}
	source := res.AudioPath
	if source == "" {
		source = Plan(n.ID)
	}
	var pieces []transcript.Piece
	if st != nil {
		chunks, err := st.Chunks(ctx, Plan(n.ID))
		if err != nil {
			return Result{}, err
		}
		idx := make([]int, 0, len(chunks))
		for i := range chunks {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		for _, i := range idx {
			c := chunks[i]
			pieces = append(pieces, transcript.Piece{Offset: float64(c.Offset) / SampleRate, Duration: float64(c.Samples) / SampleRate, Result: c.Result})
		}
		if len(pieces) > 0 {
			last := pieces[len(pieces)-1]
			if heard := last.Offset + last.Duration; float64(samples)/SampleRate > heard+1 {
				res.Untranscribed = append(res.Untranscribed, Span{Start: heard, End: float64(samples) / SampleRate})
			}
		} else if samples > 0 {
			res.Untranscribed = append(res.Untranscribed, Span{Start: 0, End: float64(samples) / SampleRate})
		}
	}
	res.Transcript = buildTranscript(pieces, source, float64(samples)/SampleRate, n.Model)
	if res.AudioPath != "" {
		if sum, err := fileSHA256(res.AudioPath); err == nil {
			res.Transcript.SHA256 = sum
		}
	}
	if len(res.Untranscribed) > 0 {
		res.Warnings = append(res.Warnings, "the audio after the last stored utterance was not transcribed before the crash: transcribe the recording again to hear it")
	}
	if st != nil {
		s := &Session{cfg: Config{Server: n.Server, Model: n.Model, ModelVersion: n.ModelVersion}, plan: Plan(n.ID)}
		id, err := st.PutTranscript(ctx, s.entry(res.Transcript), res.Transcript)
		if err != nil {
			return Result{}, err
		}
		res.HistoryID = id
	}
	removeNote(dir, n.ID)
	return res, nil
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// audioHash identifies the samples of a stored final.
func audioHash(x []float32) string {
	b := make([]byte, 0, 4*len(x))
	for _, v := range x {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
