"""Unit tests of nemo_asr_backend: settings, request options, timestamps and
the batch execution (ragged batches, grouping, per-request errors, CUDA
out-of-memory split-and-retry, no files), on a scripted engine."""

from __future__ import annotations

import json
import os
import sys
import unittest
import weakref

import numpy as np

# Test modules are found from models/; the backend and its fixtures live here.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import backend_fixtures as fixtures  # noqa: E402  (also puts the fakes on sys.path)
from backend_fixtures import outputs, request  # noqa: E402

import nemo_asr_backend as backend  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402
from fake_nemo import FAIL_SAMPLE, Hypothesis  # noqa: E402

SR = backend.SAMPLE_RATE


def settings(name="canary-1b-v2", **overrides):
    config = fixtures.model_config(name)
    for key, value in overrides.items():
        config["parameters"][key] = {"string_value": value}
    return backend.ModelSettings.from_model_config(config, os.path.join(fixtures.REPOSITORY, name))


class ScriptedOOM(RuntimeError):
    pass


class Held:
    """What a failed forward pass leaves in its frame (GPU tensors on the real thing)."""


class ScriptedEngine(backend.Engine):
    """Answers each clip with its length in samples, so results can be matched
    to requests; fails like a GPU would when told to."""

    frame_seconds = 0.08

    def __init__(self, max_batch=1_000_000, oom_alone_samples=None, fail_with=None):
        self.max_batch = max_batch
        self.oom_alone_samples = oom_alone_samples
        self.fail_with = fail_with
        self.calls = []
        self.released = 0
        self.held = []  # weak references to what each failed call allocated
        self.alive_at_release = []
        self.alive_at_call = []

    def _alive(self):
        return sum(1 for ref in self.held if ref() is not None)

    def transcribe(self, clips, options):
        self.alive_at_call.append(self._alive())
        self.calls.append((len(clips), options))
        activations = Held()  # referenced by this frame, and so by a traceback through it
        if len(clips) > self.max_batch:
            self.held.append(weakref.ref(activations))
            raise ScriptedOOM("CUDA out of memory")
        for clip in clips:
            if self.oom_alone_samples is not None and clip.shape[0] >= self.oom_alone_samples:
                self.held.append(weakref.ref(activations))
                raise ScriptedOOM("CUDA out of memory")
            if abs(float(clip[0]) - FAIL_SAMPLE) < 1e-6:
                raise ValueError("cannot decode this clip")
        if self.fail_with is not None:
            raise self.fail_with
        return [
            Hypothesis(
                score=0.0,
                y_sequence=[],
                text=f"len {clip.shape[0]}",
                timestamp={"word": [{"word": f"len {clip.shape[0]}", "start": 0.0, "end": clip.shape[0] / SR}]},
            )
            for clip in clips
        ]

    def is_out_of_memory(self, exc):
        return isinstance(exc, ScriptedOOM)

    def release_cached_memory(self):
        self.alive_at_release.append(self._alive())
        self.released += 1


def clip(seconds, first=0.0):
    c = np.zeros(int(seconds * SR), dtype=np.float32)
    c[0] = first
    return c


def error_of(response):
    assert response.has_error(), "expected an error response"
    return response.error().code(), response.error().message()


class ContractTest(unittest.TestCase):
    def test_names_match_contract_json(self):
        with open(os.path.join(fixtures.MODELS, "contract.json"), encoding="utf-8") as f:
            contract = json.load(f)
        self.assertEqual(contract["sample_rate"], backend.SAMPLE_RATE)
        self.assertEqual([t["name"] for t in contract["inputs"]], [backend.INPUT_AUDIO])
        self.assertEqual(
            [t["name"] for t in contract["inputs"] + contract["compact_inputs"]], list(backend.AUDIO_INPUTS)
        )
        self.assertEqual(
            [t["name"] for t in contract["outputs"]], [backend.OUTPUT_TRANSCRIPT, backend.OUTPUT_TIMESTAMPS]
        )
        self.assertEqual(
            set(contract["parameters"]),
            {
                backend.PARAM_TIMESTAMPS,
                backend.PARAM_SOURCE_LANG,
                backend.PARAM_TARGET_LANG,
                backend.PARAM_TASK,
                backend.PARAM_PNC,
            },
        )

    def test_model_py_files_are_the_same_thin_shim(self):
        texts = set()
        for name in fixtures.MODEL_NAMES:
            with open(os.path.join(fixtures.REPOSITORY, name, "1", "model.py"), encoding="utf-8") as f:
                texts.add(f.read())
        self.assertEqual(len(texts), 1, "every model.py should be the same few lines")
        self.assertLess(len(texts.pop().splitlines()), 20)


class SettingsTest(unittest.TestCase):
    def test_each_model_config_parses(self):
        v2, v3, canary = (settings(n) for n in fixtures.MODEL_NAMES)
        self.assertEqual(v2.nemo_model, "nvidia/parakeet-tdt-0.6b-v2")
        self.assertEqual(v2.languages, ("en",))
        self.assertEqual(v2.tasks, {"asr"})
        self.assertTrue(v2.timestamps_always)
        self.assertEqual(len(v3.languages), 25)
        self.assertEqual(canary.tasks, {"asr", "ast"})
        self.assertEqual(canary.prompt_format, "canary2")
        self.assertEqual(canary.translation_pairs, "en<->x")
        self.assertEqual(canary.default_source_lang, "en")
        self.assertEqual(canary.max_audio_seconds, 40)
        self.assertIsNone(canary.local_attention_context)
        self.assertEqual(set(v3.languages), set(canary.languages))

    def test_relative_nemo_path_is_inside_the_model_folder(self):
        s = settings("parakeet-tdt-0.6b-v2", nemo_model="weights/my.nemo")
        self.assertEqual(s.nemo_model, os.path.join(fixtures.REPOSITORY, "parakeet-tdt-0.6b-v2", "weights", "my.nemo"))
        self.assertEqual(settings(nemo_model="/data/x.nemo").nemo_model, "/data/x.nemo")

    def test_local_attention_context(self):
        self.assertEqual(settings(local_attention_context="128,64").local_attention_context, (128, 64))

    def test_bad_parameters_fail_loading_with_the_parameter_named(self):
        cases = {
            "nemo_model": ("", "nemo_model"),
            "tasks": ("asr,summarise", "tasks"),
            "precision": ("int4", "precision"),
            "local_attention_context": ("wide", "local_attention_context"),
            "max_audio_seconds": ("-3", "max_audio_seconds"),
            "default_source_lang": ("xx", "default_source_lang"),
            "timestamps": ("sometimes", "timestamps"),
            "prompt_format": ("whisper", "prompt_format"),
        }
        for key, (value, named) in cases.items():
            with self.subTest(key=key), self.assertRaisesRegex(backend.ConfigError, named):
                settings(**{key: value})
        with self.assertRaisesRegex(backend.ConfigError, "unknown parameter"):
            settings(languagues="en")
        with self.assertRaisesRegex(backend.ConfigError, "translation needs"):
            settings("parakeet-tdt-0.6b-v2", tasks="asr,ast")


class OptionsTest(unittest.TestCase):
    def test_table(self):
        C = backend.CallOptions
        cases = [
            # model, parameters, expected call options or error fragment
            ("parakeet-tdt-0.6b-v2", {}, C(True)),
            ("parakeet-tdt-0.6b-v2", {"timestamps": False}, C(True)),  # computed anyway, not returned
            ("parakeet-tdt-0.6b-v2", {"source_lang": "en-US", "pnc": False}, C(True)),
            ("parakeet-tdt-0.6b-v2", {"source_lang": "de"}, "unknown source_lang 'de'"),
            ("parakeet-tdt-0.6b-v2", {"task": "ast", "target_lang": "en"}, "only transcribes"),
            ("parakeet-tdt-0.6b-v2", {"task": "summarise"}, "unknown task"),
            ("parakeet-tdt-0.6b-v3", {"source_lang": "de", "target_lang": "de"}, C(True)),
            ("parakeet-tdt-0.6b-v3", {"source_lang": "de", "target_lang": "en"}, "only transcribes"),
            ("parakeet-tdt-0.6b-v3", {"source_lang": "ja"}, "unknown source_lang 'ja'"),
            ("parakeet-tdt-0.6b-v3", {"timestamps": "yes"}, "must be a bool"),
            ("parakeet-tdt-0.6b-v3", {"source_lang": 7}, "must be a string"),
            ("canary-1b-v2", {}, C(True, "en", "en", True)),
            ("canary-1b-v2", {"timestamps": False, "pnc": False}, C(False, "en", "en", False)),
            ("canary-1b-v2", {"source_lang": "FR"}, C(True, "fr", "fr", True)),
            ("canary-1b-v2", {"source_lang": "de", "target_lang": "en"}, C(True, "de", "en", True)),
            ("canary-1b-v2", {"task": "ast", "source_lang": "en", "target_lang": "uk"}, C(True, "en", "uk", True)),
            ("canary-1b-v2", {"task": "asr", "source_lang": "de", "target_lang": "en"}, "use task 'ast'"),
            ("canary-1b-v2", {"task": "ast", "source_lang": "de"}, "needs target_lang"),
            ("canary-1b-v2", {"task": "ast", "target_lang": "en"}, "different from source_lang"),
            ("canary-1b-v2", {"source_lang": "de", "target_lang": "fr"}, "only to or from English"),
            ("canary-1b-v2", {"target_lang": "tlh"}, "unknown target_lang 'tlh'"),
        ]
        for name, params, want in cases:
            with self.subTest(model=name, params=params):
                s = settings(name)
                if isinstance(want, str):
                    with self.assertRaisesRegex(backend.BadRequest, want):
                        backend.resolve_options(params, s)
                else:
                    self.assertEqual(backend.resolve_options(params, s).call, want)

    def test_parameters_json(self):
        self.assertEqual(backend.parse_parameters(""), {})
        self.assertEqual(backend.parse_parameters('{"pnc": true}'), {"pnc": True})
        with self.assertRaises(backend.BadRequest):
            backend.parse_parameters("[1, 2]")


class TimestampsTest(unittest.TestCase):
    def doc(self, hyp, duration=10.0):
        return json.loads(backend.timestamps_json(hyp, duration, 0.08))

    def test_nemo_word_and_segment_entries(self):
        hyp = Hypothesis(
            score=0.0,
            y_sequence=[],
            text="Hello, world. Bye.",
            timestamp={
                "word": [
                    {"word": "Hello,", "start_offset": 2, "end_offset": 6, "start": 0.16, "end": 0.48},
                    {"word": "world.", "start_offset": 7, "end_offset": 12, "start": 0.5600000000001, "end": 0.96},
                    {"word": "Bye.", "start_offset": 40, "end_offset": 45, "start": np.float32(3.2), "end": 3.6},
                ],
                "segment": [
                    {"segment": "Hello, world.", "start_offset": 2, "end_offset": 12, "start": 0.16, "end": 0.96},
                    {"segment": "Bye.", "start_offset": 40, "end_offset": 45, "start": 3.2, "end": 3.6},
                ],
            },
        )
        self.assertEqual(
            self.doc(hyp),
            {
                "words": [
                    {"word": "Hello,", "start": 0.16, "end": 0.48},
                    {"word": "world.", "start": 0.56, "end": 0.96},
                    {"word": "Bye.", "start": 3.2, "end": 3.6},
                ],
                "segments": [
                    {"text": "Hello, world.", "start": 0.16, "end": 0.96},
                    {"text": "Bye.", "start": 3.2, "end": 3.6},
                ],
            },
        )

    def test_offsets_only_are_converted_with_the_frame_length(self):
        hyp = Hypothesis(0.0, [], "a", {"word": [{"word": "a", "start_offset": 10, "end_offset": 15}]})
        self.assertEqual(self.doc(hyp)["words"], [{"word": "a", "start": 0.8, "end": 1.2}])

    def test_times_are_kept_inside_the_clip(self):
        hyp = Hypothesis(
            0.0,
            [],
            "x y",
            {"word": [{"word": "x", "start": -0.1, "end": 0.2}, {"word": "y", "start": 1.9, "end": 2.6}]},
        )
        self.assertEqual(
            self.doc(hyp, duration=2.0)["words"],
            [{"word": "x", "start": 0.0, "end": 0.2}, {"word": "y", "start": 1.9, "end": 2.0}],
        )

    def test_words_the_aligner_could_not_place_are_dropped_not_moved_to_zero(self):
        # NeMo's forced aligner gives start/end -1 (and offsets -1) for a word
        # it cannot find (aligner_utils.add_t_start_end_to_utt_obj).
        hyp = Hypothesis(
            0.0,
            [],
            "one two three",
            {
                "word": [
                    {"word": "one", "start_offset": 2, "end_offset": 5, "start": 0.16, "end": 0.4},
                    {"word": "two", "start_offset": -1, "end_offset": -1, "start": -1, "end": -1},
                    {"word": "three", "start_offset": 9, "end_offset": -1, "start": 0.72, "end": -1},
                    {"word": "four", "start_offset": -1, "end_offset": -1},
                    {"word": "five", "start_offset": 12, "end_offset": 15, "start": 0.96, "end": 1.2},
                ],
                "segment": [
                    {"segment": "one two three", "start_offset": 2, "end_offset": 15, "start": 0.16, "end": 1.2},
                    {"segment": "lost", "start_offset": -1, "end_offset": -1, "start": -1, "end": -1},
                ],
            },
        )
        doc = self.doc(hyp)
        self.assertEqual(
            doc["words"], [{"word": "one", "start": 0.16, "end": 0.4}, {"word": "five", "start": 0.96, "end": 1.2}]
        )
        self.assertEqual(doc["segments"], [{"text": "one two three", "start": 0.16, "end": 1.2}])

    def test_segments_from_words_split_at_sentences_and_pauses(self):
        words = [
            {"word": "one", "start": 0.0, "end": 0.3},
            {"word": "two.", "start": 0.4, "end": 0.7},
            {"word": "three", "start": 0.8, "end": 1.0},
            {"word": "four", "start": 2.5, "end": 2.9},
        ]
        hyp = Hypothesis(0.0, [], "one two. three four", {"word": words, "segment": []})
        self.assertEqual(
            self.doc(hyp)["segments"],
            [
                {"text": "one two.", "start": 0.0, "end": 0.7},
                {"text": "three", "start": 0.8, "end": 1.0},
                {"text": "four", "start": 2.5, "end": 2.9},
            ],
        )

    def test_text_without_times_is_one_segment_and_utf8_is_kept(self):
        doc = backend.timestamps_json(Hypothesis(0.0, [], " Grüße, Straße ", {}), 4.25, 0.08)
        self.assertIn("Grüße", doc)  # not \u-escaped
        self.assertEqual(json.loads(doc), {"words": [], "segments": [{"text": "Grüße, Straße", "start": 0.0, "end": 4.25}]})
        self.assertEqual(json.loads(backend.timestamps_json("", 1.0, 0.08)), {"words": [], "segments": []})


class WarmupMessageTest(unittest.TestCase):
    def test_the_tuple_batch_bug_is_named_with_the_fix(self):
        exc = AttributeError("'tuple' object has no attribute 'audio'")
        message = backend.warmup_failure_message(settings(), exc, "2.6.2")
        self.assertIn("canary-1b-v2: not loaded", message)
        self.assertIn("nemo_toolkit 2.6.2", message)
        for fragment in ("14877", "15156", "15286", "PR 15291", "NEMO_VERSION 3.0.0"):
            self.assertIn(fragment, message)

    def test_other_failures_say_what_failed(self):
        message = backend.warmup_failure_message(settings("parakeet-tdt-0.6b-v2"), RuntimeError("boom"))
        self.assertEqual(message, "parakeet-tdt-0.6b-v2: not loaded: warm-up failed with this nemo_toolkit: RuntimeError: boom")


class BatcherTest(unittest.TestCase):
    def run_batch(self, requests, engine=None, model="canary-1b-v2", **overrides):
        engine = engine or ScriptedEngine()
        batcher = backend.Batcher(settings(model, **overrides), engine)
        responses = batcher.execute(requests)
        self.assertEqual(len(responses), len(requests), "one response per request")
        return responses, engine

    def test_ragged_batch_keeps_each_request_and_row(self):
        reqs = [request([clip(2.0)]), request([clip(1.5), clip(1.5)]), request([clip(3.25)])]
        responses, engine = self.run_batch(reqs)
        self.assertEqual(engine.calls[0][0], 4, "all clips in one NeMo call")
        self.assertEqual(outputs(responses[0])[0], ["len 32000"])
        self.assertEqual(outputs(responses[1])[0], ["len 24000", "len 24000"])
        texts, stamps = outputs(responses[2])
        self.assertEqual(texts, ["len 52000"])
        self.assertEqual(stamps[0]["words"], [{"word": "len 52000", "start": 0.0, "end": 3.25}])

    def test_short_clips_are_padded_but_times_stay_inside_the_clip(self):
        responses, _ = self.run_batch([request([clip(0.25)])])
        texts, stamps = outputs(responses[0])
        self.assertEqual(texts, ["len 16000"])  # padded to min_audio_seconds = 1.0
        self.assertEqual(stamps[0]["words"][0]["end"], 0.25)

    def test_requests_are_grouped_by_parameters(self):
        reqs = [
            request([clip(1)], {"source_lang": "de"}),
            request([clip(1)], {}),
            request([clip(1)], {"source_lang": "de", "timestamps": True}),
            request([clip(1)], {"source_lang": "de", "target_lang": "en"}),
            request([clip(1)], {"timestamps": False}),
            request([clip(1)], {"source_lang": "en"}),
        ]
        responses, engine = self.run_batch(reqs)
        calls = sorted((n, o.source_lang, o.target_lang, o.timestamps) for n, o in engine.calls)
        self.assertEqual(
            calls,
            [(1, "de", "en", True), (1, "en", "en", False), (2, "de", "de", True), (2, "en", "en", True)],
        )
        self.assertEqual(outputs(responses[4])[1], [{"words": [], "segments": []}])
        for r in responses:
            outputs(r)

    def test_parakeet_groups_only_what_changes_the_call(self):
        reqs = [
            request([clip(1)], {"timestamps": False}),
            request([clip(1)], {"source_lang": "de", "pnc": False}),
            request([clip(1)], {}),
        ]
        responses, engine = self.run_batch(reqs, model="parakeet-tdt-0.6b-v3")
        self.assertEqual([(n, o) for n, o in engine.calls], [(3, backend.CallOptions(True))])
        self.assertEqual(outputs(responses[0])[1], [{"words": [], "segments": []}])
        self.assertNotEqual(outputs(responses[2])[1][0]["words"], [])

    def test_bad_requests_get_their_own_errors(self):
        too_long = np.zeros((1, 41 * SR), dtype=np.float32)
        nan = np.zeros((1, SR), dtype=np.float32)
        nan[0, 7] = np.nan
        reqs = [
            request([clip(1)]),
            pb_utils.InferenceRequest([pb_utils.Tensor("AUDIO", np.zeros((1, 2, SR), dtype=np.float32))]),
            request([clip(1)], {"source_lang": "xx"}),
            request([clip(1)], {"task": "ast", "source_lang": "de", "target_lang": "fr"}),
            pb_utils.InferenceRequest([pb_utils.Tensor("AUDIO", np.zeros((1, 0), dtype=np.float32))]),
            pb_utils.InferenceRequest([pb_utils.Tensor("AUDIO", np.zeros((1, SR), dtype=np.float64))]),
            pb_utils.InferenceRequest([pb_utils.Tensor("WAVEFORM", np.zeros((1, SR), dtype=np.float32))]),
            request(too_long),
            request(nan),
            request([clip(1)], "{not json"),
            request([clip(2)]),
        ]
        responses, engine = self.run_batch(reqs)
        self.assertEqual(outputs(responses[0])[0], ["len 16000"])
        self.assertEqual(outputs(responses[10])[0], ["len 32000"])
        expected = {
            1: "shape [batch, samples]",
            2: "unknown source_lang 'xx'",
            3: "only to or from English",
            4: "empty",
            5: "must be FP32",
            6: "'AUDIO' is missing",
            7: "longer than the 40 s",
            8: "NaN",
            9: "not valid JSON",
        }
        for i, fragment in expected.items():
            code, message = error_of(responses[i])
            self.assertEqual(code, pb_utils.TritonError.INVALID_ARG, message)
            self.assertIn(fragment, message)
        self.assertEqual(sum(n for n, _ in engine.calls), 2, "only the good requests reach the model")

    def test_cancelled_request_is_not_transcribed(self):
        responses, engine = self.run_batch([request([clip(1)], cancelled=True), request([clip(1)])])
        self.assertEqual(error_of(responses[0])[0], pb_utils.TritonError.CANCELLED)
        self.assertEqual(engine.calls[0][0], 1)
        outputs(responses[1])

    def test_out_of_memory_splits_the_batch_and_retries(self):
        reqs = [request([clip(1 + i / 10)]) for i in range(10)]
        engine = ScriptedEngine(max_batch=3)
        responses, engine = self.run_batch(reqs, engine)
        for i, r in enumerate(responses):
            self.assertEqual(outputs(r)[0], [f"len {int((1 + i / 10) * SR)}"])
        # 10 -> 5+5 -> (2+3)+(2+3): 1 + 2 + 4 calls, four of them succeed.
        self.assertEqual([n for n, _ in engine.calls], [10, 5, 2, 3, 5, 2, 3])
        self.assertEqual(engine.released, 3, "cached GPU memory is released after each OOM")

    def test_the_failed_call_is_freed_before_memory_is_released_and_the_retry_runs(self):
        # PyTorch FAQ, "My out of memory exception handler can't allocate
        # memory": while the except block runs, the exception's traceback
        # holds the failed frame and its tensors.
        engine = ScriptedEngine(max_batch=1)
        responses, engine = self.run_batch([request([clip(1 + i / 10)]) for i in range(4)], engine)
        for r in responses:
            outputs(r)
        self.assertEqual(len(engine.held), 3)
        self.assertEqual(engine.alive_at_release, [0, 0, 0], "a traceback still held the failed call")
        self.assertEqual(set(engine.alive_at_call), {0})

    def test_a_failure_keeps_the_message_not_the_exception(self):
        batcher = backend.Batcher(settings(), ScriptedEngine(fail_with=ValueError("no decoder today")))
        failure = batcher._transcribe_once([clip(1)], backend.CallOptions(True, "en", "en", True))
        self.assertEqual(failure, backend.ClipFailure("no decoder today", False))
        self.assertFalse(any(isinstance(v, BaseException) for v in vars(failure).values()))

    def test_only_the_clip_that_fails_alone_gets_an_error(self):
        reqs = [request([clip(1)]), request([clip(5)]), request([clip(2)]), request([clip(1.5), clip(1.5)])]
        engine = ScriptedEngine(oom_alone_samples=5 * SR)
        responses, engine = self.run_batch(reqs, engine)
        code, message = error_of(responses[1])
        self.assertEqual(code, pb_utils.TritonError.UNAVAILABLE)
        self.assertIn("ran out of memory for a 5.0 s chunk", message)
        self.assertEqual(outputs(responses[0])[0], ["len 16000"])
        self.assertEqual(outputs(responses[2])[0], ["len 32000"])
        self.assertEqual(outputs(responses[3])[0], ["len 24000", "len 24000"])

    def test_a_clip_that_breaks_the_model_is_isolated(self):
        reqs = [request([clip(1)]), request([clip(1, first=FAIL_SAMPLE)]), request([clip(2)])]
        responses, engine = self.run_batch(reqs)
        code, message = error_of(responses[1])
        self.assertEqual(code, pb_utils.TritonError.INTERNAL)
        self.assertIn("cannot decode this clip", message)
        outputs(responses[0])
        outputs(responses[2])
        self.assertEqual(engine.released, 0, "not an out-of-memory error")

    def test_a_model_returning_too_few_results_is_an_error_not_a_shifted_answer(self):
        class Short(ScriptedEngine):
            def transcribe(self, clips, options):
                return super().transcribe(clips, options)[:-1] if len(clips) > 1 else []

        responses, _ = self.run_batch([request([clip(1)]), request([clip(2)])], Short())
        for r in responses:
            self.assertEqual(error_of(r)[0], pb_utils.TritonError.INTERNAL)

    def test_execute_writes_no_files(self):
        reqs = [request([clip(1)]), request([clip(2)], {"timestamps": False}), request([clip(1)], {"source_lang": "?"})]
        with fixtures.no_files_written() as attempts:
            responses, _ = self.run_batch(reqs, ScriptedEngine(max_batch=1))
        self.assertEqual(attempts, [])
        outputs(responses[0])
        outputs(responses[1])


if __name__ == "__main__":
    unittest.main()
