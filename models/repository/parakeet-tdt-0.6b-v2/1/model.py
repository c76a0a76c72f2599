# This model's behaviour is the shared backend in models/common
# (nemo_asr_backend.py); its config.pbtxt parameters say which NeMo model it
# loads and what it accepts. The shared folder is found relative to this
# file, so the same layout works in the container and in the unit tests.
import os
import sys

_COMMON = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "common")
if _COMMON not in sys.path:
    sys.path.insert(0, _COMMON)

from nemo_asr_backend import TritonPythonModel  # noqa: E402,F401
