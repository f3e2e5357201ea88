"""End to end: the real snakemake builds the ledger from a declared results table, the report
opens on it, and headless Chromium renders it without script errors."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.ledger.conftest import REPO, check, entry, write_claims

SNAKEMAKE = [sys.executable, "-m", "snakemake"]
TINY_SMK = """
declare_results("results/tiny/gumbel.parquet", {"E2.1": ["p_value"]})


rule tiny_gumbel:
    output:
        report(
            "results/tiny/gumbel.parquet",
            caption="workflow/report/estimators_results.rst",
            category="tiny",
        ),
    shell:
        "{PY} -c 'import sys; from pipeline import tables; from pipeline.provenance import collect; "
        "tables.write_results(tables.results_frame([dict(experiment=\\"E2.1\\", dataset=\\"d\\", "
        "method=\\"gumbel_max\\", implementation=\\"ours\\", seed=s, metric=\\"p_value\\", value=0.1 + s / 10) "
        "for s in range(3)]), sys.argv[1], collect(\\"{{}}\\"))' {output}"


FINAL_OUTPUTS.append("results/tiny/gumbel.parquet")
"""
SNAKEFILE = """
configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "tiny.smk"
include: "workflow/rules/ledger.smk"


rule all:
    default_target: True
    input:
        get_final_outputs(),
"""
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--enable-logging=stderr",
    "--v=0",
    "--virtual-time-budget=5000",
]


def chromium() -> str:
    exe = shutil.which("chromium")
    if exe is None:
        if os.geteuid() != 0:
            pytest.skip("chromium is not installed and this user cannot install it (.ci/run does)")
        pytest.fail("chromium is missing: .ci/run installs Debian's chromium package")
    return exe


@pytest.fixture
def workflow(tmp_path):
    root = tmp_path / "wf"
    root.mkdir()
    for folder in ("workflow", "config", "pipeline"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "Snakefile").write_text(SNAKEFILE)
    (root / "tiny.smk").write_text(TINY_SMK)
    folder = root / "claims"
    folder.mkdir()
    for name in ("schema.yaml", "catalog.yaml"):
        shutil.copy(REPO / "claims" / name, folder / name)
    write_claims(folder, [entry(evidence=["results/ledger/summary.png"])])
    (root / "test-config.yaml").write_text(yaml.safe_dump({"ledger": {"claims_dir": "claims"}}))
    return root


def snakemake(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SNAKEMAKE, *args, "--cores", "1", "--configfile", "test-config.yaml"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )


def rendered(dom: str) -> str:
    """The page as rendered, without the scripts (which also hold the report's raw data)."""
    return re.sub(r"<script\b.*?</script>", "", dom, flags=re.S)


# Appended to a copy of the report: once the app has rendered the ledger and the rule graph,
# write their boxes (as laid out by the browser) into an attribute that --dump-dom shows.
LAYOUT_PROBE = """<script>
function probe(n) {
  const ledger = document.querySelector("#claims-ledger");
  const graph = document.querySelector("#rulegraph canvas, #rulegraph svg");
  if ((!ledger || !graph) && n > 0) { setTimeout(() => probe(n - 1), 200); return; }
  const l = ledger.getBoundingClientRect(), g = graph.getBoundingClientRect();
  document.body.setAttribute("data-layout", JSON.stringify({
    ledger_bottom: l.bottom, ledger_right: l.right, graph_top: g.top, width: innerWidth}));
}
window.addEventListener("load", () => probe(50));
</script>"""


# Appended to a copy of the report: open the tiny workflow's results item, as a click in its
# menu does, so that --dump-dom shows its caption as the browser renders it.
CAPTION_PROBE = """<script>
function openItem(n) {
  // app and results are the report's top-level bindings (not properties of window)
  const ready = typeof app !== "undefined" && typeof results !== "undefined"
    && results["results/tiny/gumbel.parquet"];
  if (!ready && n > 0) { setTimeout(() => openItem(n - 1), 100); return; }
  try { app.showResultInfo("results/tiny/gumbel.parquet"); }
  catch (e) { document.body.setAttribute("data-open-error", String(e)); }
  waitNote(300);
}
function waitNote(n) {
  const note = document.querySelector("p.ledger-verdict");
  if (note || n <= 0) { document.body.setAttribute("data-opened", note ? "1" : "0"); return; }
  setTimeout(() => waitNote(n - 1), 100);
}
window.addEventListener("load", () => openItem(600));
</script>"""


def with_probe(report: Path, probe: str, out: Path) -> Path:
    html = report.read_text()
    end = html.rfind("</body>")
    out.write_text(html[:end] + probe + html[end:])
    return out


def dump_dom(exe: str, profile: Path, page: Path, *flags: str) -> str:
    """The page's DOM as headless Chromium leaves it, with extra flags after the shared ones."""
    return subprocess.run(
        [exe, *CHROMIUM_FLAGS, *flags, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout


def layout(exe: str, profile: Path, report: Path, tmp_path: Path, width: int) -> dict:
    """The boxes of the ledger and the rule graph in the rendered report at a window width."""
    probed = with_probe(report, LAYOUT_PROBE, tmp_path / f"report-probe-{width}.html")
    dom = dump_dom(exe, profile, probed, f"--window-size={width},900")
    found = re.search(r'<body[^>]*data-layout="([^"]*)"', dom)
    assert found, "the layout probe did not run: the ledger or the rule graph never rendered"
    box = json.loads(found.group(1).replace("&quot;", '"'))
    assert box["width"] == width and box["ledger_right"] <= width, box
    return box


@pytest.mark.slow
def test_report_opens_on_the_ledger_in_a_browser(workflow, tmp_path):
    exe = chromium()
    run = snakemake(workflow)
    assert run.returncode == 0, run.stderr[-3000:]
    report = snakemake(workflow, "--report", "results/report.html")
    assert report.returncode == 0, report.stderr[-3000:]
    page = (workflow / "results/report.html").as_uri()
    profile = tmp_path / "chromium-profile"
    dom = subprocess.run(
        [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert dom.returncode == 0, dom.stderr[-3000:]
    assert "Uncaught" not in dom.stderr, [ln for ln in dom.stderr.splitlines() if "Uncaught" in ln]
    html = rendered(dom.stdout)
    assert 'id="claims-ledger"' in html
    ids = re.findall(r'<tr class="ledger-row" data-id="([^"]+)"', html)
    assert len(ids) == 53 and ids[0] == "E1.1" and ids[-1] == "C11"
    row = re.search(r'data-id="E2\.1".*?</tr>', html, re.S).group(0)
    assert "reproduced" in row and "p-value: 0.1 [seeds 0.1 – 0.3] &gt; 0.01 ✓" in row
    assert "not run: no entry yet" in re.search(r'data-id="E3\.1".*?</tr>', html, re.S).group(0)
    # a results item's caption states the claims it is evidence for, with this run's verdicts
    probed = with_probe(
        workflow / "results/report.html", CAPTION_PROBE, tmp_path / "report-caption.html"
    )
    # the probe polls for up to 90 s of the page's virtual time
    dom = dump_dom(exe, profile, probed, "--virtual-time-budget=120000")
    opened = re.search(r'<body[^>]*data-opened="(\d)"', dom)
    assert opened, (
        "the probe never finished",
        re.findall(r"data-open-error=\"[^\"]*\"", dom),
    )
    assert opened.group(1) == "1", "the item opened but its caption shows no verdict note"
    note = re.search(r'<p class="ledger-verdict" data-id="E2\.1">.*?</p>', rendered(dom))
    assert note, "the caption of the E2.1 evidence shows no verdict"
    assert "<b>Claim E2.1</b> (post 2, bar: post): claim E2.1." in note.group(0)
    assert ">reproduced</span></b> (1 of 1 checks, default scale)" in note.group(0)
    assert "not run: no entry yet" in rendered(dom)  # E2.2's note, same caption
    for width in (700, 1400):  # a narrow window and a wide one: the graph never covers the ledger
        box = layout(exe, profile, workflow / "results/report.html", tmp_path, width)
        assert box["ledger_bottom"] <= box["graph_top"], box
    shot = tmp_path / "report.png"  # for people to look at: the report's first screen
    subprocess.run(
        [
            exe,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "--hide-scrollbars",
            "--window-size=1400,1000",
            f"--screenshot={shot}",
            page,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert shot.read_bytes()[:4] == b"\x89PNG"
    print(f"report screenshot: {shot}")


@pytest.mark.slow
def test_an_unknown_metric_stops_the_workflow_before_the_dag(workflow):
    write_claims(
        workflow / "claims",
        [entry(checks=[check(select={"experiment": "E2.1", "metric": "p_valu"})])],
    )
    run = snakemake(workflow, "-n")
    assert run.returncode != 0
    assert (
        "entry E2.1, check 1 ('p-value'): metric ['p_valu'] of experiment E2.1 is in no declared"
        in run.stdout + run.stderr
    )


@pytest.mark.slow
def test_the_repository_claims_pass_the_dag_check_of_the_real_workflow(tmp_path):
    """Every claims file of the repository against every declared results table: a dry run."""
    root = tmp_path / "repo"
    root.mkdir()
    shutil.copy(REPO / "Snakefile", root / "Snakefile")
    for folder in ("workflow", "config", "pipeline", "claims"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    run = subprocess.run(
        [*SNAKEMAKE, "-n", "--cores", "1", "results/ledger/ledger.parquet"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-3000:]
    assert "ledger_build" in run.stdout


def test_every_claim_is_stated_in_some_caption_and_captions_name_known_ids():
    """workflow/report/*.rst name, per item, the ids it is evidence for ({% set claim_ids %});
    the ledger writes one note per id there. No id is left out, and none is misspelt."""
    named = {}
    for path in sorted((REPO / "workflow/report").glob("*.rst")):
        for block in re.findall(r"\{% set claim_ids = (.*?) %\}", path.read_text()):
            for id_ in re.findall(r'"([A-Z][\w.]*)"', block):
                named.setdefault(id_, []).append(path.name)
    catalog = {c["id"] for c in yaml.safe_load((REPO / "claims/catalog.yaml").read_text())}
    assert set(named) - catalog == set(), {i: named[i] for i in set(named) - catalog}
    assert catalog - set(named) == set()


class _Wildcards:
    """Any wildcard a caption reads: ``figure`` as given, every other one a plain name."""

    def __init__(self, figure: str):
        self.figure = figure

    def __getattr__(self, name: str) -> str:
        return "cifar10" if name == "dataset" and self.figure == "cifar10" else "digits"


@pytest.mark.filterwarnings("ignore:Argument .* will be removed")  # docutils, as snakemake calls it
@pytest.mark.parametrize(
    "caption",
    sorted(p.name for p in (REPO / "workflow/report").glob("*.rst") if p.name != "workflow.rst"),
)
def test_every_caption_renders_with_and_without_the_ledger(caption, tmp_path, monkeypatch):
    """Each caption through snakemake's own steps (Jinja2 with its settings, then docutils), for
    every figure its claim map names: with the ledger in the report, each named id's note is
    inlined; without it, none is and nothing fails. A broken caption would stop `make run`'s
    report, so this runs in the fast suite."""
    from docutils.core import publish_parts
    from jinja2 import Environment

    from pipeline.__main__ import DOMAINS
    from pipeline.ledger import render
    from pipeline.validation import validate_section

    text = (REPO / "workflow/report" / caption).read_text()
    config = yaml.safe_load((REPO / "config/config.yaml").read_text())
    for domain in DOMAINS:  # the defaults filled in as the workflow does (common.smk)
        validate_section(config[domain], REPO / f"workflow/schemas/{domain}.schema.yaml", domain)
    catalog = yaml.safe_load((REPO / "claims/catalog.yaml").read_text())
    notes = tmp_path / "results/ledger/verdicts"
    notes.mkdir(parents=True)
    for c in catalog:
        row = {
            **c,
            "post": str(c["post"]),
            "verdict": "partly",
            "reason": "",
            "passed": 1,
            "n_checks": 2,
            "decided_by": "default",
            "value": "x: 1 > 0 ✓",
            "default_value": "x: 1 > 0 ✓",
        }
        (notes / f"{c['id']}.html").write_text(render.verdict_note(row))
    monkeypatch.chdir(tmp_path)
    mapped = set(re.findall(r'"(\w+)": \[', text))  # figures of a per-figure claim map
    static = re.search(r"\{% set claim_ids = \[", text) is not None
    figures = mapped | {"cifar10", "unknown"}
    env = Environment(trim_blocks=True, lstrip_blocks=True)
    ledger_file = type("F", (), {"path": "results/ledger/ledger.html", "target": "ledger.html"})
    for figure in sorted(figures):
        for files in ([ledger_file], []):
            snakemake = type("S", (), {"wildcards": _Wildcards(figure), "config": config})
            rst = env.from_string(text).render(snakemake=snakemake, categories={}, files=files)
            body = publish_parts(rst, writer_name="html")["body"]
            shown = re.findall(r'<p class="ledger-verdict" data-id="([^"]+)"', body)
            assert "System Message" not in body, (figure, body[-2000:])
            if not files or "claim_ids" not in text:
                assert shown == []
            elif static or figure in mapped or (figure == "cifar10" and "cifar10" in text):
                assert shown, (caption, figure)
