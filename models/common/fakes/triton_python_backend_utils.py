"""Stand-in for the triton_python_backend_utils module that Triton's Python
backend provides to model.py, for unit tests without Triton.

It keeps the real module's names and call shapes (get_input_tensor_by_name,
Tensor.as_numpy, InferenceRequest.parameters() as a JSON string,
InferenceResponse(output_tensors=..., error=...), TritonError(message, code)
and its code constants, Logger) and checks what the real one would refuse:
BYTES outputs must be numpy object arrays of bytes.
"""

from __future__ import annotations

import json

import numpy as np


class TritonError:
    UNKNOWN = 0
    INTERNAL = 1
    NOT_FOUND = 2
    INVALID_ARG = 3
    UNAVAILABLE = 4
    UNSUPPORTED = 5
    ALREADY_EXISTS = 6
    CANCELLED = 7

    def __init__(self, message, code=INTERNAL):
        self._message = message
        self._code = code

    def message(self):
        return self._message

    def code(self):
        return self._code

    def __repr__(self):
        return f"TritonError({self._message!r}, {self._code})"


class TritonModelException(Exception):
    pass


class Tensor:
    def __init__(self, name, array):
        if not isinstance(name, str):
            raise TypeError("tensor name must be a str")
        array = np.asarray(array)
        if array.dtype == np.object_:
            for item in array.flat:
                if not isinstance(item, (bytes, str)):
                    raise TypeError(f"BYTES tensor {name} holds {type(item).__name__}, not bytes")
        self._name = name
        self._array = array

    def name(self):
        return self._name

    def as_numpy(self):
        return self._array

    def shape(self):
        return list(self._array.shape)


class InferenceRequest:
    """A request as execute() receives it: inputs, parameters, cancellation."""

    def __init__(self, inputs, parameters=None, request_id="", cancelled=False):
        self._inputs = list(inputs)
        if parameters is None:
            self._parameters = "{}"
        elif isinstance(parameters, str):
            self._parameters = parameters
        else:
            self._parameters = json.dumps(parameters)
        self._id = request_id
        self._cancelled = cancelled

    def inputs(self):
        return list(self._inputs)

    def parameters(self):
        return self._parameters

    def request_id(self):
        return self._id

    def is_cancelled(self):
        return self._cancelled


class InferenceResponse:
    def __init__(self, output_tensors=None, error=None):
        self._outputs = list(output_tensors or [])
        self._error = error

    def output_tensors(self):
        return list(self._outputs)

    def has_error(self):
        return self._error is not None

    def error(self):
        return self._error


def get_input_tensor_by_name(request, name):
    for tensor in request.inputs():
        if tensor.name() == name:
            return tensor
    return None


def get_output_tensor_by_name(response, name):
    for tensor in response.output_tensors():
        if tensor.name() == name:
            return tensor
    return None


class Logger:
    lines: list = []

    @classmethod
    def log_info(cls, message):
        cls.lines.append(("INFO", message))

    @classmethod
    def log_warn(cls, message):
        cls.lines.append(("WARN", message))

    @classmethod
    def log_error(cls, message):
        cls.lines.append(("ERROR", message))

    @classmethod
    def log_verbose(cls, message):
        cls.lines.append(("VERBOSE", message))
