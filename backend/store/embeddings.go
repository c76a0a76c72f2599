package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/nemo-transcribe/nemo-transcribe/backend/transcript"
)

// Embeddings are the speaker embeddings of one chunk: one vector per span.
// Plan names the content, server, speaker model and version, decoding and
// chunk plan; Offset, Samples and AudioHash let a later run check that its
// chunk Index is the same audio before it reuses them. Unlike chunk
// results they outlive the transcript, so diarizing it again (another
// speaker count) sends nothing.
type Embeddings struct {
	Plan      string
	Index     int
	Offset    int64
	Samples   int64
	AudioHash string
	Spans     [][2]int64  // [start, end) sample offsets into the chunk
	Vectors   [][]float32 // one per span, all of one length; a zero vector is a span without a voice
}

// PutEmbeddings records a chunk's embeddings, replacing what was stored
// for that chunk. It returns once the row is committed.
func (d *DB) PutEmbeddings(ctx context.Context, e Embeddings) error {
	if len(e.Spans) != len(e.Vectors) {
		return fmt.Errorf("saving embeddings of chunk %d: %d spans but %d vectors", e.Index, len(e.Spans), len(e.Vectors))
	}
	dim := 0
	if len(e.Vectors) > 0 {
		dim = len(e.Vectors[0])
	}
	spans := make([]byte, 0, 16*len(e.Spans))
	for _, sp := range e.Spans {
		spans = binary.LittleEndian.AppendUint64(spans, uint64(sp[0]))
		spans = binary.LittleEndian.AppendUint64(spans, uint64(sp[1]))
	}
	vecs := make([]byte, 0, 4*dim*len(e.Vectors))
	for i, v := range e.Vectors {
		if len(v) != dim {
			return fmt.Errorf("saving embeddings of chunk %d: vector %d has %d values, vector 0 has %d", e.Index, i, len(v), dim)
		}
		for _, f := range v {
			vecs = binary.LittleEndian.AppendUint32(vecs, math.Float32bits(f))
		}
	}
	_, err := d.db.ExecContext(ctx, `INSERT INTO embeddings(plan, idx, offset, samples, audio_hash, dim, spans, vectors, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT(plan, idx) DO UPDATE SET offset = excluded.offset, samples = excluded.samples, audio_hash = excluded.audio_hash,
			dim = excluded.dim, spans = excluded.spans, vectors = excluded.vectors, created_at = excluded.created_at`,
		e.Plan, e.Index, e.Offset, e.Samples, e.AudioHash, dim, spans, vecs, d.millis())
	if err != nil {
		return fmt.Errorf("saving embeddings of chunk %d: %w", e.Index, err)
	}
	return nil
}

// EmbeddingsFor returns the stored embeddings of plan by chunk index. A
// row whose sizes do not add up is skipped: its spans are sent again.
func (d *DB) EmbeddingsFor(ctx context.Context, plan string) (map[int]Embeddings, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT idx, offset, samples, audio_hash, dim, spans, vectors FROM embeddings WHERE plan = ?", plan)
	if err != nil {
		return nil, fmt.Errorf("reading stored embeddings: %w", err)
	}
	defer rows.Close()
	out := map[int]Embeddings{}
	for rows.Next() {
		e := Embeddings{Plan: plan}
		var dim int
		var spans, vecs []byte
		if err := rows.Scan(&e.Index, &e.Offset, &e.Samples, &e.AudioHash, &dim, &spans, &vecs); err != nil {
			return nil, fmt.Errorf("reading stored embeddings: %w", err)
		}
		n := len(spans) / 16
		if len(spans)%16 != 0 || dim < 0 || len(vecs) != 4*dim*n || (n > 0 && dim == 0) {
			continue
		}
		e.Spans = make([][2]int64, n)
		e.Vectors = make([][]float32, n)
		flat := make([]float32, dim*n)
		for i := range flat {
			flat[i] = math.Float32frombits(binary.LittleEndian.Uint32(vecs[4*i:]))
		}
		for i := range n {
			e.Spans[i] = [2]int64{int64(binary.LittleEndian.Uint64(spans[16*i:])), int64(binary.LittleEndian.Uint64(spans[16*i+8:]))}
			e.Vectors[i] = flat[i*dim : (i+1)*dim : (i+1)*dim]
		}
		out[e.Index] = e
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading stored embeddings: %w", err)
	}
	return out, nil
}

// DropEmbeddings forgets the embeddings of plan (a forced re-run).
func (d *DB) DropEmbeddings(ctx context.Context, plan string) error {
	if _, err := d.db.ExecContext(ctx, "DELETE FROM embeddings WHERE plan = ?", plan); err != nil {
		return fmt.Errorf("forgetting stored embeddings: %w", err)
	}
	return nil
}

// PruneEmbeddings forgets embeddings stored before cutoff, returning how
// many chunks' went.
func (d *DB) PruneEmbeddings(ctx context.Context, cutoff time.Time) (int64, error) {
	res, err := d.db.ExecContext(ctx, "DELETE FROM embeddings WHERE created_at < ?", cutoff.UnixMilli())
	if err != nil {
		return 0, fmt.Errorf("pruning old embeddings: %w", err)
	}
	return res.RowsAffected()
}

// ChangeTranscript replaces the transcript of history entry id with what
// change makes of it, in one transaction, keeping the text, speakers and
// search columns in step as a rename does (diarizing a stored transcript
// again goes through here). An error from change stores nothing and is
// returned as it is; ErrNotFound for an unknown entry.
func (d *DB) ChangeTranscript(ctx context.Context, id int64, change func(transcript.Transcript) (transcript.Transcript, error)) error {
	return d.changeTranscript(ctx, id, change)
}
