"""The PyTorch and NeMo side of the backend: loads a NeMo ASR model on the
instance's device and transcribes numpy clips with it.

NeMo calls used (NeMo 3.0; see the Dockerfile's NEMO_VERSION):
  ASRModel.from_pretrained(model_name=..., map_location=...) and
  ASRModel.restore_from(restore_path=..., map_location=...);
  model.change_attention_model("rel_pos_local_attn", [L, R]) and
  model.change_subsampling_conv_chunking_factor(1) for long audio;
  for transducer (Parakeet) and CTC models, model.change_decoding_strategy()
  once at load with compute_timestamps set, then
  model.transcribe(audio=[np.ndarray, ...], batch_size=..., return_hypotheses=True,
  verbose=False) without `timestamps`: given `timestamps`, rnnt_models.py
  rebuilds the decoding strategy on every call. Hypotheses then carry
  .timestamp['word'|'segment'] as frame offsets, which the backend converts;
  for Canary (prompt_format canary2), model.transcribe(..., timestamps=...,
  source_lang=, target_lang=, pnc=), whose aligner gives seconds.
Given arrays, NeMo builds its batches in memory and writes no manifest or
audio file (it only makes an empty temporary folder under $TMPDIR).
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import os
from typing import Callable

import numpy as np
import torch
from nemo.collections.asr.models import ASRModel
from omegaconf import open_dict

from nemo_asr_backend import SAMPLE_RATE, CallOptions, ConfigError, Engine, ModelSettings


class NemoEngine(Engine):
    def __init__(self, settings: ModelSettings, kind: str, device_id: int, log: Callable[[str], None]):
        self.settings = settings
        self.log = log
        self.device = select_device(settings.name, kind, device_id)

        model = for_inference(self._load(settings.nemo_model), self.device)
        if settings.local_attention_context is not None:
            if not hasattr(model, "change_attention_model"):
                raise ConfigError(f"{settings.name}: {settings.nemo_model} cannot switch to local attention")
            model.change_attention_model(
                self_attention_model="rel_pos_local_attn", att_context_size=list(settings.local_attention_context)
            )
            if hasattr(model, "change_subsampling_conv_chunking_factor"):
                model.change_subsampling_conv_chunking_factor(1)
            log(f"{settings.name}: local attention {list(settings.local_attention_context)}")
        self.model = model
        self.nemo_version = _nemo_version()
        # Transducer and CTC models get their decoding strategy here, once:
        # passing `timestamps` to their transcribe() would rebuild it per call.
        self.decoder_configured = self._configure_decoding(model)
        self.dtype = self._autocast_dtype(settings.precision)
        self.frame_seconds = _frame_seconds(model)

    def _configure_decoding(self, model) -> bool:
        if self.settings.prompt_format:  # Canary: timestamps go through its prompt and aligner
            return False
        decoding = getattr(getattr(model, "cfg", None), "decoding", None)
        change = getattr(model, "change_decoding_strategy", None)
        if decoding is None or change is None:
            return False
        # As NeMo's own transcribe(timestamps=True) sets them, but once.
        with open_dict(decoding):
            decoding.compute_timestamps = True
            decoding.preserve_alignments = True
        if "verbose" in inspect.signature(change).parameters:
            change(decoding, verbose=False)
        else:
            change(decoding)
        self.log(f"{self.settings.name}: decoding set up once with word and segment timestamps")
        return True

    def _load(self, name: str):
        return load_model(ASRModel, name, self.settings.name, self.device, self.log)

    def _autocast_dtype(self, precision: str):
        return autocast_dtype(self.settings.name, self.device, precision, self.log)

    def _precision(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.dtype)

    def transcribe(self, clips: list[np.ndarray], options: CallOptions) -> list:
        kwargs = dict(
            audio=list(clips),
            batch_size=len(clips),
            return_hypotheses=True,
            verbose=False,
        )
        if not self.decoder_configured:
            kwargs["timestamps"] = options.timestamps
        if self.settings.prompt_format == "canary2":
            kwargs.update(
                source_lang=options.source_lang,
                target_lang=options.target_lang,
                pnc="yes" if options.pnc is not False else "no",
            )
        with torch.inference_mode(), self._precision():
            out = self.model.transcribe(**kwargs)
        if isinstance(out, tuple):  # older RNNT releases return (best, all)
            out = out[0]
        return list(out)

    def is_out_of_memory(self, exc: BaseException) -> bool:
        return is_out_of_memory(exc)

    def release_cached_memory(self) -> None:
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def warm_up(self, options: CallOptions) -> None:
        # Quiet noise, with timestamps: a batch of two clips of different
        # lengths, then one clip alone (NeMo's Canary takes another path for a
        # single clip). The first calls pay for CUDA kernels, cuDNN autotuning
        # and the timestamp path, not a user; and a NeMo that cannot serve
        # either shape fails here, before the model reports ready.
        clips = warmup_clips()
        warm = CallOptions(True, options.source_lang, options.target_lang, options.pnc)
        self.transcribe(clips[:2], warm)
        self.transcribe(clips[2:], warm)
        self.log(f"{self.settings.name}: warm-up done")

    def close(self) -> None:
        release_model(self)


# ---------------------------------------------------------------------------
# Shared with nemo_speaker_engine: the instance's device, its autocast type
# and how a CUDA out-of-memory error looks.


def warmup_clips() -> list[np.ndarray]:
    """Quiet noise of 1, 2.5 and 1.5 s, the same every time: a batch of two
    clips of different lengths, then one clip alone."""
    rng = np.random.default_rng(0)
    return [(0.01 * rng.standard_normal(int(seconds * SAMPLE_RATE))).astype(np.float32) for seconds in (1.0, 2.5, 1.5)]


def release_model(engine) -> None:
    """Drops engine.model and gives its GPU memory back."""
    model = getattr(engine, "model", None)
    engine.model = None
    del model
    gc.collect()
    if getattr(engine, "device", None) is not None and engine.device.type == "cuda":
        torch.cuda.empty_cache()


def load_model(model_class, name: str, label: str, device, log: Callable[[str], None]):
    """A NeMo model of model_class from a .nemo file or a pretrained name
    (downloaded into the cache on first start), onto device."""
    if name.endswith(".nemo"):
        if not os.path.isfile(name):
            raise FileNotFoundError(f"{label}: no .nemo file at {name}")
        log(f"{label}: restoring {name}")
        return model_class.restore_from(restore_path=name, map_location=device)
    log(f"{label}: loading pretrained {name} (downloaded into the cache on first start)")
    return model_class.from_pretrained(model_name=name, map_location=device)


def for_inference(model, device):
    """model on device, in eval mode, without dither: the same audio always
    gives the same answer."""
    model = model.to(device)
    model.eval()
    featurizer = getattr(getattr(model, "preprocessor", None), "featurizer", None)
    if featurizer is not None and hasattr(featurizer, "dither"):
        featurizer.dither = 0.0
    return model


def select_device(name: str, kind: str, device_id: int):
    """The instance's device: its GPU (made current) for KIND_GPU, else the CPU."""
    if kind == "GPU":
        if not torch.cuda.is_available():
            raise RuntimeError(f"{name}: instance_group asks for a GPU, but PyTorch sees no CUDA device")
        device = torch.device(f"cuda:{device_id}")
        torch.cuda.set_device(device)
        return device
    return torch.device("cpu")


def autocast_dtype(name: str, device, precision: str, log: Callable[[str], None]):
    """bf16 only on compute capability 8.0 (Ampere) and newer. Not
    torch.cuda.is_bf16_supported(): by default it also counts emulation,
    and says True on Turing (7.5), where bf16 runs emulated and slow.
    None means no autocast (CPU, or fp32)."""
    if device.type != "cuda" or precision == "fp32":
        return None
    if precision == "fp16":
        return torch.float16
    major, minor = torch.cuda.get_device_capability(device)
    native_bf16 = major >= 8
    if precision == "bf16":
        if not native_bf16:
            raise ConfigError(
                f"{name}: precision bf16 needs a GPU of compute capability 8.0 or newer; "
                f"{device} has {major}.{minor} (use auto or fp16)"
            )
        return torch.bfloat16
    dtype = torch.bfloat16 if native_bf16 else torch.float16
    log(f"{name}: compute capability {major}.{minor}: autocast to {dtype}")
    return dtype


def is_out_of_memory(exc: BaseException) -> bool:
    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    text = str(exc)
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text.lower() or "CUBLAS_STATUS_ALLOC_FAILED" in text or "CUDNN_STATUS_ALLOC_FAILED" in text
    )


def _nemo_version() -> str:
    try:
        import nemo

        return str(getattr(nemo, "__version__", ""))
    except ImportError:  # pragma: no cover - nemo is imported above
        return ""


def _frame_seconds(model) -> float:
    """Seconds per encoder frame, for timestamps NeMo gives only as offsets."""
    try:
        stride = float(model.cfg.preprocessor.window_stride)
        factor = int(model.encoder.subsampling_factor)
        return stride * factor
    except (AttributeError, KeyError, TypeError, ValueError):
        return 0.08  # FastConformer: 10 ms hop, 8x subsampling
