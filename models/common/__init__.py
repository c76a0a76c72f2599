"""The shared Python backend of the models in this repository (see nemo_asr_backend.py).

This file only makes the folder a package, so that
`python3 -m unittest discover -s models` finds the tests next to the code.
"""
