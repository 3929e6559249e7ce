"""Regenerate the committed JSON Schemas: `python schemas/update.py` (from the repository root).

The result schema is a contract with the quoting service. Each released `SCHEMA_VERSION`
(models/result.py) is registered in `result.versions.json` with a fingerprint of its schema, so
a change without a version bump is caught even after someone regenerated the file:
`tests/test_schema_contract.py` fails, and this script refuses to re-register a version with
another schema. `--replace` overrides that, for a version that was never released (never left
the working tree).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULT_FILE = HERE / "result.schema.json"
INSTANCE_FILE = HERE / "instance.schema.json"
VERSIONS_FILE = HERE / "result.versions.json"
COMMAND = "python schemas/update.py"


def fingerprint(schema: dict) -> str:
    """sha256 of the schema without its version labels: what the version must change with."""
    body = {k: v for k, v in schema.items() if k not in ("$id", "x-schema-version")}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def dump(schema: dict) -> str:
    return json.dumps(schema, indent=2) + "\n"


def read_versions() -> dict[str, str]:
    return json.loads(VERSIONS_FILE.read_text(encoding="utf-8")) if VERSIONS_FILE.exists() else {}


def _write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replace", action="store_true",
                        help="re-register the current version with the new schema (unreleased versions only)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    from models.schema import json_schema

    result = json_schema("result")
    version = result["x-schema-version"]
    versions = read_versions()
    new = fingerprint(result)
    if versions.get(version, new) != new and not args.replace:
        sys.stderr.write(
            f"the result schema changed but SCHEMA_VERSION is still {version}, which is registered with\n"
            f"another schema. Bump SCHEMA_VERSION in models/result.py (minor for added fields, major for\n"
            f"removed or changed ones) and run `{COMMAND}` again.\n"
        )
        return 2
    versions[version] = new
    _write(VERSIONS_FILE, json.dumps(dict(sorted(versions.items(), key=lambda kv: _semver(kv[0]))), indent=2) + "\n")
    _write(RESULT_FILE, dump(result))
    _write(INSTANCE_FILE, dump(json_schema("instance")))
    print(f"wrote {RESULT_FILE.name} ({version}), {INSTANCE_FILE.name}, {VERSIONS_FILE.name}")
    return 0


def _semver(text: str) -> tuple:
    return tuple(int(p) if p.isdigit() else p for p in text.split("."))


if __name__ == "__main__":
    raise SystemExit(main())
