"""Catalogs of chips and offers that instances include by reference (`include:`).

An instance names catalogs in a top-level `include:` list, read in order:

    include:
      - catalog                  # the built-in catalog: chips.yaml and offers.yaml shipped here
      - catalog/chips            # only the built-in chips (catalog/offers: only the offers)
      - my-prices.yaml           # a file, relative to the including file
      - {file: catalog/offers, only: [DGX-Cloud-A100-80G]}   # just these ids from that file

A catalog file is a mapping with `chips`, `offers`, `fx` (all optional), `description`, and its own
`include` (cycles are refused). Merging: catalog entries come first, in include order; an entry
whose id appeared earlier (in an earlier catalog, or in the instance itself) is merged over it
field by field, nested mappings deeply, lists replaced. So the instance line
`chips: [{id: A800-SXM-80G, efficiency: 0.9}]` changes one field of the catalog's A800, and
`interconnect_gbps: null` makes a figure unknown again. `fx` merges key by key, the instance winning.

Errors in a catalog file name that file and the place in it (`chips.yaml: chips[3].tdp_w: ...`).
The built-in files live in this package so they ship with an installed `plan`.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from models.errors import InputError, messages

BUILTIN_DIR = Path(__file__).resolve().parent
BUILTIN = {
    "catalog": (BUILTIN_DIR / "chips.yaml", BUILTIN_DIR / "offers.yaml"),
    "catalog/chips": (BUILTIN_DIR / "chips.yaml",),
    "catalog/offers": (BUILTIN_DIR / "offers.yaml",),
    # 2026 parts: not in `catalog`, so instances of earlier years keep the market they had
    "catalog/2026": (BUILTIN_DIR / "offers-2026.yaml",),
}
CATALOG_KEYS = {"include", "description", "chips", "offers", "fx"}
MERGED = ("chips", "offers")


def deep_merge(base: Any, over: Any) -> Any:
    """`over` on top of `base`: mappings merge key by key (recursively), anything else replaces."""
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = deep_merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(over)


def _entries(spec: Any, where: str, base: Path) -> list[tuple[Path, set[str] | None]]:
    """One `include` item -> the files it names and the ids it keeps (None: all)."""
    only = None
    if isinstance(spec, dict):
        unknown = set(spec) - {"file", "only"}
        if unknown:
            raise InputError([f"{where}: unknown key(s) {sorted(unknown)}; an include is a name, a path or {{file, only}}"])
        if "only" in spec:
            ids = spec["only"]
            if isinstance(ids, str):
                ids = [ids]
            if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
                raise InputError([f"{where}.only: must be a list of chip/offer ids"])
            only = set(ids)
        spec = spec.get("file")
    if not isinstance(spec, str) or not spec.strip():
        raise InputError([f"{where}: must be a catalog name ({', '.join(BUILTIN)}) or a file path"])
    if spec in BUILTIN:
        return [(p, only) for p in BUILTIN[spec]]
    if "." not in Path(spec).name:
        raise InputError([f"{where}: unknown catalog {spec!r}; built-in ones are {', '.join(BUILTIN)},"
                          " files end in .yaml, .yml or .json"])
    return [((base.parent / spec).resolve(), only)]


def _check_shape(data: Any, path: Path) -> dict:
    """A catalog file's shape: known keys, lists of mappings with unique string ids."""
    source = str(path)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError([f"a catalog is a mapping with chips/offers/fx, not a {type(data).__name__}"], source)
    errors = [f"{k}: unknown key in a catalog (allowed: {', '.join(sorted(CATALOG_KEYS))})"
              for k in data if k not in CATALOG_KEYS]
    for key in MERGED:
        items = data.get(key) or []
        if not isinstance(items, list):
            errors.append(f"{key}: must be a list")
            continue
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                errors.append(f"{key}[{i}]: must be a mapping with an `id`")
                continue
            if item["id"] in seen:
                errors.append(f"{key}[{i}].id: duplicate id {item['id']!r} (also {key}[{seen[item['id']]}])")
            seen.setdefault(item["id"], i)
    if "fx" in data and not isinstance(data["fx"], dict):
        errors.append("fx: must be a mapping of currency to rate")
    if errors:
        raise InputError(errors, source)
    return data


def _check_entries(catalog: dict, merged: dict, path: Path) -> None:
    """Each chip/offer a catalog file defines or changes, validated as merged, located in that file."""
    from pydantic import ValidationError

    from models.instance import Chip, Offer

    errors: list[str] = []
    for key, model in (("chips", Chip), ("offers", Offer)):
        final = {item["id"]: item for item in merged[key]}
        for i, item in enumerate(catalog.get(key) or []):
            try:
                model.model_validate(final[item["id"]])
            except ValidationError as exc:
                errors.extend(f"{key}[{i}]" + ("" if m.startswith("(") else ".") + m.removeprefix("(instance)")
                              for m in messages(exc))
    if errors:
        raise InputError(errors, str(path))


def _merge_list(base: list, over: list) -> list:
    """Items of `over` merge into the item of `base` with the same id, others are appended."""
    out = list(base)
    index = {item["id"]: i for i, item in enumerate(out) if isinstance(item, dict) and "id" in item}
    for item in over:
        key = item.get("id") if isinstance(item, dict) else None
        if isinstance(key, str) and key in index:
            out[index[key]] = deep_merge(out[index[key]], item)
        else:
            if isinstance(key, str):
                index[key] = len(out)
            out.append(copy.deepcopy(item))
    return out


def _load_catalog(file: Path, stack: tuple[Path, ...]) -> dict:
    """A catalog file with its own includes merged, entries checked: {chips, offers, fx}."""
    from models.reading import read_data

    catalog = _check_shape(read_data(file), file)
    merged = _collect(catalog, file, stack)
    for key in MERGED:
        merged[key] = _merge_list(merged[key], catalog.get(key) or [])
    merged["fx"].update(catalog.get("fx") or {})
    _check_entries(catalog, merged, file)
    return merged


def _collect(data: dict, path: Path, stack: tuple[Path, ...]) -> dict:
    """Everything the `include` list of `data` brings in, merged in order (not `data` itself)."""
    source = str(path)
    merged: dict[str, Any] = {"chips": [], "offers": [], "fx": {}}
    specs = data.get("include")
    if specs is None:
        return merged
    if isinstance(specs, (str, dict)):
        specs = [specs]
    if not isinstance(specs, list):
        raise InputError(["include: must be a list of catalog names or file paths"], source)
    for n, spec in enumerate(specs):
        try:
            entries = _entries(spec, f"include[{n}]", path)
        except InputError as exc:
            raise InputError(exc.messages, source) from None
        found: set[str] = set()
        for file, only in entries:
            if file in stack:
                chain = " -> ".join(p.name for p in (*stack, file))
                raise InputError([f"include[{n}]: include cycle {chain}"], source)
            catalog = _load_catalog(file, (*stack, file))
            for key in MERGED:
                items = catalog[key]
                if only is not None:
                    items = [i for i in items if i["id"] in only]
                found.update(i["id"] for i in items)
                merged[key] = _merge_list(merged[key], items)
            merged["fx"].update(catalog["fx"])
        missing = sorted((only or set()) - found)
        if missing:
            raise InputError([f"include[{n}].only: no chip or offer {', '.join(map(repr, missing))}"
                              f" in {spec['file']!r}"], source)
    return merged


def merge_includes(data: dict, path: Path) -> dict:
    """Instance data with its `include:` catalogs merged in and the `include` key removed."""
    path = Path(path).resolve()
    merged = _collect(data, path, (path,))
    _check_overrides(data, merged, path)
    out = {k: v for k, v in data.items() if k != "include"}
    for key in MERGED:
        own = out.get(key)
        if own is None:
            own = []
        if not isinstance(own, list):  # leave the message to validation ("must be a list")
            continue
        if merged.get(key):
            out[key] = _merge_list(merged[key], own)
    if merged.get("fx"):
        own_fx = out.get("fx")
        if own_fx is None or isinstance(own_fx, dict):
            out["fx"] = {**merged["fx"], **(own_fx or {})}
    return out


OFFER_REQUIRED = ("chip", "kind", "unit_price")


def _check_overrides(data: dict, merged: dict, path: Path) -> None:
    """An instance offer that names no catalog id and lacks what a new offer needs was meant as an
    override with a typo in its id: say so at its place in the file, with the closest catalog id."""
    import difflib

    offers = data.get("offers")
    if not isinstance(offers, list):
        return
    known = [o.get("id") for o in merged.get("offers") or [] if isinstance(o, dict) and isinstance(o.get("id"), str)]
    errors = []
    for i, item in enumerate(offers):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or item["id"] in known:
            continue
        missing = [k for k in OFFER_REQUIRED if k not in item]
        if not missing:
            continue  # a complete new offer
        close = difflib.get_close_matches(item["id"], known, n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else f" (and a new offer needs {', '.join(missing)})"
        errors.append(f"offers[{i}].id: {item['id']!r} is not a catalog id{hint}")
    if errors:
        raise InputError(errors, str(path))


def merge_builtin_includes(data: Any) -> Any:
    """For requests (the HTTP service): only the built-in catalogs may be included, and no file
    of the server is ever read; any other include is an error naming its place."""
    if not isinstance(data, dict) or "include" not in data:
        return data
    specs = data["include"] if isinstance(data["include"], list) else [data["include"]]
    errors = []
    for i, spec in enumerate(specs):
        name = spec.get("file") if isinstance(spec, dict) else spec
        if name not in BUILTIN:
            errors.append(f"include[{i}]: {name!r} is not a built-in catalog ({', '.join(BUILTIN)}); a request"
                          " may include only those (no file is read on the server)")
    if errors:
        raise InputError(errors)
    return merge_includes(data, BUILTIN_DIR / "<request>.yaml")


def builtin_chips() -> list[dict]:
    """The chips of the built-in catalog as plain data."""
    return merge_includes({"include": ["catalog/chips"]}, BUILTIN_DIR / "<builtin>.yaml").get("chips", [])


def read_chips(catalog: str):
    """Chips of a built-in catalog, a catalog file or an instance file, and the instance's defaults."""
    from pydantic import ValidationError

    from models.instance import Chip
    from models.reading import read_data

    if catalog in BUILTIN:
        data, source = merge_includes({"include": [catalog]}, Path.cwd() / "<command line>"), catalog
    else:
        source = catalog
        data = read_data(catalog)
        if not isinstance(data, dict):
            raise InputError(["expected a mapping with `chips` (a catalog or an instance)"], source)
        if "include" in data:
            data = merge_includes(data, Path(catalog))
    defaults = {}
    if isinstance(data.get("compliance"), dict):
        defaults["regime"] = data["compliance"].get("regime")
    if isinstance(data.get("buyer"), dict) and isinstance(data["buyer"].get("country"), str):
        defaults["country"] = data["buyer"]["country"]
    items = data.get("chips")
    if not isinstance(items, list) or not items:
        raise InputError(["chips: no chips here (expected a list under `chips`)"], source)
    chips, errors = [], []
    for i, item in enumerate(items):
        try:
            chips.append(Chip.model_validate(item))
        except ValidationError as exc:
            errors += [f"chips[{i}].{m}" for m in messages(exc)]
    if errors:
        raise InputError(errors, source)
    if defaults.get("regime") is not None:
        from models.regimes import known_regimes

        if not isinstance(defaults["regime"], str) or defaults["regime"] == "by-date":
            defaults.pop("regime")  # a schedule has no one regime: the latest (or --date) is shown
        elif defaults["regime"] not in known_regimes():
            raise InputError([f"compliance.regime: unknown regime {defaults['regime']!r}"], source)
    return chips, defaults
