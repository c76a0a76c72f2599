"""End-to-end tests of each model as Triton's Python backend runs it: the
model's own 1/model.py is loaded from its file, initialized with its
config.pbtxt (as JSON), and driven through execute and finalize, with
nemo_engine.py running against stand-ins for PyTorch and NeMo whose models
answer like NeMo's (hypotheses with word and segment timestamps)."""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import backend_fixtures as fixtures  # noqa: E402  (also puts the fakes on sys.path)
from backend_fixtures import outputs, request  # noqa: E402

import fake_nemo  # noqa: E402
import nemo_asr_backend as backend  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402
from fake_nemo import FAIL_SAMPLE, synth  # noqa: E402


def load_model_py(name):
    """Imports <name>/1/model.py from its path, as the Python backend does."""
    path = os.path.join(fixtures.REPOSITORY, name, "1", "model.py")
    spec = importlib.util.spec_from_file_location(f"triton_model_{name.replace('-', '_').replace('.', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class ModelTestCase(unittest.TestCase):
    cuda = True
    bf16 = True  # what torch.cuda.is_bf16_supported() answers (emulation included)
    capability = (8, 0)

    def setUp(self):
        self.fakes = fake_nemo.install(cuda=self.cuda, bf16=self.bf16, capability=self.capability)
        pb_utils.Logger.lines = []
        self.addCleanup(self.fakes.uninstall)
        self.assertIs(backend.ENGINE_FACTORY, backend._default_engine_factory)

    def start(self, name, config=None, kind="GPU", device_id=0):
        model = load_model_py(name).TritonPythonModel()
        model.initialize(fixtures.initialize_args(name, config, kind, device_id))
        self.addCleanup(model.finalize)
        return model, fake_nemo.FakeASRModel.loaded[-1]


class LoadTest(ModelTestCase):
    def test_each_model_loads_its_pretrained_checkpoint_on_the_instance_gpu(self):
        for name in fixtures.MODEL_NAMES:
            with self.subTest(model=name):
                model, nemo = self.start(name, device_id=1)
                cfg = fixtures.model_config(name)
                self.assertEqual(nemo.source, cfg["parameters"]["nemo_model"]["string_value"])
                self.assertEqual(nemo.device, self.fakes.torch.device("cuda:1"))
                self.assertEqual(nemo.map_location, self.fakes.torch.device("cuda:1"))
                self.assertIn(self.fakes.torch.device("cuda:1"), self.fakes.state.set_device_calls)
                self.assertFalse(nemo.training, "eval mode")
                self.assertEqual(nemo.preprocessor.featurizer.dither, 0.0)
                self.assertEqual(nemo.attention, ("rel_pos", [-1, -1]), "full attention unless configured")
                # Warm-up: a batch of two clips, then one clip alone, both with
                # timestamps, under bf16 autocast (capability 8.0).
                self.assertEqual([c["n"] for c in nemo.calls], [2, 1])
                for call in nemo.calls:
                    self.assertIs(call["autocast"], self.fakes.torch.bfloat16)
                    if name.startswith("parakeet"):
                        self.assertIsNone(call["timestamps"], "no timestamps argument: it rebuilds the decoder")
                        self.assertTrue(call["compute_timestamps"])
                    else:
                        self.assertTrue(call["timestamps"])
                self.assertEqual(nemo.decoder_rebuilds, 1 if name.startswith("parakeet") else 0)

    def test_nemo_file_relative_to_the_model_folder(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "my-parakeet.nemo")
            with open(path, "wb") as f:
                f.write(b"not really a tar")
            config = fixtures.model_config("parakeet-tdt-0.6b-v2")
            config["parameters"]["nemo_model"]["string_value"] = os.path.relpath(
                path, os.path.join(fixtures.REPOSITORY, "parakeet-tdt-0.6b-v2")
            )
            _, nemo = self.start("parakeet-tdt-0.6b-v2", config)
            self.assertEqual(nemo.source, os.path.normpath(path))

    def test_missing_nemo_file_fails_loading_clearly(self):
        config = fixtures.model_config("canary-1b-v2")
        config["parameters"]["nemo_model"]["string_value"] = "/nonexistent/canary.nemo"
        model = load_model_py("canary-1b-v2").TritonPythonModel()
        with self.assertRaisesRegex(FileNotFoundError, "no .nemo file at /nonexistent/canary.nemo"):
            model.initialize(fixtures.initialize_args("canary-1b-v2", config))

    def test_local_attention_for_long_chunks(self):
        config = fixtures.model_config("parakeet-tdt-0.6b-v3")
        config["parameters"]["local_attention_context"]["string_value"] = "128,128"
        _, nemo = self.start("parakeet-tdt-0.6b-v3", config)
        self.assertEqual(nemo.attention, ("rel_pos_local_attn", [128, 128]))
        self.assertEqual(nemo.conv_chunking_factor, 1)

    def test_warmup_can_be_turned_off(self):
        config = fixtures.model_config("parakeet-tdt-0.6b-v2")
        config["parameters"]["warmup"]["string_value"] = "false"
        _, nemo = self.start("parakeet-tdt-0.6b-v2", config)
        self.assertEqual(nemo.calls, [])

    def test_a_model_that_cannot_warm_up_does_not_load_and_frees_the_gpu(self):
        real = fake_nemo.FakeParakeet.transcribe

        def oom(model, audio, **kwargs):
            raise self.fakes.torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")

        fake_nemo.FakeParakeet.transcribe = oom
        self.addCleanup(setattr, fake_nemo.FakeParakeet, "transcribe", real)
        model = load_model_py("parakeet-tdt-0.6b-v2").TritonPythonModel()
        with self.assertRaisesRegex(RuntimeError, "parakeet-tdt-0.6b-v2: not loaded: warm-up failed .*OutOfMemoryError"):
            model.initialize(fixtures.initialize_args("parakeet-tdt-0.6b-v2"))
        self.assertIsNone(model.engine)
        self.assertGreater(self.fakes.state.empty_cache_calls, 0)
        errors = [m for level, m in pb_utils.Logger.lines if level == "ERROR"]
        self.assertEqual(len(errors), 1, pb_utils.Logger.lines)
        self.assertIn("CUDA out of memory", errors[0])

    def test_canary_on_a_nemo_without_the_tuple_batch_fix_does_not_load(self):
        # NeMo releases without NVIDIA-NeMo/Speech PR 15291 read batch.audio
        # from the tuple batch of in-memory audio when aligning timestamps.
        self.addCleanup(setattr, fake_nemo.FakeCanary, "tuple_batch_fixed", True)
        fake_nemo.FakeCanary.tuple_batch_fixed = False
        model = load_model_py("canary-1b-v2").TritonPythonModel()
        with self.assertRaises(RuntimeError) as caught:
            model.initialize(fixtures.initialize_args("canary-1b-v2"))
        message = str(caught.exception)
        self.assertIn("canary-1b-v2: not loaded", message)
        self.assertIn("'tuple' object has no attribute 'audio'", message)
        self.assertIn("15286", message)
        self.assertIn("NEMO_VERSION 3.0.0", message)
        self.assertIn("nemo_toolkit 3.0.0-fake", message)
        self.assertIn(("ERROR", message), pb_utils.Logger.lines)
        self.assertIsNone(model.engine, "not half-loaded")
        self.assertIsNone(model.batcher)
        self.assertGreater(self.fakes.state.empty_cache_calls, 0)

    def test_the_fake_canary_batches_arrays_as_a_tuple(self):
        # The stand-in fails the way the unfixed release does, whatever the caller.
        self.addCleanup(setattr, fake_nemo.FakeCanary, "tuple_batch_fixed", True)
        fake_nemo.FakeCanary.tuple_batch_fixed = False
        nemo = fake_nemo.FakeASRModel.from_pretrained("nvidia/canary-1b-v2")
        nemo.eval()
        clip = synth([("alpha", 0.1, 0.5)], 1.0)
        with self.fakes.torch.inference_mode():
            with self.assertRaisesRegex(AttributeError, "'tuple' object has no attribute 'audio'"):
                nemo.transcribe([clip], batch_size=1, timestamps=True, source_lang="en", target_lang="en")
            self.assertEqual(len(nemo.transcribe([clip], batch_size=1, timestamps=False)), 1)

    def test_cpu_instance_runs_in_fp32(self):
        _, nemo = self.start("parakeet-tdt-0.6b-v2", kind="CPU")
        self.assertEqual(nemo.device, self.fakes.torch.device("cpu"))
        self.assertIsNone(nemo.calls[0]["autocast"])

    def test_finalize_releases_the_model_and_gpu_memory(self):
        model, _ = self.start("canary-1b-v2")
        engine = model.engine
        before = self.fakes.state.empty_cache_calls
        model.finalize()
        self.assertIsNone(engine.model)
        self.assertGreater(self.fakes.state.empty_cache_calls, before)
        model.finalize()  # twice is harmless


class TuringTest(ModelTestCase):
    # A T4 or RTX 20xx: torch.cuda.is_bf16_supported() says True (emulation).
    bf16 = True
    capability = (7, 5)

    def test_fp16_below_compute_capability_8(self):
        for name in fixtures.MODEL_NAMES:
            with self.subTest(model=name):
                _, nemo = self.start(name)
                self.assertTrue(self.fakes.torch.cuda.is_bf16_supported(), "the trap is set")
                self.assertEqual({c["autocast"] for c in nemo.calls}, {self.fakes.torch.float16})

    def test_explicit_bf16_is_refused(self):
        config = fixtures.model_config("parakeet-tdt-0.6b-v2")
        config["parameters"]["precision"]["string_value"] = "bf16"
        model = load_model_py("parakeet-tdt-0.6b-v2").TritonPythonModel()
        with self.assertRaisesRegex(backend.ConfigError, "bf16 needs a GPU of compute capability 8.0 .* has 7.5"):
            model.initialize(fixtures.initialize_args("parakeet-tdt-0.6b-v2", config))


class AmpereTest(ModelTestCase):
    capability = (8, 0)

    def test_bf16_from_compute_capability_8(self):
        model, nemo = self.start("canary-1b-v2")
        model.execute([request([synth([("alpha", 0.1, 0.5)], 1.0)])])
        self.assertEqual({c["autocast"] for c in nemo.calls}, {self.fakes.torch.bfloat16})

    def test_explicit_fp16_is_kept(self):
        config = fixtures.model_config("parakeet-tdt-0.6b-v2")
        config["parameters"]["precision"]["string_value"] = "fp16"
        _, nemo = self.start("parakeet-tdt-0.6b-v2", config)
        self.assertIs(nemo.calls[0]["autocast"], self.fakes.torch.float16)


class NoCudaTest(ModelTestCase):
    cuda = False

    def test_gpu_instance_without_cuda_fails_loading(self):
        model = load_model_py("parakeet-tdt-0.6b-v2").TritonPythonModel()
        with self.assertRaisesRegex(RuntimeError, "sees no CUDA device"):
            model.initialize(fixtures.initialize_args("parakeet-tdt-0.6b-v2"))


class ExecuteTest(ModelTestCase):
    def test_parakeet_ragged_batch_with_word_and_segment_times(self):
        model, nemo = self.start("parakeet-tdt-0.6b-v2")
        a = synth([("alpha", 0.2, 0.6), ("bravo", 0.7, 1.1), ("charlie", 2.0, 2.5)], 3.0)
        b = synth([("delta", 0.1, 0.5)], 1.2)
        c = synth([("echo", 0.3, 0.9), ("foxtrot", 1.0, 1.6)], 7.5)
        responses = model.execute([request([a]), request([b], {"timestamps": False}), request([c])])
        self.assertEqual(nemo.calls[-1]["n"], 3)
        self.assertIsNone(nemo.calls[-1]["timestamps"], "no timestamps argument to a transducer")
        self.assertTrue(nemo.calls[-1]["compute_timestamps"], "parakeet computes timestamps on every call")
        self.assertIs(nemo.calls[-1]["autocast"], self.fakes.torch.bfloat16)

        texts, stamps = outputs(responses[0])
        self.assertEqual(texts, ["Alpha bravo. Charlie."])
        self.assertEqual(
            stamps[0],
            {
                "words": [
                    {"word": "Alpha", "start": 0.16, "end": 0.64},
                    {"word": "bravo.", "start": 0.64, "end": 1.12},
                    {"word": "Charlie.", "start": 2.0, "end": 2.56},
                ],
                "segments": [
                    {"text": "Alpha bravo.", "start": 0.16, "end": 1.12},
                    {"text": "Charlie.", "start": 2.0, "end": 2.56},
                ],
            },
        )
        self.assertEqual(outputs(responses[1]), (["Delta."], [{"words": [], "segments": []}]))
        texts, stamps = outputs(responses[2])
        self.assertEqual(texts, ["Echo foxtrot."])
        self.assertEqual(stamps[0]["segments"], [{"text": "Echo foxtrot.", "start": 0.24, "end": 1.6}])

    def test_parakeet_decoder_is_built_once_not_per_execute(self):
        for name in ("parakeet-tdt-0.6b-v2", "parakeet-tdt-0.6b-v3"):
            with self.subTest(model=name):
                model, nemo = self.start(name)
                clip = synth([("kilo", 0.1, 0.5)], 1.0)
                for params in ({}, {"timestamps": False}, {"timestamps": True}, {}):
                    outputs(model.execute([request([clip], params), request([clip])])[0])
                self.assertEqual(nemo.decoder_rebuilds, 1, "set up once at load")
                self.assertEqual(len(nemo.calls), 2 + 4)
                self.assertTrue(all(c["timestamps"] is None for c in nemo.calls))
                texts, stamps = outputs(model.execute([request([clip])])[0])
                self.assertEqual(stamps[0]["words"], [{"word": "Kilo.", "start": 0.08, "end": 0.56}])

    def test_canary_words_the_aligner_could_not_place_are_dropped(self):
        self.addCleanup(setattr, fake_nemo.FakeCanary, "unplaced", frozenset())
        fake_nemo.FakeCanary.unplaced = frozenset({"juliett"})
        model, _ = self.start("canary-1b-v2")
        clip = synth([("india", 0.2, 0.7), ("juliett", 0.8, 1.2), ("kilo", 1.3, 1.6)], 2.0)
        texts, stamps = outputs(model.execute([request([clip])])[0])
        self.assertEqual(texts, ["India juliett kilo."])
        self.assertEqual(
            stamps[0]["words"],
            [{"word": "India", "start": 0.16, "end": 0.72}, {"word": "kilo.", "start": 1.28, "end": 1.6}],
            "no juliett at 0.0",
        )
        self.assertEqual(stamps[0]["segments"], [{"text": "India juliett kilo.", "start": 0.16, "end": 1.6}])

    def test_multi_row_request(self):
        model, _ = self.start("parakeet-tdt-0.6b-v3")
        rows = np.stack([synth([("golf", 0.1, 0.4)], 2.0), synth([("hotel", 1.0, 1.4)], 2.0)])
        texts, stamps = outputs(model.execute([request(rows)])[0])
        self.assertEqual(texts, ["Golf.", "Hotel."])
        self.assertEqual(stamps[1]["words"], [{"word": "Hotel.", "start": 0.96, "end": 1.44}])

    def test_canary_prompt_grouping_and_translation(self):
        model, nemo = self.start("canary-1b-v2")
        clip = synth([("india", 0.2, 0.7), ("juliett", 0.8, 1.2)], 2.0)
        reqs = [
            request([clip], {"source_lang": "de"}),
            request([clip], {"source_lang": "de", "target_lang": "en"}),
            request([clip], {}),
            request([clip], {"source_lang": "de", "pnc": False}),
            request([clip], {"source_lang": "de", "timestamps": False}),
            request([clip], {"source_lang": "de", "target_lang": "fr"}),
            request([clip], {"source_lang": "de"}),
        ]
        responses = model.execute(reqs)
        calls = sorted(
            (c["n"], c["source_lang"], c["target_lang"], c["pnc"], c["timestamps"]) for c in nemo.calls[2:]
        )
        self.assertEqual(
            calls,
            [
                (1, "de", "de", "no", True),
                (1, "de", "de", "yes", False),
                (1, "de", "en", "yes", True),
                (1, "en", "en", "yes", True),
                (2, "de", "de", "yes", True),
            ],
        )
        self.assertEqual(outputs(responses[0])[0], ["India juliett."])
        texts, stamps = outputs(responses[1])
        self.assertEqual(texts, ["India-en juliett-en."])
        self.assertEqual(stamps[0]["words"], [], "translations have segment times only")
        self.assertEqual(stamps[0]["segments"], [{"text": "India-en juliett-en.", "start": 0.16, "end": 1.2}])
        self.assertEqual(outputs(responses[3])[0], ["india juliett"])
        self.assertEqual(outputs(responses[4])[1], [{"words": [], "segments": []}])
        code = responses[5].error().code()
        self.assertEqual(code, pb_utils.TritonError.INVALID_ARG)
        self.assertEqual(outputs(responses[6])[0], ["India juliett."])

    def test_out_of_memory_on_a_big_batch_costs_no_request(self):
        model, nemo = self.start("canary-1b-v2")
        nemo.max_batch = 2
        clips = [synth([(w, 0.1, 0.5)], 1.0 + i) for i, w in enumerate(("kilo", "lima", "mike", "november", "oscar"))]
        before = self.fakes.state.empty_cache_calls
        responses = model.execute([request([c]) for c in clips])
        self.assertEqual([outputs(r)[0] for r in responses], [["Kilo."], ["Lima."], ["Mike."], ["November."], ["Oscar."]])
        # 5 fails, then 2 succeeds, 3 fails, then 1 and 2 succeed (the fake records successes).
        self.assertEqual([c["n"] for c in nemo.calls[2:]], [2, 1, 2])
        self.assertEqual(self.fakes.state.empty_cache_calls - before, 2)

    def test_a_failed_batch_is_freed_before_the_cache_is_emptied_and_the_retry_runs(self):
        # The PyTorch FAQ: an out-of-memory handler that retries inside the
        # except block keeps the failed call's tensors alive through the
        # exception's traceback. The fake's failed activations must be gone
        # whenever empty_cache() runs and whenever a call starts.
        model, nemo = self.start("parakeet-tdt-0.6b-v3")
        nemo.max_batch = 1
        state = self.fakes.state
        state.alive_at_empty_cache.clear()
        state.alive_at_call.clear()
        clips = [synth([(w, 0.1, 0.5)], 1.0) for w in ("alpha", "bravo", "charlie", "delta")]
        responses = model.execute([request([c]) for c in clips])
        self.assertEqual([outputs(r)[0] for r in responses], [["Alpha."], ["Bravo."], ["Charlie."], ["Delta."]])
        self.assertEqual(len(state.alive_at_empty_cache), 3, "4 -> 2+2 -> 1+1+1+1: three out-of-memory errors")
        self.assertEqual(state.alive_at_empty_cache, [0, 0, 0], "a traceback still held a failed batch")
        self.assertEqual(set(state.alive_at_call), {0})

    def test_a_chunk_that_does_not_fit_alone_fails_alone(self):
        model, nemo = self.start("parakeet-tdt-0.6b-v2")
        nemo.oom_seconds = 10
        reqs = [
            request([synth([("papa", 0.1, 0.5)], 1.0)]),
            request([synth([("quebec", 0.1, 0.5)], 12.0)]),
            request([synth([("romeo", 0.1, 0.5)], 2.0)]),
            request([synth([("sierra", 0.1, 0.5)], 2.0)], {"timestamps": False}),
        ]
        responses = model.execute(reqs)
        self.assertEqual(responses[1].error().code(), pb_utils.TritonError.UNAVAILABLE)
        self.assertIn("ran out of memory", responses[1].error().message())
        self.assertEqual(outputs(responses[0])[0], ["Papa."])
        self.assertEqual(outputs(responses[2])[0], ["Romeo."])
        self.assertEqual(outputs(responses[3])[0], ["Sierra."])

    def test_a_poisoned_clip_is_isolated(self):
        model, _ = self.start("parakeet-tdt-0.6b-v3")
        bad = synth([("tango", 0.1, 0.5)], 1.0)
        bad[0] = FAIL_SAMPLE
        responses = model.execute([request([synth([("alpha", 0.1, 0.5)], 1.0)]), request([bad])])
        self.assertEqual(outputs(responses[0])[0], ["Alpha."])
        self.assertEqual(responses[1].error().code(), pb_utils.TritonError.INTERNAL)

    def test_execute_passes_arrays_and_writes_no_files(self):
        for name in fixtures.MODEL_NAMES:
            with self.subTest(model=name):
                model, nemo = self.start(name)
                reqs = [
                    request([synth([("alpha", 0.1, 0.5)], 1.5)]),
                    request([synth([("bravo", 0.2, 0.6)], 2.5)], {"timestamps": False}),
                    request([synth([("charlie", 0.1, 0.5)], 1.0)], {"source_lang": "zz"}),
                ]
                with fixtures.no_files_written() as attempts:
                    responses = model.execute(reqs)
                self.assertEqual(attempts, [])
                self.assertEqual(outputs(responses[0])[0], ["Alpha."])
                self.assertEqual(outputs(responses[1])[0], ["Bravo."])
                self.assertEqual(responses[2].error().code(), pb_utils.TritonError.INVALID_ARG)

    def test_silence_gives_empty_text_and_empty_times(self):
        model, _ = self.start("parakeet-tdt-0.6b-v2")
        texts, stamps = outputs(model.execute([request([np.zeros(16000, dtype=np.float32)])])[0])
        self.assertEqual(texts, [""])
        self.assertEqual(stamps, [{"words": [], "segments": []}])


if __name__ == "__main__":
    unittest.main()
