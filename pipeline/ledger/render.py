"""HTML of the ledger for the report: the front page (per-post summary, chart, one line per
entry) that workflow/report/workflow.rst inlines, the full table as a report item, and one note
per id that the figure and table captions of workflow/report/ inline (the claim and its
verdict beside the evidence)."""

from __future__ import annotations

import base64
import html

import pandas as pd

from pipeline.ledger.verdicts import VERDICTS

# The report centres its content panel (flex, items-center); a description taller than the
# window would lose its top to the overflow, so the ledger asks for "safe" centring. Its home
# view sets the description (at most 32rem wide) and the rule graph side by side in one flex
# row that does not wrap: the full DAG's graph is wider than the window, so the row squeezed the
# description and the ledger's tables ran under the graph. The ledger takes the whole row and
# the graph wraps below it, scrolling inside its own box.
STYLE = """<style>
div.grow.flex.items-center.justify-center.h-screen.overflow-auto{align-items:safe center}
div.grow.flex.gap-3.p-3.items-start:has(#claims-ledger){flex-wrap:wrap}
div.grow.flex.gap-3.p-3.items-start:has(#claims-ledger)>div.py-2:not(#rulegraph){flex:1 1 100%;min-width:0}
div.prose.max-w-lg:has(#claims-ledger){max-width:none}
#claims-ledger{overflow-x:auto}
#rulegraph{max-width:100%;overflow:auto}
table.ledger{border-collapse:collapse;font-size:12px;margin:0.5em 0}
table.ledger td,table.ledger th{border:1px solid #ccc;padding:2px 5px;vertical-align:top;text-align:left}
.v-reproduced{background:#c8e6c9}.v-partly{background:#fff3c4}
.v-not-reproduced{background:#ffcdd2}.v-not-run{background:#eeeeee}
span.chip{display:inline-block;padding:0 4px;margin:1px;border-radius:3px;font-size:11px;cursor:help}
</style>"""


#: Verdict colours inline: a caption is shown outside the front page, where STYLE is not loaded.
COLOURS = {
    "reproduced": "#c8e6c9",
    "partly": "#fff3c4",
    "not reproduced": "#ffcdd2",
    "not run": "#eeeeee",
}


def _cls(verdict: str) -> str:
    return "v-" + verdict.replace(" ", "-")


def evidence_links(evidence: str) -> str:
    """Each evidence path as a link that opens it in the Snakemake report where it is a report
    item (and does nothing where it is not)."""
    out = []
    for path in filter(None, evidence.split(";")):
        p = html.escape(path.replace("'", ""), quote=True)
        out.append(
            f"<a href=\"javascript:void(window.results&amp;&amp;results['{p}']&amp;&amp;"
            f"app.showResultInfo('{p}'))\">{html.escape(path.rsplit('/', 1)[-1])}</a>"
        )
    return " ".join(out)


def _verdict_cell(r) -> str:
    text = html.escape(r["verdict"])
    if r["reason"]:
        text += f": {html.escape(r['reason'])}"
    return f'<td class="{_cls(r["verdict"])}">{text}</td>'


def _shown_value(r) -> str:
    """The deciding value; for a row not run, the default run's value that could not decide."""
    if r["value"] or not r["default_value"]:
        return r["value"]
    return f"(default run, not deciding) {r['default_value']}"


def counts_table(counts: pd.DataFrame) -> str:
    head = "".join(f"<th>{v}</th>" for v in VERDICTS)
    body = "".join(
        f"<tr><td>post {p}</td>" + "".join(f"<td>{int(row[v])}</td>" for v in VERDICTS) + "</tr>"
        for p, row in counts.iterrows()
    )
    return f'<table class="ledger ledger-summary"><tr><th></th>{head}</tr>{body}</table>'


def _chips(ledger: pd.DataFrame) -> str:
    """One line per post: each id as a chip coloured by its verdict; the claim, the verdict's
    reason and our value in its tooltip."""
    lines = []
    for post in sorted({p for ps in ledger["post"] for p in str(ps).split(", ")}, key=int):
        chips = "".join(
            f'<span class="chip {_cls(r["verdict"])}" title="{html.escape(r["statement"])} — '
            f"{html.escape(r['verdict'])}{': ' + html.escape(r['reason']) if r['reason'] else ''}"
            f'{" — " + html.escape(r["value"]) if r["value"] else ""}">{html.escape(r["id"])}</span>'
            for _, r in ledger.iterrows()
            if post in str(r["post"]).split(", ")
        )
        lines.append(f"<div>post {post}: {chips}</div>")
    return "".join(lines)


def front_page(ledger: pd.DataFrame, counts: pd.DataFrame, chart_png: bytes) -> str:
    """The first thing the report shows: totals, the per-post chart and counts, each id as a
    chip coloured by its verdict, then one row per entry (id, verdict, our value, evidence)."""
    totals = ledger["verdict"].value_counts()
    line = ", ".join(f"{int(totals.get(v, 0))} {v}" for v in VERDICTS)
    img = base64.b64encode(chart_png).decode()
    rows = "".join(
        f'<tr class="ledger-row" data-id="{html.escape(r["id"])}" title="{html.escape(r["statement"])}">'
        f"<td>{html.escape(r['id'])}</td>{_verdict_cell(r)}"
        f"<td>{html.escape(_shown_value(r))}</td><td>{evidence_links(r['evidence'])}</td></tr>"
        for _, r in ledger.iterrows()
    )
    return (
        f'{STYLE}<div id="claims-ledger"><p><b>Claims ledger</b>: {len(ledger)} entries '
        f"(the 42 checklist items and 11 claims of posts.md): {line}. Hover an id for the "
        f"claim; the full table, with the author's values, both scales and the provenance of "
        f'every value, is the report item <a href="javascript:void(app.showResultInfo('
        f"'results/ledger/ledger.html'))\">ledger.html</a> (menu: 0. Claims ledger).</p>"
        f'<img alt="verdicts per post" style="max-width:min(100%,720px)" src="data:image/png;base64,{img}">'
        f"{counts_table(counts)}{_chips(ledger)}"
        f'<table class="ledger ledger-entries"><tr><th>id</th><th>verdict</th>'
        f"<th>our value (the scale that decided)</th><th>evidence</th></tr>{rows}</table></div>"
    )


def full_table(ledger: pd.DataFrame) -> str:
    """Every column of the ledger, verdict cells coloured, for the report's ledger item."""
    cols = [c for c in ledger.columns if c not in ("verdict", "reason")]
    head = "<th>verdict</th>" + "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        f'<tr class="ledger-row" data-id="{html.escape(r["id"])}">{_verdict_cell(r)}'
        + "".join(f"<td>{html.escape(str(r[c]))}</td>" for c in cols)
        + "</tr>"
        for _, r in ledger.iterrows()
    )
    return (
        f'<!DOCTYPE html><html><head><meta charset="utf-8">{STYLE}</head><body>'
        f'<table class="ledger">{head}{body}</table></body></html>'
    )


def verdict_note(r) -> str:
    """One ledger row as a caption paragraph: the claim, whose bar it is, the verdict (coloured)
    with its reason, how many checks passed at which scale, and our values."""
    verdict = html.escape(r["verdict"]) + (f": {html.escape(r['reason'])}" if r["reason"] else "")
    decided = (
        f" ({int(r['passed'])} of {int(r['n_checks'])} checks, {html.escape(r['decided_by'])} "
        "scale)"
        if r["decided_by"]
        else ""
    )
    value = f" Ours: {html.escape(_shown_value(r))}." if _shown_value(r) else ""
    return (
        f'<p class="ledger-verdict" data-id="{html.escape(r["id"])}"><b>Claim {html.escape(r["id"])}'
        f"</b> (post {html.escape(str(r['post']))}, bar: {html.escape(r['bar'])}): "
        f"{html.escape(r['statement'].rstrip('.'))}. <b>Verdict: "
        f'<span style="background:{COLOURS[r["verdict"]]};padding:0 4px">{verdict}</span></b>'
        f"{decided}.{value}</p>"
    )


def verdict_notes(ledger: pd.DataFrame) -> dict[str, str]:
    """``{id: note}`` for every row of the ledger (workflow/report/*.rst inline them by id)."""
    return {r["id"]: verdict_note(r) for _, r in ledger.iterrows()}
