"""What workflow/rules/vectors.smk declares its results table holds (``declare_results``)."""

from pathlib import Path

SMK = Path(__file__).resolve().parents[2] / "workflow" / "rules" / "vectors.smk"


def declared(vec: dict) -> set[tuple[str, str]]:
    """(experiment, metric) pairs of the ``declare_results`` call, for the vectors section ``vec``."""
    text = SMK.read_text()
    start = text.index("declare_results(")
    depth, end = 0, start
    while True:  # to the call's closing parenthesis
        depth += (text[end] == "(") - (text[end] == ")")
        if depth == 0 and text[end] == ")":
            break
        end += 1
    captured = {}
    namespace = {
        "VEC": vec,
        "VEC_CORPUS": "c",
        "declare_results": lambda path, produces: captured.update(produces),
    }
    exec(compile(text[start : end + 1], str(SMK), "eval"), namespace)  # noqa: S102
    return {(e, m) for e, metrics in captured.items() for m in metrics}


DECLARED = declared(
    {"evaluate": {"analogies": [], "similarity": []}, "examples": {"context_sizes": [20, 5]}}
)
