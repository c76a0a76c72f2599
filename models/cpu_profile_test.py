"""The CPU profile (repository-cpu/, compose.cpu.yaml): each model of
repository/ mirrored with KIND_CPU instances, loaded from its own model.py
in repository-cpu and driven from initialize to finalize on a CPU instance
with the stand-ins for PyTorch and NeMo, and the compose override that
points serve.sh at it and reserves no GPU."""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import sys
import unittest

import yaml

MODELS = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(MODELS, "common"))

import backend_fixtures as fixtures  # noqa: E402  (also puts the fakes on sys.path)
from backend_fixtures import outputs, request  # noqa: E402

import fake_nemo  # noqa: E402
import triton_python_backend_utils as pb_utils  # noqa: E402
from fake_nemo import synth  # noqa: E402

CPU_REPOSITORY = os.path.join(MODELS, "repository-cpu")
IMAGE_MODELS = "/opt/nemo-transcribe/models"


def model_dirs(root):
    return sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(root, "*", "config.pbtxt")))


def cpu_config(name):
    with open(os.path.join(MODELS, "testdata", "cpu", f"{name}.config.json"), encoding="utf-8") as f:
        return json.load(f)


def load_cpu_model_py(name):
    path = os.path.join(CPU_REPOSITORY, name, "1", "model.py")
    spec = importlib.util.spec_from_file_location(f"triton_cpu_model_{name.replace('-', '_').replace('.', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Loader(yaml.SafeLoader):
    pass


# Compose's merge tags (!reset, !override) are not YAML 1.1; read them as tagged values.
_Loader.add_multi_constructor("!", lambda loader, suffix, node: {"tag": "!" + suffix, "value": loader.construct_object(node)} if not isinstance(node, yaml.MappingNode) else {"tag": "!" + suffix, "value": loader.construct_mapping(node)})


class CPUProfileTest(unittest.TestCase):
    def setUp(self):
        self.fakes = fake_nemo.install(cuda=False, bf16=False, capability=(0, 0))
        pb_utils.Logger.lines = []
        self.addCleanup(self.fakes.uninstall)

    def test_every_model_has_a_cpu_twin(self):
        self.assertEqual(model_dirs(CPU_REPOSITORY), model_dirs(fixtures.REPOSITORY))
        for name in model_dirs(CPU_REPOSITORY):
            with self.subTest(model=name):
                cfg = cpu_config(name)
                self.assertTrue(cfg["instance_group"])
                for group in cfg["instance_group"]:
                    self.assertEqual(group["kind"], "KIND_CPU")
                    self.assertNotIn("gpus", group)
                with open(os.path.join(CPU_REPOSITORY, name, "1", "model.py"), encoding="utf-8") as f:
                    cpu_py = f.read()
                with open(os.path.join(fixtures.REPOSITORY, name, "1", "model.py"), encoding="utf-8") as f:
                    self.assertEqual(cpu_py, f.read(), "the same model.py finds common/ from either repository")

    def test_each_model_loads_transcribes_and_finalizes_on_the_cpu(self):
        for name in fixtures.MODEL_NAMES:
            with self.subTest(model=name):
                model = load_cpu_model_py(name).TritonPythonModel()
                args = fixtures.initialize_args(name, cpu_config(name), kind="CPU")
                args["model_repository"] = os.path.join(CPU_REPOSITORY, name)
                model.initialize(args)
                nemo = fake_nemo.FakeASRModel.loaded[-1]
                self.assertEqual(nemo.device, self.fakes.torch.device("cpu"))
                self.assertIsNone(nemo.calls[0]["autocast"], "fp32 on the processor")
                (response,) = model.execute([request([synth([("alpha", 0.2, 0.6)], 1.5)], {"timestamps": True})])
                texts, stamps = outputs(response)
                self.assertEqual(len(texts), 1)
                self.assertIn("words", stamps[0])
                model.finalize()

    def test_the_cpu_repository_reaches_the_image(self):
        with open(os.path.join(MODELS, ".dockerignore"), encoding="utf-8") as f:
            ignored = [l.strip() for l in f if l.strip() and not l.startswith("#")]
        import fnmatch

        for name in model_dirs(CPU_REPOSITORY):
            for needed in (f"repository-cpu/{name}/config.pbtxt", f"repository-cpu/{name}/1/model.py"):
                self.assertFalse(
                    any(fnmatch.fnmatch(needed, p) or needed.startswith(p.rstrip("/") + "/") for p in ignored),
                    f"{needed} must reach the image",
                )

    def test_compose_override_serves_the_cpu_repository_without_a_gpu(self):
        with open(os.path.join(MODELS, "compose.cpu.yaml"), encoding="utf-8") as f:
            doc = yaml.load(f, Loader=_Loader)
        svc = doc["services"]["triton"]
        self.assertEqual(svc["environment"]["NEMO_REPOSITORY"], f"{IMAGE_MODELS}/repository-cpu")
        self.assertEqual(svc["deploy"]["tag"], "!reset", "the GPU reservation of compose.yaml is removed")
        self.assertEqual(set(svc), {"environment", "deploy"}, "everything else comes from compose.yaml")


if __name__ == "__main__":
    unittest.main()
