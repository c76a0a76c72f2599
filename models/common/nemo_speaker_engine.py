"""The PyTorch and NeMo side of the speaker-embedding backend: loads a NeMo
EncDecSpeakerLabelModel (TitaNet-large) on the instance's device and embeds
numpy segments with it.

NeMo calls used (nemo/collections/asr/models/label_models.py):
  EncDecSpeakerLabelModel.from_pretrained(model_name=..., map_location=...)
  and .restore_from(restore_path=..., map_location=...);
  model.forward(input_signal=[B, T] float32, input_signal_length=[B] int64),
  which returns (logits, embs) with embs [B, D], D the last of the decoder's
  emb_sizes (192 for TitaNet-large), not normalised (NeMo's own
  verify_speakers divides by the norm). That is the batched, in-memory path
  NeMo's online diarizer takes (online_diarizer.py, _run_embedding_extractor);
  infer_segment() embeds one segment per call, and batch_inference() and
  get_embedding() read files from a manifest.
"""

from __future__ import annotations

import contextlib
import gc
from typing import Callable

import numpy as np
import torch
from nemo.collections.asr.models import EncDecSpeakerLabelModel

from nemo_asr_backend import ConfigError
from nemo_engine import (
    _nemo_version,
    autocast_dtype,
    for_inference,
    is_out_of_memory,
    load_model,
    release_model,
    select_device,
    warmup_clips,
)
from nemo_speaker_backend import SpeakerEngine, SpeakerSettings


class NemoSpeakerEngine(SpeakerEngine):
    def __init__(self, settings: SpeakerSettings, kind: str, device_id: int, log: Callable[[str], None]):
        self.settings = settings
        self.log = log
        self.device = select_device(settings.name, kind, device_id)
        model = for_inference(self._load(settings.nemo_model), self.device)
        self.model = model
        size = _embedding_size(model)
        if size is not None and size != settings.embedding_size:
            raise ConfigError(
                f"{settings.name}: {settings.nemo_model} gives embeddings of {size} values, "
                f"but config.pbtxt says embedding_size {settings.embedding_size}"
            )
        self.nemo_version = _nemo_version()
        self.dtype = autocast_dtype(settings.name, self.device, settings.precision, log)

    def _load(self, name: str):
        return load_model(EncDecSpeakerLabelModel, name, self.settings.name, self.device, self.log)

    def _precision(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type="cuda", dtype=self.dtype)

    def embed(self, segments: list[np.ndarray]) -> np.ndarray:
        """One raw embedding per segment: the segments padded with zeros into
        one [B, T] batch, with their true lengths, through forward()."""
        lengths = np.array([s.shape[0] for s in segments], dtype=np.int64)
        batch = np.zeros((len(segments), int(lengths.max())), dtype=np.float32)
        for i, s in enumerate(segments):
            batch[i, : s.shape[0]] = s
        signal = torch.from_numpy(batch).to(self.device)
        signal_length = torch.from_numpy(lengths).to(self.device)
        with torch.inference_mode(), self._precision():
            _, embs = self.model.forward(input_signal=signal, input_signal_length=signal_length)
        return embs.float().cpu().numpy()

    def is_out_of_memory(self, exc: BaseException) -> bool:
        return is_out_of_memory(exc)

    def release_cached_memory(self) -> None:
        gc.collect()
        if self.device.type == "cuda":
            torch.cuda.empty_cache()

    def warm_up(self) -> None:
        # Quiet noise: a batch of two segments of different lengths, then one
        # alone. The first calls pay for CUDA kernels and cuDNN autotuning,
        # not a user, and a model that cannot embed fails before it reports
        # ready.
        segments = warmup_clips()
        for batch in (segments[:2], segments[2:]):
            out = self.embed(batch)
            if out.shape != (len(batch), self.settings.embedding_size) or not np.isfinite(out).all():
                raise RuntimeError(f"warm-up gave embeddings of shape {list(out.shape)}")
        self.log(f"{self.settings.name}: warm-up done")

    def close(self) -> None:
        release_model(self)


def _embedding_size(model) -> int | None:
    """D from the checkpoint's config: the last of decoder.emb_sizes (the
    SpeakerDecoder returns the last embedding layer's output)."""
    try:
        sizes = model.cfg.decoder.emb_sizes
    except AttributeError:
        return None
    if isinstance(sizes, (int, np.integer)):
        return int(sizes)
    try:
        return int(list(sizes)[-1])
    except (TypeError, ValueError, IndexError):
        return None
