"""Loss landscape (protocol §5): Hessian spectra after clean and poisoned training, the trace
ratio against α, the interpolation between the clean and the poisoned solution, a 2-D slice."""
import streamlit as st

from lab_ui import entry

entry.through_app()  # before the engine's imports: a fresh server's first request reruns through app.py at once
from lab_ui import charts, controls, downloads, lesson, progress, url_state  # noqa: E402
from qml_core.experiments.control_curvature import curvature_rows, ratio_table  # noqa: E402
from qml_core.experiments.lesson import CONTROLS  # noqa: E402
from qml_core.experiments.curvature import trace_ratios  # noqa: E402
from qml_core.experiments.views import CONTROL_MODELS, LANDSCAPE_POISONED, control_curvature_specs, landscape_specs  # noqa: E402
from qml_core.reporting.captions import curvature_control_finding, trace_finding  # noqa: E402
from qml_core.reporting.figure_style import model_label  # noqa: E402
from qml_core.reporting.plots import LABELS, hessian_spectrum, interpolation_curve, landscape_surface, trace_ratio_bars  # noqa: E402

DIRECTION_WORDS = {  # what "direction 1 / 2" on the slice's axes are
    "random": "Direction 1 and direction 2 are two random directions in the space of all the model's parameters: "
              "for the MLP each weight row scaled to the size of the same row of the solution, for the QNN every "
              "angle moved by 1 radian on average (root mean square) per step of 1. The map is the held-out loss at "
              "the solution plus a step along each.",
    "hessian": "Direction 1 and direction 2 are the Hessian's top two eigenvectors: the two directions in which the "
               "loss curves up most steeply at the solution. The map is the held-out loss at the solution plus a "
               "step along each.",
}
st.title("Loss landscape")
st.caption("How sharp is the minimum each model found, with and without poisoning? The Hessian's trace (sum of its "
           "eigenvalues) measures it; a trace ratio poisoned / clean above 1 means poisoning sharpened the minimum. "
           "**Not the models of the other pages**: protocol §5 studies a small MLP with hidden layers (8, 2) and a "
           "QNN of 5 layers with a ring of CNOTs, trained on 350 MNIST images of 1 and 9 (the loss on 100 held-out ones), so that "
           "each model's full Hessian can be computed exactly.")
teacher = url_state.teacher_mode()
lesson.panel("landscape")
lesson.navigation("landscape")
with st.sidebar:
    models = url_state.choices("models (spectra, trace ratios)", "models", ["mlp", "qnn"], ["mlp", "qnn"],
                               format_func=LABELS.get)
    alpha = url_state.choice("poisoned fraction α (spectrum, landscape)", "alpha", list(LANDSCAPE_POISONED), 0.3, widget=st.select_slider)
    model = url_state.choice("landscape of", "model", ["mlp", "qnn"], widget=st.radio, horizontal=True, format_func=LABELS.get)
    surface = url_state.toggle("3-D surface", "surface")
    control_models = url_state.choices("controls (their own curvature, below)", "controls", list(CONTROL_MODELS),
                                       list(CONTROLS), format_func=model_label)
    preset_name = controls.preset_control(teacher, "paper: 50 epochs, 5 seeds, 41×41 grid; quick: 15 epochs, 1 seed, 21×21")
    directions = "random"
    if not teacher:
        directions = url_state.choice("slice directions", "directions", ["random", "hessian"], widget=st.radio, horizontal=True,
                                      help="random: filter-normalised (MLP) or unit-RMS angles (QNN); hessian: top two eigenvectors")
url_state.publish()
specs, views = landscape_specs(preset_name, models, float(alpha), model, directions)
jobs = progress.submit([("curvature", s, f"{LABELS[s.model]} α={s.alpha} seed {s.seed}") for s in specs])
view_jobs = progress.submit([("landscape", v, f"{LABELS[model]} {v.kind}") for v in views])
controls_specs = control_curvature_specs(preset_name, control_models, float(alpha))
control_jobs = progress.submit([("control-curvature", spec, f"{model_label(name)} α={a} run {run}")
                                for name, a, run, spec in controls_specs])
finished = progress.follow(jobs + view_jobs + control_jobs, "landscape")
controls_done = finished[len(jobs) + len(view_jobs):]
finished = finished[:len(jobs) + len(view_jobs)]

done = {(s.model, s.alpha, s.seed): r for s, r in zip(specs, finished) if r is not None}
left, right = st.columns(2)
with left:
    st.subheader("Hessian spectrum, seed 0")
    spectra = [{"model": m, "alpha": a, "eigenvalues": r["eigenvalues"]} for (m, a, s), r in done.items()
               if s == 0 and a in (0.0, alpha)]
    if spectra:
        charts.show(hessian_spectrum(spectra), "spectrum")
        downloads.buttons("hessian-spectra", spectra)
with right:
    st.subheader("Trace ratio poisoned / clean")
    ratios = trace_ratios(done) if done else []
    if ratios:
        charts.show(trace_ratio_bars(ratios), "ratios")
        st.info(trace_finding(ratios))
        rows = [{"model": m, "alpha": a, "seed": s, "trace": r["trace"], "collapsed": r["collapsed"]} for (m, a, s), r in done.items()]
        downloads.buttons("trace-ratios", {"ratios": ratios, "runs": rows}, rows)
        collapsed = [f"{LABELS[m]} α={a} seed {s}" for (m, a, s), r in done.items() if r["collapsed"]]
        if collapsed:
            st.warning("Collapsed to a constant output (reported apart, not dropped): " + ", ".join(collapsed))

interpolation, slice2d = finished[len(jobs):]
st.subheader(f"{LABELS[model]}: clean → poisoned (α={alpha})")
if interpolation is not None:
    charts.show(interpolation_curve(interpolation), "interpolation")
    downloads.buttons("interpolation", interpolation)
# the slice across the page's width: in half of it the map was about 160 px wide at 1280 × 720
st.subheader(f"{LABELS[model]}: 2-D slice around the poisoned solution")
st.caption(DIRECTION_WORDS[directions] + " The colour scale is the same for the MLP and the QNN.")
if slice2d is not None:
    charts.show(landscape_surface(slice2d, surface=surface), "slice-figure")
    downloads.buttons("slice2d", slice2d)

st.subheader(f"The controls: is the QNN's flat curvature quantum? (α = {alpha})")
st.caption("The same question for the models of the other pages, each trained at its own settings (the phase "
           "diagram's runs on MNIST 1 vs 9): the Hessian trace of the loss on 100 validation images after poisoning, "
           "over the clean one, per run and its median, beside how much of the flipped labels each model fitted. "
           "Traces are exact (the QNN's by the parameter-shift rule; the quadratic form's is a Hutchinson estimate).")
measured = [(job, r) for job, r in zip(controls_specs, controls_done) if r is not None]
control_ratios = ratio_table(curvature_rows([j for j, _ in measured], [r for _, r in measured])) if measured else []
if control_ratios:
    charts.show(trace_ratio_bars(control_ratios), "control-ratios")
    st.info(curvature_control_finding(control_ratios))
    downloads.buttons("control-trace-ratios", {"ratios": control_ratios}, control_ratios)
