"""MODEL_CARD.md from a training report: written by the pipeline, never by hand.

Why generated: the numbers in the card (seeds, sizes, per-round false alarms and
detection) must be the ones the shipped .tflite was actually produced with.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import corpus as C


def _fmt(v: float | None, digits: int = 3) -> str:
    return "–" if v is None else f"{v:.{digits}f}"


def _scores(r: dict[str, Any]) -> str:
    """The held-out figures of one round or the ensemble, as the table's middle cells."""
    return (
        f"{_fmt(r['fa_per_hour'], 2)} ({r['fa_events']} in {r['fa_hours']:.2f} h) | "
        f"{_fmt(r['detection'])} ({r['entries']} entries) | {_fmt(r['median_latency_s'], 2)} | "
        f"{_fmt(r['frame_human_recall'])} | {_fmt(r['frame_false_human_rate'], 4)}"
    )


def _git_head() -> str:
    import subprocess

    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
    except OSError:
        return "unknown"
    except subprocess.CalledProcessError:
        return "unknown"
    return out.stdout.strip()


def _cpu_line(report: dict[str, Any]) -> str:
    """Where the models were trained (oneDNN picks its float kernels by CPU: see
    training.train.TRAIN_ISA); unknown for runs made before it was recorded."""
    cpu = report.get("cpu")
    if not cpu:
        return "the CPU this run was made on was not recorded"
    isa = report.get("onednn_max_cpu_isa", "none")
    cap = "uncapped" if isa == "none" else f"capped at {isa}"
    line = f"made on {cpu}, oneDNN's kernels {cap} (ONEDNN_MAX_CPU_ISA)"
    if "numpy_disabled_cpu_features" in report:  # recorded since 2026-12-07
        off = report["numpy_disabled_cpu_features"]
        blas = report.get("openblas_coretype", "none")
        avx512 = off != "none" and all(f.startswith("AVX512") for f in off.split())
        numpy_cap = (
            "uncapped" if off == "none" else "without AVX-512" if avx512 else f"without {off}"
        )
        line += (
            ", numpy's " + numpy_cap
            + " (NPY_DISABLE_CPU_FEATURES), OpenBLAS's "
            + ("uncapped" if blas == "none" else f"as on {blas}") + " (OPENBLAS_CORETYPE)"
        )  # fmt: skip
    return line


def _digest_line(report: dict[str, Any]) -> str:
    """The corpora's content digests (training/corpus.py `digest`; runs made before it
    have none): `scripts/train --corpora` prints another machine's in the rendering time."""
    digests = report.get("corpus_digests")
    if not digests:
        return ""
    listed = ", ".join(f"{name} {value}" for name, value in digests.items())
    return (
        f"Corpus digests: {listed}; `scripts/train --corpora` renders the corpora and "
        "prints them, so another machine can check it feeds training the same bytes (and a "
        "one-epoch TensorFlow probe, to check it sums them alike).\n"
    )


def _second_pass(cfg: dict[str, Any], tr: dict[str, Any]) -> str:
    """The distillation's second pass (the student's own mistakes), if the run made one."""
    if "student_mistakes_added" not in tr:
        return ""
    return f"""
Then the student's own mistakes: the student so fitted is run over the whole pool; the
{tr["student_mistakes_added"]} windows where it says major (p ≥ {cfg["fix_student_major"]:g})
while the ensemble says < {cfg["fix_teacher_major"]:g} and the label is not major are added
{cfg["fix_copies"]} times each, and the student is fitted again from scratch (the shipped one)."""


def write_card(report: dict[str, Any], path: Path) -> None:
    """Render the card (markdown) for `report` (see train.run)."""
    from uspd.dsp.features import (
        CONTEXT_FRAMES,
        FEATURE_CEIL_DB,
        FEATURE_FLOOR_DB,
        FEATURE_SHAPE,
        FRAME_HOP_S,
    )
    from uspd.model import CLASS_NAMES

    cfg = report["config"]
    rounds = report.get("rounds", [])  # none in a `--distill` run: the teacher's card has them
    ensemble = report.get("ensemble") or rounds[-1]
    members = ensemble.get("rounds", [rounds[-1]["round"] if rounds else 0])
    student = report.get("student")
    # The shipped classifier: the student distilled from the ensemble, else the ensemble.
    shipped = student or ensemble
    files = (
        "`presence.tflite`"
        if student
        else ", ".join(f"`presence_round{r}.tflite`" for r in members)
    )
    what = "classifier" if student else "classifier ensemble"
    kinds = report["kinds"]
    w = report["weights"]
    rows = []
    for r in rounds:
        mined = r.get("mined")
        mined_txt = (
            f"{mined['kept']} hard + {mined['easy_added']} easy of {mined['pool_windows']} "
            f"({mined['pool_scenes']} scenes; wrong {mined['wrong']}, unsure {mined['unsure']})"
            if mined
            else "–"
        )
        rows.append(f"| {r['round']} | {r['train_windows']} | {_scores(r)} | {mined_txt} |")
    shipped_txt = "" if student else " (shipped)"
    label = f"**ensemble {'+'.join(map(str, members))}**{shipped_txt}"
    rows.append(f"| {label} | – | {_scores(ensemble)} | – |")
    if student:
        t = student["transfer"]
        rows.append(
            f"| **student** (shipped) | {t['windows']} | {_scores(student)} | "
            f"{t['pool_hard']} hard + {t['pool_easy_added']} easy of {t['pool_windows']}"
            + (
                f" + {t['student_mistakes_added']} student mistakes × {cfg['fix_copies']} |"
                if "student_mistakes_added" in t
                else " |"
            )
        )
    conf = shipped["confusion"]
    conf_rows = [
        f"| **{CLASS_NAMES[i]}** | " + " | ".join(str(v) for v in conf[i]) + " |" for i in range(4)
    ]
    kind_rows = [
        f"| {k} | {w['seed'][i]} | {w['pool'][i]} | {w['holdout'][i]} |"
        for i, k in enumerate(kinds)
    ]
    db_range = f"[{FEATURE_FLOOR_DB:.0f}, {FEATURE_CEIL_DB:.0f}]"
    class_list = ", ".join(f"{i} `{n}`" for i, n in enumerate(CLASS_NAMES))
    scene = f"{cfg['scene_s']:.0f} s"
    corpus_rows = "\n".join(
        [
            f"| seed (labelled) | {cfg['n_seed']} × {scene} | "
            f"{cfg['seed_base']}…{cfg['seed_base'] + cfg['n_seed'] - 1} | "
            f"every {cfg['stride_train']} frames |",
            f"| mining pool (rare-event heavy, 'unlabelled') | {cfg['n_pool']} × {scene} "
            f"in {cfg['rounds']} fresh slices | "
            f"{cfg['pool_base']}…{cfg['pool_base'] + cfg['n_pool'] - 1} | "
            f"every {cfg['stride_pool']} frames |",
            f"| held-out test | {cfg['n_holdout']} × {scene} | "
            f"{cfg['holdout_base']}…{cfg['holdout_base'] + cfg['n_holdout'] - 1} | every frame |",
        ]
    )
    rounds_header = (
        "| round | train windows | FA/h (events in hours) | detection (entries) | latency s "
        "| frame human recall | frame false-human rate | mined |\n"
        "| --- | --- | --- | --- | --- | --- | --- | --- |"
    )
    real = report.get("real_check")
    if real:
        places = {place: r for place, r in real.items() if isinstance(r, dict)}
        lines = [
            f"| {place} | {r['clips_with_human_window']}/{r['clips']} | "
            f"{r['human_window_share']:.3f} | {' / '.join(f'{v:.2f}' for v in r['class_share'])} |"
            for place, r in places.items()
        ]
        # class_share is none/major/minor/non_human: say what the figures say.
        non_human = [r["class_share"][3] for r in places.values()]
        real_section = (
            "## Real recordings (sanity check)\n"
            "The 60 UltraGSAttack clips in shared/data/real-ultragsattack (phone, 44.1 kHz, "
            "19 kHz tone,\na hand drawing digits 0.1–0.4 m away — minor human motion only) "
            "through the production\nDspChain and this model (training/realcheck.py):\n\n"
            "| place | clips with a human window | human window share | "
            "class share none/major/minor/non_human |\n| --- | --- | --- | --- |\n"
            + "\n".join(lines)
            + f"\n\nA share of the windows of real hand motion ({min(non_human):.2f}–"
            f"{max(non_human):.2f}) is still called\nnon_human: the simulator's hands are not "
            "yet real hands. Real recordings belong in the next\ntraining round."
        )
    else:
        real_section = "## Real recordings\nNo real recordings were available to this run."
    fa_kinds = ", ".join(f"{k}: {v}" for k, v in sorted(shipped["fa_by_kind"].items())) or "none"
    # JSON turns the int class keys into strings: print them as the code has them.
    weights_txt = (
        "{" + ", ".join(f"{k}: {v}" for k, v in report.get("class_weights", {}).items()) + "}"
    )
    reevaluated = (
        f"The figures were re-scored without retraining (`scripts/train --reevaluate RUN`) "
        f"with engine sources {report['reevaluated_with']}: the models are the run's, the "
        "detector and held-out features today's.\n"
        if report.get("reevaluated_with")
        else ""
    )
    learnable_txt = (
        "Training and mining windows skip frames whose label the features cannot support\n"
        "(`corpus.learnable`): frames without a received carrier (never scored by the\n"
        "pipeline), and human-labelled frames where the person does not show — no velocity\n"
        f"bin of the motion plane {C.VISIBLE_EXCESS_DB:.0f} dB above its 90th percentile over "
        "the same scene's\nempty frames, within the label's look-back (a walker out of "
        "range, under the device's\nnoise floor or behind music residue). The held-out "
        "figures score every frame.\n"
        if cfg.get("learnable_only")
        else ""
    )
    if student:
        runs_txt = (
            "the product runs one such model,\ndistilled from the average of "
            f"{len(members)} models (mining rounds {', '.join(map(str, members))} of one "
            "training run;\nsee Distillation below)."
        )
        cost_txt = (
            "One inference per 50 ms frame; its cost on the\nnumpy executor and LiteRT is "
            "measured by `uspd bench` (README, Benchmark)."
        )
    else:
        runs_txt = (
            f"the product runs {len(members)} such models — mining rounds\n"
            f"{', '.join(map(str, members))} of one training run — and averages their "
            "probabilities\n(`uspd.model.Ensemble`): the rounds retrain from scratch on "
            "different mixes of hard\nwindows, so they err on different windows (figures below)."
        )
        cost_txt = (
            "The members run as one stacked pass on the numpy executor\n"
            "(`uspd/model/stacked.py`) and one LiteRT call each; `uspd bench` measures both."
        )
    # The shipped model's own facts: the student's, else the last round's (the report's).
    made = student or report
    width = cfg["student_width"] if student else cfg["width"]
    params, size = made["params"], made["tflite_bytes"]
    agreement = made["float_int8_argmax_agreement"]
    teacher_card = (
        ""
        if rounds
        else "\nThis card comes from `scripts/train --distill`: the mining rounds that made the\n"
        "teacher ran earlier; their table is in training/teacher/MODEL_CARD.md. The teacher's\n"
        "files are training/teacher/presence_round<N>.tflite (sha256 below).\n"
    )
    tr = student["transfer"] if student else {}
    distill_section = (
        f"""## Distillation (the shipped model)
One wider model (width {cfg["student_width"]}) learns the ensemble's averaged probabilities
(training/distill.py; Hinton, Vinyals & Dean 2015, arXiv:1503.02531).

Transfer set, {tr["windows"]} windows: the {tr["seed_windows"]} labelled seed windows; the
{tr["pool_hard"]} windows of the whole pool (every {cfg["stride_pool"]} frames:
{tr["pool_windows"]})
that the ensemble gets wrong, is unsure about or nearly alarms on (the mining criteria
above); and a seeded {cfg["easy_share"]:.0%} of the rest ({tr["pool_easy_added"]}).
Target: {cfg["label_share"]:.1f} × one-hot truth + {1 - cfg["label_share"]:.1f} × the
ensemble's probabilities; cross-entropy on logits, each window weighted by its true class's weight;
{cfg["student_epochs"]} epochs, otherwise as the rounds.{_second_pass(cfg, tr)}
Teacher files (sha256): {", ".join(f"`{h[:16]}`" for h in student["teacher_sha256"])}.
"""
        if student
        else ""
    )
    text = f"""# Model card — the shipped {what} ({files})

Generated by `scripts/train` (training/train.py, training/card.py); do not edit by hand.

## Intended use
Per-frame motion classification for the ultrasonic Doppler presence sensor: every
{FRAME_HOP_S * 1000:.0f} ms the pipeline gives the last {CONTEXT_FRAMES} Doppler feature
frames ({CONTEXT_FRAMES * FRAME_HOP_S:.1f} s) to the classifier and the class probabilities
to `uspd.detector.OccupancyDetector`, which turns them into occupied/clear with hold time
and context-dependent (minor-motion) sensitivity. Not meant for anything safety-related,
counting people, or identifying anyone.

## Inputs (the contract with `uspd/dsp/features.py`)
- Tensor `(1, {", ".join(map(str, FEATURE_SHAPE))})` = (time frames, velocity bins, planes),
  oldest frame first. Plane 0: Doppler power after the music canceller; plane 1: the
  speaker-borne distortion it removed. Velocity axis: sinh-warped, ±0.05…4 m/s,
  receding bins first.
- Values: `scale_features(dB)`, i.e. dBc/Hz mapped from {db_range} to [0, 1]. The
  model's int8 input quantisation (scale, zero point) is read from the file by
  `uspd.model.Classifier.quantize`; inputs far outside [0, 1] are rejected.
- Carrier-independent: the axis is radial velocity, features are relative to the
  received carrier, so one model serves 18–45 kHz carriers, any level and mic gain.

## Outputs
int8 logits for {len(CLASS_NAMES)} classes, in this order: {class_list}
(none = no motion, major = walking/standing up/sitting down, minor = typing, page
turns, reaching, hand gestures, non_human = fans, curtains, HVAC airflow, music residue,
pets, ultrasonic tones/jingles). `Classifier.predict` returns a float softmax of the
dequantised logits; {runs_txt}

## Model
A small CNN sized for a DSP budget: Conv2D 3×3 ({width}) → max-pool
→ separable conv ({2 * width}) → max-pool → separable conv ({4 * width}) →
average over time (frequency kept in 8 groups: the mover's speed matters) → dense
{cfg["dense"]} → 4 logits; BatchNorm folded, ReLU fused. {params} parameters,
{size} bytes as full-integer int8 TFLite (int8 input and output,
per-channel weights), calibrated on 400 training windows. Ops: CONV_2D,
DEPTHWISE_CONV_2D, MAX_POOL_2D, AVERAGE_POOL_2D, RESHAPE, FULLY_CONNECTED — all
implemented by the numpy executor (bit-exact with LiteRT's reference kernels). int8 vs
float argmax agreement on the calibration windows: {agreement:.3f}.

## Runtimes
`uspd.model.load_classifier()` runs each file with LiteRT (`ai_edge_litert`) where it is
importable (glibc), else with the engine's own numpy executor (Home Assistant OS is
musl: no LiteRT wheel). The numpy executor is bit-exact with LiteRT's reference kernels
(tests/engine/test_model_agreement.py); LiteRT's default XNNPACK kernels requantise in
float32 and differ by a few LSB on the logits (≈ 97–99 % same argmax on real features).
{cost_txt}

## Training data (all simulated)
Scenes from `uspd.sim.library.random_scenario(kind, seed, duration_s={cfg["scene_s"]:.0f},
sample_rate, n_mics)`, rendered by `SimulatedSource` and featurised by `DspChain` — the
production code. Device configurations drawn per scene from
{", ".join(f"{sr // 1000} kHz × {m} mic" for sr, m in C.DEVICE_CONFIGS)}; rooms, devices,
carriers (18–21 kHz at 48 kHz, 30–45 kHz at 96 kHz), people, fans, music etc. from the
scene seed.

| corpus | scenes | seeds | windows |
| --- | --- | --- | --- |
{corpus_rows}

Kind weights (relative, per corpus):

| kind | seed | pool | held-out |
| --- | --- | --- | --- |
{chr(10).join(kind_rows)}

Labels come from the simulator's ground truth (20 Hz): the strongest person motion in
the last {C.LABEL_FRAMES} frames (the 0.2 s STFT span) gives major/minor; otherwise
non_human if a fan, curtain, HVAC, music, pet, tone, jingle, door or speech is active,
else none (a still, breathing person is `none`: no Doppler above 0.05 m/s).
{learnable_txt}
## Long-tail mining rounds (the ensemble)
{teacher_card}
Round 0 is the seed model. Each later round runs the previous model over a fresh pool
slice and keeps windows it gets wrong (human vs not at p = 0.5, or the wrong human
class), is unsure about (max probability < {cfg["uncertain_below"]}), or that come close
to a false alarm (p(major) ≥ 0.2 with no person), hardest (highest loss) first, at most
{cfg["mine_per_round"]} per round plus 10 % easy pool windows; then it retrains from
scratch on everything kept so far. Every round's **int8** model is evaluated with the
production `OccupancyDetector` (default options) on the held-out scenes; the defaults
are set for the ensemble's averaged probabilities, which are less extreme than one
model's, so a round alone raises more alarms at them than the ensemble does (the
student learns the averaged probabilities, so the defaults suit it too):

- **FA/h**: occupied onsets while nobody has been in the room yet, per hour of such time.
- **detection**: share of scenes with a person's major motion where the detector turns
  occupied at or after its first major frame; **latency**: median seconds to that.
- frame-level human recall (major/minor frames classified major or minor) and false
  human rate (none/non_human frames classified major or minor).

{rounds_header}
{chr(10).join(rows)}

{distill_section}
False alarms of the shipped {what} by scene kind: {fa_kinds}.

Held-out confusion of the shipped {what} (rows truth, columns predicted; frames):

| | none | major | minor | non_human |
| --- | --- | --- | --- | --- |
{chr(10).join(conf_rows)}

Training: Adam with cosine decay from 3e-3, {cfg["epochs"]} epochs, batch {cfg["batch"]},
cross-entropy with fixed class weights {weights_txt}, dropout 0.2,
seed {cfg["train_seed"]} with TensorFlow op determinism.
Total pipeline time here: {report["total_seconds"] / 60:.1f} min
(corpora {report["corpus_seconds"] / 60:.1f} min, 2 processes).

{real_section}

## Limitations
- Trained and tested on simulated rooms only. The simulator models geometry-exact
  Doppler paths, gait, fans, curtains, HVAC, music distortion and device variation,
  but real rooms, furniture, clothing and hardware will differ; expect real-world false
  alarm rates above the held-out numbers until real recordings are added to training.
- The held-out set is small (the FA/h column rests on the hours shown), so differences
  of a few events between rounds are within noise.
- Minor motion is only weakly separable from airflow and curtains at low SNR; the
  detector only counts it in its context window for that reason.
- Pets: cat/dog-sized walkers are labelled non_human; a large dog can still look human.
- Person-at-rest presence (breathing only) is not detected by this model; occupancy is
  held by the detector's hold time.

## Reproduce
Made from engine sources {report.get("fingerprint") or C.source_fingerprint()}
(training/corpus.py `source_fingerprint`: uspd/dsp + uspd/sim; git HEAD {_git_head()}
when the card was written). A different fingerprint means the features changed:
re-run scripts/train.
`scripts/train` (creates `.venv-train`, Python 3.13 + TensorFlow CPU, renders the corpora
into training/corpus/, trains, writes this card and the shipped files);
`scripts/train --distill` makes only the student, from the committed teacher in
training/teacher/ (≈ 55 min on 2 cores). Deterministic from the seeds above on the same
library versions and CPU kernels: {_cpu_line(report)}.
{_digest_line(report)}{reevaluated}"""
    path.write_text(text)


if __name__ == "__main__":
    # Regenerate a card from a run's report: python -m training.card RUN/report.json OUT.md
    import json
    import sys

    write_card(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
