"""Unit tests of nemo_speaker_backend (settings, SPANS checks, zero rows for
short spans, normalisation, batching by padded seconds, per-request errors,
out-of-memory split-and-retry) on a scripted engine, and of the titanet-large
model end to end: its own 1/model.py, its config.pbtxt, nemo_speaker_engine.py
against the stand-ins for PyTorch and NeMo's EncDecSpeakerLabelModel."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import unittest
import weakref

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import backend_fixtures as fixtures  # noqa: E402  (also puts the fakes on sys.path)
from backend_fixtures import embeddings, speaker_request  # noqa: E402

import fake_nemo  # noqa: E402
import nemo_speaker_backend as backend  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402

SR = 16000
NAME = "titanet-large"


def settings(**overrides):
    config = fixtures.model_config(NAME)
    for key, value in overrides.items():
        config["parameters"][key] = {"string_value": value}
    return backend.SpeakerSettings.from_model_config(config, os.path.join(fixtures.REPOSITORY, NAME))


def error_of(response):
    assert response.has_error(), "expected an error response"
    return response.error().code(), response.error().message()


class Held:
    """What a failed forward pass leaves in its frame (GPU tensors on the real thing)."""


class ScriptedOOM(RuntimeError):
    pass


class ScriptedEngine(backend.SpeakerEngine):
    """Embeds a segment as a vector that says its length and first sample
    (unnormalised), so results can be matched to spans; fails when told to."""

    def __init__(self, d=192, max_batch=1_000_000, oom_alone_samples=None, width=None):
        self.d = d
        self.width = width or d
        self.max_batch = max_batch
        self.oom_alone_samples = oom_alone_samples
        self.calls = []
        self.held = []
        self.alive_at_release = []
        self.released = 0

    def embed(self, segments):
        self.calls.append([s.shape[0] for s in segments])
        activations = Held()  # referenced by this frame, and so by a traceback through it
        if len(segments) > self.max_batch:
            self.held.append(weakref.ref(activations))
            raise ScriptedOOM("CUDA out of memory")
        out = np.zeros((len(segments), self.width))
        for i, s in enumerate(segments):
            if self.oom_alone_samples is not None and s.shape[0] >= self.oom_alone_samples:
                self.held.append(weakref.ref(activations))
                raise ScriptedOOM("CUDA out of memory")
            if abs(float(s[0]) - 0.777) < 1e-6:
                raise ValueError("cannot embed this segment")
            out[i, 0] = s.shape[0]
            out[i, 1] = 1000 * s[0]
        return out

    def is_out_of_memory(self, exc):
        return isinstance(exc, ScriptedOOM)

    def release_cached_memory(self):
        self.alive_at_release.append(sum(1 for r in self.held if r() is not None))
        self.released += 1


def ramp(seconds):
    """A clip whose sample i is i / 1e6, so a segment's first sample says where it starts."""
    return (np.arange(int(seconds * SR)) / 1e6).astype(np.float32)


def expected(start, end):
    v = np.array([end - start, 1000 * start / 1e6], dtype=np.float64)
    return v / np.linalg.norm(v)


class ContractTest(unittest.TestCase):
    def test_names_match_contract_json(self):
        with open(os.path.join(fixtures.MODELS, "contract.json"), encoding="utf-8") as f:
            speaker = json.load(f)["speaker"]
        self.assertEqual(speaker["sample_rate"], backend.SAMPLE_RATE)
        self.assertEqual([t["name"] for t in speaker["inputs"]], [backend.INPUT_AUDIO, backend.INPUT_SPANS])
        self.assertEqual([t["name"] for t in speaker["outputs"]], [backend.OUTPUT_EMBEDDINGS])
        self.assertEqual(speaker["config_parameters"]["kind"], backend.KIND)
        self.assertLessEqual(set(speaker["config_parameters"]), set(backend.SpeakerSettings.KNOWN))

    def test_model_py_is_the_thin_shim_of_the_speaker_backend(self):
        for name in fixtures.SPEAKER_MODEL_NAMES:
            with open(os.path.join(fixtures.REPOSITORY, name, "1", "model.py"), encoding="utf-8") as f:
                text = f.read()
            self.assertIn("from nemo_speaker_backend import TritonPythonModel", text)
            self.assertLess(len(text.splitlines()), 20)


class SettingsTest(unittest.TestCase):
    def test_titanet_config_parses(self):
        s = settings()
        self.assertEqual(s.nemo_model, "nvidia/speakerverification_en_titanet_large")
        self.assertEqual(s.embedding_size, 192)
        self.assertEqual(s.min_span_seconds, 0.5)
        self.assertEqual(s.min_span_samples, 8000)
        self.assertEqual(s.max_spans, 256)
        self.assertEqual(s.max_audio_seconds, 30)

    def test_bad_parameters_fail_loading_with_the_parameter_named(self):
        cases = {
            "kind": "asr",
            "nemo_model": "",
            "embedding_size": "0",
            "min_span_seconds": "soon",
            "max_spans": "-2",
            "precision": "int4",
            "warmup": "maybe",
        }
        for key, value in cases.items():
            with self.subTest(key=key), self.assertRaisesRegex(backend.ConfigError, key):
                settings(**{key: value})
        with self.assertRaisesRegex(backend.ConfigError, "unknown parameter"):
            settings(timestamps="always")
        with self.assertRaisesRegex(backend.ConfigError, "max_batch_seconds"):
            settings(max_batch_seconds="10")


class BatcherTest(unittest.TestCase):
    def run_batch(self, requests, engine=None, **overrides):
        engine = engine or ScriptedEngine()
        logs = []
        batcher = backend.SpeakerBatcher(settings(**overrides), engine, logs.append)
        return batcher.execute(requests), engine, logs

    def test_ragged_batch_keeps_each_request_row_and_span(self):
        a = speaker_request([ramp(3)], [(0, 8000), (16000, 48000), (100, 20100)])
        b = speaker_request([ramp(1.5), ramp(1.5)], [[(0, 24000)], [(4000, 12000)]])
        c = speaker_request([ramp(2)], np.zeros((1, 0, 2), dtype=np.int64))  # no spans: an empty answer
        (ra, rb, rc), engine, _ = self.run_batch([a, b, c])
        ea, eb, ec = embeddings(ra), embeddings(rb), embeddings(rc)
        self.assertEqual(ea.shape, (1, 3, 192))
        self.assertEqual(eb.shape, (2, 1, 192))
        self.assertEqual(ec.shape, (1, 0, 192))
        for got, (start, end) in zip(ea[0], [(0, 8000), (16000, 48000), (100, 20100)]):
            np.testing.assert_allclose(got[:2], expected(start, end), rtol=1e-5)
            self.assertAlmostEqual(float(np.linalg.norm(got)), 1.0, places=5)
        np.testing.assert_allclose(eb[0, 0, :2], expected(0, 24000), rtol=1e-5)
        np.testing.assert_allclose(eb[1, 0, :2], expected(4000, 12000), rtol=1e-5)
        self.assertEqual(len(engine.calls), 1, "every request's spans in one NeMo call")
        self.assertEqual(engine.calls[0], sorted(engine.calls[0]), "sorted by length: little padding")

    def test_spans_shorter_than_the_minimum_are_zero_rows(self):
        r = speaker_request([ramp(2)], [(0, 7999), (0, 8000), (10, 20)])
        (resp,), engine, _ = self.run_batch([r])
        e = embeddings(resp)[0]
        self.assertFalse(e[0].any(), "7999 samples < 0.5 s: a zero row")
        self.assertAlmostEqual(float(np.linalg.norm(e[1])), 1.0, places=5)
        self.assertFalse(e[2].any())
        self.assertEqual(engine.calls, [[8000]], "short spans never reach the model")

    def test_calls_hold_at_most_max_batch_seconds_of_padded_audio(self):
        spans = [(0, 16000 * k) for k in range(1, 11)]  # 1..10 s
        (resp,), engine, _ = self.run_batch([speaker_request([ramp(10)], spans)], max_batch_seconds="30")
        for call in engine.calls:
            self.assertLessEqual(len(call) * max(call), 30 * SR, engine.calls)
        self.assertEqual(sorted(n for call in engine.calls for n in call), [s[1] for s in spans])
        self.assertEqual(embeddings(resp).shape, (1, 10, 192))

    def test_bad_spans_get_their_own_errors(self):
        good = speaker_request([ramp(1)], [(0, 16000)])
        audio = ramp(1)
        cases = [
            ("missing", pb_utils.InferenceRequest([pb_utils.Tensor("AUDIO", audio[None])]), "'SPANS' is missing"),
            ("int32", speaker_request([audio], np.zeros((1, 1, 2), dtype=np.int32)), "must be INT64"),
            ("shape", speaker_request([audio], np.zeros((1, 2), dtype=np.int64)), "shape [batch, spans, 2]"),
            ("three columns", speaker_request([audio], np.zeros((1, 1, 3), dtype=np.int64)), "shape [batch, spans, 2]"),
            ("rows", speaker_request([audio, audio], np.zeros((1, 1, 2), dtype=np.int64)), "one set of spans per chunk"),
            ("too many", speaker_request([audio], [(0, 10)] * 257), "at most 256"),
            ("negative start", speaker_request([audio], [(-1, 8000)]), "outside the chunk's 16000 samples"),
            ("past the end", speaker_request([audio], [(0, 16001)]), "outside the chunk's 16000 samples"),
            ("empty", speaker_request([audio], [(100, 100)]), "end must be after start"),
            ("reversed", speaker_request([audio], [(9000, 100)]), "end must be after start"),
            ("long chunk", speaker_request([ramp(31)], [(0, 10)]), "longer than the 30 s"),
        ]
        responses, _, _ = self.run_batch([good] + [c[1] for c in cases])
        self.assertFalse(responses[0].has_error())
        for (name, _, fragment), resp in zip(cases, responses[1:]):
            with self.subTest(name):
                code, message = error_of(resp)
                self.assertEqual(code, pb_utils.TritonError.INVALID_ARG)
                self.assertIn(fragment, message)

    def test_cancelled_request_is_not_embedded(self):
        (resp,), engine, _ = self.run_batch([speaker_request([ramp(1)], [(0, 16000)], cancelled=True)])
        self.assertEqual(error_of(resp)[0], pb_utils.TritonError.CANCELLED)
        self.assertEqual(engine.calls, [])

    def test_out_of_memory_splits_and_frees_before_the_retry(self):
        requests = [speaker_request([ramp(1)], [(0, 16000)]) for _ in range(8)]
        responses, engine, logs = self.run_batch(requests, ScriptedEngine(max_batch=2))
        for resp in responses:
            self.assertEqual(embeddings(resp).shape, (1, 1, 192))
        self.assertEqual([len(c) for c in engine.calls], [8, 4, 2, 2, 4, 2, 2])
        self.assertEqual(engine.released, 3)
        self.assertEqual(engine.alive_at_release, [0, 0, 0], "the failed call's tensors are freed first")
        self.assertTrue(any("retrying it in halves" in line for line in logs))

    def test_only_the_span_that_fails_alone_gets_an_error(self):
        big = speaker_request([ramp(3)], [(0, 48000)])
        small = speaker_request([ramp(1)], [(0, 16000)])
        (rb, rs), _, _ = self.run_batch([big, small], ScriptedEngine(oom_alone_samples=40000))
        self.assertEqual(error_of(rb)[0], pb_utils.TritonError.UNAVAILABLE)
        self.assertEqual(embeddings(rs).shape, (1, 1, 192))

    def test_a_segment_that_breaks_the_model_is_isolated(self):
        poisoned = np.full(SR, 0.777, dtype=np.float32)
        (rp, rg), _, _ = self.run_batch(
            [speaker_request([poisoned], [(0, 16000)]), speaker_request([ramp(1)], [(0, 16000)])]
        )
        code, message = error_of(rp)
        self.assertEqual(code, pb_utils.TritonError.INTERNAL)
        self.assertIn("cannot embed this segment", message)
        self.assertEqual(embeddings(rg).shape, (1, 1, 192))

    def test_a_model_of_another_width_is_an_error_not_a_truncated_answer(self):
        (resp,), _, _ = self.run_batch([speaker_request([ramp(1)], [(0, 16000)])], ScriptedEngine(width=512))
        code, message = error_of(resp)
        self.assertEqual(code, pb_utils.TritonError.INTERNAL)
        self.assertIn("[1, 512]", message)


def load_model_py(name):
    path = os.path.join(fixtures.REPOSITORY, name, "1", "model.py")
    spec = importlib.util.spec_from_file_location(f"triton_model_{name.replace('-', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def voice(level, seconds):
    """A segment the fake speaker model hears as speaker round(level / 0.01)."""
    return np.full(int(seconds * SR), level, dtype=np.float32)


class TitanetModelTest(unittest.TestCase):
    capability = (8, 0)

    def setUp(self):
        self.fakes = fake_nemo.install(cuda=True, bf16=True, capability=self.capability)
        pb_utils.Logger.lines = []
        self.addCleanup(self.fakes.uninstall)
        self.assertIs(backend.ENGINE_FACTORY, backend._default_engine_factory)

    def start(self, config=None, device_id=0):
        model = load_model_py(NAME).TritonPythonModel()
        model.initialize(fixtures.initialize_args(NAME, config, "GPU", device_id))
        self.addCleanup(model.finalize)
        return model, fake_nemo.FakeSpeakerModel.loaded[-1]

    def test_loads_the_pretrained_checkpoint_on_the_instance_gpu_and_warms_up(self):
        model, nemo = self.start(device_id=1)
        self.assertEqual(nemo.source, "nvidia/speakerverification_en_titanet_large")
        self.assertEqual(nemo.device, self.fakes.torch.device("cuda:1"))
        self.assertEqual(nemo.map_location, self.fakes.torch.device("cuda:1"))
        self.assertFalse(nemo.training)
        self.assertEqual(nemo.preprocessor.featurizer.dither, 0.0)
        self.assertEqual([c["n"] for c in nemo.calls], [2, 1], "warm-up: two segments, then one")
        self.assertEqual([c["autocast"] for c in nemo.calls], [self.fakes.torch.bfloat16] * 2)

    def test_embeddings_are_normalised_per_speaker_with_true_lengths(self):
        model, nemo = self.start()
        # Speaker 20 for 2 s then speaker 30: spans inside each, one across,
        # one too short; padding to the longest span must not change a speaker.
        chunk = np.concatenate([voice(0.20, 2), voice(0.30, 2)])
        spans = [(0, 16000), (32000, 64000), (40000, 48000), (1000, 4000), (0, 32000)]
        (resp,) = model.execute([speaker_request([chunk], spans)])
        e = embeddings(resp)[0]
        np.testing.assert_allclose(np.linalg.norm(e[[0, 1, 2, 4]], axis=1), 1.0, rtol=1e-6)
        np.testing.assert_allclose(e[0], fake_nemo.speaker_embedding(20), rtol=1e-5)
        np.testing.assert_allclose(e[1], fake_nemo.speaker_embedding(30), rtol=1e-5)
        np.testing.assert_allclose(e[2], e[1], rtol=1e-6)
        np.testing.assert_allclose(e[4], e[0], rtol=1e-6)
        self.assertFalse(e[3].any(), "0.19 s: shorter than min_span_seconds")
        self.assertLess(float(e[0] @ e[1]), 0.1)
        self.assertEqual(nemo.calls[-1]["n"], 4)

    def test_an_embedding_size_that_is_not_the_checkpoints_fails_loading(self):
        config = fixtures.model_config(NAME)
        config["parameters"]["embedding_size"]["string_value"] = "512"
        model = load_model_py(NAME).TritonPythonModel()
        with self.assertRaisesRegex(backend.ConfigError, "gives embeddings of 192 values"):
            model.initialize(fixtures.initialize_args(NAME, config))

    def test_out_of_memory_on_a_big_batch_costs_no_request(self):
        model, nemo = self.start()
        nemo.max_batch = 2
        requests = [speaker_request([voice(0.1 * (k + 1), 1)], [(0, 16000)]) for k in range(5)]
        responses = model.execute(requests)
        for k, resp in enumerate(responses):
            np.testing.assert_allclose(embeddings(resp)[0, 0], fake_nemo.speaker_embedding(10 * (k + 1)), rtol=1e-5)
        self.assertGreater(self.fakes.state.empty_cache_calls, 0)
        self.assertEqual(set(self.fakes.state.alive_at_empty_cache), {0}, "freed before the cache is emptied")

    def test_a_model_that_cannot_warm_up_does_not_load_and_frees_the_gpu(self):
        real = fake_nemo.FakeSpeakerModel.forward

        def oom(model, **kwargs):
            raise self.fakes.torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")

        fake_nemo.FakeSpeakerModel.forward = oom
        self.addCleanup(setattr, fake_nemo.FakeSpeakerModel, "forward", real)
        model = load_model_py(NAME).TritonPythonModel()
        with self.assertRaisesRegex(RuntimeError, "titanet-large: not loaded: warm-up failed .*OutOfMemoryError"):
            model.initialize(fixtures.initialize_args(NAME))
        self.assertIsNone(model.engine)
        self.assertGreater(self.fakes.state.empty_cache_calls, 0)

    def test_execute_passes_arrays_and_writes_no_files(self):
        model, _ = self.start()
        with fixtures.no_files_written() as attempts:
            (resp,) = model.execute([speaker_request([voice(0.2, 1)], [(0, 16000)])])
        self.assertEqual(attempts, [])
        self.assertEqual(embeddings(resp).shape, (1, 1, 192))

    def test_finalize_releases_the_model_and_gpu_memory(self):
        model, _ = self.start()
        before = self.fakes.state.empty_cache_calls
        model.finalize()
        self.assertIsNone(model.engine)
        self.assertGreater(self.fakes.state.empty_cache_calls, before)


class TitanetTuringTest(TitanetModelTest):
    capability = (7, 5)

    def test_loads_the_pretrained_checkpoint_on_the_instance_gpu_and_warms_up(self):
        _, nemo = self.start()
        self.assertEqual([c["autocast"] for c in nemo.calls], [self.fakes.torch.float16] * 2, "no emulated bf16")


if __name__ == "__main__":
    unittest.main()
