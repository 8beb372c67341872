"""The ``neuroicl`` command (console script): ``neuroicl predict`` (:mod:`neuroicl.inference.predict`).

Example:
    neuroicl predict --model results/train/neuralizer-seen/model.pt \\
        --context-in ex1_T1w.nii.gz ex2_T1w.nii.gz --context-out ex1_mask.nii.gz ex2_mask.nii.gz \\
        --target subj_T1w.nii.gz --out subj_pred.nii.gz
"""

from __future__ import annotations

import argparse
import logging
import sys


def parser() -> argparse.ArgumentParser:
    """The command line of ``neuroicl``."""
    top = argparse.ArgumentParser(prog="neuroicl", description="In-context learning for neuroimaging.")
    commands = top.add_subparsers(dest="command", required=True)
    p = commands.add_parser(
        "predict",
        help="predict targets from raw native-space volumes with a trained model file",
        description="Preprocess target and context volumes as the pipeline does, predict slice by slice on the "
        "model grid, and write each prediction on its target's native grid with the target's header.",
    )
    p.add_argument("--model", required=True, help="a model file, e.g. results/train/neuralizer-seen/model.pt, or the "
                   "name of a parameter-free run of --config (context_mean: the floor; identity)")
    p.add_argument("--target", nargs="+", required=True, help="target volume(s) (NIfTI, native space)")
    p.add_argument("--out", nargs="+", required=True, help="one output path per target (NIfTI)")
    p.add_argument("--context-in", nargs="*", default=[], help="context input volumes (same modality as targets)")
    p.add_argument("--context-out", nargs="*", default=[], help="their outputs: binary masks, or images")
    p.add_argument("--task", default="segmentation",
                   help="the task (default segmentation); a mask task (segmentation, skull_stripping) is thresholded")
    p.add_argument("--label", default=None, help="segmentation class of a per-label model's network (e.g. cortex)")
    p.add_argument("--threshold", type=float, default=0.5, help="probability threshold of a mask (default 0.5)")
    p.add_argument("--config", default=None,
                   help="the pipeline config the model was trained with: needed for older model files, and replaces "
                   "the preprocessing settings stored in a newer one")
    p.add_argument("--device", default="cpu", help="torch device: cpu (default), cuda, cuda:1, auto")
    p.add_argument("--threads", type=int, default=1, help="CPU threads of torch and deepbet (registration uses one)")
    p.add_argument("--batch-size", type=int, default=16, help="slices per forward pass")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return top


def main(argv: list[str] | None = None) -> int:
    """Run ``neuroicl``; an input or usage error prints one line naming its cause and returns 2."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING if args.quiet else logging.INFO, format="neuroicl: %(message)s")
    from neuroicl.preprocess.antsenv import import_ants

    ants = import_ants(1)  # one ITK thread: the pipeline's registrations, bit for bit
    import torch

    from neuroicl.core.device import pick_device
    from neuroicl.inference.model import load_model
    from neuroicl.inference.predict import Request, predict_files

    try:
        device = pick_device(args.device) if args.device in ("auto", "cpu", "cuda") else torch.device(args.device)
        torch.set_num_threads(max(1, args.threads))
        model = load_model(args.model, args.config, device)
        request = Request(args.target, args.out, args.context_in, args.context_out, args.task, args.label,
                          args.threshold, args.batch_size)
        written = predict_files(ants, model, request, device, threads=args.threads, progress=not args.quiet)
    except (ValueError, RuntimeError, FileNotFoundError) as error:
        print(f"neuroicl predict: error: {error}", file=sys.stderr)
        return 2
    for path in written:
        logging.getLogger("neuroicl").info("wrote %s", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
