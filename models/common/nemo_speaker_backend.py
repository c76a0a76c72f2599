"""Triton Python-backend model that serves a NeMo speaker-embedding model
(EncDecSpeakerLabelModel, e.g. TitaNet-large) under the speaker section of
NeMo Transcribe's model contract (models/contract.json, models/README.md).

A request carries one chunk of audio per row of AUDIO (16 kHz mono FP32, the
same chunk the ASR model gets) and, per row, the spans of it to embed as
[start, end) sample offsets in SPANS (INT64 [S, 2]). The answer is
EMBEDDINGS (FP32 [S, D]): one L2-normalised row per span, in the order of
the spans, or a zero row for a span shorter than min_span_seconds (the
client treats those as unknown).

Like nemo_asr_backend (whose request checks, error answers and logging it
shares), this module needs only numpy and triton_python_backend_utils; the
PyTorch and NeMo side is nemo_speaker_engine.py, loaded when an instance
starts. Audio stays in memory: NeMo gets padded arrays and their lengths,
never files.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Sequence

import numpy as np
import triton_python_backend_utils as pb_utils

from nemo_asr_backend import (
    INPUT_AUDIO,
    BackendModel,
    SAMPLE_RATE,
    BadRequest,
    ClipFailure,
    ConfigError,
    _is_cancelled,
    _log_error,
    _log_info,
    _log_warn,
    _positive_float,
    error_response,
    read_audio,
    read_parameters,
)

# The speaker contract (models/contract.json "speaker"; test_speaker_backend
# checks these against it).
INPUT_SPANS = "SPANS"
OUTPUT_EMBEDDINGS = "EMBEDDINGS"
KIND = "speaker_embedding"


@dataclasses.dataclass(frozen=True)
class SpeakerSettings:
    """The model's config.pbtxt parameters, checked.

    kind: "speaker_embedding" (what tells the client this is a speaker model).
    nemo_model: a pretrained name, downloaded into the cache on first start,
        or a path to a .nemo file (relative paths are relative to the model's
        folder).
    embedding_size: D, the width of every EMBEDDINGS row; checked against
        the checkpoint's decoder at load.
    min_span_seconds: shorter spans get a zero row instead of an embedding.
    max_spans: the most spans one chunk may carry.
    max_audio_seconds: longest chunk a request may carry.
    max_batch_seconds: spans are embedded in NeMo calls of at most this many
        seconds of padded audio (spans sorted by length, so little padding).
    precision: "auto" (bf16 from compute capability 8.0, else fp16), "bf16",
        "fp16" or "fp32".
    warmup: "true" embeds a small batch before the model reports ready.
    """

    name: str
    nemo_model: str
    embedding_size: int
    min_span_seconds: float
    max_spans: int
    max_audio_seconds: float
    max_batch_seconds: float
    precision: str
    warmup: bool

    KNOWN = (
        "kind",
        "nemo_model",
        "embedding_size",
        "min_span_seconds",
        "max_spans",
        "max_audio_seconds",
        "max_batch_seconds",
        "precision",
        "warmup",
    )

    @property
    def min_span_samples(self) -> int:
        return int(math.ceil(self.min_span_seconds * SAMPLE_RATE - 1e-9))

    @classmethod
    def from_model_config(cls, config: dict, model_dir: str) -> "SpeakerSettings":
        name, raw, nemo_model = read_parameters(config, model_dir, cls.KNOWN)
        if raw.get("kind") != KIND:
            raise ConfigError(f"{name}: parameter kind must be {KIND!r}, got {raw.get('kind', '')!r}")
        size = _positive_int(name, "embedding_size", raw.get("embedding_size", ""))
        spans = _positive_int(name, "max_spans", raw.get("max_spans") or "256")
        min_s = _positive_float(name, "min_span_seconds", raw.get("min_span_seconds") or "0.5")
        max_s = _positive_float(name, "max_audio_seconds", raw.get("max_audio_seconds") or "30")
        batch_s = _positive_float(name, "max_batch_seconds", raw.get("max_batch_seconds") or "240")
        if batch_s < max_s:
            raise ConfigError(f"{name}: max_batch_seconds {batch_s:g} must hold one span of max_audio_seconds {max_s:g}")
        precision = (raw.get("precision") or "auto").lower()
        if precision not in ("auto", "bf16", "fp16", "fp32"):
            raise ConfigError(f"{name}: precision must be auto, bf16, fp16 or fp32, got {precision!r}")
        warm = (raw.get("warmup") or "true").lower()
        if warm not in ("true", "false"):
            raise ConfigError(f"{name}: warmup must be true or false")
        return cls(
            name=name,
            nemo_model=nemo_model,
            embedding_size=size,
            min_span_seconds=min_s,
            max_spans=spans,
            max_audio_seconds=max_s,
            max_batch_seconds=batch_s,
            precision=precision,
            warmup=warm == "true",
        )


def _positive_int(model: str, key: str, value: str) -> int:
    try:
        v = int(value)
    except ValueError:
        raise ConfigError(f"{model}: {key} must be a positive integer, got {value!r}") from None
    if v < 1:
        raise ConfigError(f"{model}: {key} must be a positive integer, got {value!r}")
    return v


# ---------------------------------------------------------------------------
# Requests


def read_spans(request: Any, clips: list[np.ndarray], settings: SpeakerSettings) -> np.ndarray:
    """The request's SPANS as int64 [rows, S, 2], checked against its clips:
    0 <= start < end <= the chunk's length, at most max_spans per chunk."""
    tensor = pb_utils.get_input_tensor_by_name(request, INPUT_SPANS)
    if tensor is None:
        raise BadRequest(f"input '{INPUT_SPANS}' is missing")
    spans = tensor.as_numpy()
    if spans.dtype != np.int64:
        raise BadRequest(f"input '{INPUT_SPANS}' must be INT64, got {spans.dtype}")
    if spans.ndim != 3 or spans.shape[2] != 2:
        raise BadRequest(f"input '{INPUT_SPANS}' must have shape [batch, spans, 2], got {list(spans.shape)}")
    if spans.shape[0] != len(clips):
        raise BadRequest(
            f"input '{INPUT_SPANS}' has {spans.shape[0]} rows but '{INPUT_AUDIO}' has {len(clips)}: one set of spans per chunk"
        )
    if spans.shape[1] > settings.max_spans:
        raise BadRequest(
            f"{spans.shape[1]} spans in one chunk; model {settings.name} takes at most {settings.max_spans}"
        )
    n = clips[0].shape[0] if clips else 0
    for row in range(spans.shape[0]):
        for k, (start, end) in enumerate(spans[row]):
            if start < 0 or end > n:
                raise BadRequest(
                    f"span {k} [{start}, {end}) of chunk {row} is outside the chunk's {n} samples"
                )
            if end <= start:
                raise BadRequest(f"span {k} [{start}, {end}) of chunk {row} is empty: end must be after start")
    return np.array(spans, dtype=np.int64, copy=True)


# ---------------------------------------------------------------------------
# The engine seam and batch execution


class SpeakerEngine:
    """What the backend needs from a loaded model (nemo_speaker_engine.NemoSpeakerEngine)."""

    def embed(self, segments: list[np.ndarray]) -> np.ndarray:  # pragma: no cover
        """One raw (not normalised) embedding row per segment, [len, D]."""
        raise NotImplementedError

    def is_out_of_memory(self, exc: BaseException) -> bool:  # pragma: no cover
        return False

    def release_cached_memory(self) -> None:  # pragma: no cover
        pass

    def warm_up(self) -> None:  # pragma: no cover
        pass

    def close(self) -> None:  # pragma: no cover
        pass


@dataclasses.dataclass
class _Job:
    index: int
    rows: int
    spans: np.ndarray  # [rows, S, 2]
    out: np.ndarray  # [rows, S, D], zero rows for short spans
    failure: ClipFailure | None = None


@dataclasses.dataclass
class _Segment:
    job: _Job
    row: int
    span: int
    audio: np.ndarray


def normalise(rows: np.ndarray) -> np.ndarray:
    """Each row divided by its L2 norm (rows of norm 0 stay zero)."""
    rows = np.asarray(rows, dtype=np.float64)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return np.divide(rows, norms, out=np.zeros_like(rows), where=norms > 0).astype(np.float32)


class SpeakerBatcher:
    """Runs one execute() batch: validates each request on its own, embeds
    the spans of every valid request together in NeMo calls of at most
    max_batch_seconds of padded audio, and splits a failing call in halves
    until only the span that fails alone is left (a CUDA out-of-memory error
    on a big batch costs time, not requests)."""

    def __init__(self, settings: SpeakerSettings, engine: SpeakerEngine, log: Callable[[str], None] | None = None):
        self.settings = settings
        self.engine = engine
        self.log = log or (lambda msg: None)

    def execute(self, requests: Sequence[Any]) -> list:
        responses: list = [None] * len(requests)
        jobs: list[_Job] = []
        segments: list[_Segment] = []
        d = self.settings.embedding_size
        for i, request in enumerate(requests):
            if _is_cancelled(request):
                responses[i] = error_response("the request was cancelled", pb_utils.TritonError.CANCELLED)
                continue
            try:
                clips = read_audio(request, self.settings)
                spans = read_spans(request, clips, self.settings)
            except BadRequest as exc:
                responses[i] = error_response(str(exc), pb_utils.TritonError.INVALID_ARG)
                continue
            job = _Job(i, len(clips), spans, np.zeros((len(clips), spans.shape[1], d), dtype=np.float32))
            jobs.append(job)
            for row, clip in enumerate(clips):
                for k, (start, end) in enumerate(spans[row]):
                    if end - start >= self.settings.min_span_samples:
                        segments.append(_Segment(job, row, k, clip[start:end]))

        for group in self._groups(segments):
            results = self._embed_splitting([s.audio for s in group])
            for seg, result in zip(group, results):
                if isinstance(result, ClipFailure):
                    if seg.job.failure is None or result.out_of_memory:
                        seg.job.failure = result
                else:
                    seg.job.out[seg.row, seg.span] = result
        for job in jobs:
            responses[job.index] = self._response(job)
        return responses

    def _groups(self, segments: list[_Segment]) -> list[list[_Segment]]:
        """Segments sorted by length in groups whose padded audio (count x
        longest) stays within max_batch_seconds."""
        budget = int(self.settings.max_batch_seconds * SAMPLE_RATE)
        groups: list[list[_Segment]] = []
        current: list[_Segment] = []
        for seg in sorted(segments, key=lambda s: s.audio.shape[0]):
            if current and (len(current) + 1) * seg.audio.shape[0] > budget:
                groups.append(current)
                current = []
            current.append(seg)
        if current:
            groups.append(current)
        return groups

    def _embed_splitting(self, segments: list[np.ndarray]) -> list:
        result = self._embed_once(segments)
        if not isinstance(result, ClipFailure):
            return list(result)
        # Recovery runs after the except block of _embed_once has ended, so
        # the failed call's tensors are gone before memory is freed and the
        # halves run (the PyTorch FAQ: "My out of memory exception handler
        # can't allocate memory").
        if result.out_of_memory:
            self.engine.release_cached_memory()
        if len(segments) == 1:
            self.log(
                f"{self.settings.name}: a span of {segments[0].shape[0] / SAMPLE_RATE:.2f} s failed alone: {result.message}"
            )
            return [result]
        self.log(
            f"{self.settings.name}: a batch of {len(segments)} spans failed "
            f"({'out of GPU memory' if result.out_of_memory else result.message}); retrying it in halves"
        )
        mid = len(segments) // 2
        return self._embed_splitting(segments[:mid]) + self._embed_splitting(segments[mid:])

    def _embed_once(self, segments: list[np.ndarray]):
        """The normalised embeddings [len, D], or a ClipFailure that holds only text and a flag."""
        try:
            raw = np.asarray(self.engine.embed(segments), dtype=np.float64)
        except Exception as exc:  # noqa: BLE001 - each span gets its own verdict in the caller
            return ClipFailure(str(exc) or type(exc).__name__, bool(self.engine.is_out_of_memory(exc)))
        want = (len(segments), self.settings.embedding_size)
        if raw.shape != want:
            return ClipFailure(f"the model returned embeddings of shape {list(raw.shape)} for {list(want)}", False)
        if not np.isfinite(raw).all():
            return ClipFailure("the model returned a non-finite embedding", False)
        return normalise(raw)

    def _response(self, job: _Job):
        if job.failure is not None:
            if job.failure.out_of_memory:
                return error_response(
                    "the GPU ran out of memory for a span even on its own; "
                    "try again when the server is less busy, or send shorter spans",
                    pb_utils.TritonError.UNAVAILABLE,
                )
            return error_response(f"speaker embedding failed: {job.failure.message}", pb_utils.TritonError.INTERNAL)
        return pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor(OUTPUT_EMBEDDINGS, job.out)])


# ---------------------------------------------------------------------------
# The Triton model


def _default_engine_factory(settings: SpeakerSettings, kind: str, device_id: int, log: Callable[[str], None]):
    import nemo_speaker_engine  # PyTorch and NeMo are imported only here

    return nemo_speaker_engine.NemoSpeakerEngine(settings, kind, device_id, log)


# Tests replace this to run the backend on a fake engine.
ENGINE_FACTORY: Callable[..., SpeakerEngine] = _default_engine_factory


class TritonPythonModel(BackendModel):
    """A NeMo speaker-embedding model on Triton's Python backend."""

    def load_settings(self, config: dict, model_dir: str) -> SpeakerSettings:
        return SpeakerSettings.from_model_config(config, model_dir)

    def make_engine(self, kind: str, device_id: int) -> SpeakerEngine:
        return ENGINE_FACTORY(self.settings, kind, device_id, _log_info)

    def make_batcher(self) -> SpeakerBatcher:
        return SpeakerBatcher(self.settings, self.engine, _log_warn)

    def warm_up_engine(self) -> None:
        self.engine.warm_up()
