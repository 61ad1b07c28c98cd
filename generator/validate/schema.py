"""JSON Schema findings, each placed on the YAML node it is about."""

from __future__ import annotations

import datetime
import difflib
import re
from collections.abc import Iterable
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError, best_match

from generator import rules
from generator.findings import Finding, json_path
from generator.load import LoadedSpec
from generator.resources import spec_schema

#: Schema keyword → rule, so each kind of schema problem can be looked up and suppressed alike.
_RULE_BY_KEYWORD = {
    "type": rules.WRONG_TYPE,
    "additionalProperties": rules.UNKNOWN_KEY,
    "required": rules.MISSING_KEY,
    "enum": rules.NOT_ALLOWED,
    "pattern": rules.NOT_ALLOWED,
    "const": rules.NOT_ALLOWED,
    "minimum": rules.OUT_OF_RANGE,
    "maximum": rules.OUT_OF_RANGE,
    "minLength": rules.OUT_OF_RANGE,
    "maxLength": rules.OUT_OF_RANGE,
    "minItems": rules.OUT_OF_RANGE,
    "maxItems": rules.OUT_OF_RANGE,
    "maxProperties": rules.OUT_OF_RANGE,
}


#: What each pattern of the schema wants, in words: a user should not have to read a regex.
PATTERN_WORDS = {
    "^[a-z][a-z0-9-]*[a-z0-9]$(?!\\n)": "lowercase letters, digits and hyphens, starting with a "
    "letter and not ending with a hyphen",
    "^[^<>%&\\\\?/\\u0000-\\u001f]+$(?!\\n)": "any characters but < > % & \\ ? / and control "
    "characters",
    "^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$(?!\\n)": "an email address like ops@example.com",
    "^[a-z][a-z0-9-]*$(?!\\n)": "lowercase letters, digits and hyphens, starting with a letter",
    "^[A-Za-z0-9][A-Za-z0-9._~/-]*$(?!\\n)": "a URL path: letters, digits and . _ ~ / -, starting "
    "with a letter or digit",
    "^20[0-9]{2}-[01][0-9]-[0-3][0-9](-preview)?$(?!\\n)": "an API version date like 2024-10-21, "
    "optionally followed by -preview",
    '^[^<>&"\\u0000-\\u001f]+$(?!\\n)': 'any characters but < > & " and control characters',
    "^[^<>&\"'\\u0000-\\u001f]+$(?!\\n)": "any characters but < > & \" ' and control characters",
    "^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$(?!\\n)": "lowercase letters, digits and hyphens, not "
    "starting or ending with a hyphen",
    "^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$(?!\\n)": "letters, digits, '.', '_' and '-', "
    "starting and ending with a letter or digit",
    "^[-\\w.()]*[-\\w()]$(?!\\n)": "letters, digits, '_', '-', '.', '(' and ')', not ending "
    "with '.'",
    "^[a-z][a-z0-9]*$(?!\\n)": "an Azure region name: lowercase letters and digits, like "
    "swedencentral",
    (
        "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$(?!\\n)"
    ): "a GUID like 72f988bf-86f1-41af-91ab-2d7cd011db47",
    "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f]*$(?!\\n)": "free text without control "
    "characters (tabs and line breaks are fine)",
    "^[^\\u0000-\\u001f]+$(?!\\n)": "any characters but control characters",
    "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$(?!\\n)": "an HTTP header name: letters, digits and "
    "! # $ % & ' * + . ^ _ ` | ~ -",
    "^[A-Za-z0-9][A-Za-z0-9._-]*$(?!\\n)": "letters, digits, '.', '_' and '-', starting with a "
    "letter or digit",
    "^[A-Za-z0-9_.:/-]{1,128}$(?!\\n)": "a token claim name: 1 to 128 letters, digits and "
    "_ . : / -",
    "^[A-Z]{3}$(?!\\n)": "an ISO 4217 currency code: three capital letters, like USD",
}


def _is_integer(_checker: object, instance: object) -> bool:
    # jsonschema counts 50.0 as an integer (JSON has one number type); a spec's counts are ints,
    # and a float reaching an `int` Bicep parameter fails only at deployment.
    return isinstance(instance, int) and not isinstance(instance, bool)


_StrictValidator = validators.extend(
    Draft202012Validator,
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


@cache
def _validator() -> Any:
    # No `check_schema` here: the schema ships with tokengate and a test checks it against the
    # 2020-12 metaschema (tests/test_speed.py); checking it on every run was ~9% of a render.
    return _StrictValidator(spec_schema())


def did_you_mean(value: object, choices: Iterable[object]) -> str:
    """` (did you mean 'x'?)` when one choice is close to `value`, else ``."""
    names = [str(c) for c in choices]
    text = str(value)
    folded = {n.casefold(): n for n in names}
    close = (
        [folded[text.casefold()]]
        if text.casefold() in folded
        else difflib.get_close_matches(text, names, n=1, cutoff=0.6)
    )
    return f" (did you mean '{close[0]}'?)" if close else ""


def _field(path: tuple[str | int, ...]) -> str:
    return f"'{json_path(path).removeprefix('$.')}'" if path else "the spec"


def _describe(error: ValidationError, path: tuple[str | int, ...]) -> str:
    where = _field(path)
    keyword = error.validator
    if keyword == "type":
        return f"{where} must be of type {error.validator_value}, not {_json_type(error.instance)}"
    if keyword == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        hint = did_you_mean(error.instance, error.validator_value)
        return f"{where}: {error.instance!r} is not one of: {allowed}{hint}"
    if keyword == "pattern":
        words = PATTERN_WORDS.get(str(error.validator_value))
        if words:
            return f"{where}: {error.instance!r} is not allowed; expected {words}"
        return f"{where}: {error.instance!r} does not match {error.validator_value}"
    if keyword in ("minimum", "maximum"):
        bound = "at least" if keyword == "minimum" else "at most"
        return f"{where} must be {bound} {error.validator_value}, got {error.instance}"
    if keyword in ("minLength", "maxLength"):
        bound = "at least" if keyword == "minLength" else "at most"
        return f"{where} must be {bound} {error.validator_value} characters long"
    if keyword in ("minItems", "maxItems"):
        bound = "at least" if keyword == "minItems" else "at most"
        return f"{where} must have {bound} {error.validator_value} item(s)"
    return f"{where}: {error.message}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes):
        return "binary data (a !!binary value)"
    if isinstance(value, (set, frozenset)):
        return "a set (a !!set value)"
    if isinstance(value, datetime.date):
        return "a date (YAML reads unquoted dates as dates: quote it)"
    if isinstance(value, list):
        return "array"
    return "object"


def _unexpected_keys(error: ValidationError) -> list[str]:
    allowed = set(error.schema.get("properties", {}))
    patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
    return sorted(
        k for k in error.instance if k not in allowed and not any(p.search(k) for p in patterns)
    )


def _closest_branch(error: ValidationError) -> list[ValidationError]:
    """The errors of the one branch whose type fits the value, instead of "not valid under any"."""
    branches: dict[int, list[ValidationError]] = {}
    for sub in error.context or []:
        branches.setdefault(int(sub.relative_schema_path[0]), []).append(sub)
    fitting = [
        errors
        for errors in branches.values()
        if not any(e.validator == "type" and not e.relative_path for e in errors)
    ]
    if len(fitting) == 1:
        return fitting[0]
    return [best_match(error.context or [])]


def _to_findings(spec: LoadedSpec, error: ValidationError) -> list[Finding]:
    path = tuple(error.absolute_path)
    keyword = str(error.validator)
    if "propertyNames" in error.absolute_schema_path and isinstance(error.instance, str):
        # A key's problem belongs on the key, not on the mapping holding it.
        key_path = (*path, error.instance)
        rule = _RULE_BY_KEYWORD.get(keyword, rules.SCHEMA_OTHER)
        message = _describe(error, path).replace(_field(path), f"a key of {_field(path)}", 1)
        return [rule.finding(spec, key_path, message, key=True)]
    if keyword in ("oneOf", "anyOf") and error.context:
        return [f for e in _closest_branch(error) for f in _to_findings(spec, e)]
    if keyword == "not":
        message = f"{_field(path)}: give either 'value' or 'header', not both"
        return [rules.SCHEMA_OTHER.finding(spec, path, message)]
    if error.validator is None and "then" in error.absolute_schema_path:
        # The one `if`/`then` of the schema: a budget in money stands instead of a quota.
        message = (
            f"{_field(path)}: 'budget' stands instead of 'quota' and 'quotaPeriod': give one "
            "or the other, not both"
        )
        return [rules.SCHEMA_OTHER.finding(spec, path, message)]
    if keyword == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        allowed = ", ".join(known)
        return [
            rules.UNKNOWN_KEY.finding(
                spec,
                (*path, key),
                f"unknown key '{key}' in {_field(path)}{did_you_mean(key, known)} "
                f"(allowed: {allowed})",
                key=True,
            )
            for key in _unexpected_keys(error)
        ]
    if keyword == "required":
        missing = error.message.split("'")[1] if "'" in error.message else "?"
        message = f"{_field(path)} is missing the required key '{missing}'"
        return [rules.MISSING_KEY.finding(spec, path, message)]
    rule = _RULE_BY_KEYWORD.get(keyword, rules.SCHEMA_OTHER)
    return [rule.finding(spec, path, _describe(error, path))]


def schema_findings(spec: LoadedSpec) -> list[Finding]:
    findings: list[Finding] = []
    for error in _validator().iter_errors(spec.data):
        findings.extend(_to_findings(spec, error))
    return sorted(set(findings))
