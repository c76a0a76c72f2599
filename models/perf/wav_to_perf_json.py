#!/usr/bin/env python3
"""Turns a 16 kHz mono 16-bit WAV into input data for Triton's perf_analyzer,
so the server is measured on real speech rather than random noise:

  python3 models/perf/wav_to_perf_json.py models/testdata/speech-en.wav \
      --seconds 30 > /tmp/speech-30s.json
  perf_analyzer ... --input-data /tmp/speech-30s.json --shape AUDIO:480000

The clip is repeated or cut to exactly --seconds, so that every request has
the shape given to perf_analyzer. Standard library only.
"""

import argparse
import array
import json
import sys
import wave

SAMPLE_RATE = 16000


def samples(path):
    with wave.open(path, "rb") as w:
        if (w.getnchannels(), w.getsampwidth(), w.getframerate()) != (1, 2, SAMPLE_RATE):
            raise SystemExit(f"{path}: need 16 kHz mono 16-bit PCM")
        pcm = array.array("h", w.readframes(w.getnframes()))
    if sys.byteorder == "big":
        pcm.byteswap()
    return [s / 32768.0 for s in pcm]


def perf_input(audio, seconds):
    n = int(round(seconds * SAMPLE_RATE))
    if not audio or n <= 0:
        raise SystemExit("no audio")
    tiled = (audio * (n // len(audio) + 1))[:n]
    return {"data": [{"AUDIO": {"content": [round(x, 6) for x in tiled], "shape": [n]}}]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wav")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each request (default 30)")
    args = parser.parse_args(argv)
    json.dump(perf_input(samples(args.wav), args.seconds), sys.stdout, separators=(",", ":"))
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
