"""Response schemas taken out of the stored OpenAPI specs, checked with jsonschema (draft 2020-12).

OpenAPI 3.0 schemas are not quite JSON Schema, so each schema is converted on the way out:
`nullable: true` becomes `anyOf: [{"type": "null"}, <schema>]` (that also covers `$ref`, `allOf` and
`enum` siblings, which a bare `type: [..., "null"]` would not), and the draft-4 style boolean
`exclusiveMinimum`/`exclusiveMaximum` becomes the numeric form. `$ref`s stay as written and resolve
inside the spec document: the converted `components` ride along at the root of every schema.

The specs are looked up in $VOICE_AGENTS_SPEC_DIR, then in the repository's `specs/`.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

JsonObject = dict[str, Any]

SPEC_DIR_ENV = "VOICE_AGENTS_SPEC_DIR"
RETELL_SPEC_FILE = "retell-openapi.yaml"
TWILIO_SPEC_FILE = "twilio_api_v2010.json"
_REPO_ROOT = Path(__file__).resolve().parents[2]


def spec_file(name: str) -> Path:
    candidates = [Path(os.environ[SPEC_DIR_ENV])] if os.environ.get(SPEC_DIR_ENV) else []
    candidates += [_REPO_ROOT / "specs"]
    for directory in candidates:
        if (directory / name).is_file():
            return directory / name
    raise FileNotFoundError(f"{name} not found in {[str(each) for each in candidates]}; set ${SPEC_DIR_ENV}")


def openapi_to_json_schema(node: Any) -> Any:
    """An OpenAPI 3.0 schema (or any part of a spec document) as JSON Schema 2020-12."""
    if isinstance(node, list):
        return [openapi_to_json_schema(each) for each in node]
    if not isinstance(node, dict):
        return node
    converted = {
        key: openapi_to_json_schema(value)
        for key, value in node.items()
        if not (key == "nullable" and isinstance(value, bool))
    }
    for exclusive, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(converted.get(exclusive), bool) and converted.pop(exclusive) and bound in converted:
            converted[exclusive] = converted.pop(bound)
    if node.get("nullable") is True:
        return {"anyOf": [{"type": "null"}, converted]}
    return converted


class OpenApiSpec:
    def __init__(self, document: JsonObject) -> None:
        self.document = document
        self._components = openapi_to_json_schema(document.get("components", {}))

    @classmethod
    def load(cls, name: str) -> OpenApiSpec:
        path = spec_file(name)
        with path.open(encoding="utf-8") as stream:
            if path.suffix in (".yaml", ".yml"):
                # The C loader reads the 430 kB Retell spec ~5x faster where libyaml is present.
                document = yaml.load(stream, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
            else:
                document = json.load(stream)
        return cls(document)

    def response_schema(self, path: str, method: str, status: int) -> JsonObject:
        """The JSON body schema the spec declares for `method path` answering `status`."""
        responses = self.document["paths"][path][method.lower()]["responses"]
        if str(status) not in responses:
            raise KeyError(f"the spec declares no {status} for {method.upper()} {path}: {sorted(responses)}")
        response = self._dereference(responses[str(status)])
        content = response.get("content") or {}
        if "application/json" not in content:
            raise KeyError(f"the spec declares no JSON body for {method.upper()} {path} {status}")
        return self._rooted(content["application/json"]["schema"])

    def declares_empty_response(self, path: str, method: str, status: int) -> bool:
        response = self._dereference(self.document["paths"][path][method.lower()]["responses"][str(status)])
        return not response.get("content")

    def named_response_schema(self, name: str) -> JsonObject:
        """The body schema of `components/responses/<name>` (Retell's shared error responses)."""
        response = self.document["components"]["responses"][name]
        return self._rooted(response["content"]["application/json"]["schema"])

    def component_schema(self, name: str) -> JsonObject:
        if name not in self.document["components"]["schemas"]:
            raise KeyError(f"no components/schemas/{name} in the spec")
        return self._rooted({"$ref": f"#/components/schemas/{name}"})

    def property_names(self, name: str) -> set[str]:
        """The top-level properties of a plain object schema in components/schemas."""
        return set(self.document["components"]["schemas"][name]["properties"])

    def errors(self, instance: Any, schema: JsonObject) -> list[str]:
        validator = Draft202012Validator(schema)
        return [
            f"{error.json_path}: {error.message[:300]}"
            for error in sorted(validator.iter_errors(instance), key=lambda each: each.json_path)
        ]

    def assert_valid(self, instance: Any, schema: JsonObject) -> None:
        problems = self.errors(instance, schema)
        assert not problems, "body does not match the spec:\n  " + "\n  ".join(problems[:20])

    def _rooted(self, schema: JsonObject) -> JsonObject:
        return {**openapi_to_json_schema(schema), "components": self._components}

    def _dereference(self, node: JsonObject) -> JsonObject:
        while "$ref" in node:
            pointer = node["$ref"].removeprefix("#/").split("/")
            node = functools.reduce(lambda part, key: part[key], pointer, self.document)
        return node


@functools.cache
def retell_spec() -> OpenApiSpec:
    return OpenApiSpec.load(RETELL_SPEC_FILE)


@functools.cache
def twilio_spec() -> OpenApiSpec:
    return OpenApiSpec.load(TWILIO_SPEC_FILE)
