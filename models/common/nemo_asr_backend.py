"""Triton Python-backend model that serves a NeMo ASR model under the model
contract of NeMo Transcribe (models/contract.json, models/README.md).

Every model in this repository uses this one module: its <model>/1/model.py
only puts this folder on sys.path and re-exports TritonPythonModel. What
differs between models (NeMo checkpoint, languages, tasks, limits) lives in
the parameters of its config.pbtxt, parsed by ModelSettings.

This module needs only numpy and triton_python_backend_utils; everything that
touches PyTorch or NeMo is in nemo_engine.py, loaded when an instance starts,
so the request handling here is unit-tested without Triton, NeMo or a GPU.

Audio reaches NeMo as numpy arrays, never as files: given file paths, NeMo
writes a manifest next to its temporary data, which is what broke the old app
on Windows (WinError 32).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from typing import Any, Callable, Sequence

import numpy as np
import triton_python_backend_utils as pb_utils

# The contract (models/contract.json; test_backend checks these against it).
INPUT_AUDIO = "AUDIO"
# Compact forms of the same audio (all three inputs are optional in
# config.pbtxt; a request carries exactly one): INT16 samples s, heard as
# s / 32768, and one FLAC stream per row (16 kHz mono 16-bit), decoded here
# to those INT16 samples. For a 16-bit source the model hears bit for bit
# what AUDIO would have carried.
INPUT_AUDIO_PCM16 = "AUDIO_PCM16"
INPUT_AUDIO_FLAC = "AUDIO_FLAC"
AUDIO_INPUTS = (INPUT_AUDIO, INPUT_AUDIO_PCM16, INPUT_AUDIO_FLAC)
PCM16_SCALE = np.float32(32768.0)
OUTPUT_TRANSCRIPT = "TRANSCRIPT"
OUTPUT_TIMESTAMPS = "TIMESTAMPS"
SAMPLE_RATE = 16000
PARAM_TIMESTAMPS = "timestamps"
PARAM_SOURCE_LANG = "source_lang"
PARAM_TARGET_LANG = "target_lang"
PARAM_TASK = "task"
PARAM_PNC = "pnc"

TASK_TRANSCRIBE = "asr"
TASK_TRANSLATE = "ast"

# Segments built from words end at sentence punctuation or at a pause this long.
SEGMENT_GAP_SECONDS = 1.0
_SENTENCE_END = (".", "?", "!", "…", "。", "？", "！")

EMPTY_TIMESTAMPS = '{"words":[],"segments":[]}'


class BadRequest(Exception):
    """A request the model cannot serve as sent; answered with INVALID_ARG."""


class ConfigError(ValueError):
    """A config.pbtxt parameter that makes no sense; the model fails to load."""


# ---------------------------------------------------------------------------
# Settings from config.pbtxt


def read_parameters(config: dict, model_dir: str, known: Sequence[str]) -> tuple[str, dict, str]:
    """The model's name, its config.pbtxt parameters (key -> stripped string;
    unknown lower-case keys refused, upper-case ones are Triton's) and its
    nemo_model (a pretrained name, or a .nemo path made absolute against the
    model's folder)."""
    name = str(config.get("name", "")) or os.path.basename(os.path.normpath(model_dir))
    raw = {}
    for key, value in (config.get("parameters") or {}).items():
        if isinstance(value, dict):
            value = value.get("string_value", "")
        raw[key] = str(value).strip()
    unknown = sorted(k for k in raw if k not in known and not k.isupper())
    if unknown:
        raise ConfigError(f"{name}: unknown parameter(s) {', '.join(unknown)} in config.pbtxt; known: {', '.join(known)}")
    nemo_model = raw.get("nemo_model", "")
    if not nemo_model:
        raise ConfigError(f"{name}: parameter nemo_model is required (a pretrained name or a .nemo path)")
    if nemo_model.endswith(".nemo") and not os.path.isabs(nemo_model):
        nemo_model = os.path.normpath(os.path.join(model_dir, nemo_model))
    return name, raw, nemo_model


@dataclasses.dataclass(frozen=True)
class ModelSettings:
    """The model's config.pbtxt parameters, checked.

    nemo_model: a pretrained name ("nvidia/parakeet-tdt-0.6b-v2"), downloaded
        into the cache on first start, or a path to a .nemo file (relative
        paths are relative to the model's folder).
    languages: codes the model understands, comma-separated.
    default_source_lang: language assumed when a request names none (models
        with a language prompt need one; others detect the language).
    tasks: "asr", or "asr,ast" for a model that also translates.
    translation_pairs: "any", or "en<->x": to or from English only.
    prompt_format: "" for models without a language prompt (Parakeet), or
        "canary2" for Canary-1B-v2's source_lang/target_lang/pnc prompt.
    timestamps: "always" computes them on every call (cheap for TDT, and the
        decoder is not reconfigured between calls), "on_request" only when a
        request asks (Canary aligns with a second model for them).
    precision: "auto" (bf16 where the GPU has it, else fp16), "bf16", "fp16"
        or "fp32".
    local_attention_context: "" for full attention, or "L,R" (e.g. "128,128")
        to switch the encoder to local attention at load time, which long
        chunks need to fit in memory.
    max_audio_seconds: longest clip a request may carry; longer ones are
        refused with INVALID_ARG instead of exhausting GPU memory.
    min_audio_seconds: shorter clips are padded with silence to this length.
    warmup: "true" runs one small batch before the model reports ready.
    """

    name: str
    nemo_model: str
    languages: tuple[str, ...]
    default_source_lang: str
    tasks: frozenset[str]
    translation_pairs: str
    prompt_format: str
    timestamps_always: bool
    precision: str
    local_attention_context: tuple[int, int] | None
    max_audio_seconds: float
    min_audio_seconds: float
    warmup: bool

    KNOWN = (
        "nemo_model",
        "languages",
        "default_source_lang",
        "tasks",
        "translation_pairs",
        "prompt_format",
        "timestamps",
        "precision",
        "local_attention_context",
        "max_audio_seconds",
        "min_audio_seconds",
        "warmup",
    )

    @classmethod
    def from_model_config(cls, config: dict, model_dir: str) -> "ModelSettings":
        name, raw, nemo_model = read_parameters(config, model_dir, cls.KNOWN)

        def get(key: str, default: str) -> str:
            return raw.get(key) or default

        languages = tuple(dict.fromkeys(_lang_code(x) for x in get("languages", "en").split(",") if x.strip()))
        if not languages:
            raise ConfigError(f"{name}: parameter languages lists no language")
        default_source = _lang_code(get("default_source_lang", languages[0]))
        if default_source not in languages:
            raise ConfigError(f"{name}: default_source_lang {default_source!r} is not one of languages")

        tasks = frozenset(t.strip().lower() for t in get("tasks", TASK_TRANSCRIBE).split(",") if t.strip())
        if not tasks or not tasks <= {TASK_TRANSCRIBE, TASK_TRANSLATE}:
            raise ConfigError(f"{name}: tasks must be 'asr' or 'asr,ast', got {raw.get('tasks')!r}")
        pairs = get("translation_pairs", "any").lower()
        if pairs not in ("any", "en<->x"):
            raise ConfigError(f"{name}: translation_pairs must be 'any' or 'en<->x', got {pairs!r}")
        prompt = raw.get("prompt_format", "").lower()
        if prompt not in ("", "canary2"):
            raise ConfigError(f"{name}: prompt_format must be '' or 'canary2', got {prompt!r}")
        if TASK_TRANSLATE in tasks and not prompt:
            raise ConfigError(f"{name}: translation needs a prompt_format that carries the target language")
        stamps = get("timestamps", "on_request").lower()
        if stamps not in ("always", "on_request"):
            raise ConfigError(f"{name}: timestamps must be 'always' or 'on_request', got {stamps!r}")
        precision = get("precision", "auto").lower()
        if precision not in ("auto", "bf16", "fp16", "fp32"):
            raise ConfigError(f"{name}: precision must be auto, bf16, fp16 or fp32, got {precision!r}")

        context = None
        ctx_raw = raw.get("local_attention_context", "")
        if ctx_raw:
            try:
                left, right = (int(x) for x in ctx_raw.split(","))
            except ValueError:
                raise ConfigError(f"{name}: local_attention_context must be 'left,right', e.g. '128,128'") from None
            if left <= 0 or right < 0:
                raise ConfigError(f"{name}: local_attention_context needs a positive left context")
            context = (left, right)

        max_s = _positive_float(name, "max_audio_seconds", get("max_audio_seconds", "1440"))
        min_s = _positive_float(name, "min_audio_seconds", get("min_audio_seconds", "1.0"), allow_zero=True)
        warm = get("warmup", "true").lower()
        if warm not in ("true", "false"):
            raise ConfigError(f"{name}: warmup must be true or false")
        return cls(
            name=name,
            nemo_model=nemo_model,
            languages=languages,
            default_source_lang=default_source,
            tasks=tasks,
            translation_pairs=pairs,
            prompt_format=prompt,
            timestamps_always=stamps == "always",
            precision=precision,
            local_attention_context=context,
            max_audio_seconds=max_s,
            min_audio_seconds=min_s,
            warmup=warm == "true",
        )


def _positive_float(model: str, key: str, value: str, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except ValueError:
        raise ConfigError(f"{model}: {key} must be a number of seconds, got {value!r}") from None
    if not math.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ConfigError(f"{model}: {key} must be positive, got {value!r}")
    return v


def _lang_code(value: str) -> str:
    # "en-US" and "EN" both mean English to these models.
    return value.strip().lower().replace("_", "-").split("-")[0]


# ---------------------------------------------------------------------------
# Request options


@dataclasses.dataclass(frozen=True)
class CallOptions:
    """What one NeMo transcribe call is made with; requests that share these
    are transcribed together."""

    timestamps: bool
    source_lang: str | None = None
    target_lang: str | None = None
    pnc: bool | None = None


@dataclasses.dataclass(frozen=True)
class RequestOptions:
    call: CallOptions
    want_timestamps: bool


def parse_parameters(raw: Any) -> dict:
    """request.parameters() is a JSON object as a string ("" or "{}" when none)."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    try:
        params = json.loads(raw)
    except (TypeError, ValueError) as exc:
        raise BadRequest(f"request parameters are not valid JSON: {exc}") from None
    if not isinstance(params, dict):
        raise BadRequest("request parameters must be a JSON object")
    return params


def resolve_options(params: dict, settings: ModelSettings) -> RequestOptions:
    """Checks the contract's request parameters against what this model can do.

    Parameters the model has no use for are ignored (the contract says so),
    but a request for something it cannot do — a language it does not know, a
    translation from a model that only transcribes — is refused, so that the
    user never gets a transcript in place of the translation they asked for.
    """
    want_ts = _bool_param(params, PARAM_TIMESTAMPS, True)
    pnc = _bool_param(params, PARAM_PNC, True)
    source = _lang_param(params, PARAM_SOURCE_LANG, settings)
    target = _lang_param(params, PARAM_TARGET_LANG, settings)
    task = params.get(PARAM_TASK)
    if task is not None:
        if not isinstance(task, str):
            raise BadRequest(f"parameter '{PARAM_TASK}' must be a string ('asr' or 'ast')")
        task = task.strip().lower() or None
    if task not in (None, TASK_TRANSCRIBE, TASK_TRANSLATE):
        raise BadRequest(f"unknown task {params.get(PARAM_TASK)!r}: use 'asr' (transcribe) or 'ast' (translate)")

    translates = TASK_TRANSLATE in settings.tasks
    src = source or settings.default_source_lang
    if task is None:
        task = TASK_TRANSLATE if translates and target is not None and target != src else TASK_TRANSCRIBE
    if task == TASK_TRANSLATE and not translates:
        raise BadRequest(f"model {settings.name} only transcribes (task 'asr'); it cannot translate (task 'ast')")

    if not translates:
        # Transcription only: a target language that differs from the spoken
        # one asks for a translation this model cannot make.
        if target is not None and source is not None and target != source:
            raise BadRequest(
                f"model {settings.name} only transcribes: target_lang {target!r} differs from source_lang {source!r}"
            )
        if settings.prompt_format:
            return RequestOptions(CallOptions(_call_ts(settings, want_ts), src, src, pnc), want_ts)
        return RequestOptions(CallOptions(_call_ts(settings, want_ts)), want_ts)

    if task == TASK_TRANSCRIBE:
        if target is not None and target != src:
            raise BadRequest(
                f"task 'asr' transcribes, but target_lang {target!r} differs from source_lang {src!r}; "
                "use task 'ast' to translate"
            )
        tgt = src
    else:
        if target is None:
            raise BadRequest("task 'ast' (translate) needs target_lang")
        if target == src:
            raise BadRequest(f"task 'ast' needs a target_lang different from source_lang {src!r}")
        if settings.translation_pairs == "en<->x" and "en" not in (src, target):
            raise BadRequest(
                f"model {settings.name} translates only to or from English, not {src!r} to {target!r}"
            )
        tgt = target
    return RequestOptions(CallOptions(_call_ts(settings, want_ts), src, tgt, pnc), want_ts)


def _call_ts(settings: ModelSettings, want: bool) -> bool:
    return True if settings.timestamps_always else want


def _bool_param(params: dict, key: str, default: bool) -> bool:
    if key not in params:
        return default
    value = params[key]
    if not isinstance(value, bool):
        raise BadRequest(f"parameter '{key}' must be a bool, got {value!r}")
    return value


def _lang_param(params: dict, key: str, settings: ModelSettings) -> str | None:
    if key not in params:
        return None
    value = params[key]
    if not isinstance(value, str):
        raise BadRequest(f"parameter '{key}' must be a string such as 'en'")
    if not value.strip():
        return None
    code = _lang_code(value)
    if code not in settings.languages:
        raise BadRequest(
            f"unknown {key} {value!r} for model {settings.name}; it knows: {', '.join(settings.languages)}"
        )
    return code


# ---------------------------------------------------------------------------
# Audio


def read_audio(request: Any, settings: ModelSettings, decode_flac: Callable[[bytes], np.ndarray] | None = None) -> list[np.ndarray]:
    """The request's audio rows as separate float32 clips (copies: Triton
    reuses the request's memory once execute returns), from whichever one
    of AUDIO (FP32), AUDIO_PCM16 (INT16) or AUDIO_FLAC (BYTES) it carries.
    Triton lets a request leave out an optional input, and the Python
    backend then gives None for it; none or more than one is refused."""
    present = []
    for name in AUDIO_INPUTS:
        tensor = pb_utils.get_input_tensor_by_name(request, name)
        if tensor is not None:
            present.append((name, tensor))
    if not present:
        raise BadRequest(
            f"input '{INPUT_AUDIO}' is missing: send exactly one of {INPUT_AUDIO} (FP32), "
            f"{INPUT_AUDIO_PCM16} (INT16) or {INPUT_AUDIO_FLAC} (BYTES, one FLAC stream per row)"
        )
    if len(present) > 1:
        names = ", ".join(name for name, _ in present)
        raise BadRequest(f"the request carries {len(present)} audio inputs ({names}): send exactly one")
    name, tensor = present[0]
    audio = tensor.as_numpy()
    if name == INPUT_AUDIO_FLAC:
        decode = decode_flac or (lambda data: decode_flac_stream(data, settings.max_audio_seconds))
        rows = _flac_rows(audio, decode)
    else:
        want = np.float32 if name == INPUT_AUDIO else np.int16
        if audio.dtype != want:
            label = "FP32" if name == INPUT_AUDIO else "INT16"
            raise BadRequest(f"input '{name}' must be {label}, got {audio.dtype}")
        if audio.ndim != 2:
            raise BadRequest(f"input '{name}' must have shape [batch, samples], got {list(audio.shape)}")
        if audio.shape[0] == 0 or audio.shape[1] == 0:
            raise BadRequest(f"input '{name}' is empty (shape {list(audio.shape)})")
        rows = list(audio)
    for row in rows:
        seconds = row.shape[0] / SAMPLE_RATE
        if seconds > settings.max_audio_seconds:
            raise BadRequest(
                f"a chunk of {seconds:.1f} s is longer than the {settings.max_audio_seconds:g} s model "
                f"{settings.name} accepts; cut the audio into shorter chunks"
            )
    if name == INPUT_AUDIO:
        if not np.isfinite(audio).all():
            raise BadRequest(f"input '{INPUT_AUDIO}' contains NaN or infinite samples")
        return [np.array(row, dtype=np.float32, copy=True) for row in rows]
    return [pcm16_to_float(row) for row in rows]


def pcm16_to_float(samples: np.ndarray) -> np.ndarray:
    """INT16 samples as float32 s / 32768: exact (every int16 is a float32,
    and dividing by a power of two only changes the exponent), so a 16-bit
    source arrives as the same float32 values as through AUDIO."""
    return samples.astype(np.float32) / PCM16_SCALE


def _flac_rows(audio: np.ndarray, decode: Callable[[bytes], np.ndarray]) -> list[np.ndarray]:
    if audio.ndim != 2 or audio.shape[1] != 1:
        raise BadRequest(
            f"input '{INPUT_AUDIO_FLAC}' must have shape [batch, 1] (one FLAC stream per row), got {list(audio.shape)}"
        )
    if audio.shape[0] == 0:
        raise BadRequest(f"input '{INPUT_AUDIO_FLAC}' is empty (shape {list(audio.shape)})")
    rows = []
    for k, item in enumerate(audio[:, 0]):
        data = item if isinstance(item, bytes) else bytes(item)
        try:
            samples = decode(data)
        except BadRequest:
            raise
        except Exception as exc:  # the decoder's own error says what is wrong with the stream
            raise BadRequest(f"input '{INPUT_AUDIO_FLAC}' row {k} is not a FLAC stream this model can read: {exc}") from None
        if samples.dtype != np.int16 or samples.ndim != 1:
            raise BadRequest(f"input '{INPUT_AUDIO_FLAC}' row {k} did not decode to mono 16-bit samples")
        if samples.shape[0] == 0:
            raise BadRequest(f"input '{INPUT_AUDIO_FLAC}' row {k} is empty")
        rows.append(samples)
    return rows


def decode_flac_stream(data: bytes, max_seconds: float | None = None) -> np.ndarray:
    """One FLAC stream (16 kHz, mono, 16-bit) as int16 samples, decoded in
    memory with soundfile (libsndfile), which NeMo's ASR requirements
    install. Any other rate, channel count or sample size is refused: the
    samples must be the 16-bit samples the client had. A stream whose
    header says it is longer than max_seconds is refused before it is
    decoded (FLAC of silence is tiny, its samples are not)."""
    import io

    import soundfile  # a NeMo dependency; imported here so that the tests can do without it

    with soundfile.SoundFile(io.BytesIO(data)) as f:
        if f.format != "FLAC":
            raise BadRequest(f"input '{INPUT_AUDIO_FLAC}' holds {f.format}, not FLAC")
        if f.samplerate != SAMPLE_RATE or f.channels != 1 or f.subtype != "PCM_16":
            raise BadRequest(
                f"input '{INPUT_AUDIO_FLAC}' must be {SAMPLE_RATE} Hz mono 16-bit FLAC, got "
                f"{f.samplerate} Hz, {f.channels} channel(s), {f.subtype}"
            )
        if max_seconds is not None and f.frames > max_seconds * SAMPLE_RATE:
            raise BadRequest(
                f"a chunk of {f.frames / SAMPLE_RATE:.1f} s is longer than the {max_seconds:g} s this model "
                "accepts; cut the audio into shorter chunks"
            )
        return f.read(dtype="int16", always_2d=False)


def pad_to_minimum(clip: np.ndarray, min_seconds: float) -> np.ndarray:
    """Pads a clip with silence at the end: times within it stay the same."""
    need = int(math.ceil(min_seconds * SAMPLE_RATE))
    if clip.shape[0] >= need:
        return clip
    return np.concatenate([clip, np.zeros(need - clip.shape[0], dtype=np.float32)])


# ---------------------------------------------------------------------------
# Hypotheses to the contract's outputs


def hypothesis_text(hyp: Any) -> str:
    if isinstance(hyp, str):
        return hyp.strip()
    text = getattr(hyp, "text", "")
    if isinstance(text, (list, tuple)):  # some decoders return token pieces
        text = " ".join(str(t) for t in text)
    return str(text or "").strip()


def timestamps_json(hyp: Any, duration: float, frame_seconds: float) -> str:
    """TIMESTAMPS for one clip: {"words":[{word,start,end}],"segments":[{text,start,end}]}.

    NeMo's hypotheses carry timestamp['word'] entries {'word', 'start', 'end'}
    and timestamp['segment'] entries {'segment', 'start', 'end'} in seconds
    (with frame offsets 'start_offset'/'end_offset' beside them). Times are
    rounded to milliseconds and kept inside the clip. Entries that Canary's
    forced aligner could not place carry -1 as their start or end (NeMo's
    aligner_utils marks them so); they are dropped, not moved to 0.0. When the
    model gives words but no segments, segments are made from the words; when
    it gives neither but text, the text is one segment spanning the clip.
    """
    stamps = getattr(hyp, "timestamp", None)
    if not isinstance(stamps, dict):
        stamps = {}
    words = _entries(stamps.get("word"), ("word", "text", "char"), "word", duration, frame_seconds)
    segments = _entries(stamps.get("segment"), ("segment", "text"), "text", duration, frame_seconds)
    if not segments and words:
        segments = segments_from_words(words)
    text = hypothesis_text(hyp)
    if not segments and not words and text:
        segments = [{"text": text, "start": 0.0, "end": _ms(duration)}]
    return json.dumps({"words": words, "segments": segments}, ensure_ascii=False, separators=(",", ":"))


def _entries(raw: Any, text_keys: Sequence[str], out_key: str, duration: float, frame_seconds: float) -> list:
    out = []
    for entry in raw or []:
        if not isinstance(entry, dict):
            continue
        text = next((entry[k] for k in text_keys if isinstance(entry.get(k), str)), "")
        if isinstance(text, (list, tuple)):
            text = " ".join(map(str, text))
        text = str(text).strip()
        if not text or _unplaced(entry):
            continue
        start = _seconds(entry, "start", frame_seconds)
        end = _seconds(entry, "end", frame_seconds)
        if start is None or end is None:
            continue
        start = _ms(min(max(start, 0.0), duration))
        end = _ms(min(max(end, start), duration))
        out.append({out_key: text, "start": start, "end": end})
    return out


# NeMo's forced aligner (get_forced_aligned_timestamps_with_external_model,
# from aligner_utils' t_start/t_end) writes -1 for a word or segment it could
# not find in the audio, both as seconds and as frame offsets.
UNPLACED = -1


def _unplaced(entry: dict) -> bool:
    for key in ("start", "end", "start_offset", "end_offset"):
        value = entry.get(key)
        if value is None:
            continue
        try:
            if float(value) == UNPLACED:
                return True
        except (TypeError, ValueError):
            continue
    return False


def _seconds(entry: dict, key: str, frame_seconds: float) -> float | None:
    value = entry.get(key)
    if value is None and entry.get(key + "_offset") is not None:
        value = float(entry[key + "_offset"]) * frame_seconds
    if value is None:
        return None
    try:
        value = float(value)  # numpy / torch scalars too
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def segments_from_words(words: list[dict]) -> list[dict]:
    segments: list[dict] = []
    current: list[dict] = []
    for i, w in enumerate(words):
        current.append(w)
        last = i == len(words) - 1
        gap = not last and words[i + 1]["start"] - w["end"] >= SEGMENT_GAP_SECONDS
        if last or gap or w["word"].endswith(_SENTENCE_END):
            segments.append(
                {"text": " ".join(x["word"] for x in current), "start": current[0]["start"], "end": current[-1]["end"]}
            )
            current = []
    return segments


def _ms(seconds: float) -> float:
    return round(float(seconds), 3)


# ---------------------------------------------------------------------------
# The engine seam and batch execution


class Engine:
    """What the backend needs from a loaded model (nemo_engine.NemoEngine)."""

    frame_seconds: float = 0.08

    def transcribe(self, clips: list[np.ndarray], options: CallOptions) -> list:  # pragma: no cover
        raise NotImplementedError

    def is_out_of_memory(self, exc: BaseException) -> bool:  # pragma: no cover
        return False

    def release_cached_memory(self) -> None:  # pragma: no cover
        pass

    def warm_up(self, options: CallOptions) -> None:  # pragma: no cover
        pass

    def close(self) -> None:  # pragma: no cover
        pass


@dataclasses.dataclass(frozen=True)
class ClipFailure:
    """What is kept of a failed NeMo call: its message, never the exception,
    whose traceback holds the failed frames and so their GPU tensors."""

    message: str
    out_of_memory: bool


@dataclasses.dataclass
class _Job:
    index: int
    clips: list[np.ndarray]
    options: RequestOptions


class Batcher:
    """Runs one execute() batch: validates each request on its own, groups the
    valid ones by call options, transcribes each group in one NeMo call, and
    splits a failing call in halves until only the clip that fails alone is
    left (a CUDA out-of-memory error on a big batch costs time, not requests).
    """

    def __init__(
        self,
        settings: ModelSettings,
        engine: Engine,
        log: Callable[[str], None] | None = None,
        decode_flac: Callable[[bytes], np.ndarray] | None = None,
    ):
        self.settings = settings
        self.engine = engine
        self.log = log or (lambda msg: None)
        self.decode_flac = decode_flac  # None: soundfile, within the model's max_audio_seconds

    def execute(self, requests: Sequence[Any]) -> list:
        responses: list = [None] * len(requests)
        groups: dict[CallOptions, list[_Job]] = {}
        for i, request in enumerate(requests):
            if _is_cancelled(request):
                responses[i] = error_response("the request was cancelled", pb_utils.TritonError.CANCELLED)
                continue
            try:
                options = resolve_options(parse_parameters(request.parameters()), self.settings)
                clips = read_audio(request, self.settings, self.decode_flac)
            except BadRequest as exc:
                responses[i] = error_response(str(exc), pb_utils.TritonError.INVALID_ARG)
                continue
            groups.setdefault(options.call, []).append(_Job(i, clips, options))

        for call, jobs in groups.items():
            flat = [(job, k) for job in jobs for k in range(len(job.clips))]
            padded = [pad_to_minimum(job.clips[k], self.settings.min_audio_seconds) for job, k in flat]
            results = self._transcribe_splitting(padded, call)
            per_job: dict[int, list] = {}
            for (job, _), result in zip(flat, results):
                per_job.setdefault(job.index, []).append(result)
            for job in jobs:
                responses[job.index] = self._response(job, per_job[job.index])
        return responses

    def _transcribe_splitting(self, clips: list[np.ndarray], call: CallOptions) -> list:
        failure = self._transcribe_once(clips, call)
        if not isinstance(failure, ClipFailure):
            return failure
        # Recovery runs here, after the except block of _transcribe_once has
        # ended: by now the exception and its traceback are gone, so the
        # tensors of the failed attempt can be freed before the retry (the
        # PyTorch FAQ: "My out of memory exception handler can't allocate
        # memory").
        if failure.out_of_memory:
            self.engine.release_cached_memory()
        if len(clips) == 1:
            self.log(
                f"{self.settings.name}: a clip of {clips[0].shape[0] / SAMPLE_RATE:.1f} s failed alone: {failure.message}"
            )
            return [failure]
        self.log(
            f"{self.settings.name}: a batch of {len(clips)} failed "
            f"({'out of GPU memory' if failure.out_of_memory else failure.message}); retrying it in halves"
        )
        mid = len(clips) // 2
        return self._transcribe_splitting(clips[:mid], call) + self._transcribe_splitting(clips[mid:], call)

    def _transcribe_once(self, clips: list[np.ndarray], call: CallOptions):
        """The hypotheses, or a ClipFailure that holds only text and a flag."""
        try:
            hyps = list(self.engine.transcribe(clips, call))
        except Exception as exc:  # noqa: BLE001 - each clip gets its own verdict in the caller
            return ClipFailure(str(exc) or type(exc).__name__, bool(self.engine.is_out_of_memory(exc)))
        if len(hyps) != len(clips):
            return ClipFailure(f"the model returned {len(hyps)} results for {len(clips)} clips", False)
        return hyps

    def _response(self, job: _Job, results: list):
        for result in results:
            if isinstance(result, ClipFailure):
                seconds = max(c.shape[0] for c in job.clips) / SAMPLE_RATE
                if result.out_of_memory:
                    return error_response(
                        f"the GPU ran out of memory for a {seconds:.1f} s chunk even on its own; "
                        "try again when the server is less busy, or send shorter chunks",
                        pb_utils.TritonError.UNAVAILABLE,
                    )
                return error_response(f"transcription failed: {result.message}", pb_utils.TritonError.INTERNAL)
        texts, stamps = [], []
        for clip, hyp in zip(job.clips, results):
            texts.append(hypothesis_text(hyp).encode("utf-8"))
            if job.options.want_timestamps:
                doc = timestamps_json(hyp, clip.shape[0] / SAMPLE_RATE, self.engine.frame_seconds)
            else:
                doc = EMPTY_TIMESTAMPS
            stamps.append(doc.encode("utf-8"))
        return pb_utils.InferenceResponse(
            output_tensors=[
                pb_utils.Tensor(OUTPUT_TRANSCRIPT, np.array(texts, dtype=np.object_).reshape(-1, 1)),
                pb_utils.Tensor(OUTPUT_TIMESTAMPS, np.array(stamps, dtype=np.object_).reshape(-1, 1)),
            ]
        )


def error_response(message: str, code: Any):
    return pb_utils.InferenceResponse(output_tensors=[], error=pb_utils.TritonError(message, code))


def _is_cancelled(request: Any) -> bool:
    check = getattr(request, "is_cancelled", None)
    try:
        return bool(check()) if callable(check) else False
    except Exception:  # noqa: BLE001 - an older stub without cancellation support
        return False


# ---------------------------------------------------------------------------
# The Triton model


def _default_engine_factory(settings: ModelSettings, kind: str, device_id: int, log: Callable[[str], None]) -> Engine:
    import nemo_engine  # PyTorch and NeMo are imported only here

    return nemo_engine.NemoEngine(settings, kind, device_id, log)


# Tests replace this to run the backend on a fake engine.
ENGINE_FACTORY: Callable[..., Engine] = _default_engine_factory


class BackendModel:
    """The entry points Triton's Python backend calls (initialize, execute,
    finalize), shared by the speech and the speaker backends. A subclass says
    how to read its settings, build its engine and batcher, and warm up."""

    def load_settings(self, config: dict, model_dir: str):
        raise NotImplementedError

    def make_engine(self, kind: str, device_id: int):
        raise NotImplementedError

    def make_batcher(self):
        raise NotImplementedError

    def warm_up_engine(self) -> None:
        raise NotImplementedError

    def initialize(self, args: dict) -> None:
        config = json.loads(args["model_config"])
        model_dir = args.get("model_repository") or ""
        self.settings = self.load_settings(config, model_dir)
        kind = str(args.get("model_instance_kind", "GPU")).upper()
        device_id = int(args.get("model_instance_device_id") or 0)
        started = time.monotonic()
        self.engine = self.make_engine(kind, device_id)
        if self.settings.warmup:
            message = self._warm_up()
            if message is not None:
                # A model that cannot warm up does not load: free its GPU
                # memory (outside the except block, so nothing of the failed
                # call is held), say why in one line, and fail initialize.
                self.finalize()
                _log_error(message)
                raise RuntimeError(message)
        _log_info(
            f"{self.settings.name}: {self.settings.nemo_model} ready on {kind} {device_id} "
            f"in {time.monotonic() - started:.1f} s"
        )
        self.batcher = self.make_batcher()

    def _warm_up(self) -> str | None:
        """None when the warm-up went through, else the log line saying why not."""
        try:
            self.warm_up_engine()
        except Exception as exc:  # noqa: BLE001 - every failure fails the load, with its reason
            return warmup_failure_message(self.settings, exc, getattr(self.engine, "nemo_version", ""))
        return None

    def execute(self, requests: list) -> list:
        return self.batcher.execute(requests)

    def finalize(self) -> None:
        engine = getattr(self, "engine", None)
        self.engine = None
        self.batcher = None
        if engine is not None:
            engine.close()


class TritonPythonModel(BackendModel):
    """A NeMo speech-recognition model on Triton's Python backend."""

    def load_settings(self, config: dict, model_dir: str) -> ModelSettings:
        return ModelSettings.from_model_config(config, model_dir)

    def make_engine(self, kind: str, device_id: int) -> Engine:
        return ENGINE_FACTORY(self.settings, kind, device_id, _log_info)

    def make_batcher(self) -> Batcher:
        return Batcher(self.settings, self.engine, _log_warn)

    def warm_up_engine(self) -> None:
        self.engine.warm_up(default_call_options(self.settings))


def default_call_options(settings: ModelSettings) -> CallOptions:
    return resolve_options({}, settings).call


# NeMo's EncDecMultiTaskModel (Canary) reads batch.audio in
# _transcribe_output_processing when it aligns timestamps, but in-memory audio
# comes as the plain tuple of _speech_collate_fn: releases without
# NVIDIA-NeMo/Speech PR 15291 fail there (issues 14877, 15156, 15286).
TUPLE_BATCH_BUG = "'tuple' object has no attribute"
NEMO_WITH_TUPLE_BATCH_FIX = "3.0.0"


def warmup_failure_message(settings: ModelSettings, exc: BaseException, nemo_version: str = "") -> str:
    version = f"nemo_toolkit {nemo_version}" if nemo_version else "this nemo_toolkit"
    text = str(exc) or type(exc).__name__
    if isinstance(exc, AttributeError) and TUPLE_BATCH_BUG in text:
        return (
            f"{settings.name}: not loaded: warm-up failed because {version} cannot give timestamps for "
            f"audio passed as arrays ({type(exc).__name__}: {text}; NVIDIA-NeMo/Speech issues 14877, 15156, "
            f"15286, fixed by PR 15291); build the image with NEMO_VERSION {NEMO_WITH_TUPLE_BATCH_FIX} or newer"
        )
    return f"{settings.name}: not loaded: warm-up failed with {version}: {type(exc).__name__}: {text}"


def _log_info(message: str) -> None:
    _log("log_info", message)


def _log_warn(message: str) -> None:
    _log("log_warn", message)


def _log_error(message: str) -> None:
    _log("log_error", message)


def _log(level: str, message: str) -> None:
    logger = getattr(pb_utils, "Logger", None)
    fn = getattr(logger, level, None) if logger is not None else None
    if fn is not None:
        fn(message)
    else:
        print(message, flush=True)
