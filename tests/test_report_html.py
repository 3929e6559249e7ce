"""The HTML report without a browser: what it is made from (older results, explanations, no
instance) and that it is self-contained (no script or style from elsewhere)."""

from __future__ import annotations

import json
import re

from typer.testing import CliRunner

from cli import app
from conftest import FEATURES

runner = CliRunner()


def test_self_contained_and_from_an_older_result(tmp_path):
    out = tmp_path / "r.json"
    assert runner.invoke(app, ["solve", str(FEATURES / "tiny.yaml"), "-o", str(out)]).exit_code == 0
    data = json.loads(out.read_text())
    # a 1.1.0 result: no v2 fields (expected_cost, refunds, shortfall, delivered, void periods, scenarios)
    for key in ("expected_cost", "shortfall", "scenarios", "risk"):
        data.pop(key, None)
    for key in ("refunds", "shortfall"):
        data["cost"].pop(key)
    for o in data["orders"]:
        o.pop("delivered"), o.pop("refund")
    for x in data["leases"]:
        x.pop("void_periods")
    data["schema_version"] = "1.1.0"
    old = tmp_path / "old.json"
    old.write_text(json.dumps(data))
    page = tmp_path / "old.html"
    res = runner.invoke(app, ["report", str(old), "-o", str(page)])
    assert res.exit_code == 0, res.output
    html = page.read_text()
    # no script or stylesheet loaded from elsewhere (the inlined plotly bundle names a CDN for
    # map data only, which these charts never ask for)
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=", html)
    assert "Plotly" in html and 'id="cap-bf16_tflops"' in html
    # without the instance the split by chip is inferred: one chip, 12 GPUs in service, 1200 TFLOPS
    assert "split of capacity by chip is not determined" not in html
    assert "(hash: pass --instance)" in html


def test_explanation_adds_binding_rules(tmp_path):
    ex = tmp_path / "ex.json"
    res = runner.invoke(app, ["explain", str(FEATURES / "tiny.yaml"), "--json", "--no-break-even"])
    assert res.exit_code == 0
    ex.write_text(res.stdout)
    page = tmp_path / "ex.html"
    assert runner.invoke(app, ["report", str(ex), "-o", str(page)]).exit_code == 0
    html = page.read_text()
    assert "Why this plan" in html and 'id="marginal-values"' in html or "no requirement or limit" in html
    for b in json.loads(ex.read_text())["binding"]:
        assert b["text"].replace("'", "&#39;") in html
