# This model's behaviour is the shared speaker-embedding backend in
# models/common (nemo_speaker_backend.py); its config.pbtxt parameters say
# which NeMo model it loads and what it accepts. The shared code lives beside
# the repository root, not in it (Triton lists every folder of the root as a
# model): this file is models/repository/<model>/1/model.py, so it is four
# levels up, in the container as in the unit tests.
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
_COMMON = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(_HERE))), "common")
if _COMMON not in sys.path:
    sys.path.insert(0, _COMMON)

from nemo_speaker_backend import TritonPythonModel  # noqa: E402,F401
