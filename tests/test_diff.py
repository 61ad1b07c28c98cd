"""`tokengate diff`: snapshots for pairs of specs (text and Markdown), exit codes like diff(1),
`git:REF:path` sources, and the semantic summary computed from the models."""

from __future__ import annotations

import os
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import FIXTURES, FileSnapshot

from generator.cli import main
from generator.diff.semantic import MAX_LISTED, model_changes, tier_change_note
from generator.model import Consumer
from generator.model.build import routes_for
from generator.pipeline import compile_path

PAIRS = FIXTURES / "diff"
CASES = sorted(p.name for p in PAIRS.iterdir() if p.is_dir())

#: case → the semantic summary lines it must produce.
SUMMARIES = {
    "apim-tier-classic-to-v2": [
        "APIM: sku Developer → BasicV2 (no documented in-place change to this v2 tier: plan to "
        "replace the service)"
    ],
    "apim-tier-in-place": [
        "APIM: sku BasicV2 → StandardV2 (API Management changes tier in place, which takes "
        "15 to 45 minutes)"
    ],
    # The default budget becomes weekly: 1,142,857 a week, and a calendar month touches 6
    # weeks: 6,857,142 tokens, $30.00 at $4.375 per 1M (was 1,142,857 * 31 days: $155.00).
    # team-b's $300 buys 68,571,428 tokens, but 1,000/min * 44,640 = 44,640,000 bind: $195.30
    # (was $150.00). $305.00 → $225.30: the ceiling falls although a budget doubled.
    "budget-raised": [
        "token limit: token-quota-period Daily → Weekly",
        "token limit budget: period Daily → Weekly",
        "consumer team-b: token-quota 34285714 → 68571428",
        "consumer team-b budget: amount 150 → 300",
        "monthly cost ceiling: \u2212$79.70 a month at most in total ($305.00 → $225.30)",
    ],
    "capacity-below-consumers": ["account primary deployment gpt-4o: capacity 50 → 5"],
    # team-c gets the default 100,000 a day: 3,100,000 tokens in a 31-day month, $13.5625 at
    # $4.375 per 1M (gpt-4o 2024-11-20 Global: 0.75 * 2.50 + 0.25 * 10.00); team-a $13.5625,
    # team-b 200,000 monthly $0.875: $14.4375 → $28.00, shown rounded up to the cent.
    "consumer-added": [
        "consumer team-c added",
        "monthly cost ceiling: +$13.56 a month at most in total ($14.44 → $28.00)",
    ],
    "consumer-limit": ["consumer team-a: tokens-per-minute 5000 → 8000"],
    "metrics-and-default-limit": [
        "token limit: tokens-per-minute 1000 → 2000",
        "token limit: estimate-prompt-tokens true → false",
        "token metrics dimension API ID removed",
    ],
    "unchanged": [],
}


def invoke(*args: str, cwd: Path | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    if cwd is None:
        result = runner.invoke(main, ["diff", *args], catch_exceptions=False)
    else:
        previous = Path.cwd()
        os.chdir(cwd)
        try:
            result = runner.invoke(main, ["diff", *args], catch_exceptions=False)
        finally:
            os.chdir(previous)
    return result.exit_code, result.stdout, result.stderr


def test_every_case_has_a_summary() -> None:
    assert sorted(SUMMARIES) == CASES


@pytest.mark.parametrize("case", CASES)
def test_semantic_summary(case: str) -> None:
    old = compile_path(PAIRS / case / "old" / "tokengate.yaml").gateway
    new = compile_path(PAIRS / case / "new" / "tokengate.yaml").gateway
    assert [change.line() for change in model_changes(old, new)] == SUMMARIES[case]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_diff_snapshot(case: str, fmt: str, file_snapshot: FileSnapshot) -> None:
    code, out, err = invoke(
        "old/tokengate.yaml", "new/tokengate.yaml", "--format", fmt, cwd=PAIRS / case
    )
    assert err == ""
    assert code == (0 if case == "unchanged" else 1)
    assert out == file_snapshot("md" if fmt == "markdown" else "txt")


def git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull,
    }
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


def test_git_revision_against_the_working_tree(tmp_path: Path) -> None:
    pair = PAIRS / "consumer-limit"
    spec = tmp_path / "tokengate.yaml"
    spec.write_bytes((pair / "old" / "tokengate.yaml").read_bytes())
    git(tmp_path, "init", "--quiet", "--initial-branch=main")
    git(tmp_path, "add", "tokengate.yaml")
    git(tmp_path, "commit", "--quiet", "-m", "spec")
    spec.write_bytes((pair / "new" / "tokengate.yaml").read_bytes())
    code, out, _ = invoke("git:main:tokengate.yaml", "tokengate.yaml", cwd=tmp_path)
    assert code == 1
    assert "consumer team-a: tokens-per-minute 5000 → 8000" in out
    # Both sides render with the header "from tokengate.yaml": only real changes are diffed.
    assert "Generated by" not in "".join(
        line for line in out.splitlines() if line.startswith(("+", "-"))
    )
    code, out, _ = invoke("git:main:tokengate.yaml", "git:HEAD:tokengate.yaml", cwd=tmp_path)
    assert code == 0 and "no differences" in out


@pytest.mark.parametrize(
    ("argument", "message"),
    [
        ("git:main:absent.yaml", "git show failed"),
        ("git:no-such-branch:tokengate.yaml", "git show failed"),
        ("git:main", "expected git:REF:path"),
        ("git:--output=x:tokengate.yaml", "cannot start with '-'"),
        ("absent.yaml", "absent.yaml: no such file"),
    ],
)
def test_bad_sources_are_clear_errors(tmp_path: Path, argument: str, message: str) -> None:
    (tmp_path / "tokengate.yaml").write_bytes(
        (PAIRS / "unchanged" / "old" / "tokengate.yaml").read_bytes()
    )
    git(tmp_path, "init", "--quiet", "--initial-branch=main")
    git(tmp_path, "add", "tokengate.yaml")
    git(tmp_path, "commit", "--quiet", "-m", "spec")
    code, out, err = invoke(argument, "tokengate.yaml", cwd=tmp_path)
    assert code == 2 and out == ""
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "x").exists(), "a ref is never read as a git option"


def test_an_invalid_side_names_itself(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\n", encoding="utf-8")
    code, _, err = invoke(str(broken), str(PAIRS / "unchanged" / "new" / "tokengate.yaml"))
    assert code == 2
    assert err.startswith(f"{broken} is not a valid spec:\n")
    assert "TG012" in err


def test_many_consumers_added_are_summarized() -> None:
    gateway = compile_path(PAIRS / "unchanged" / "old" / "tokengate.yaml").gateway
    extra = tuple(
        Consumer(f"app-{i:03d}", f"app-{i:03d}", None, None) for i in range(MAX_LISTED + 5)
    )
    changes = model_changes(gateway, replace(gateway, consumers=gateway.consumers + extra))
    assert [c.line() for c in changes] == [
        f"consumers: {MAX_LISTED + 5} added: "
        + ", ".join(f"app-{i:03d}" for i in range(MAX_LISTED))
        + " and 5 more",
        # consumers without any limit: the total has no ceiling any more
        "monthly cost ceiling: $14.44 → none (a consumer without any token limit has no cost "
        "ceiling)",
    ]


def test_removed_resources_are_flagged_as_left_in_azure() -> None:
    gateway = compile_path(PAIRS / "unchanged" / "old" / "tokengate.yaml").gateway
    changes = model_changes(gateway, replace(gateway, consumers=gateway.consumers[:1]))
    # team-b's 200,000 a month cost at most $0.875 at $4.375 per 1M: $14.4375 → $13.5625
    assert [c.summary for c in changes] == [
        "consumer team-b removed",
        "monthly cost ceiling: \u2212$0.87 a month at most in total ($14.44 → $13.57)",
    ]
    assert "incremental deployment" in changes[0].note


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        ("Basic", "Premium", "in place"),
        ("StandardV2", "BasicV2", "in place"),
        ("Consumption", "Developer", "replaced"),
        ("Standard", "StandardV2", "plan to replace"),
        ("StandardV2", "PremiumV2", "plan to replace"),
    ],
)
def test_tier_change_notes(before: str, after: str, expected: str) -> None:
    assert expected in tier_change_note(before, after)


def test_a_renamed_spec_is_no_difference(tmp_path: Path) -> None:
    """Headers and SUMMARY.md name the spec: the same spec under two names deploys the same."""
    text = (PAIRS / "unchanged" / "old" / "tokengate.yaml").read_bytes()
    (tmp_path / "before.yaml").write_bytes(text)
    (tmp_path / "after.yaml").write_bytes(text)
    code, out, _ = invoke("before.yaml", "after.yaml", cwd=tmp_path)
    assert code == 0
    assert out.startswith("tokengate diff before.yaml → after.yaml\n" + NO_DIFFERENCES)


NO_DIFFERENCES = "no differences: the two specs render the same gateway\n"


def test_a_renamed_spec_diffs_only_its_real_changes(tmp_path: Path) -> None:
    pair = PAIRS / "consumer-limit"
    (tmp_path / "before.yaml").write_bytes((pair / "old" / "tokengate.yaml").read_bytes())
    (tmp_path / "after.yaml").write_bytes((pair / "new" / "tokengate.yaml").read_bytes())
    code, renamed, _ = invoke("before.yaml", "after.yaml", cwd=tmp_path)
    _, same_name, _ = invoke("old/tokengate.yaml", "new/tokengate.yaml", cwd=pair)
    assert code == 1
    changed = [line for line in renamed.splitlines() if line.startswith(("+", "-"))]
    assert changed, "the limit change is diffed"
    assert not [line for line in changed if "before.yaml" in line or "Generated by" in line]
    # Warnings name the spec they are in; everything else must be the same.
    renamed = renamed.replace("after.yaml", "new/tokengate.yaml")
    assert renamed.splitlines()[1:] == same_name.splitlines()[1:]


@pytest.mark.parametrize("fmt", ["text", "markdown"])
def test_the_new_specs_warnings_are_shown(fmt: str) -> None:
    """The new spec's TG114 warning (consumers over capacity) reaches the reviewer; the old
    spec's warnings do not, they are not what is being approved."""
    pair = PAIRS / "capacity-below-consumers"
    code, out, err = invoke("old/tokengate.yaml", "new/tokengate.yaml", "--format", fmt, cwd=pair)
    assert (code, err) == (1, "")
    assert "1 warning in the new spec" in out
    assert "new/tokengate.yaml:28:3" in out and "TG114" in out
    code, out, _ = invoke("new/tokengate.yaml", "old/tokengate.yaml", "--format", fmt, cwd=pair)
    assert code == 1 and "TG114" not in out and "warning" not in out


def test_warnings_are_shown_without_differences() -> None:
    pair = PAIRS / "capacity-below-consumers"
    code, out, _ = invoke("new/tokengate.yaml", "new/tokengate.yaml", cwd=pair)
    assert code == 0
    assert out.splitlines()[1:3] == [
        NO_DIFFERENCES.strip(),
        "1 warning in the new spec new/tokengate.yaml:",
    ]


def test_a_price_override_is_one_line_and_moves_the_cost_ceiling(tmp_path: Path) -> None:
    old = compile_path(FIXTURES / "specs" / "good" / "lab.yaml").gateway
    spec = tmp_path / "spec.yaml"
    text = (FIXTURES / "specs" / "good" / "lab.yaml").read_text()
    spec.write_text(
        text
        + "pricing:\n  prices:\n    - { model: gpt-4o, version: '2024-11-20', "
        + "deploymentType: Global, input: 5, output: 20 }\n"
    )
    new = compile_path(spec).gateway
    # Twice the price, twice the ceiling: team-a 3,100,000 tokens and team-b 200,000 a month
    # at 0.75 * 5 + 0.25 * 20 = $8.75 per 1M: $28.875 (was $14.4375 at $4.375).
    assert [change.line() for change in model_changes(old, new)] == [
        "prices: 1 changed: gpt-4o 2024-11-20 Global",
        "monthly cost ceiling: +$14.44 a month at most in total ($14.44 → $28.88)",
    ]


def test_a_route_change_is_one_readable_line() -> None:
    """A deployment moving from one account's backend to a pool is said as backends, never as
    the model's repr (routes embed whole accounts, whose changes are reported on their own)."""
    gateway = compile_path(PAIRS / "unchanged" / "old" / "tokengate.yaml").gateway
    second = replace(gateway.accounts[0], name="secondary")
    pooled = replace(
        gateway,
        accounts=(gateway.accounts[0], second),
        routes=routes_for((gateway.accounts[0], second)),
    )
    lines = [c.line() for c in model_changes(gateway, pooled)]
    assert lines == [
        "account secondary added",
        "routes [openai-primary: gpt-4o] → [openai-pool: gpt-4o]",
    ]
