"""Fixtures for the backend's unit tests (not loaded by Triton).

Importing this module puts models/common and models/common/fakes on sys.path,
so that `import nemo_asr_backend` finds the stand-in triton_python_backend_utils
exactly as model.py finds the real one inside Triton.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import json
import os
import sys
import tempfile

import numpy as np

COMMON = os.path.dirname(os.path.abspath(__file__))
MODELS = os.path.dirname(COMMON)
REPOSITORY = os.path.join(MODELS, "repository")  # --model-repository: model folders only
FAKES = os.path.join(COMMON, "fakes")
for _path in (FAKES, COMMON):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import triton_python_backend_utils as pb_utils  # noqa: E402  (the stand-in)

MODEL_NAMES = ("parakeet-tdt-0.6b-v2", "parakeet-tdt-0.6b-v3", "canary-1b-v2")  # ASR
SPEAKER_MODEL_NAMES = ("titanet-large",)


def model_config(name: str) -> dict:
    """config.pbtxt as the JSON Triton hands to initialize (kept current by the Go test)."""
    with open(os.path.join(MODELS, "testdata", f"{name}.config.json"), encoding="utf-8") as f:
        return json.load(f)


def initialize_args(name: str, config: dict | None = None, kind: str = "GPU", device_id: int = 0) -> dict:
    return {
        "model_config": json.dumps(config if config is not None else model_config(name)),
        "model_instance_kind": kind,
        "model_instance_device_id": str(device_id),
        "model_repository": os.path.join(REPOSITORY, name),
        "model_version": "1",
        "model_name": name,
    }


def request(clips, params=None, cancelled=False):
    """A request whose AUDIO is [rows, samples]; clips of one request share a length."""
    if isinstance(clips, np.ndarray) and clips.ndim != 1:
        audio = clips
    else:
        audio = np.stack([np.asarray(c, dtype=np.float32) for c in ([clips] if np.ndim(clips[0]) == 0 else clips)])
    return pb_utils.InferenceRequest([pb_utils.Tensor("AUDIO", audio)], params, cancelled=cancelled)


def outputs(response):
    """(texts, timestamp documents) of a successful response, one per row."""
    if response.has_error():
        raise AssertionError(f"unexpected error response: {response.error()}")
    texts = pb_utils.get_output_tensor_by_name(response, "TRANSCRIPT").as_numpy()
    stamps = pb_utils.get_output_tensor_by_name(response, "TIMESTAMPS").as_numpy()
    assert texts.dtype == np.object_ and texts.ndim == 2 and texts.shape[1] == 1, texts.shape
    assert stamps.shape == texts.shape, (stamps.shape, texts.shape)
    return [t.decode("utf-8") for t in texts[:, 0]], [json.loads(s.decode("utf-8")) for s in stamps[:, 0]]


def speaker_request(clips, spans, cancelled=False):
    """A speaker-model request: AUDIO [rows, samples] and SPANS [rows, S, 2]
    (one list of (start, end) pairs for every row, or an array as given)."""
    audio = np.stack([np.asarray(c, dtype=np.float32) for c in clips])
    if not isinstance(spans, np.ndarray):
        spans = np.array(spans, dtype=np.int64).reshape(len(clips), -1, 2)
    return pb_utils.InferenceRequest(
        [pb_utils.Tensor("AUDIO", audio), pb_utils.Tensor("SPANS", spans)], None, cancelled=cancelled
    )


def embeddings(response):
    """EMBEDDINGS [rows, S, D] of a successful response."""
    if response.has_error():
        raise AssertionError(f"unexpected error response: {response.error()}")
    out = pb_utils.get_output_tensor_by_name(response, "EMBEDDINGS").as_numpy()
    assert out.dtype == np.float32 and out.ndim == 3, (out.dtype, out.shape)
    return out


@contextlib.contextmanager
def no_files_written():
    """Runs the block in an empty temporary working folder and records every
    attempt to create or write a file or folder anywhere; the caller asserts
    the returned list is empty."""
    attempts: list = []
    real_open, real_os_open, real_mkdir = builtins.open, os.open, os.mkdir

    def guarded_open(file, mode="r", *args, **kwargs):
        if any(c in mode for c in "wax+"):
            attempts.append(("open", file, mode))
        return real_open(file, mode, *args, **kwargs)

    def guarded_os_open(path, flags, *args, **kwargs):
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND):
            attempts.append(("os.open", path, flags))
        return real_os_open(path, flags, *args, **kwargs)

    def guarded_mkdir(path, *args, **kwargs):
        attempts.append(("mkdir", path))
        return real_mkdir(path, *args, **kwargs)

    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as work:
        os.chdir(work)
        builtins.open = io.open = guarded_open
        os.open, os.mkdir = guarded_os_open, guarded_mkdir
        try:
            yield attempts
        finally:
            builtins.open = io.open = real_open
            os.open, os.mkdir = real_os_open, real_mkdir
            os.chdir(cwd)
            leftovers = os.listdir(work)
            if leftovers:
                attempts.append(("left in the working folder", leftovers))
