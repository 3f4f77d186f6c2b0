"""What a ``run.json`` and ``docs/results.json`` must hold to be published and rendered, as JSON Schemas.

``mnist-lab results`` checks every run and the results file against these before using them, so that
a record it cannot render (a missing field, text where a number belongs, an accuracy outside 0..1) is
refused in one line instead of failing half-way through a page.
"""

from __future__ import annotations

import jsonschema

_TEXT = {"type": "string"}
_SECONDS = {"type": "number", "minimum": 0}
_FRACTION = {"type": "number", "minimum": 0, "maximum": 1}
_EPOCH = {"type": "integer", "minimum": 1}
_OBJECT = {"type": "object"}

RECORD = {"type": "object", "required": ["name", "epochs", "seconds_per_epoch", "best_val_accuracy", "best_epoch"],
          "properties": {"name": _TEXT, "epochs": _EPOCH, "best_epoch": _EPOCH,
                         "seconds_per_epoch": {"type": ["number", "null"], "minimum": 0},
                         "best_val_accuracy": _FRACTION,
                         "test_accuracy": {"type": ["number", "null"], "minimum": 0, "maximum": 1}}}
# A bench stage is rendered as the mean of its records' accuracies: it needs at least one, each with a test accuracy.
_BENCH_RECORD = {"allOf": [RECORD], "required": ["test_accuracy"], "properties": {"test_accuracy": _FRACTION}}

DATA = {"type": "object", "required": ["name", "files"],
        "properties": {"name": _TEXT, "folder": {"type": ["string", "null"]},
                       "files": {"type": "object", "additionalProperties": {
                           "type": "object", "required": ["md5"], "properties": {"md5": _TEXT}}},
                       "train_images": {"type": ["integer", "null"]}, "test_images": {"type": ["integer", "null"]},
                       "arrays": {"type": "object", "additionalProperties": _OBJECT}}}

# The fields every run.json starts with (provenance.header), as each published entry keeps them.
HEAD = {"command": _TEXT, "environment": {"type": ["object", "null"], "additionalProperties": _TEXT},
        "started": _TEXT, "commit": {"type": ["string", "null"]}, "dirty": {"type": ["boolean", "null"]},
        "data": DATA,
        "machine": {"type": "object", "required": ["platform", "cpus", "tensorflow"],
                    "properties": {"platform": _TEXT, "cpus": {"type": "integer", "minimum": 1},
                                   "tensorflow": {"type": ["string", "null"]}}}}

NOTEBOOK = {"notebook": _TEXT, "status": _TEXT, "seconds": _SECONDS, "parameters": _OBJECT,
            "records": {"type": "array", "items": RECORD}}

BENCH = {"seconds": _SECONDS, "epochs": _EPOCH, "seeds": {"type": "array", "items": {"type": "integer"}},
         "input_pipeline": _OBJECT,
         "stages": {"type": "array", "items": {
             "type": "object", "required": ["stage", "notebook", "records"],
             "properties": {"stage": _TEXT, "notebook": _TEXT,
                            "records": {"type": "array", "minItems": 1, "items": _BENCH_RECORD}}}}}


def _fields(*groups: dict) -> dict:
    """An object that needs every field of ``groups``, each of its kind."""
    properties = {k: v for group in groups for k, v in group.items()}
    return {"type": "object", "required": list(properties), "properties": properties}


RUN = {"allOf": [_fields(HEAD, {"quick": {"type": "boolean"}})],
       "if": {"required": ["stages"]}, "then": _fields(BENCH), "else": _fields({"notebooks": {
           "type": "array", "items": _fields(NOTEBOOK)}})}

STORE = _fields({
    "notebooks": {"type": "object", "propertyNames": {"pattern": "^(0[1-9]|10)$"}, "additionalProperties": {
        "type": "array", "minItems": 1, "items": _fields(HEAD, NOTEBOOK, {"part": {"type": ["string", "null"]}})}},
    "bench": {"anyOf": [{"type": "null"}, _fields(HEAD, BENCH)]}})


def problem(value, schema: dict) -> str | None:
    """The first thing in ``value`` that ``schema`` rejects, in one line (where, then what); None if all is well."""
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(value))
    if error is None:
        return None
    message = error.message if len(error.message) <= 120 else error.message[:117] + "..."
    return f"{error.json_path.removeprefix('$.') if error.path else 'top level'}: {message}"
