"""Captions say what the numbers say, including when the numbers contradict the paper."""
from qml_core.reporting.captions import (factor, half_flipped_note, phase_finding, plateau_end, plateau_note, playground_finding,
                                         reference_note,
                                         runs_note, trace_finding, uncrossed_label,
                                         unlearning_finding)


def test_playground_names_the_better_model_whichever_it_is():
    paper_like = playground_finding(0.3, "label-flip", {"qnn": {"val_acc": 0.92, "train_acc": 0.69},
                                                         "mlp": {"val_acc": 0.71, "train_acc": 1.0}})
    assert "the QNN keeps 0.92" in paper_like and "MLP gets 0.71" in paper_like
    assert "memorises" in paper_like and "close to the 1 − α = 70%" in paper_like
    reversed_ = playground_finding(0.5, "label-flip", {"qnn": {"val_acc": 0.18, "train_acc": 0.5},
                                                        "mlp": {"val_acc": 0.42, "train_acc": 0.99}})
    assert "both models are below chance (0.5) on clean validation data, the QNN at 0.18 and the MLP at 0.42" in reversed_
    above = playground_finding(0.4, "label-flip", {"qnn": {"val_acc": 0.45, "train_acc": 0.6},
                                                    "mlp": {"val_acc": 0.62, "train_acc": 0.99}})
    assert "the MLP keeps 0.62" in above and "QNN gets 0.45, below chance (0.5)" in above
    level = playground_finding(0.1, "label-flip", {"qnn": {"val_acc": 0.95, "train_acc": 0.9},
                                                    "mlp": {"val_acc": 0.96, "train_acc": 0.9}})
    assert "level" in level
    assert playground_finding(0.1, "label-flip", {"qnn": {"val_acc": 0.9, "train_acc": 0.9}}) == ""


def test_half_flipped_labels_are_explained():
    assert "say nothing about the class" in half_flipped_note(0.5, "label-flip")
    assert "opposite rule" in half_flipped_note(0.7, "label-flip")
    assert half_flipped_note(0.4, "label-flip") is None and half_flipped_note(0.5, "feature-noise") is None


def summary(model, values, step=0.1):
    return [{"model": model, "alpha": round(i * step, 2), "val_acc_mean": v} for i, v in enumerate(values)]


def test_a_qnn_on_a_device_is_named_and_its_cost_said_from_the_numbers():
    """Seen: "the QNN keeps 0.80" after a fall from 0.94, the device setting never named."""
    results = {"qnn": {"val_acc": 0.80, "train_acc": 0.70}, "mlp": {"val_acc": 0.70, "train_acc": 0.99}}
    text = playground_finding(0.3, "label-flip", results, {"shots": 100}, exact_qnn=0.94)
    assert "the QNN (100 shots per output) gets 0.80 on clean validation data" in text and "keeps" not in text
    assert "On the exact simulator the QNN gets 0.94 here: 100 shots per output costs it 0.14." in text
    level = playground_finding(0.3, "label-flip", results, {"depolarizing": 0.01}, exact_qnn=0.81)
    assert "QNN (depolarising noise p = 0.01) keeps 0.80" in level and "leaves it level" in level
    better = playground_finding(0.3, "label-flip", results, {"shots": 100}, exact_qnn=0.70)
    assert "gives it 0.10 more" in better
    assert "exact simulator" not in playground_finding(0.3, "label-flip", results)


def test_an_under_trained_reference_is_said_from_its_trajectory():
    """Seen: the QNN's retraining ended at 0.901, still rising at epoch 50, and a method "0.063 above" it."""
    def runs(curve):
        return [{"method": "retrain", "epoch": list(range(len(curve))), "val_acc": curve},
                {"method": "finetune", "epoch": list(range(len(curve))), "val_acc": [0.96] * len(curve)}]
    rising = [0.5 + 0.4 * e / 50 for e in range(51)]  # still climbing 0.008 per epoch at epoch 50
    note = reference_note({"qnn": runs(rising), "mlp": runs([0.5] * 40 + [0.9] * 11)})
    assert note.startswith("Retraining, the reference, is still rising at its last epoch: the QNN's rose 0.040 over "
                           "its last 5 epochs (to 0.900 at epoch 50).") and "MLP" not in note
    assert reference_note({"qnn": runs([0.5] * 40 + [0.9] * 11)}) is None  # levelled off: nothing to say


def test_each_curve_s_plateau_is_judged_from_its_own_start():
    """Seen: "QNN, 100 shots" starting at 0.79 got critical α 0.40 beside the exact QNN's 0.43,
    its lower start never said."""
    shots = summary("qnn-shots-100", [0.79, 0.78, 0.76, 0.70, 0.55, 0.45])
    assert plateau_note(shots, "qnn-shots-100") == ("starts at 0.79; keeps its plateau (within 0.05 of that start) "
                                                     "up to α = 0.2")
    falling = summary("mlp", [0.99, 0.90, 0.81])
    assert plateau_note(falling, "mlp") == "starts at 0.99; no plateau: 0.09 lower already at α = 0.1"
    assert plateau_note(falling, "qnn") == ""


def test_phase_finding_follows_the_curves():
    plateau = summary("qnn", [0.97, 0.97, 0.96, 0.93, 0.80, 0.5])
    linear = summary("mlp", [0.99, 0.90, 0.81, 0.71, 0.62, 0.5])
    critical = [{"model": "qnn", "estimate": 0.43}, {"model": "mlp", "estimate": 0.27}]
    text = phase_finding(plateau + linear, critical)
    assert "QNN starts at 0.97, stays within 0.05 of it up to α = 0.3" in text
    assert "MLP starts at 0.99, drops more than 0.05 already at α = 0.1" in text
    assert "Below α = 0.5 they differ most at α = 0.3: QNN 0.93 against MLP 0.71" in text and "the QNN resists" in text
    swapped = phase_finding(summary("qnn", [0.99, 0.90, 0.81, 0.71, 0.62, 0.5]) + summary("mlp", [0.97, 0.97, 0.96, 0.93, 0.80, 0.5]),
                            critical)
    assert "the MLP resists" in swapped
    assert "level everywhere" in phase_finding(summary("qnn", [0.9, 0.8]) + summary("mlp", [0.91, 0.8]), [])
    assert plateau_end([(0.0, 0.9), (0.1, 0.8)]) is None
    # past α = 0.5 the QNN follows the majority (flipped) labels: a bigger gap there is not resistance
    whole = phase_finding(summary("qnn", [0.97, 0.97, 0.96, 0.93, 0.80, 0.5, 0.14]) +
                          summary("mlp", [0.99, 0.90, 0.81, 0.71, 0.62, 0.5, 0.39]), critical)
    assert "Below α = 0.5 they differ most at α = 0.3: QNN 0.93 against MLP 0.71, so here the QNN resists" in whole


def test_phase_finding_names_control_models_in_words():
    summary = [{"model": m, "alpha": a, "val_acc_mean": v} for m, a, v in
               [("mlp-4", 0.0, 0.98), ("mlp-4", 0.2, 0.97), ("logreg", 0.0, 0.99), ("logreg", 0.2, 0.70)]]
    text = phase_finding(summary, [])
    assert "The MLP (4) starts at 0.98, stays within 0.05 of it up to α = 0.2." in text
    assert "The logistic regression starts at 0.99, drops more than 0.05 already at α = 0.2." in text
    assert "mlp-4" not in text and "logreg" not in text


def test_trace_finding_calls_sharpening_and_flattening_from_the_ratios():
    ratios = [{"model": "mlp", "alpha": a, "ratio_median": r, "collapsed_ratios": c}
              for a, r, c in ((0.2, 8.0, []), (0.3, 20.0, [3.0]), (0.4, 12.0, []))]
    ratios += [{"model": "qnn", "alpha": a, "ratio_median": r, "collapsed_ratios": []}
               for a, r in ((0.2, 0.97), (0.3, 0.83), (0.4, 0.45))]
    text = trace_finding(ratios)
    assert ("MLP: the Hessian trace is 8× to 20× its clean value (median over seeds), so poisoning sharpens its "
            "minimum (1 collapsed") in text
    assert "QNN: the Hessian trace is 0.45× to 0.97× its clean value (median over seeds), so the change" in text
    flat = trace_finding([{"model": "mlp", "alpha": 0.2, "ratio_median": 0.5}])
    assert "flattens" in flat


def test_trace_finding_reads_the_median_not_a_mean_one_seed_pulls():
    """Seen: a caption "230× to 490×" from means pulled by seeds at 938 and 2134, medians 27 to 103."""
    from qml_core.experiments.curvature import trace_ratios
    traces = {0.0: [1.0] * 5, 0.3: [20.0, 25.0, 27.0, 30.0, 2134.0]}
    results = {("mlp", a, s): {"trace": t, "collapsed": False} for a, ts in traces.items() for s, t in enumerate(ts)}
    (row,) = trace_ratios(results)
    assert row["ratio_median"] == 27.0 and row["ratio_mean"] > 400
    assert "27× its clean value (median over seeds)" in trace_finding([{**row, "collapsed_ratios": []}])
    row = {**row, "ratio_median": 0.9}  # the same mean, a median that says the opposite
    assert "about unchanged" in trace_finding([row])


def unlearning_table(retrain: float, **methods: float) -> list[dict]:
    return [{"method": "retrain", "val_acc_mean": retrain}] + [{"method": m, "val_acc_mean": v} for m, v in methods.items()]


def test_ratios_read_without_e_notation():
    assert [factor(v) for v in (230.68, 488.3, 8.04, 0.455, 12_345.0)] == ["230×", "490×", "8×", "0.46×", "12,000×"]


def test_unlearning_finding_names_the_method_closest_to_retraining_per_model():
    paper_like = unlearning_finding({"qnn": unlearning_table(0.92, finetune=0.915, scrub=0.80),
                                     "mlp": unlearning_table(0.95, finetune=0.85, scrub=0.88)},
                                    {"finetune": "fine-tune", "scrub": "SCRUB"})
    assert "QNN: fine-tune ends closest to retraining, 0.915 against 0.920 (0.005 below retraining), so it matches retraining (no more than 0.01 worse)" in paper_like
    assert "MLP: SCRUB ends closest to retraining, 0.880 against 0.950 (0.070 below retraining), more than 0.01 worse than retraining" in paper_like
    assert "Of the QNN and the MLP, only the QNN has a method that matches retraining on validation accuracy, as the paper reports (the MLP's best is 0.070 off" in paper_like
    level = unlearning_finding({"qnn": unlearning_table(0.80, finetune=0.83, scrub=0.80)})
    assert "scrub ends closest to retraining, 0.800 against 0.800 (level with retraining)" in level


def test_unlearning_finding_names_the_closest_even_when_every_method_ends_above():
    """Seen: the lesson asks for the method that ends closest to retraining; the caption named
    fine-tune "the best … (0.070 above)" while gradient ascent ended closer."""
    text = unlearning_finding({"qnn": unlearning_table(0.80, finetune=0.87, **{"grad-ascent": 0.82})},
                              {"finetune": "fine-tune", "grad-ascent": "gradient ascent"})
    assert "gradient ascent ends closest to retraining, 0.820 against 0.800 (0.020 above retraining)" in text
    assert "the best, fine-tune" not in text


def test_unlearning_finding_follows_the_metric():
    """Seen: on "forget-set accuracy (poisoned labels)" the caption still spoke of validation accuracy."""
    tables = {m: [{"method": "retrain", "val_acc_mean": 0.9, "forget_acc_poisoned_mean": 0.10},
                  {"method": "finetune", "val_acc_mean": 0.9, "forget_acc_poisoned_mean": 0.60},
                  {"method": "scrub", "val_acc_mean": 0.7, "forget_acc_poisoned_mean": 0.05}] for m in ("qnn", "mlp")}
    text = unlearning_finding(tables, metric="forget_acc_poisoned")
    assert "scrub ends closest to retraining, 0.050 against 0.100" in text and "so it does at least as well as retraining" in text
    assert "on forget-set accuracy on the poisoned labels" in text and "validation" not in text
    assert "finetune ends closest" in unlearning_finding(tables)


def test_unlearning_finding_says_when_the_poisoned_model_already_matched():
    """Seen: "Only the QNN has a method that matches retraining" beside every QNN method at
    "epochs to match retrain = 0": the poisoned QNN matched before any unlearning."""
    qnn = [{**e, "epochs_to_match": [0, 0]} for e in unlearning_table(0.92, finetune=0.92, scrub=0.91)]
    text = unlearning_finding({"qnn": qnn, "mlp": unlearning_table(0.95, finetune=0.85)})
    assert "The poisoned QNN already matched retraining's validation accuracy before any unlearning" in text
    assert "already" not in unlearning_finding({"qnn": unlearning_table(0.92, finetune=0.92),
                                                "mlp": unlearning_table(0.95, finetune=0.85)})


def test_unlearning_finding_names_a_better_method_when_the_closest_falls_short():
    text = unlearning_finding({"qnn": unlearning_table(0.80, finetune=0.78, scrub=0.85)}, {"scrub": "SCRUB"})
    assert "finetune ends closest to retraining, 0.780 against 0.800 (0.020 below retraining), more than 0.01 worse " \
           "than retraining; SCRUB ends at 0.850, which matches retraining (no more than 0.01 worse)." in text


def test_unlearning_finding_says_so_when_the_qnn_does_worse():
    text = unlearning_finding({"qnn": unlearning_table(0.90, finetune=0.70, scrub=0.75),
                               "mlp": unlearning_table(0.95, finetune=0.945)})
    assert "QNN: scrub ends closest to retraining, 0.750 against 0.900 (0.150 below retraining), more than 0.01 worse" in text
    assert "MLP: finetune ends closest to retraining, 0.945 against 0.950 (0.005 below retraining), so it matches" in text
    assert "Of the QNN and the MLP, only the MLP has a method that matches retraining on validation accuracy (the QNN's best is 0.150 off)" in text
    assert "unlike the paper" in text and "as the paper reports" not in text
    neither = unlearning_finding({"qnn": unlearning_table(0.90, finetune=0.80), "mlp": unlearning_table(0.95, finetune=0.90)})
    assert "Neither model has a method that matches retraining on validation accuracy (the best is 0.100 off for the QNN, 0.050" in neither


def test_unlearning_finding_is_empty_without_a_comparison():
    assert unlearning_finding({}) == ""
    assert unlearning_finding({"qnn": unlearning_table(0.9)}) == ""  # retraining alone
    assert unlearning_finding({"qnn": [{"method": "finetune", "val_acc_mean": 0.9}]}) == ""  # no reference
    level = unlearning_finding({"qnn": unlearning_table(0.9, finetune=0.9), "mlp": unlearning_table(0.8, scrub=0.85)})
    assert "(level with retraining)" in level and "Both models have a method that matches retraining on" in level


def test_a_curve_that_does_not_cross_is_said_not_to_up_to_its_last_computed_alpha():
    """While a phase diagram computes, the caption names the last α it has, not "the grid"."""
    partial = summary("qnn", [0.96, 0.96, 0.96, 0.93])
    text = phase_finding(partial, [{"model": "qnn", "estimate": float("nan")}])
    assert ("The QNN starts at 0.96, stays within 0.05 of it up to α = 0.3, stays above chance (0.5) up to α = 0.3: "
            "critical α not reached.") in text


def test_the_metric_of_an_uncrossed_curve_says_how_far_the_grid_is_computed():
    """Seen under load: "none in the grid" with 4 of 60 runs in, α ≤ 0.3 only."""
    rows = [{"model": "qnn", "alpha": a} for a in (0.0, 0.1, 0.3)] + [{"model": "mlp", "alpha": 0.5}]
    assert uncrossed_label(rows, "qnn", complete=False) == "not reached up to α = 0.3"
    assert uncrossed_label(rows, "qnn", complete=True) == "not reached"


def test_phase_finding_at_alpha_zero_alone_has_no_double_comma_and_no_resilience_claim():
    """Seen in the first seconds of the phase page: "The QNN starts at 0.96, , does not cross
    halfway to chance up to α = 0 … They differ most at α = 0: … so here the MLP resists"."""
    text = phase_finding(summary("qnn", [0.96]) + summary("mlp", [0.99]),
                         [{"model": "qnn", "estimate": float("nan")}, {"model": "mlp", "estimate": float("nan")}])
    assert ", ," not in text and "resists" not in text and "differ most at α = 0:" not in text
    assert text == "The QNN starts at 0.96. The MLP starts at 0.99."
    # the largest gap at α = 0 (nothing poisoned) is not where the curves are compared
    text = phase_finding(summary("qnn", [0.80, 0.79]) + summary("mlp", [0.99, 0.78]), [])
    assert "differ most at α = 0:" not in text and "level everywhere" in text


def test_no_model_resists_below_chance():
    """Seen above α = 0.5: "the MLP keeps 0.41 … while the QNN gets 0.11", both below chance."""
    text = playground_finding(0.7, "label-flip", {"qnn": {"val_acc": 0.11, "train_acc": 0.3},
                                                   "mlp": {"val_acc": 0.41, "train_acc": 0.99}})
    assert "keeps" not in text and "both models are below chance" in text and "neither resists" in text
    clean = playground_finding(0.0, "label-flip", {"qnn": {"val_acc": 0.9, "train_acc": 0.9},
                                                    "mlp": {"val_acc": 0.99, "train_acc": 1.0}})
    assert "keeps" not in clean and "nothing poisoned" in clean and "the MLP reaches 0.99" in clean
    low = phase_finding(summary("qnn", [0.6, 0.45]) + summary("mlp", [0.6, 0.30]), [])
    assert "resists poisoning better" not in low and "neither resists" in low


def test_a_critical_alpha_counts_its_own_model_s_runs():
    """Seen: each model's critical α said "(60 runs)" when it had 30 (the count of both models)."""
    rows = [{"model": m, "alpha": a} for m in ("qnn", "mlp") for a in range(30)]
    assert runs_note(rows, "qnn", complete=True) == "30 runs"
    assert runs_note(rows[:40], "mlp", complete=False) == "10 runs so far"


def lesson_numbers(qnn_crit, mlp_crit, classical_keeps, qnn_matches, mlp_ratio):
    from math import nan

    cap = [dict(variant="qnn", family="QNN", n_params=240, val_acc_mean=0.93, clean_val_acc=0.96, alpha=0.4,
                critical_alpha=qnn_crit, label="QNN"),
           dict(variant="logreg", family="logistic regression", n_params=1025, val_acc_mean=0.93 if classical_keeps else 0.7,
                clean_val_acc=0.97, alpha=0.4, critical_alpha=nan, label="logistic regression")]
    return {"phase": {"summary": summary("qnn", [0.96, 0.95]) + summary("mlp", [0.99, 0.9]),
                      "critical": [{"model": "qnn", "estimate": qnn_crit}, {"model": "mlp", "estimate": mlp_crit}]},
            "capacity": cap,
            "unlearning": {"qnn": unlearning_table(0.9, finetune=0.9 if qnn_matches else 0.7),
                           "mlp": unlearning_table(0.95, finetune=0.8)},
            "curvature": [{"model": "mlp", "alpha": 0.3, "ratio_mean": mlp_ratio, "ratio_median": mlp_ratio},
                          {"model": "qnn", "alpha": 0.3, "ratio_mean": 1.0, "ratio_median": 1.0}]}


def test_the_lesson_s_last_step_sums_up_its_own_views_and_leaves_the_verdicts_to_the_full_measurement():
    """Seen: the last step judged claim 3 on its own 2 runs ("only the QNN stays flat") while the
    README and the report, on 3 runs and three α, said it does not hold. Its own paragraphs now
    describe its views; the verdicts come from ``measured`` (tests/test_measured.py)."""
    from qml_core.reporting.captions import lesson_summary

    paper = lesson_summary(lesson_numbers(0.45, 0.25, False, True, 30.0))
    assert [p.split("**")[1] for p in paper] == ["Poisoning.", "Is it quantum?", "Unlearning.", "Curvature."]
    assert not any("agrees with the paper" in p or "Where it does not" in p for p in paper)
    opposite = " ".join(lesson_summary(lesson_numbers(0.2, 0.35, True, False, 1.0)))
    assert opposite != " ".join(paper)  # each paragraph is computed from its own numbers
    assert lesson_summary({"phase": None, "capacity": None, "unlearning": None, "curvature": None}) == []


def controlled_table(flip_fit: float, retrain: float, best: float, start: float) -> list[dict]:
    """An unlearning summary with the poisoned model's fit of the flips and the gaps to retraining."""
    return [{"method": m, "val_acc_mean": v, "flip_fit_mean": flip_fit, "gap_start_mean": start - retrain,
             "gap_end_mean": v - retrain} for m, v in (("retrain", retrain), ("finetune", best))]


def test_the_summary_judges_unlearning_and_curvature_against_the_controls():
    """Seen: the summary agreed with the paper on unlearning right after "unlearning had nothing to
    repair", and filed the MLP's sharpening and the QNN's flattening together under "does not"."""
    from qml_core.reporting.captions import curvature_control_finding, lesson_summary, unlearning_control_finding

    shared = {"qnn": controlled_table(0.05, 0.90, 0.91, 0.91), "mlp": controlled_table(1.0, 0.95, 0.80, 0.70),
              "logreg": controlled_table(0.03, 0.95, 0.95, 0.95)}
    text = unlearning_control_finding(shared)
    assert "logistic regression fitted 0.03 of the flipped labels" in text and "not with being quantum" in text
    specific = {**shared, "logreg": controlled_table(0.03, 0.95, 0.90, 0.90)}
    assert "only the QNN matches retraining" in unlearning_control_finding(specific)
    assert unlearning_control_finding({"qnn": shared["qnn"]}) == ""
    row = lambda m, r, f: {"variant": m, "model": m, "alpha": 0.3, "ratio_median": r, "flip_fit_mean": f}
    flat_too = curvature_control_finding([row("qnn", 1.0, 0.05), row("mlp", 900.0, 1.0), row("logreg", 1.1, 0.03)])
    assert "not specific to the quantum model" in flat_too
    sharpens = curvature_control_finding([row("qnn", 1.0, 0.05), row("mlp", 900.0, 1.0), row("logreg", 2.7, 0.03)])
    assert "Only the QNN stays flat among models that fit no more" in sharpens
    summary = " ".join(lesson_summary({"unlearning": shared, "controls_curvature": [row("qnn", 1.0, 0.05),
                                                                                 row("logreg", 2.7, 0.03)]}))
    assert "**Curvature of the controls.**" in summary and "Only the QNN stays flat among models that fit no more" in summary
