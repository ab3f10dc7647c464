"""The reproduction report: one self-contained HTML page (plotly's JavaScript inlined once, the
figures, the tables, every §6 claim with its numbers and verdict) and the raw CSV/JSON beside it."""
import html
import json
import math
import pathlib

from qml_core.experiments.devices import device_summary
from qml_core.reporting.captions import device_finding
from qml_core.reporting.figure_style import figure_config, human_name
from qml_core.reporting.report_figures import report_figures, timing_bars

GROUP_TITLES = {"poisoning": "Poisoning (protocol §2–3)", "unlearning": "Unlearning (protocol §4)",
                "landscape": "Loss landscape and curvature (protocol §5)",
                "controls": "Controls: is it quantum, or is it capacity?",
                "fair": "Fair baselines on quantum data",
                "claims-controls": "Unlearning and curvature against the controls: is either quantum?"}
CAPACITY_COLUMNS = ["family", "variant", "n_params", "train_acc_mean", "train_acc_std", "val_acc_mean", "val_acc_std",
                    "clean_val_acc", "critical_alpha", "critical_alpha_low", "critical_alpha_high", "runs", "label"]


def _cell(value) -> str:
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    return html.escape(str(value))


def html_table(rows: list[dict], columns: list[str] | None = None) -> str:
    """A plain HTML table of dict rows (columns: the keys of the first row unless given), headed
    by the columns' names in words (``figure_style.HUMAN_COLUMNS``)."""
    if not rows:
        return "<p>(no rows)</p>"
    columns = columns or list(rows[0])
    head = "".join(f"<th>{html.escape(human_name(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell(r.get(c, ''))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def claims_table(claims: list[dict]) -> str:
    rows = "".join(
        f"<tr class='{'holds' if c['holds'] else 'fails'}'><td>{html.escape(c['section'])}</td><td>{html.escape(c['dataset'])}</td>"
        f"<td>{html.escape(c['claim'])}</td><td>{html.escape(c['criterion'])}</td>"
        f"<td>{'<br>'.join(html.escape(m) for m in c['measured'])}</td>"
        f"<td class='verdict'>{'holds' if c['holds'] else 'does not hold'}</td></tr>" for c in claims)
    return ("<table class='claims' id='claims'><thead><tr><th>section</th><th>dataset</th><th>claim</th><th>criterion</th>"
            f"<th>measured</th><th>verdict</th></tr></thead><tbody>{rows}</tbody></table>")


def group_tables(group: str, data: dict) -> str:
    """The tables of one group, after its figures."""
    if group == "poisoning":
        return ("<h3>Accuracy per (dataset, model, attack, α), over runs</h3>" + html_table(data["summary"]) +
                "<h3>Critical α: where the mean validation accuracy crosses 0.5 (protocol §6; bootstrap over runs; "
                "—: not reached)</h3>" + html_table(data["critical"]))
    if group == "controls":
        return "".join(f"<h3>{html.escape(dataset)}: capacity table at α = {data['alpha']:g}</h3>"
                       f"<p class='finding'>{html.escape(data['findings'][dataset])}</p>"
                       + html_table(table, CAPACITY_COLUMNS) for dataset, table in data["tables"].items())
    if group == "fair":
        return (f"<h3>xxz: the QNN against classical models on measurement data, α = {data['alpha']:g}</h3>"
                f"<p class='finding'>{html.escape(data['finding'])}</p>" + html_table(data["tables"]["xxz"], CAPACITY_COLUMNS))
    if group == "claims-controls":
        from qml_core.experiments.claim_controls import CURVATURE_FIELDS, UNLEARN_FIELDS

        return "".join(f"<h3>{html.escape(dataset)}: unlearning at α = 0.3 (gaps: validation accuracy minus retraining's "
                       "final, of the poisoned model and after each method)</h3>"
                       + html_table(out["unlearning_table"], list(UNLEARN_FIELDS))
                       + f"<h3>{html.escape(dataset)}: median held-out trace ratio poisoned / clean</h3>"
                       + html_table(out["curvature"]["ratios"], list(CURVATURE_FIELDS)) for dataset, out in data.items())
    if group == "unlearning":
        return "".join(f"<h3>{html.escape(key)}: final metrics (retraining first)</h3>" + html_table(v["summary"])
                       for key, v in data.items())
    return ("<h3>Trace ratios poisoned / clean</h3>" + html_table(data["trace_ratios"]) +
            "<h3>Hessian per run</h3>" + html_table(data["rows"]))


STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.85em;display:block;overflow-x:auto}td,th{border:1px solid #ccc;padding:3px 6px;vertical-align:top}
tr.holds .verdict{color:#1a7f37;font-weight:bold}tr.fails .verdict{color:#cf222e;font-weight:bold}
.figure{margin:1.5em 0}"""


def _slug(title: str) -> str:
    """A file name for a figure's PNG download: its title's letters and digits, dash-joined."""
    return "-".join("".join(c if c.isascii() and c.isalnum() else " " for c in title.lower()).split())[:80] or "figure"


def render_html(results: dict) -> str:
    """The whole report page from ``reproduce.reproduce`` results."""
    from plotly.offline import get_plotlyjs

    figures = report_figures(results)
    timings = results["timings"]
    claims = results["claims"]
    held = sum(c["holds"] for c in claims)
    parts = [f"<h1>Reproduction of Chen &amp; Zhang, Nat. Commun. 17, 3716 (2026): {html.escape(results['preset'])} preset</h1>",
             f"<p>Backend {html.escape(results['backend'])}, {results['n_jobs']} job(s). Plan: "
             f"{html.escape(json.dumps(results['plan']))}. Code version {html.escape(results.get('code_version', ''))}.</p>",
             "<h2>Wall time per figure group</h2>",
             html_table([{"group": g, "wall time (s)": round(t, 1), "wall time (min)": round(t / 60, 2)} for g, t in timings.items()]),
             timing_bars(timings).to_html(full_html=False, include_plotlyjs=False),
             f"<h2>Claims of protocol §6: {held} of {len(claims)} hold</h2>",
             "<p>Each verdict comes from the criterion beside it, applied to the measured numbers "
             "(the thresholds of protocol §6, <code>docs/protocol.md</code>, in one place: <code>qml_core.experiments.claims.CRITERIA</code>).</p>", claims_table(claims)]
    for group, entries in figures.items():
        parts.append(f"<h2 id='{group}'>{GROUP_TITLES[group]}</h2><p>Wall time {timings[group]:.1f} s.</p>")
        for title, fig in entries:
            parts.append(f"<div class='figure' data-title='{html.escape(title, quote=True)}'>"
                         f"{fig.to_html(full_html=False, include_plotlyjs=False, config=figure_config(_slug(title)))}</div>")
        parts.append(group_tables(group, results[group]))
    if results.get("device"):
        parts.append(device_section(results["device"]))
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>QML poisoning &amp; unlearning: reproduction</title>"
            f"<style>{STYLE}</style><script type='text/javascript'>{get_plotlyjs()}</script></head>"
            f"<body>{''.join(parts)}</body></html>")


def device_section(rows: list[dict]) -> str:
    """The section "Does the resilience survive a device?" from device-table rows (``shots``,
    ``depolarizing``, ``alpha``, ``val_acc``, ``train_acc``; benchmarks/device_table.py): its
    finding computed from the means, then the means per device and α."""
    summary = device_summary(rows)
    finding = device_finding(summary)
    return ("<h2 id='device'>Does the resilience survive a device?</h2>"
            + (f"<p>{html.escape(finding)}</p>" if finding else "") + html_table(summary))


def write_outputs(results: dict, out: pathlib.Path) -> list[pathlib.Path]:
    """report.html plus the raw data (CSV tables, JSON with everything) in ``out``, each file
    written atomically; returns the paths."""
    from qml_core.store.outputs import to_json, write_atomic, write_rows

    out.mkdir(parents=True, exist_ok=True)
    written = []

    def rows_file(name: str, rows: list[dict]) -> None:
        if rows:
            write_rows(rows, out / name)
            written.append(out / name)

    if "poisoning" in results:
        rows_file("poisoning.csv", results["poisoning"]["rows"])
        rows_file("poisoning_summary.csv", results["poisoning"]["summary"])
        rows_file("critical_alpha.csv", results["poisoning"]["critical"])
    if "unlearning" in results:
        groups = results["unlearning"].values()
        rows_file("unlearning.csv", [{"dataset": g["dataset"], "model": g["model"], **r} for g in groups for r in g["rows"]])
        rows_file("unlearning_summary.csv", [{"dataset": g["dataset"], "model": g["model"],
                                              **{k: v for k, v in e.items() if k != "epochs_to_match"}}
                                             for g in groups for e in g["summary"]])
    if "controls" in results:
        for dataset, table in results["controls"]["tables"].items():
            rows_file(f"capacity_{dataset}.csv", table)
        rows_file("capacity_runs.csv", results["controls"]["rows"])
    if "fair" in results:
        rows_file("capacity_xxz_measured.csv", results["fair"]["tables"]["xxz"])
        rows_file("capacity_xxz_measured_runs.csv", results["fair"]["rows"])
    if "device" in results:
        rows_file("device.csv", results["device"])
    for dataset, tables in results.get("claims-controls", {}).items():
        rows_file(f"unlearn_controls_{dataset}.csv", tables["unlearning_table"])
        rows_file(f"curvature_controls_{dataset}.csv", tables["curvature"]["ratios"])
    if "landscape" in results:
        rows_file("hessian.csv", results["landscape"]["rows"])
        rows_file("trace_ratios.csv", results["landscape"]["trace_ratios"])
    for name, value in (("results.json", results), ("claims.json", results["claims"]), ("timings.json", results["timings"])):
        write_atomic(out / name, to_json(value))
        written.append(out / name)
    write_atomic(out / "report.html", render_html(results))
    written.append(out / "report.html")
    return written
