"""docs/replication.md is the committed run: its tables are re-rendered byte for byte from
docs/replication/results.json, and that run used the default sizes of `analyze replicate` on
every shipped model."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from audiolrp.app.replication import DEFAULT_HOA_MODELS, DEFAULT_INTENSITY_MODEL, ReplicationConfig
from audiolrp.app.replication.report import (
    generated_block,
    report_markdown,
    tables_markdown,
)
from audiolrp.models import load

DOCS = Path(__file__).resolve().parents[2] / "docs"
RESULTS = DOCS / "replication" / "results.json"


@pytest.fixture(scope="module")
def results() -> dict:
    return json.loads(RESULTS.read_text(encoding="utf-8"))


def test_doc_tables_are_rendered_from_the_committed_json(results) -> None:
    doc = (DOCS / "replication.md").read_text(encoding="utf-8")
    assert generated_block(doc) == tables_markdown(results)


def test_run_report_is_rendered_from_the_committed_json(results) -> None:
    assert (DOCS / "replication" / "replication.md").read_text(encoding="utf-8") == \
        report_markdown(results)


def test_committed_run_is_complete_at_the_default_sizes_on_every_shipped_model(results) -> None:
    assert results["complete"] is True
    assert list(results["models"]) == [DEFAULT_INTENSITY_MODEL, *DEFAULT_HOA_MODELS]
    defaults = json.loads(json.dumps(dataclasses.asdict(ReplicationConfig())))
    assert results["config"] == defaults
    # every model has a verdict for every finding that applies to it
    want = {f"{DEFAULT_INTENSITY_MODEL} channel_relevance"} | {
        f"{m} {k}" for m in results["models"]
        for k in ("pixel_flipping", "direct_sound", "auralization")}
    assert set(results["verdicts"]) == want
    # the files the report links to are committed beside it
    for name in results["files"].values():
        assert (RESULTS.parent / name).is_file(), name


def test_committed_run_used_the_shipped_weights(results) -> None:
    """Whenever a model ships, `make replication` must be rerun: the run records each model's
    weights hash, and it must be the shipped file's."""
    for name, desc in results["models"].items():
        assert desc.get("weights_sha256") == load(name).config["weights_sha256"], (
            f"docs/replication/ was made with other {name} weights: run `make replication`")
