"""Stand-ins for PyTorch and NeMo, for unit tests of the backend without a GPU.

install() puts modules named torch, torch.cuda, omegaconf and
nemo.collections.asr.models into sys.modules, so nemo_engine.py and
nemo_speaker_engine.py run unchanged against them.

The fake ASR models "hear" a synthetic language: a word is a stretch of
constant amplitude (see synth()), silence is anything quieter than 0.05. They
answer like NeMo's real models do: a list of Hypothesis objects with .text
and .timestamp['word'|'segment'] entries holding frame offsets (80 ms frames)
and, where NeMo converts them, seconds; punctuation attached to words; and
Canary-style prompt arguments (source_lang, target_lang, pnc) for the Canary
fake. Where real NeMo has a trap, the fake has it too, so a test fails when
the backend walks into it:

- FakeParakeet.transcribe(timestamps=...) rebuilds the decoding strategy on
  every call that passes timestamps, as rnnt_models.py does
  (`decoder_rebuilds` counts them); without the argument, timestamps come
  only from a decoding strategy set with compute_timestamps, as frame offsets.
- FakeCanary batches in-memory audio as the plain tuple NeMo's
  _speech_collate_fn returns; with `tuple_batch_fixed = False` its timestamp
  path reads `batch.audio` as releases without NVIDIA-NeMo/Speech PR 15291
  do, and raises the same AttributeError.
- FakeCanary's aligner gives start/end -1 for the words in `unplaced`, as
  NeMo's forced aligner does for words it cannot find.
- A CUDA out-of-memory error leaves the failed call's activations referenced
  by the traceback's frame, as real tensors are; the fake torch records how
  many were alive whenever empty_cache() runs and a call starts.

FakeSpeakerModel stands in for EncDecSpeakerLabelModel (label_models.py):
forward(input_signal=[B, T], input_signal_length=[B]) returns (logits, embs)
with embs [B, D] (D the last of cfg.decoder.emb_sizes, 192) and, like NeMo,
not normalised. It "hears" a speaker as the mean level of a segment's first
input_signal_length samples (see speaker_of()), so a backend that pads
without passing the true lengths gets other speakers, and one that forgets
to normalise gets rows of norm EMB_SCALE.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import sys
import types
import weakref

import numpy as np

SAMPLE_RATE = 16000
FRAME = 0.08  # 10 ms hop x 8 subsampling, as FastConformer
VOCAB = (
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliett",
    "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo", "sierra", "tango",
)  # fmt: skip
SILENCE = 0.05
FAIL_SAMPLE = 0.777  # a clip starting with this value makes the fake fail (not OOM)


def amplitude(word: str) -> float:
    return round(0.1 + 0.01 * VOCAB.index(word), 4)


def synth(words, duration: float) -> np.ndarray:
    """A clip of `duration` seconds with each (word, start, end) as constant amplitude."""
    clip = np.zeros(int(round(duration * SAMPLE_RATE)), dtype=np.float32)
    for word, start, end in words:
        clip[int(round(start * SAMPLE_RATE)) : int(round(end * SAMPLE_RATE))] = amplitude(word)
    return clip


def hear(clip: np.ndarray):
    """(word, start_seconds, end_seconds) for each run of constant amplitude."""
    loud = np.abs(clip) >= SILENCE
    out = []
    i, n = 0, clip.shape[0]
    while i < n:
        if not loud[i]:
            i += 1
            continue
        j = i
        while j < n and loud[j] and abs(float(clip[j]) - float(clip[i])) < 1e-4:
            j += 1
        if (j - i) / SAMPLE_RATE >= 0.05:
            code = int(round((float(clip[i]) - 0.1) / 0.01))
            if 0 <= code < len(VOCAB):
                out.append((VOCAB[code], i / SAMPLE_RATE, j / SAMPLE_RATE))
        i = j
    return out


# ---------------------------------------------------------------------------
# torch


class FakeTorchState:
    def __init__(self, cuda: bool, bf16: bool, capability=(8, 0)):
        self.cuda_available = cuda
        # torch.cuda.is_bf16_supported() with its default including_emulation=True:
        # True on Turing too (torch/cuda/__init__.py).
        self.bf16_supported = bf16
        self.capability = tuple(capability)
        self.autocast_stack: list = []
        self.inference_mode = 0
        self.set_device_calls: list = []
        self.empty_cache_calls = 0
        # Activations of calls that failed; alive while anything (a traceback) holds them.
        self.failed_activations = weakref.WeakSet()
        self.alive_at_empty_cache: list = []
        self.alive_at_call: list = []


class Activations:
    """Stands in for the tensors a forward pass allocates."""

    def __init__(self, n_clips):
        self.n_clips = n_clips


class FakeTensor:
    """A numpy array on a device: what the engines hand NeMo and read back."""

    def __init__(self, array, device):
        self.array = np.asarray(array)
        self.device = device

    @property
    def shape(self):
        return self.array.shape

    @property
    def dtype(self):
        return self.array.dtype

    def to(self, device):
        return FakeTensor(self.array, device)

    def float(self):
        return FakeTensor(self.array.astype(np.float32), self.device)

    def cpu(self):
        return FakeTensor(self.array, type(self.device)("cpu"))

    def detach(self):
        return self

    def numpy(self):
        if self.device.type != "cpu":
            raise TypeError("can't convert cuda tensor to numpy: use Tensor.cpu() first")
        return self.array


class _DType:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return f"torch.{self.name}"


def _make_torch(state: FakeTorchState):
    torch = types.ModuleType("torch")
    torch.__fake__ = True
    torch.bfloat16 = _DType("bfloat16")
    torch.float16 = _DType("float16")
    torch.float32 = _DType("float32")

    class device:
        def __init__(self, spec):
            spec = str(spec)
            self.type, _, index = spec.partition(":")
            self.index = int(index) if index else None

        def __repr__(self):
            return f"device({self.type!r}, {self.index})"

        def __eq__(self, other):
            return isinstance(other, device) and (self.type, self.index) == (other.type, other.index)

    torch.device = device

    @contextlib.contextmanager
    def autocast(device_type, dtype=None, enabled=True):
        state.autocast_stack.append((device_type, dtype if enabled else None))
        try:
            yield
        finally:
            state.autocast_stack.pop()

    @contextlib.contextmanager
    def inference_mode(mode=True):
        state.inference_mode += 1
        try:
            yield
        finally:
            state.inference_mode -= 1

    torch.autocast = autocast
    torch.inference_mode = inference_mode

    def from_numpy(array):
        return FakeTensor(array, device("cpu"))

    torch.from_numpy = from_numpy
    torch.Tensor = FakeTensor

    cuda = types.ModuleType("torch.cuda")

    class OutOfMemoryError(RuntimeError):
        pass

    cuda.OutOfMemoryError = OutOfMemoryError
    cuda.is_available = lambda: state.cuda_available
    cuda.is_bf16_supported = lambda including_emulation=True: state.bf16_supported and (
        including_emulation or state.capability >= (8, 0)
    )
    cuda.get_device_capability = lambda device=None: state.capability
    cuda.set_device = lambda d: state.set_device_calls.append(d)

    def empty_cache():
        state.empty_cache_calls += 1
        state.alive_at_empty_cache.append(len(state.failed_activations))

    cuda.empty_cache = empty_cache
    torch.cuda = cuda
    torch._state = state
    return torch, cuda


# ---------------------------------------------------------------------------
# NeMo


@dataclasses.dataclass
class Hypothesis:
    """The fields of NeMo's rnnt_utils.Hypothesis that transcribe() users read."""

    score: float
    y_sequence: list
    text: str = ""
    timestamp: dict = dataclasses.field(default_factory=dict)
    length: int = 0


class _NS(types.SimpleNamespace):
    pass


class FakeASRModel:
    """Both NeMo's ASRModel class methods and the models they return."""

    loaded: list = []  # every model from_pretrained/restore_from made
    torch = None  # the fake torch module of the current install()

    # Behaviour knobs, set per test on the instance.
    max_batch = 1_000_000  # larger batches raise CUDA out of memory
    oom_seconds = math.inf  # longer clips raise it even alone

    def __init__(self, source: str, map_location):
        self.source = source
        self.map_location = map_location
        self.device = None
        self.training = True
        self.cfg = _NS(
            preprocessor=_NS(window_stride=0.01),
            decoding=_NS(strategy="greedy_batch", compute_timestamps=None, preserve_alignments=None),
        )
        self.decoder_rebuilds = 0
        self.encoder = _NS(subsampling_factor=8)
        self.preprocessor = _NS(featurizer=_NS(dither=1e-5))
        self.attention = ("rel_pos", [-1, -1])
        self.conv_chunking_factor = -1
        self.calls: list = []

    # -- loading, as ASRModel's class methods
    @classmethod
    def from_pretrained(cls, model_name, map_location=None, **kwargs):
        model = _model_class(model_name)(model_name, map_location)
        cls.loaded.append(model)
        return model

    @classmethod
    def restore_from(cls, restore_path, map_location=None, **kwargs):
        if not os.path.isfile(restore_path):
            raise FileNotFoundError(restore_path)
        model = _model_class(os.path.basename(restore_path))(restore_path, map_location)
        cls.loaded.append(model)
        return model

    # -- torch.nn.Module surface
    def to(self, device):
        self.device = device
        return self

    def eval(self):
        self.training = False
        return self

    def change_attention_model(self, self_attention_model=None, att_context_size=None, update_config=True):
        self.attention = (self_attention_model, list(att_context_size))

    def change_subsampling_conv_chunking_factor(self, subsampling_conv_chunking_factor):
        self.conv_chunking_factor = subsampling_conv_chunking_factor

    def change_decoding_strategy(self, decoding_cfg, verbose=True):
        """Rebuilds the decoder (costly on the real model: new decoding
        objects, CUDA graphs captured again)."""
        self.decoder_rebuilds += 1
        self.cfg.decoding = decoding_cfg

    # -- transcription
    def _check_call(self, audio, batch_size):
        state = self.torch._state
        state.alive_at_call.append(len(state.failed_activations))
        if state.inference_mode <= 0:
            raise AssertionError("transcribe called outside torch.inference_mode()")
        if self.training:
            raise AssertionError("transcribe called on a model in training mode")
        if not isinstance(audio, list) or not all(isinstance(a, np.ndarray) for a in audio):
            raise TypeError("this fake, like the backend, takes a list of numpy arrays (no file paths)")
        for a in audio:
            if a.dtype != np.float32 or a.ndim != 1:
                raise TypeError(f"expected 1-D float32 arrays, got {a.dtype} {a.shape}")
        # What the forward pass holds; a raise below leaves it referenced by
        # this frame, which the exception's traceback keeps alive.
        activations = Activations(len(audio))
        if len(audio) > self.max_batch:
            state.failed_activations.add(activations)
            raise self.torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        for a in audio:
            if a.shape[0] / SAMPLE_RATE > self.oom_seconds:
                state.failed_activations.add(activations)
                raise self.torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")
            if a.shape[0] and abs(float(a[0]) - FAIL_SAMPLE) < 1e-6:
                raise RuntimeError("fake model failure on a poisoned clip")

    def _hypothesis(self, clip, timestamps, pnc=True, suffix="", word_times=True, seconds=True, unplaced=()):
        heard = hear(clip)
        # Segments split at pauses of 0.5 s or more; punctuation as NeMo writes it.
        groups, current = [], []
        for k, item in enumerate(heard):
            if current and item[1] - current[-1][2] >= 0.5:
                groups.append(current)
                current = []
            current.append(item)
        if current:
            groups.append(current)
        words, segments, texts = [], [], []
        for group in groups:
            tokens = [w + suffix for w, _, _ in group]
            if pnc:
                tokens[0] = tokens[0].capitalize()
                tokens[-1] += "."
            for token, (word, start, end) in zip(tokens, group):
                stamp = _stamp("word", token, start, end, seconds)
                if word in unplaced:  # the aligner found no frames for it
                    stamp.update(start_offset=-1, end_offset=-1, start=-1, end=-1)
                words.append(stamp)
            segments.append(_stamp("segment", " ".join(tokens), group[0][1], group[-1][2], seconds))
            texts.append(" ".join(tokens))
        stamps = {}
        if timestamps:
            stamps = {"timestep": [], "char": [], "word": words if word_times else [], "segment": segments}
        return Hypothesis(score=-1.0, y_sequence=[], text=" ".join(texts), timestamp=stamps, length=len(heard))


def _stamp(key, text, start, end, seconds=True):
    s, e = int(start / FRAME), int(math.ceil(end / FRAME))
    stamp = {key: text, "start_offset": s, "end_offset": e}
    if seconds:  # NeMo's process_timestamp_outputs adds them only when transcribe got timestamps
        stamp.update(start=s * FRAME, end=e * FRAME)
    return stamp


class FakeParakeet(FakeASRModel):
    """Like NeMo's EncDecRNNTBPEModel.transcribe: no prompt arguments, and
    (rnnt_models.py before and in NeMo 2.x) a decoder rebuilt whenever
    `timestamps` is passed."""

    def transcribe(
        self,
        audio,
        batch_size=4,
        return_hypotheses=False,
        partial_hypothesis=None,
        num_workers=0,
        channel_selector=None,
        augmentor=None,
        verbose=True,
        timestamps=None,
        override_config=None,
    ):
        timestamps = timestamps or (override_config.timestamps if override_config is not None else None)
        if timestamps is not None:
            with _open_dict(self.cfg.decoding):
                self.cfg.decoding.compute_timestamps = bool(timestamps)
                self.cfg.decoding.preserve_alignments = bool(timestamps)
            if timestamps:
                return_hypotheses = True
            self.change_decoding_strategy(self.cfg.decoding, verbose=False)
        self._check_call(audio, batch_size)
        self.calls.append(
            {
                "n": len(audio),
                "batch_size": batch_size,
                "timestamps": timestamps,
                "compute_timestamps": self.cfg.decoding.compute_timestamps,
                "autocast": _autocast(self),
            }
        )
        computed = bool(self.cfg.decoding.compute_timestamps)
        hyps = [self._hypothesis(a, computed, seconds=bool(timestamps)) for a in audio]
        return hyps if return_hypotheses else [h.text for h in hyps]


class FakeCanary(FakeASRModel):
    """Like NeMo's EncDecMultiTaskModel.transcribe with the canary2 prompt,
    timestamps from an external aligner (timestamps_asr_model), and in-memory
    audio batched as a tuple (TranscriptionTensorDataset + _speech_collate_fn)."""

    tuple_batch_fixed = True  # the pinned release has NVIDIA-NeMo/Speech PR 15291
    unplaced: frozenset = frozenset()  # words the aligner gives start/end -1

    def transcribe(
        self,
        audio,
        batch_size=4,
        return_hypotheses=False,
        num_workers=0,
        channel_selector=None,
        augmentor=None,
        verbose=True,
        timestamps=None,
        override_config=None,
        **prompt,
    ):
        self._check_call(audio, batch_size)
        allowed = {"source_lang", "target_lang", "pnc", "itn", "timestamp", "diarize", "decodercontext", "emotion"}
        unknown = set(prompt) - allowed
        if unknown:
            raise ValueError(f"unknown canary2 prompt slot(s) {sorted(unknown)}")
        source, target = prompt.get("source_lang", "en"), prompt.get("target_lang", "en")
        pnc = prompt.get("pnc", "yes") in ("yes", "1", "True", "true", "pnc")
        self.calls.append(
            {
                "n": len(audio),
                "batch_size": batch_size,
                "timestamps": timestamps,
                "source_lang": source,
                "target_lang": target,
                "pnc": prompt.get("pnc"),
                "autocast": _autocast(self),
            }
        )
        translating = source != target
        suffix = f"-{target}" if translating else ""
        # What _speech_collate_fn gives for arrays: (audio_signal, audio_lengths, tokens, tokens_lengths).
        batch = (list(audio), [a.shape[0] for a in audio], None, None)
        if timestamps:
            self._aligner_inputs(batch)
        # For translations NeMo aligns segments only.
        return [
            self._hypothesis(
                a, bool(timestamps), pnc=pnc, suffix=suffix, word_times=not translating, unplaced=self.unplaced
            )
            for a in audio
        ]

    def _aligner_inputs(self, batch):
        """The audio that _transcribe_output_processing hands the aligner."""
        if self.tuple_batch_fixed:
            signals, lengths = batch[0], batch[1]
        else:  # as aed_multitask_models.py before PR 15291: only a PromptedAudioToTextMiniBatch has .audio
            signals, lengths = batch.audio, batch.audio_lens
        return [s[:n] for s, n in zip(signals, lengths)]


def _model_class(name: str):
    return FakeCanary if "canary" in name.lower() else FakeParakeet


def _autocast(model):
    stack = model.torch._state.autocast_stack
    return stack[-1][1] if stack else None


# ---------------------------------------------------------------------------
# Speaker embeddings

EMB_SIZE = 192  # TitaNet-large: decoder.emb_sizes
EMB_SCALE = 7.5  # the norm of the fake's raw embeddings (NeMo's are not normalised either)
SPEAKER_STEP = 0.01  # a speaker is a constant level, in steps of this


def speaker_of(segment: np.ndarray) -> int:
    """The speaker the fake hears in a segment: its mean level in SPEAKER_STEPs."""
    return int(round(float(np.mean(segment)) / SPEAKER_STEP)) if segment.shape[0] else 0


def speaker_embedding(speaker: int) -> np.ndarray:
    """The unit vector the fake gives a speaker (one-hot, mixed with a little of the next)."""
    e = np.zeros(EMB_SIZE, dtype=np.float64)
    e[speaker % EMB_SIZE] = 1.0
    e[(speaker + 1) % EMB_SIZE] = 0.25
    return e / np.linalg.norm(e)


class FakeSpeakerModel:
    """Both EncDecSpeakerLabelModel's class methods and the models they return."""

    loaded: list = []
    torch = None

    max_batch = 1_000_000  # larger batches raise CUDA out of memory
    oom_seconds = math.inf  # longer segments raise it even alone
    fail_speaker = None  # a segment of this speaker makes forward fail (not OOM)

    def __init__(self, source: str, map_location, emb_sizes=EMB_SIZE):
        self.source = source
        self.map_location = map_location
        self.device = None
        self.training = True
        self.cfg = _NS(decoder=_NS(emb_sizes=emb_sizes, pool_mode="attention"), preprocessor=_NS(window_stride=0.01))
        self.preprocessor = _NS(featurizer=_NS(dither=1e-5))
        self.calls: list = []

    @classmethod
    def from_pretrained(cls, model_name, map_location=None, **kwargs):
        model = cls(model_name, map_location)
        cls.loaded.append(model)
        return model

    @classmethod
    def restore_from(cls, restore_path, map_location=None, **kwargs):
        if not os.path.isfile(restore_path):
            raise FileNotFoundError(restore_path)
        model = cls(restore_path, map_location)
        cls.loaded.append(model)
        return model

    def to(self, device):
        self.device = device
        return self

    def eval(self):
        self.training = False
        return self

    def forward(self, input_signal=None, input_signal_length=None):
        state = self.torch._state
        state.alive_at_call.append(len(state.failed_activations))
        if state.inference_mode <= 0:
            raise AssertionError("forward called outside torch.inference_mode()")
        if self.training:
            raise AssertionError("forward called on a model in training mode")
        for name, t in (("input_signal", input_signal), ("input_signal_length", input_signal_length)):
            if not isinstance(t, FakeTensor):
                raise TypeError(f"{name} must be a tensor, got {type(t).__name__}")
            if t.device != self.device:
                raise RuntimeError(f"{name} is on {t.device}, the model on {self.device}")
        signal, lengths = input_signal.array, input_signal_length.array
        if signal.dtype != np.float32 or signal.ndim != 2:
            raise TypeError(f"input_signal must be float32 [B, T], got {signal.dtype} {signal.shape}")
        if lengths.ndim != 1 or lengths.shape[0] != signal.shape[0] or lengths.dtype.kind not in "iu":
            raise TypeError(f"input_signal_length must be integers [B], got {lengths.dtype} {lengths.shape}")
        if (lengths > signal.shape[1]).any() or (lengths < 1).any():
            raise ValueError("input_signal_length outside the padded batch")
        self.calls.append({"n": signal.shape[0], "padded": signal.shape[1], "autocast": _autocast(self)})
        activations = Activations(signal.shape[0])
        if signal.shape[0] > self.max_batch:
            state.failed_activations.add(activations)
            raise self.torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        if (lengths / SAMPLE_RATE > self.oom_seconds).any():
            state.failed_activations.add(activations)
            raise self.torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 9.00 GiB")
        speakers = [speaker_of(row[:n]) for row, n in zip(signal, lengths)]
        if self.fail_speaker is not None and self.fail_speaker in speakers:
            raise RuntimeError("fake speaker model failure on a poisoned segment")
        embs = np.stack([EMB_SCALE * speaker_embedding(k) for k in speakers]).astype(np.float32)
        logits = np.zeros((signal.shape[0], 16), dtype=np.float32)
        return FakeTensor(logits, self.device), FakeTensor(embs, self.device)


# ---------------------------------------------------------------------------
# install / uninstall

_NAMES = (
    "torch",
    "torch.cuda",
    "omegaconf",
    "nemo",
    "nemo.collections",
    "nemo.collections.asr",
    "nemo.collections.asr.models",
    "nemo_engine",
    "nemo_speaker_engine",
)


class Installed:
    def __init__(self, torch, state):
        self.torch = torch
        self.state = state
        self._saved = {}

    def uninstall(self):
        for name in _NAMES:
            sys.modules.pop(name, None)
        sys.modules.update(self._saved)
        FakeASRModel.loaded = []
        FakeSpeakerModel.loaded = []


@contextlib.contextmanager
def _open_dict(cfg):
    """omegaconf.open_dict: lets a struct config take new keys for the block."""
    was = getattr(cfg, "_open", False)
    cfg._open = True
    try:
        yield cfg
    finally:
        cfg._open = was


def install(cuda: bool = True, bf16: bool = True, capability=(8, 0)) -> Installed:
    state = FakeTorchState(cuda, bf16, capability)
    torch, torch_cuda = _make_torch(state)
    handle = Installed(torch, state)
    handle._saved = {name: sys.modules[name] for name in _NAMES if name in sys.modules}
    for name in _NAMES:
        sys.modules.pop(name, None)
    omegaconf = types.ModuleType("omegaconf")
    omegaconf.open_dict = _open_dict
    nemo = types.ModuleType("nemo")
    nemo.__version__ = "3.0.0-fake"
    collections = types.ModuleType("nemo.collections")
    asr = types.ModuleType("nemo.collections.asr")
    models = types.ModuleType("nemo.collections.asr.models")
    models.ASRModel = FakeASRModel
    models.EncDecSpeakerLabelModel = FakeSpeakerModel
    nemo.collections, collections.asr, asr.models = collections, asr, models
    sys.modules.update(
        {
            "torch": torch,
            "torch.cuda": torch_cuda,
            "nemo": nemo,
            "nemo.collections": collections,
            "nemo.collections.asr": asr,
            "nemo.collections.asr.models": models,
            "omegaconf": omegaconf,
        }
    )
    FakeASRModel.loaded = []
    FakeASRModel.torch = torch
    FakeSpeakerModel.loaded = []
    FakeSpeakerModel.torch = torch
    return handle
