package localserver

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nemo-transcribe/nemo-transcribe/backend/staging"
	"github.com/nemo-transcribe/nemo-transcribe/models"
)

// The server files in Dir are the embedded ones (models.ServerFiles),
// written with staging.WriteFileAtomic. A manifest (.nemo-transcribe-files.json)
// records the hash of every file as the app wrote it, so that on the next
// write the app can tell three cases apart:
//
//   - the file is as the app wrote it: it is replaced by the new version
//     (or removed, when the new version no longer ships it);
//   - the user changed it (it matches neither the manifest nor the new
//     version): it is kept, and listed in FilesReport.Kept, unless
//     WriteOptions.Reset asks for the shipped files back;
//   - a file the manifest does not know (a model folder the user added, a
//     .nemo checkpoint): it is never touched.

// FilesReport says what WriteFiles did.
type FilesReport struct {
	Dir     string `json:"dir"`
	Version string `json:"version"` // hash of the shipped set
	// Written were created or updated; Removed were shipped by an older
	// version and unchanged since; Kept differ from the shipped version
	// because the user edited them, and were left as they are.
	Written []string `json:"written"`
	Removed []string `json:"removed"`
	Kept    []string `json:"kept"`
}

// WriteOptions change what WriteFiles may overwrite.
type WriteOptions struct {
	// Reset replaces files the user changed with the shipped ones.
	Reset bool
}

type manifest struct {
	Version string            `json:"version"`
	Files   map[string]string `json:"files"` // slash path -> sha256 hex, as written
}

// shippedFiles are the embedded server files: slash path -> contents.
func shippedFiles() (map[string][]byte, error) {
	out := map[string][]byte{}
	err := fs.WalkDir(models.ServerFiles(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(models.ServerFiles(), p)
		out[p] = data
		return err
	})
	return out, err
}

// FilesVersion is a hash of the shipped server files: it changes when any
// of them does.
func FilesVersion() string {
	files, _ := shippedFiles()
	h := sha256.New()
	for _, p := range slices.Sorted(maps.Keys(files)) {
		sum := sha256.Sum256(files[p])
		h.Write([]byte(p + "\x00" + hex.EncodeToString(sum[:]) + "\n"))
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func hashOf(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// WriteFiles writes the shipped server files into Dir (see the rules
// above) and returns what it did.
func (m *Manager) WriteFiles(ctx context.Context, opts WriteOptions) (FilesReport, error) {
	files, err := shippedFiles()
	if err != nil {
		return FilesReport{}, err
	}
	rep := FilesReport{Dir: m.cfg.Dir, Version: FilesVersion()}
	old := m.readManifest()
	next := manifest{Version: rep.Version, Files: map[string]string{}}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		want := files[p]
		full := filepath.Join(m.cfg.Dir, filepath.FromSlash(p))
		have, err := os.ReadFile(full)
		switch {
		case err == nil && hashOf(have) == hashOf(want):
			next.Files[p] = hashOf(want)
			continue
		case err == nil && !opts.Reset && old.Files[p] != hashOf(have):
			// Changed by the user (or written by hand before the app
			// knew it): keep it, and remember the user's version as theirs.
			rep.Kept = append(rep.Kept, p)
			if h, ok := old.Files[p]; ok {
				next.Files[p] = h
			}
			continue
		case err != nil && !errors.Is(err, fs.ErrNotExist):
			return rep, fileError(err)
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return rep, fileError(err)
		}
		perm := fs.FileMode(0o644)
		if strings.HasSuffix(p, ".sh") {
			perm = 0o755
		}
		if err := staging.WriteFileAtomic(ctx, full, want, perm, staging.Options{}); err != nil {
			return rep, fileError(err)
		}
		if perm&0o100 != 0 {
			_ = os.Chmod(full, perm) // the temp file's mode may have been narrowed
		}
		next.Files[p] = hashOf(want)
		rep.Written = append(rep.Written, p)
	}
	// Files an older version shipped and this one does not.
	for _, p := range slices.Sorted(maps.Keys(old.Files)) {
		if _, ok := files[p]; ok {
			continue
		}
		full := filepath.Join(m.cfg.Dir, filepath.FromSlash(p))
		have, err := os.ReadFile(full)
		if err != nil {
			continue
		}
		if hashOf(have) != old.Files[p] && !opts.Reset {
			rep.Kept = append(rep.Kept, p)
			next.Files[p] = old.Files[p]
			continue
		}
		if err := os.Remove(full); err == nil {
			rep.Removed = append(rep.Removed, p)
			removeEmptyParents(m.cfg.Dir, filepath.Dir(full))
		}
	}
	data, err := json.MarshalIndent(next, "", "  ")
	if err != nil {
		return rep, err
	}
	if err := staging.WriteFileAtomic(ctx, filepath.Join(m.cfg.Dir, manifestFile), append(data, '\n'), 0o644, staging.Options{}); err != nil {
		return rep, fileError(err)
	}
	return rep, nil
}

func (m *Manager) readManifest() manifest {
	var man manifest
	data, err := os.ReadFile(filepath.Join(m.cfg.Dir, manifestFile))
	if err == nil {
		_ = json.Unmarshal(data, &man)
	}
	if man.Files == nil {
		man.Files = map[string]string{}
	}
	return man
}

// removeEmptyParents removes dir and its parents up to root while they are empty.
func removeEmptyParents(root, dir string) {
	root = filepath.Clean(root)
	for d := filepath.Clean(dir); d != root && strings.HasPrefix(d, root); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			return
		}
	}
}
