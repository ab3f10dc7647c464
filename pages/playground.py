"""Poisoning playground: choose data, attack and α; the QNN and the MLP train side by side
in background workers (or answer from the cache), with live curves. Once both are done, the
likely next views (α one step either way, the other attack) are computed in the background."""
import streamlit as st

from lab_ui import entry

entry.through_app()  # before the engine's imports: a fresh server's first request reruns through app.py at once
from lab_ui import charts, controls, downloads, lesson, progress, url_state  # noqa: E402
from qml_core.experiments.collapse import is_collapsed  # noqa: E402
from qml_core.experiments.explore import circuit_text, poisoned_examples  # noqa: E402
from qml_core.reporting.captions import device_words, half_flipped_note, playground_finding  # noqa: E402
from qml_core.reporting.plots import LABELS, image_grid, training_curves  # noqa: E402
from qml_core.runtime.prefetch import likely_next  # noqa: E402
from qml_core.experiments.views import PLAYGROUND_ALPHAS, playground_grid, playground_specs  # noqa: E402
from qml_core.store.cache import cached_count  # noqa: E402
from qml_core.specs import EXECUTORS, SpecError  # noqa: E402

ALPHA_LOW, ALPHA_HIGH, ALPHA_STEP = PLAYGROUND_ALPHAS  # the α slider
st.title("Poisoning playground")
# α and the attack at the top of the page, where a projector at 1280 × 720 shows them (in the
# sidebar the α slider was below the fold while the lesson said "Set α = 0.5")
slider_column, attack_column = st.columns([3, 1])
with slider_column:
    alpha = url_state.slider("poisoned fraction α", "alpha", ALPHA_LOW, ALPHA_HIGH, 0.3, ALPHA_STEP)
with attack_column:
    attack = url_state.choice("attack", "attack", ["label-flip", "feature-noise"], widget=st.radio, horizontal=True)
st.caption("Drag α, the poisoned fraction of the training set: both networks train on it; validation accuracy is "
           "measured on clean labels, train accuracy on the poisoned ones. Text under the results says what they show.")
teacher = url_state.teacher_mode()
lesson.panel("playground")
lesson.navigation("playground")
with st.sidebar:
    dataset, options = controls.dataset_controls()
    preset_name, seed, executor = controls.preset_control(teacher), 0, "fused"
    device = controls.device_controls()
    if not teacher:
        seed = url_state.number("seed", "seed", 0, 10_000, 0)
        executor = url_state.choice("QNN executor", "executor", list(EXECUTORS),
                                    help="fused: the fast simulator proved equal to default.qubit; the others are PennyLane's devices")
url_state.publish()

try:
    specs = playground_specs(preset_name, dataset, options, attack, float(alpha), int(seed), executor, device)
except SpecError as exc:
    st.error(str(exc))
    st.stop()

# with a device setting, the exact QNN at the same α too (seconds): the caption says what the device costs it
exact_qnn = (playground_specs(preset_name, dataset, options, attack, float(alpha), int(seed), executor)["qnn"]
             if device else None)
requests = [("train", spec, LABELS[model]) for model, spec in specs.items()]
jobs = progress.submit(requests + ([("train", exact_qnn, "QNN, exact simulator")] if exact_qnn else []))


def live_curves(running: list) -> None:
    histories = {m: j.history() for m, j in zip(specs, running) if j.records}
    if histories:
        charts.show(training_curves(histories, float(alpha), attack), "live-curves")


followed = progress.follow(jobs, "playground", live=live_curves)
results, exact_result = dict(zip(specs, followed)), (followed[len(specs)] if exact_qnn else None)
grid = [] if device else playground_grid(preset_name, dataset, options, int(seed), executor)
if all(result is not None for result in results.values()):
    # the neighbours first, then (exact runs only) the rest of the slider's grid: background jobs,
    # so they use idle cores only and the view on screen always comes first. A device setting's
    # runs are slow (176 s per fresh α with depolarising noise): trying one must not start its grid
    upcoming = likely_next(list(specs.values()), step=ALPHA_STEP, low=ALPHA_LOW, high=ALPHA_HIGH)
    upcoming += grid
    progress.prefetch([("train", s, f"prefetch {LABELS[s.model.name]} α={s.alpha} {s.attack}")
                       for s in {s.key(): s for s in upcoming}.values()])
if device:
    st.caption(f"QNN device: {device_words(device)}. Its runs are computed for the view on screen and its neighbours "
               f"(α ± {ALPHA_STEP:g}, the other attack) only, not for the slider's whole grid: each new α trains anew.")
else:
    grid_runs = [("train", s) for s in grid]
    ready = cached_count(grid_runs)
    filling = ready < len(grid) and progress.any_active(grid_runs)
    if filling:  # the count follows the fill (a rerun every few seconds; a user's move still answers at once)
        progress.keep_refreshing(progress.COUNT_REFRESH_S)
    st.caption(f"Slider grid ready: {ready} of {len(grid)} runs (every α, both attacks); "
               + ("each answers at once." if ready == len(grid) else
                  "the rest is being computed in the background on idle cores." if filling else
                  "the rest is computed in the background once the runs on screen are done."))

columns = st.columns(2)
for column, (model, result) in zip(columns, results.items()):
    with column:
        st.subheader(LABELS[model] + (f" ({device_words(device)})" if model == "qnn" and device else ""))
        if result is None:
            st.info("training…")
            continue
        left, right = st.columns(2)
        left.metric("validation (clean labels)", f"{result['val_acc']:.3f}")
        right.metric("train (poisoned labels)", f"{result['train_acc']:.3f}")
        source = "from the cache" if jobs[list(specs).index(model)].was_cached else f"trained in {result['seconds']:.1f} s"
        st.caption(f"{result['n_params']} parameters, {source}")
        if is_collapsed(result):
            st.warning(f"This run collapsed: {result['collapse']}. It did not train; its accuracies mean nothing.")

finished = {m: r for m, r in results.items() if r is not None}
finding = playground_finding(float(alpha), attack, finished, device,
                             exact_result["val_acc"] if exact_result is not None else None)
if finding:
    st.info(finding)
note = half_flipped_note(float(alpha), attack)
if note:
    st.caption(note)
if finished:
    charts.show(training_curves({m: r["history"] for m, r in finished.items()}, float(alpha), attack), "curves")
    metrics = [{"model": m, **{k: r[k] for k in ("train_acc", "val_acc", "forget_acc", "retain_acc", "train_loss",
                                                   "val_loss", "n_params", "seconds")}} for m, r in finished.items()]
    downloads.buttons("playground", {"specs": {m: s.spec_dict() for m, s in specs.items()}, "metrics": metrics,
                                     "histories": {m: r["history"] for m, r in finished.items()}}, metrics)

examples = poisoned_examples(specs["qnn"])
st.subheader(f"Poisoned samples: {examples['count']} of {examples['n_train']} training samples")
if examples["count"] == 0:
    st.write("α = 0: nothing is poisoned.")
elif examples["images"] is not None:
    titles = [f"{t}→{s}" if t != s else f"noise, label {s}" for t, s in zip(examples["true"], examples["shown"])]
    charts.show(image_grid(examples["images"], titles), "examples")
else:
    st.write(", ".join(f"{t} shown as {s}" for t, s in zip(examples["true"], examples["shown"])))

with st.expander("The QNN circuit (drawn by PennyLane)"):
    if results["qnn"] is not None:  # its weights are (depth, qubits, parameters per qubit)
        st.code(circuit_text(specs["qnn"].model, results["qnn"]["params"]["weights"].shape[1]), language=None)
    else:
        st.write("shown when the QNN has trained")
