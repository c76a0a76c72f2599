"""Checks of the files that start the server (Dockerfile, compose, serve.sh,
Kubernetes manifests, the perf_analyzer helper), which cannot run here: no
Docker engine, no GPU. They hold the promises README.md makes: pinned
versions, the GPU reserved, shared memory sized for the largest batch the
configs accept, ports 8000-8002, the model cache as a volume, readiness on
Triton's health endpoint, explicit model loading, a repository root that
holds only models, and a driver note that matches Triton's matrix."""

from __future__ import annotations

import glob
import importlib.util
import json
import os
import re
import stat
import subprocess
import tempfile
import unittest
import wave

import yaml

MODELS = os.path.dirname(os.path.abspath(__file__))
# tritonserver's --model-repository: model folders only (Triton lists every
# folder of the root as a model); the shared backend is MODELS/common.
REPOSITORY = os.path.join(MODELS, "repository")
IMAGE_MODELS = "/opt/nemo-transcribe/models"  # where the Dockerfile copies this folder
MODEL_DIRS = sorted(
    os.path.basename(os.path.dirname(p)) for p in glob.glob(os.path.join(REPOSITORY, "*", "config.pbtxt"))
)
SAMPLE_RATE = 16000
FP32_BYTES = 4
# What every deployment loads unless told otherwise: an ASR model and the
# speaker-embedding model beside it (diarization).
DEFAULT_MODELS = ("parakeet-tdt-0.6b-v2", "titanet-large")


def read(*parts):
    with open(os.path.join(MODELS, *parts), encoding="utf-8") as f:
        return f.read()


def load_yaml(*parts):
    return list(yaml.safe_load_all(read(*parts)))


def model_limits(name):
    """(max_batch_size, max_audio_seconds) read from the model's config.pbtxt."""
    text = read("repository", name, "config.pbtxt")
    batch = int(re.search(r"^max_batch_size:\s*(\d+)", text, re.M).group(1))
    return batch, float(config_parameter(text, "max_audio_seconds"))


def config_parameter(text, key):
    m = re.search(rf'key:\s*"{key}",\s*value:\s*\{{\s*string_value:\s*"([^"]*)"', text)
    return m.group(1) if m else None


def span_bytes(name):
    """Bytes of SPANS (INT64 pairs) and EMBEDDINGS (FP32 rows) per span of a
    speaker-embedding model, and its max_spans; (0, 0) for an ASR model."""
    text = read("repository", name, "config.pbtxt")
    if config_parameter(text, "kind") != "speaker_embedding":
        return 0, 0
    return 2 * 8 + int(config_parameter(text, "embedding_size")) * FP32_BYTES, int(config_parameter(text, "max_spans"))


def serve_shm_default_bytes():
    m = re.search(r"--backend-config=python,shm-default-byte-size=(\d+)", read("serve.sh"))
    return int(m.group(1))


def shm_per_gpu_bytes():
    """/dev/shm one GPU needs with every model of the repository loaded: each
    model has one instance (one Python stub, one shared-memory region) per GPU,
    and execute() gets a whole batch, whose AUDIO the backend copies into that
    region: max_batch_size chunks of max_audio_seconds of FP32 at 16 kHz (and,
    for a speaker model, max_spans spans per chunk with their embeddings), on
    top of the region serve.sh starts it with."""
    total = 0
    for name in MODEL_DIRS:
        batch, seconds = model_limits(name)
        per_span, spans = span_bytes(name)
        total += batch * int(seconds * SAMPLE_RATE) * FP32_BYTES + batch * spans * per_span + serve_shm_default_bytes()
    return total


def size_bytes(text):
    """Docker's shm_size and Kubernetes' quantities: binary units (2gb, 2g, 1Gi)."""
    m = re.fullmatch(r"(\d+)\s*(gb|g|gi|mb|m|mi)", str(text).strip().lower())
    assert m, f"unrecognised size {text!r}"
    unit = {"g": 2**30, "gb": 2**30, "gi": 2**30, "m": 2**20, "mb": 2**20, "mi": 2**20}[m.group(2)]
    return int(m.group(1)) * unit


def check_shm_comment(test, text, size, gpus):
    """The arithmetic in the comment above a /dev/shm size is the one this test does."""
    for name in MODEL_DIRS:
        batch, seconds = model_limits(name)
        mb = batch * int(seconds * SAMPLE_RATE) * FP32_BYTES / 1e6
        line = f"{name}: {batch} x {seconds:g} s x {SAMPLE_RATE} x {FP32_BYTES} B = {mb:.2f} MB"
        per_span, spans = span_bytes(name)
        if spans:
            line += f" + {batch} x {spans} spans x {per_span} B = {batch * spans * per_span / 1e6:.2f} MB"
        line += " + 64 MiB"
        # A line may go on in the next comment line.
        flat = re.sub(r"\s+", " ", re.sub(r"(?m)^\s*#", "", text))
        test.assertIn(line, flat, "the shm comment shows each model's batch")
    per_gpu = shm_per_gpu_bytes()
    test.assertIn(f"{per_gpu / 1e6:.2f} MB", text)
    test.assertGreaterEqual(size, gpus * per_gpu, f"/dev/shm too small for {gpus} GPU(s)")


class DockerfileTest(unittest.TestCase):
    def setUp(self):
        self.text = read("Dockerfile")

    def arg(self, name):
        m = re.search(rf"^ARG {name}=(\S*)$", self.text, re.M)
        self.assertIsNotNone(m, f"ARG {name} with a default")
        return m.group(1)

    def test_versions_are_pinned(self):
        self.assertRegex(self.arg("TRITON_IMAGE"), r"^nvcr\.io/nvidia/tritonserver:\d\d\.\d\d-py3$")
        self.assertRegex(self.arg("NEMO_VERSION"), r"^\d+\.\d+\.\d+$")
        self.assertRegex(self.arg("TORCH_VERSION"), r"^\d+\.\d+\.\d+$")
        self.assertRegex(self.arg("TORCH_INDEX_URL"), r"^https://download\.pytorch\.org/whl/cu\d+$")
        self.assertIn('"nemo_toolkit[asr]==${NEMO_VERSION}"', self.text)
        self.assertIn('"torch==${TORCH_VERSION}"', self.text)
        self.assertIn("FROM ${TRITON_IMAGE}", self.text)

    def test_cache_and_entrypoint(self):
        for env in ("HF_HOME=/cache/", "NEMO_CACHE_DIR=/cache/", "TORCH_HOME=/cache/"):
            self.assertIn(env, self.text)
        self.assertIn("VOLUME /cache", self.text)
        self.assertNotIn("ENTRYPOINT", self.text, "NVIDIA's entrypoint sets up CUDA compatibility libraries")
        self.assertIn('CMD ["nemo-transcribe-serve"]', self.text)
        self.assertIn("/usr/local/bin/nemo-transcribe-serve", self.text)
        self.assertIn("/v2/health/ready", self.text)

    def test_repository_path_in_the_image(self):
        self.assertIn(f"NEMO_REPOSITORY={IMAGE_MODELS}/repository", self.text)
        self.assertRegex(self.text, re.compile(rf"^COPY \. {re.escape(IMAGE_MODELS)}$", re.M))
        self.assertIn(f"repo=${{NEMO_REPOSITORY:-{IMAGE_MODELS}/repository}}", read("serve.sh"))

    # Triton's compatibility matrix (server docs/introduction/compatibility.md):
    # release 25.10 is CUDA 13.0.2 with driver 580.95.05 (its trtllm image
    # alone stays on CUDA 12.9.1 / 575). The note must follow the pinned tag.
    TRITON_CUDA_DRIVER = {"25.10": ("13.0", 580)}

    def test_driver_note_matches_tritons_matrix(self):
        tag = re.search(r":(\d\d\.\d\d)-py3$", self.arg("TRITON_IMAGE")).group(1)
        self.assertIn(tag, self.TRITON_CUDA_DRIVER, f"add Triton {tag}'s CUDA and driver to this table")
        cuda, driver = self.TRITON_CUDA_DRIVER[tag]
        note = self.text.split("ARG TRITON_IMAGE", 1)[0]
        self.assertIn(f"{tag}: CUDA {cuda}", note)
        self.assertIn(f"driver {driver}+", note)
        drivers = {int(d) for d in re.findall(r"driver (\d{3})", note)} | {
            int(d) for d in re.findall(r"\bR(\d{3})\b", note)
        }
        self.assertEqual(drivers, {driver}, "no other driver release is promised for this image")
        readme = re.sub(r"\s+", " ", read("README.md"))
        self.assertIn(f"the NVIDIA driver ({driver} or newer", readme)
        self.assertNotRegex(readme, r"R5[34]5", "CUDA 13 images do not run on R535/R545")

    def test_dockerignore_keeps_what_the_server_needs(self):
        ignored = [l.strip() for l in read(".dockerignore").splitlines() if l.strip() and not l.startswith("#")]
        for needed in (
            "common/nemo_asr_backend.py",
            "common/nemo_engine.py",
            "common/nemo_speaker_backend.py",
            "common/nemo_speaker_engine.py",
            "serve.sh",
        ) + tuple(
            f"repository/{m}/config.pbtxt" for m in MODEL_DIRS
        ) + tuple(f"repository/{m}/1/model.py" for m in MODEL_DIRS):
            self.assertFalse(any(glob_match(p, needed) for p in ignored), f"{needed} must reach the image")
        for dropped in ("common/test_backend.py", "common/test_speaker_backend.py", "common/fakes/fake_nemo.py", "config_test.go", "testdata/speech-en.wav"):
            self.assertTrue(any(glob_match(p, dropped) for p in ignored), f"{dropped} should stay out of the image")


def glob_match(pattern, path):
    import fnmatch

    return fnmatch.fnmatch(path, pattern) or path.startswith(pattern.rstrip("/") + "/")


class ComposeTest(unittest.TestCase):
    def setUp(self):
        (self.doc,) = load_yaml("compose.yaml")
        self.svc = self.doc["services"]["triton"]

    def test_gpu_shm_ports_cache_health(self):
        devices = self.svc["deploy"]["resources"]["reservations"]["devices"]
        self.assertTrue(any(d.get("driver") == "nvidia" and "gpu" in d.get("capabilities", []) for d in devices))
        self.assertRegex(str(self.svc["shm_size"]), r"^\$\{TRITON_SHM_SIZE:-[1-9]\d*(gb|g)\}$")
        published = {p.rsplit(":", 2)[-1] for p in self.svc["ports"]}
        self.assertEqual(published, {"8000", "8001", "8002"})
        for p in self.svc["ports"]:
            self.assertRegex(p, r"^\$\{TRITON_(HTTP_)?BIND:-127\.0\.0\.1\}:", "this machine only unless told otherwise")
        self.assertIn("nemo-cache:/cache", self.svc["volumes"])
        self.assertIn("nemo-cache", self.doc["volumes"])
        self.assertEqual(self.svc["build"]["context"], ".")
        health = self.svc["healthcheck"]
        self.assertIn("http://localhost:8000/v2/health/ready", health["test"])
        self.assertIn("start_period", health)

    def test_shm_fits_a_full_batch_of_the_longest_chunks(self):
        default = re.fullmatch(r"\$\{TRITON_SHM_SIZE:-(.+)\}", self.svc["shm_size"]).group(1)
        size = size_bytes(default)
        gpus = int(re.search(r"covers (\d+) GPUs", read("compose.yaml")).group(1))
        self.assertEqual(gpus, size // shm_per_gpu_bytes(), "the comment says how many GPUs the default covers")
        self.assertGreaterEqual(gpus, 1)
        check_shm_comment(self, read("compose.yaml"), size, gpus)

    def test_the_repository_is_mounted_whole(self):
        self.assertIn(f"./:{IMAGE_MODELS}:ro", self.svc["volumes"], "repository/ and common/ together")

    def test_default_models_exist_with_the_speaker_model(self):
        default = re.fullmatch(r"\$\{NEMO_MODELS:-(.+)\}", self.svc["environment"]["NEMO_MODELS"]).group(1)
        self.assertEqual(default.split(","), list(DEFAULT_MODELS))

    def test_tls_override(self):
        (tls,) = load_yaml("compose.tls.yaml")
        command = tls["services"]["triton"]["command"]
        self.assertEqual(command[0], "nemo-transcribe-serve", "the command replaces the image's CMD")
        self.assertIn("--grpc-use-ssl=true", command)
        self.assertTrue(any(c.startswith("--grpc-server-cert=") for c in command))
        self.assertTrue(any(c.startswith("--grpc-server-key=") for c in command))


class ServeScriptTest(unittest.TestCase):
    """Runs serve.sh with a stand-in tritonserver that records its arguments."""

    def run_serve(self, models, *extra):
        with tempfile.TemporaryDirectory() as tmp:
            record = os.path.join(tmp, "args.json")
            fake = os.path.join(tmp, "tritonserver")
            with open(fake, "w", encoding="utf-8") as f:
                f.write(
                    "#!/usr/bin/env python3\nimport json, sys\n"
                    f"with open({record!r}, 'w') as out:\n    json.dump(sys.argv[1:], out)\n"
                )
            os.chmod(fake, os.stat(fake).st_mode | stat.S_IEXEC)
            env = dict(os.environ, PATH=tmp + os.pathsep + os.environ["PATH"], NEMO_REPOSITORY=REPOSITORY)
            if models is not None:
                env["NEMO_MODELS"] = models
            else:
                env.pop("NEMO_MODELS", None)
            proc = subprocess.run(
                ["sh", os.path.join(MODELS, "serve.sh"), *extra], env=env, capture_output=True, text=True, timeout=30
            )
            if not os.path.exists(record):
                return proc, None
            with open(record, encoding="utf-8") as f:
                return proc, json.load(f)

    def test_loads_the_named_models_explicitly(self):
        proc, args = self.run_serve("parakeet-tdt-0.6b-v3, canary-1b-v2", "--grpc-use-ssl=true")
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn(f"--model-repository={REPOSITORY}", args)
        self.assertIn("--model-control-mode=explicit", args)
        self.assertEqual([a for a in args if a.startswith("--load-model=")], [
            "--load-model=parakeet-tdt-0.6b-v3",
            "--load-model=canary-1b-v2",
        ])
        self.assertEqual(args[-1], "--grpc-use-ssl=true", "extra arguments reach tritonserver")
        self.assertTrue(any(a.startswith("--backend-config=python,shm-default-byte-size=") for a in args))

    def test_default_models(self):
        proc, args = self.run_serve(None)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(
            [a for a in args if a.startswith("--load-model=")], [f"--load-model={m}" for m in DEFAULT_MODELS]
        )

    def test_unknown_model_is_refused_with_the_list(self):
        proc, args = self.run_serve("whisper-large")
        self.assertEqual(proc.returncode, 2)
        self.assertIsNone(args)
        self.assertIn("no model 'whisper-large'", proc.stderr)
        for name in MODEL_DIRS:
            self.assertIn(name, proc.stderr)
        proc, _ = self.run_serve("common")
        self.assertEqual(proc.returncode, 2, "the shared code folder is not a model")


class KubernetesTest(unittest.TestCase):
    def test_deployment_service_and_kustomization(self):
        (deploy,) = load_yaml("k8s", "deployment.yaml")
        (service,) = load_yaml("k8s", "service.yaml")
        (kustom,) = load_yaml("k8s", "kustomization.yaml")
        self.assertEqual(deploy["kind"], "Deployment")
        pod = deploy["spec"]["template"]
        (container,) = pod["spec"]["containers"]
        self.assertEqual(str(container["resources"]["limits"]["nvidia.com/gpu"]), "1")
        for probe in ("readinessProbe", "startupProbe"):
            self.assertEqual(container[probe]["httpGet"]["path"], "/v2/health/ready")
            self.assertEqual(container[probe]["httpGet"]["port"], "http")
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        self.assertEqual(ports, {"http": 8000, "grpc": 8001, "metrics": 8002})
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        self.assertEqual(mounts, {"/cache", "/dev/shm"})
        dshm = next(v for v in pod["spec"]["volumes"] if v["name"] == "dshm")
        self.assertEqual(dshm["emptyDir"]["medium"], "Memory")
        # One GPU per pod, so one instance of each model.
        check_shm_comment(self, read("k8s", "deployment.yaml"), size_bytes(dshm["emptyDir"]["sizeLimit"]), 1)
        models = next(e["value"] for e in container["env"] if e["name"] == "NEMO_MODELS")
        self.assertEqual(models.split(","), list(DEFAULT_MODELS))

        self.assertEqual(service["spec"]["clusterIP"], "None", "headless: DNS lists every replica")
        labels = pod["metadata"]["labels"]
        for key, value in service["spec"]["selector"].items():
            self.assertEqual(labels.get(key), value)
        self.assertIn(8001, [p["port"] for p in service["spec"]["ports"]])
        self.assertEqual(set(kustom["resources"]), {"deployment.yaml", "service.yaml"})
        self.assertEqual(kustom["images"][0]["name"], container["image"].split(":")[0])
        (lan,) = load_yaml("k8s", "service-lan.yaml")
        self.assertEqual(lan["spec"]["selector"], service["spec"]["selector"])


class RepositoryLayoutTest(unittest.TestCase):
    def test_the_repository_root_holds_only_models(self):
        # Every folder, hidden ones too: Triton's local file system lists all
        # entries but "." and ".." (core src/filesystem/implementations/local.h).
        entries = os.listdir(REPOSITORY)
        self.assertGreaterEqual(len(entries), 3)
        for entry in entries:
            path = os.path.join(REPOSITORY, entry)
            self.assertTrue(os.path.isdir(path), f"{entry}: only model folders belong in the repository root")
            self.assertTrue(
                os.path.isfile(os.path.join(path, "config.pbtxt")),
                f"repository/{entry} has no config.pbtxt: Triton would list it as a model",
            )
        self.assertFalse(os.path.exists(os.path.join(REPOSITORY, "common")))
        self.assertTrue(os.path.isfile(os.path.join(MODELS, "common", "nemo_asr_backend.py")))

    def test_scripts_use_the_repository_root(self):
        root = os.path.dirname(MODELS)
        for script in ("scripts/test-models.sh", "scripts/verify-gpu.sh"):
            with open(os.path.join(root, script), encoding="utf-8") as f:
                text = f.read()
            self.assertIn("models/repository/", text, script)
            self.assertNotRegex(text, r"models/\*/config\.pbtxt|models/\$model/config", script)


class PerfInputTest(unittest.TestCase):
    def test_wav_becomes_perf_analyzer_input_of_the_requested_length(self):
        spec = importlib.util.spec_from_file_location("wav_to_perf_json", os.path.join(MODELS, "perf", "wav_to_perf_json.py"))
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        audio = mod.samples(os.path.join(MODELS, "testdata", "speech-en.wav"))
        self.assertGreater(len(audio), 20 * 16000)
        doc = mod.perf_input(audio, 30)
        entry = doc["data"][0]["AUDIO"]
        self.assertEqual(entry["shape"], [480000])
        self.assertEqual(len(entry["content"]), 480000)
        self.assertEqual(entry["content"][len(audio)], round(audio[0], 6), "repeats the clip to fill the length")
        self.assertLessEqual(max(abs(x) for x in entry["content"]), 1.0)


class SpeechSampleTest(unittest.TestCase):
    def test_bundled_sample_is_16k_mono_with_its_transcript(self):
        with wave.open(os.path.join(MODELS, "testdata", "speech-en.wav"), "rb") as w:
            self.assertEqual((w.getnchannels(), w.getsampwidth(), w.getframerate()), (1, 2, 16000))
            seconds = w.getnframes() / 16000
        self.assertTrue(20 < seconds < 30, "fits in one 30 s chunk")
        words = read("testdata", "speech-en.txt").split()
        self.assertGreater(len(words), 50)


if __name__ == "__main__":
    unittest.main()
