package models

import (
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"strings"
)

// The CPU profile is a second model repository, repository-cpu/, generated
// from repository/ by one rule (CPUProfile) so that the two cannot drift:
// every model folder is mirrored file for file, and only each
// config.pbtxt's instance groups change, from KIND_GPU to KIND_CPU (with
// any gpus list dropped). A Go test (profile_test.go) regenerates it and
// fails when the files on disk differ; `go test ./models -run TestCPUProfile
// -update` rewrites them. compose.cpu.yaml points serve.sh at it.
const (
	RepositoryDir    = "repository"
	CPURepositoryDir = "repository-cpu"
)

var (
	kindGPU    = regexp.MustCompile(`(kind:\s*)KIND_GPU\b`)
	gpusLine   = regexp.MustCompile(`(?m)^[ \t]*gpus:\s*\[[^\]]*\][ \t]*,?[ \t]*(?:#.*)?\n`)
	gpusInline = regexp.MustCompile(`gpus:\s*\[[^\]]*\]\s*,?\s*`)
)

// cpuHeader is the first line of every generated config.pbtxt.
func cpuHeader(model string) string {
	return "# GENERATED from ../../" + RepositoryDir + "/" + model + "/config.pbtxt by models/profile.go (CPUConfig):\n" +
		"# the same model with KIND_CPU instances. Do not edit; change the GPU config and run\n" +
		"# go test ./models -run TestCPUProfile -update\n"
}

// CPUConfig is the CPU profile's config.pbtxt for the GPU config of model:
// the same text with a generated-file header, every instance group's
// KIND_GPU replaced by KIND_CPU and gpus lists removed (a CPU instance
// names no GPU), and the comment on GPU placement reworded.
func CPUConfig(model string, gpu []byte) ([]byte, error) {
	text := string(gpu)
	if strings.Contains(text, "KIND_CPU") && !strings.Contains(text, "KIND_GPU") {
		return nil, fmt.Errorf("%s/config.pbtxt: already KIND_CPU; the GPU repository should ask for GPUs", model)
	}
	if !kindGPU.MatchString(text) {
		return nil, fmt.Errorf("%s/config.pbtxt: no \"kind: KIND_GPU\" line in its instance_group for the CPU profile to replace", model)
	}
	text = kindGPU.ReplaceAllString(text, "${1}KIND_CPU")
	text = gpusLine.ReplaceAllString(text, "")
	text = gpusInline.ReplaceAllString(text, "")
	text = strings.ReplaceAll(text, "# One instance on each GPU the container sees.", "# One instance on the processor (CPU profile: much slower than a GPU).")
	return append([]byte(cpuHeader(model)), text...), nil
}

// ProfileSourceFile reports whether a file of a model folder (a path
// relative to the repository root, e.g. "m/1/model.py") belongs to the
// shipped model: checkpoints a user placed there (*.nemo), Python caches
// and hidden files do not.
func ProfileSourceFile(rel string) bool {
	for _, part := range strings.Split(rel, "/") {
		if strings.HasPrefix(part, ".") || part == "__pycache__" {
			return false
		}
	}
	return !strings.HasSuffix(rel, ".nemo") && !strings.HasSuffix(rel, ".pyc")
}

// CPUProfile generates repository-cpu from fsys, which holds repository/
// (e.g. os.DirFS("models")): a map from slash paths under repository-cpu/
// to their contents. Every model folder is covered, whatever its name.
func CPUProfile(fsys fs.FS) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := fs.WalkDir(fsys, RepositoryDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, RepositoryDir+"/")
		if d.IsDir() || p == RepositoryDir {
			if p != RepositoryDir && !ProfileSourceFile(rel) {
				return fs.SkipDir
			}
			return nil
		}
		if !ProfileSourceFile(rel) || !strings.Contains(rel, "/") {
			return nil // files in the root itself are no model's
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		if rel == path.Dir(rel)+"/config.pbtxt" && !strings.Contains(path.Dir(rel), "/") {
			if data, err = CPUConfig(path.Dir(rel), data); err != nil {
				return err
			}
		}
		out[CPURepositoryDir+"/"+rel] = data
		return nil
	})
	return out, err
}
