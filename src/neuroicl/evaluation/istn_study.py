"""Scores of ISTN's study (Robinson et al. 2020, Sec. 2 "Downstream Tasks"): T_S on the source test split (the
single-site ceiling) and on the target site (no adaptation), and each adapted model T_S2T on the target site.

Target images are never modified: the ISTN is not applied at inference, only the retrained task model reads them.
One row per model x domain x subject: ``model`` (``source`` or a variant name), ``domain`` (``source``, ``target``),
``subject``, ``metric`` (:data:`neuroicl.models.istn_tasks.METRICS`), ``value``; plus ``selected_step`` and
``label_sites`` (the sites whose labels the model's training and selection read, ``;``-joined). A covariate task
(sex, age) also scores :data:`CHANCE` on both domains: the source training subjects' majority sex or mean age, given
for every subject (what "above chance" is measured against; ours).

Example:
    >>> table = pair_scores("segmentation", source_domain, target_domain, {"source": t_s, "itn-affine_uni_scratch": m})
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import torch

from neuroicl.data.domains import COVARIATES, DomainImages, LabelledDomain, covariate, labelled_domain
from neuroicl.data.slice_store import SliceStore
from neuroicl.models.istn import ISTN, from_istn_space, to_istn_space
from neuroicl.models.istn_file import ISTNModel, load_istn_model
from neuroicl.models.istn_tasks import METRICS, predict, subject_scores
from neuroicl.plan.istn_study import ISTNStudy

#: The model column's value of T_S.
SOURCE = "source"
#: The model column's value of the chance predictor of a covariate task (module docstring).
CHANCE = "chance"


def _scores(name: str, model: ISTNModel, domain: LabelledDomain, role: str, device: torch.device | str) -> list[dict]:
    images = to_istn_space(torch.from_numpy(domain.images).to(device))
    labels = torch.from_numpy(domain.labels).to(device)
    scores = subject_scores(model.task, predict(model.task_model.to(device), images), labels, domain.subjects,
                            model.age_scale)
    return [{"model": name, "domain": role, "site": domain.site, "subject": subject, "metric": METRICS[model.task][0],
             "value": value, "selected_step": model.selected_step, "label_sites": ";".join(model.label_sites)}
            for subject, value in scores.items()]


def pair_scores(task: str, ceiling: LabelledDomain, target: LabelledDomain, models: Mapping[str, ISTNModel],
                device: torch.device | str = "cpu") -> pd.DataFrame:
    """The scores of one task and pair (module docstring). ``ceiling``: the source test slices; ``target``: the
    target slices scored; ``models``: :data:`SOURCE` -> T_S, then variant name -> T_S2T."""
    if SOURCE not in models:
        raise ValueError(f"pair_scores needs T_S under {SOURCE!r}, got {list(models)}")
    rows = _scores(SOURCE, models[SOURCE], ceiling, "source", device)
    for name, model in models.items():
        if model.task != task:
            raise ValueError(f"model {name!r} was trained for {model.task!r}, not {task!r}")
        rows += _scores(name, model, target, "target", device)
    return pd.DataFrame(rows)


def chance_scores(task: str, train: Mapping[str, float], domain: LabelledDomain, role: str,
                  source: str) -> pd.DataFrame:
    """:data:`CHANCE`'s rows on ``domain``: every subject gets the majority class (sex; the lower class id on a tie)
    or the mean (age) of ``train`` (training subject of the site ``source`` -> label), scored as T_S is."""
    if task not in COVARIATES:
        raise ValueError(f"chance is scored for the covariate tasks {COVARIATES}, not {task!r}")
    if not train:
        raise ValueError(f"chance of {task!r}: no source training subject has the covariate")
    values = np.array(list(train.values()))
    metric = METRICS[task][0]
    guess = float(np.bincount(values.astype(np.int64), minlength=2).argmax()) if task == "sex" else float(values.mean())
    subjects, first = np.unique(domain.subjects, return_index=True)
    rows = []
    for subject, label in zip(subjects, domain.labels[first], strict=True):
        value = float(label == guess) if task == "sex" else abs(float(label) - guess)
        rows.append({"model": CHANCE, "domain": role, "site": domain.site, "subject": subject, "metric": metric,
                     "value": value, "selected_step": float("nan"), "label_sites": source})
    return pd.DataFrame(rows)


@torch.no_grad()
def transform_examples(models: Mapping[str, ISTNModel], domain: DomainImages, subjects: int,
                       order: list[str] | None = None) -> dict[str, dict]:
    """Figs. 3-4 data: for the middle slice of each of the first ``subjects`` subjects of ``domain`` (in the
    order of ``order``, default the domain's) and each model
    (mode -> adapted model), the source image S, the ITN's output, the ISTN's output S2T (images ``[C, H, W]`` in
    [0, 1]) and the STN's displacement ``[2, H, W]`` in pixels (zeros without an STN)."""
    present = set(domain.subjects.tolist())
    picked = [s for s in (order or list(dict.fromkeys(domain.subjects.tolist()))) if s in present][:subjects]
    rows = [int(np.flatnonzero(domain.subjects == s)[len(np.flatnonzero(domain.subjects == s)) // 2]) for s in picked]
    u = to_istn_space(torch.from_numpy(domain.images[rows]))
    out = {}
    for mode, model in models.items():
        istn: ISTN | None = model.istn
        if istn is None:
            raise ValueError(f"model for {mode!r} has no ISTN (an adapted model file is needed)")
        istn.eval()
        itn = istn.itn(u) if istn.itn is not None else u
        s2t, field = istn(u)
        h, w = u.shape[-2:]
        pixels = field * torch.tensor([w / 2, h / 2]).view(1, 2, 1, 1)  # normalised (x, y) -> pixels
        out[mode] = {"subjects": picked, "source": _image(u), "itn": _image(itn), "s2t": _image(s2t),
                     "displacement": pixels.numpy()}
    return out


def _image(u: torch.Tensor) -> np.ndarray:
    return from_istn_space(u).clamp(0, 1).numpy()


def score_pair(study: ISTNStudy, task: str, pair: str, store: SliceStore, participants: pd.DataFrame,
               splits: dict[str, list[str]], models: Mapping[str, str],
               device: torch.device | str = "cpu") -> pd.DataFrame:
    """:func:`pair_scores` of ``task`` and ``pair`` from the model files ``models`` (:data:`SOURCE` -> T_S's, then
    variant name -> T_S2T's), on the source test split and the target subjects the study scores."""
    source, target = study.pair(pair)
    def read(site: str, role: str) -> LabelledDomain:
        return labelled_domain(store, participants, site, study.subjects(splits, role), study.modalities, task,
                               study.labels, study.slices)

    loaded = {name: load_istn_model(path, device) for name, path in models.items()}
    ceiling, scored = read(source, "ceiling"), read(target, "scored")
    table = pair_scores(task, ceiling, scored, loaded, device)
    if task in COVARIATES:
        sites = participants.set_index("participant_id")["site"].astype(str)
        known = covariate(participants, task)
        train = {s: known[s] for s in study.subjects(splits, "train") if sites.get(s) == source and s in known}
        table = pd.concat([table, chance_scores(task, train, ceiling, "source", source),
                           chance_scores(task, train, scored, "target", source)], ignore_index=True)
    table.insert(0, "pair", pair)
    table.insert(0, "task", task)
    return table
