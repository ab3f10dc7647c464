"""The lab's own measurement of the paper's three claims, on both datasets: what the README's
tables quote and the lesson's last step states, so that the two cannot disagree.

Each claim is judged twice: as the paper states it (against the memorising MLP; the report
at the paper preset, ``reproduce_paper/claims.json``) and with the controls (classical models
that fit no more of the flipped labels, and the quantum controls). The verdicts with controls
are computed here from the tables stored beside them, by the functions the report uses:
claim 1 from the capacity tables at α = 0.3 (``claims.plateau_control_claim``; XXZ with the
models on measured features), claims 2 and 3 from ``claims_controls_<dataset>.json``
(``claim_controls.control_claims``, written by ``benchmarks/claims_controls.py``).

Example::

    found = measured_claims()            # None where the lab's results are not in this checkout
    for claim in found["claims"]:        # Claim.as_dict() entries, both datasets
        print(claim["key"], claim["dataset"], claim["holds"])
"""
import csv
import json
import math
import pathlib

RESULTS = pathlib.Path(__file__).resolve().parents[2] / "benchmarks" / "results"
DATASETS = ("mnist", "xxz")
# the three claims of the paper: (number, title, keys as the paper states them, key with the controls)
CLAIMS = ((1, "Resilience to poisoning", ("mlp-memorises", "mlp-linear-decay", "qnn-no-memorisation", "qnn-plateau",
                                          "qnn-collapse", "feature-vs-label"), "plateau-quantum"),
          (2, "Amenability to unlearning", ("qnn-unlearning-matches", "mlp-unlearning-lags"), "unlearning-quantum"),
          (3, "Flat curvature under poisoning", ("mlp-sharpens", "qnn-flat"), "flatness-quantum"))
PART_LABELS = {"mlp-memorises": "the MLP memorises the flipped labels", "mlp-linear-decay": "the MLP decays linearly",
               "qnn-no-memorisation": "the QNN does not memorise", "qnn-plateau": "the QNN keeps a plateau",
               "qnn-collapse": "the QNN collapses abruptly", "feature-vs-label": "feature noise hurts less",
               "qnn-unlearning-matches": "the QNN's unlearning matches retraining",
               "mlp-unlearning-lags": "the MLP's unlearning lags", "mlp-sharpens": "poisoning sharpens the MLP",
               "qnn-flat": "the QNN stays flat", "plateau-quantum": "only the QNN keeps the plateau",
               "unlearning-quantum": "only the QNN matches retraining", "flatness-quantum": "only the QNN stays flat"}
CAPACITY = {"mnist": ("reproduce_paper/capacity_mnist.csv",),
            "xxz": ("reproduce_paper/capacity_xxz.csv", "capacity_xxz_measured.csv")}
COMMANDS = {"paper": "python -m qml_core reproduce --preset paper --figures all",
            "controls": "python benchmarks/claims_controls.py --dataset {dataset} --runs 3 --jobs 2"}


def _numbers(row: dict) -> dict:
    """A CSV row with its numeric fields as floats."""
    out = {}
    for key, value in row.items():
        try:
            out[key] = float(value)
        except ValueError:
            out[key] = value
    return out


def capacity_tables(dataset: str, results: pathlib.Path = RESULTS) -> list[list[dict]]:
    """The dataset's capacity tables at α = 0.3 (``CAPACITY``'s files, in order)."""
    tables = []
    for name in CAPACITY[dataset]:
        with (results / name).open() as handle:
            tables.append([_numbers(row) for row in csv.DictReader(handle)])
    return tables


def control_out(stored: dict, dataset: str) -> dict:
    """The part of ``run_claim_controls``' output that ``control_claims`` reads, rebuilt from
    the benchmark's JSON (its unlearning table grouped by model, its trace-ratio rows)."""
    restored = lambda row: {k: math.nan if v is None else v for k, v in row.items()}  # noqa: E731 (NaN is null in JSON)
    summaries = {}
    for row in map(restored, stored["unlearning_table"]):
        summaries.setdefault(row["model"], []).append(row)
    return {"dataset": dataset, "quantum": stored["quantum"], "curvature": {"ratios": list(map(restored, stored["ratios"]))},
            "unlearning": {m: {"summary": rows} for m, rows in summaries.items()}}


def measured_claims(results: pathlib.Path = RESULTS) -> dict | None:
    """{"claims": every claim as the paper states it and with the controls (``Claim.as_dict``,
    both datasets), "sources": what each set was measured with (command, runs, wall time,
    commit)}; None when the lab's results are not in this checkout (an installed package)."""
    from qml_core.experiments.claim_controls import control_claims
    from qml_core.experiments.claims import plateau_control_claim
    from qml_core.reporting.report_figures import DATASET_NAMES
    from qml_core.reporting.reproduce import PLANS

    paper = results / "reproduce_paper" / "claims.json"
    stored = {d: results / f"claims_controls_{d}.json" for d in DATASETS}
    if not paper.exists() or not all(p.exists() for p in stored.values()):
        return None
    claims = json.loads(paper.read_text())
    sources = [{"what": "the claims as the paper states them", "command": COMMANDS["paper"],
                "runs": PLANS["paper"].runs}]
    for dataset in DATASETS:
        claims.append(plateau_control_claim(dataset, *capacity_tables(dataset, results)).as_dict())
        report = json.loads(stored[dataset].read_text())
        claims += [c.as_dict() for c in control_claims(control_out(report, dataset))]
        sources.append({"what": f"claims 2 and 3 with the controls on {DATASET_NAMES[dataset]}",
                        "command": COMMANDS["controls"].format(dataset=dataset), "runs": report["runs"],
                        "wall_s": report["wall_s"], "commit": report["commit"]})
    return {"claims": claims, "sources": sources}


def verdict(claim: dict | None) -> str:
    """One claim's verdict in a word or three: holds, does not hold, not judged, not measured."""
    if claim is None:
        return "not measured"
    if not claim.get("judged", True):
        return "not judged"
    return "holds" if claim["holds"] else "does not hold"


def claim_table(found: dict) -> list[dict]:
    """One row per claim and dataset, in the paper's order: the claim's number and title,
    whether it is judged as the paper states it or with the controls, the statement, the verdict
    and the measured lines it is judged by."""
    from qml_core.reporting.report_figures import DATASET_NAMES

    index = {(c["key"], c["dataset"]): c for c in found["claims"]}
    rows = []
    for number, title, paper_keys, control_key in CLAIMS:
        for how, keys in (("as the paper states it", paper_keys), ("with the controls", (control_key,))):
            for key in keys:
                for dataset in DATASETS:
                    claim = index.get((key, dataset))
                    rows.append({"number": number, "title": title, "how": how, "key": key, "dataset": dataset,
                                 "name": DATASET_NAMES.get(dataset, dataset),
                                 "statement": claim["claim"] if claim else "", "verdict": verdict(claim),
                                 "measured": claim["measured"] if claim else []})
    return rows


def verdict_grid(rows: list[dict]) -> list[dict]:
    """``claim_table`` as a grid to show: one row per claim part, a column per dataset."""
    grid = {}
    for r in rows:
        entry = grid.setdefault((r["number"], r["how"], r["key"]), {
            "claim": f"{r['number']}. {r['title']}", "judged": r["how"], "part": PART_LABELS[r["key"]]})
        entry[r["name"]] = r["verdict"]
    return list(grid.values())


def sources_note(found: dict) -> str:
    """Where the verdicts come from, in one sentence: each set's command, runs and wall time."""
    parts = [f"{s['what']}: `{s['command']}`, {s['runs']} runs"
             + (f", {s['wall_s'] / 60:.0f} min at commit {s['commit']}" if "wall_s" in s else "") for s in found["sources"]]
    return ("Measured by the lab, the numbers the README quotes (" + "; ".join(parts)
            + "; claim 1 with the controls from the capacity tables at α = 0.3).")


def tally(rows: list[dict]) -> dict[str, int]:
    """How many (claim, dataset) verdicts of each kind: holds, does not hold, not judged, not measured."""
    out = {}
    for row in rows:
        out[row["verdict"]] = out.get(row["verdict"], 0) + 1
    return out

