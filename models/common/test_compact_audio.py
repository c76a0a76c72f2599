"""The compact audio inputs of the ASR contract: AUDIO_PCM16 (INT16) and
AUDIO_FLAC (BYTES, one FLAC stream per row) reach the model bit for bit as
AUDIO (FP32) would for a 16-bit source; a request carries exactly one."""

from __future__ import annotations

import importlib.util
import os
import sys
import unittest
import wave

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import backend_fixtures as fixtures  # noqa: E402  (also puts the fakes on sys.path)
from backend_fixtures import outputs  # noqa: E402

import nemo_asr_backend as backend  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402
from test_backend import SR, ScriptedEngine, error_of, settings  # noqa: E402

HAVE_SOUNDFILE = importlib.util.find_spec("soundfile") is not None
FLAC_FIXTURE = os.path.join(fixtures.MODELS, "testdata", "speech-en-1s.flac")
SPEECH_WAV = os.path.join(fixtures.MODELS, "testdata", "speech-en.wav")


class RecordingEngine(ScriptedEngine):
    """Keeps a copy of every clip the model is given."""

    def __init__(self):
        super().__init__()
        self.clips = []

    def transcribe(self, clips, options):
        self.clips.extend(np.array(c, copy=True) for c in clips)
        return super().transcribe(clips, options)


class FakeFLAC:
    """Stand-in for the FLAC decoder: knows the streams it was given,
    refuses any other bytes as the real decoder would refuse garbage."""

    def __init__(self):
        self.streams = {}
        self.calls = 0

    def encode(self, samples):
        data = b"fLaC-fake-%d" % len(self.streams)
        self.streams[data] = np.asarray(samples, dtype=np.int16)
        return data

    def __call__(self, data):
        self.calls += 1
        if data not in self.streams:
            raise RuntimeError("Error opening <_io.BytesIO>: Format not recognised.")
        return self.streams[data].copy()


def pcm_request(rows, name=backend.INPUT_AUDIO_PCM16, params=None):
    return pb_utils.InferenceRequest([pb_utils.Tensor(name, np.asarray(rows))], params)


def flac_request(streams, params=None):
    arr = np.array([[s] for s in streams], dtype=np.object_)
    return pb_utils.InferenceRequest([pb_utils.Tensor(backend.INPUT_AUDIO_FLAC, arr)], params)


def fp32_request(rows, params=None):
    return pb_utils.InferenceRequest([pb_utils.Tensor(backend.INPUT_AUDIO, np.asarray(rows, dtype=np.float32))], params)


def sixteen_bit(n, seed):
    rng = np.random.default_rng(seed)
    s = rng.integers(-32768, 32768, size=n, dtype=np.int64).astype(np.int16)
    s[:4] = [-32768, 32767, 0, -1]  # the extremes and the values next to zero
    return s


def speech_first_second():
    with wave.open(SPEECH_WAV, "rb") as w:
        assert w.getsampwidth() == 2 and w.getnchannels() == 1 and w.getframerate() == SR
        return np.frombuffer(w.readframes(SR), dtype="<i2").astype(np.int16)


class CompactInputTest(unittest.TestCase):
    def run_batch(self, requests, decode_flac=None):
        engine = RecordingEngine()
        batcher = backend.Batcher(settings("parakeet-tdt-0.6b-v2"), engine, decode_flac=decode_flac)
        return batcher.execute(requests), engine

    def test_pcm16_and_flac_reach_the_model_bit_for_bit_as_fp32(self):
        rows = [sixteen_bit(SR, 1), sixteen_bit(SR, 2)]
        # What a client sends as AUDIO for a 16-bit source: s / 32768 in float32.
        fp32 = [r.astype(np.float32) / np.float32(32768) for r in rows]
        flac = FakeFLAC()
        streams = [flac.encode(r) for r in rows]
        responses, engine = self.run_batch(
            [fp32_request(fp32), pcm_request(np.stack(rows)), flac_request(streams)], decode_flac=flac
        )
        for r in responses:
            self.assertEqual(outputs(r)[0], ["len 16000", "len 16000"])
        self.assertEqual(len(engine.clips), 6)
        for k in range(2):
            want = fp32[k].tobytes()
            self.assertEqual(engine.clips[k].dtype, np.float32)
            self.assertEqual(engine.clips[2 + k].tobytes(), want, "AUDIO_PCM16 differs from AUDIO")
            self.assertEqual(engine.clips[4 + k].tobytes(), want, "AUDIO_FLAC differs from AUDIO")
        self.assertEqual(flac.calls, 2)

    def test_every_int16_converts_exactly(self):
        every = np.arange(-32768, 32768, dtype=np.int64).astype(np.int16)
        got = backend.pcm16_to_float(every)
        self.assertEqual(got.dtype, np.float32)
        # Exact: multiplying back gives the integer, and the value is the
        # correctly rounded quotient in float64 (which is exact here).
        np.testing.assert_array_equal(got.astype(np.float64) * 32768, every.astype(np.float64))
        self.assertEqual(got[0], -1.0)
        self.assertEqual(got[-1], np.float32(32767 / 32768))

    def test_none_or_two_audio_inputs_are_refused(self):
        s = sixteen_bit(SR, 3)
        both = pb_utils.InferenceRequest(
            [
                pb_utils.Tensor(backend.INPUT_AUDIO, (s.astype(np.float32) / 32768)[None, :]),
                pb_utils.Tensor(backend.INPUT_AUDIO_PCM16, s[None, :]),
            ]
        )
        none = pb_utils.InferenceRequest([])
        responses, engine = self.run_batch([both, none, pcm_request(s[None, :])])
        code, message = error_of(responses[0])
        self.assertEqual(code, pb_utils.TritonError.INVALID_ARG)
        self.assertIn("2 audio inputs (AUDIO, AUDIO_PCM16): send exactly one", message)
        code, message = error_of(responses[1])
        self.assertEqual(code, pb_utils.TritonError.INVALID_ARG)
        self.assertIn("send exactly one of AUDIO (FP32), AUDIO_PCM16 (INT16) or AUDIO_FLAC", message)
        self.assertEqual(outputs(responses[2])[0], ["len 16000"])
        self.assertEqual(len(engine.clips), 1, "only the good request reaches the model")

    def test_bad_compact_inputs_get_their_own_errors(self):
        flac = FakeFLAC()
        good = flac.encode(sixteen_bit(SR, 4))
        empty = flac.encode(np.zeros(0, dtype=np.int16))
        reqs = [
            pcm_request(np.zeros((1, SR), dtype=np.int32)),
            pcm_request(np.zeros((1, 2, SR), dtype=np.int16)),
            pcm_request(np.zeros((1, 0), dtype=np.int16)),
            pcm_request(np.zeros((1, 61 * SR), dtype=np.int16)),
            flac_request([b"not flac at all"]),
            pb_utils.InferenceRequest([pb_utils.Tensor(backend.INPUT_AUDIO_FLAC, np.array([[good, good]], dtype=np.object_))]),
            flac_request([empty]),
            flac_request([flac.encode(np.zeros(61 * SR, dtype=np.int16))]),
            flac_request([good]),
        ]
        responses, engine = self.run_batch(reqs, decode_flac=flac)
        expected = {
            0: "'AUDIO_PCM16' must be INT16, got int32",
            1: "shape [batch, samples]",
            2: "'AUDIO_PCM16' is empty",
            3: "longer than the 60 s",
            4: "row 0 is not a FLAC stream this model can read: Error opening",
            5: "shape [batch, 1]",
            6: "row 0 is empty",
            7: "longer than the 60 s",
        }
        for i, fragment in expected.items():
            code, message = error_of(responses[i])
            self.assertEqual(code, pb_utils.TritonError.INVALID_ARG, message)
            self.assertIn(fragment, message)
        self.assertEqual(outputs(responses[8])[0], ["len 16000"])
        self.assertEqual(len(engine.clips), 1)


@unittest.skipUnless(HAVE_SOUNDFILE, "soundfile (libsndfile) is not installed here: apt-get install python3-soundfile")
class RealFLACTest(unittest.TestCase):
    """The real decoder (soundfile, as in the server image) on the stream our
    client's encoder (backend/flacenc) writes: models/testdata/speech-en-1s.flac."""

    def test_the_clients_stream_decodes_to_the_wav_samples(self):
        with open(FLAC_FIXTURE, "rb") as f:
            data = f.read()
        got = backend.decode_flac_stream(data)
        self.assertEqual(got.dtype, np.int16)
        np.testing.assert_array_equal(got, speech_first_second())

    def test_through_the_batcher_flac_equals_fp32(self):
        with open(FLAC_FIXTURE, "rb") as f:
            data = f.read()
        s = speech_first_second()
        engine = RecordingEngine()
        batcher = backend.Batcher(settings("parakeet-tdt-0.6b-v2"), engine)  # the default decoder
        responses = batcher.execute([flac_request([data]), fp32_request([s.astype(np.float32) / np.float32(32768)])])
        for r in responses:
            outputs(r)
        self.assertEqual(engine.clips[0].tobytes(), engine.clips[1].tobytes())

    def test_a_stream_too_long_is_refused_before_decoding(self):
        with open(FLAC_FIXTURE, "rb") as f:
            data = f.read()
        with self.assertRaises(backend.BadRequest) as cm:
            backend.decode_flac_stream(data, max_seconds=0.5)
        self.assertIn("a chunk of 1.0 s is longer than the 0.5 s", str(cm.exception))
        self.assertEqual(len(backend.decode_flac_stream(data, max_seconds=1.0)), SR)

    def test_other_formats_are_refused(self):
        import io

        import soundfile

        buf = io.BytesIO()
        soundfile.write(buf, np.zeros(8000, dtype=np.int16), 8000, format="FLAC", subtype="PCM_16")
        with self.assertRaises(backend.BadRequest) as cm:
            backend.decode_flac_stream(buf.getvalue())
        self.assertIn("must be 16000 Hz mono 16-bit FLAC, got 8000 Hz", str(cm.exception))
        buf = io.BytesIO()
        soundfile.write(buf, np.zeros(SR, dtype=np.int16), SR, format="WAV", subtype="PCM_16")
        with self.assertRaises(backend.BadRequest) as cm:
            backend.decode_flac_stream(buf.getvalue())
        self.assertIn("not FLAC", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
