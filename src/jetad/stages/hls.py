"""`jetad hls`: convert the QAT encoder with hls4ml, compile with g++ and emulate it: whole, per
layer and per block, one project directory each; report max |hls - qkeras| per part."""

from __future__ import annotations

HELP = "hls4ml conversion + g++ emulation of the quantized encoder (whole, per layer, per block)"


def add_arguments(parser) -> None:
    parser.add_argument("--model", required=True, help="QKeras encoder (jetad qat: qencoder.h5)")
    parser.add_argument("--images", default=None, help="test images to emulate (default: random)")
    parser.add_argument("--out-dir", required=True, help="hls4ml project directories go here")
    parser.add_argument("--report", required=True, help="output JSON: per part max diff, timings")


def load_qmodel(path):
    from qkeras.utils import load_qmodel as _load

    from jetad.errors import DataError
    from jetad.quant import encoder

    bd = type(encoder.BlockDiagonal(1, 1, 1))
    try:
        return _load(str(path), compile=False,
                     custom_objects={"BlockDiagonal": bd, "jetad>BlockDiagonal": bd})
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a QKeras model ({exc})") from exc


def run(args, params) -> None:
    import json
    from pathlib import Path

    import numpy as np

    from jetad.atomic import write_text
    from jetad.fpga import hls

    hp = params["hls"]
    settings = hls.HLSSettings.from_params(hp)
    model = load_qmodel(args.model)
    n = hp["n_images"]
    if args.images:
        from jetad.data.images import read_images

        x = np.asarray(read_images(args.images).images[:n], dtype=np.float32)[..., None]
    else:
        rng = np.random.default_rng(params["seed"])
        x = rng.random((n, *model.input_shape[1:]), dtype=np.float32)
        x /= x.sum(axis=(1, 2, 3), keepdims=True)
    out = Path(args.out_dir)
    procs = hp.get("processes") or hls.default_processes()
    rows = []
    for mode in hp["parts"]:
        if mode == "whole":
            r = hls.build_and_check(model, out / "whole", x, settings, "encoder", procs,
                                    hp["batch"])
            rows.append({"mode": mode, **r.row()})
            continue
        for name, sub in hls.split(model, mode).items():
            feed = hls.keras_outputs(_prefix(model, sub), x)[0].reshape(len(x), *sub.input_shape[1:])
            r = hls.build_and_check(sub, out / mode / name, feed, settings, name, procs, hp["batch"])
            rows.append({"mode": mode, **r.row()})
    write_text(args.report, json.dumps({"settings": settings.__dict__, "parts": rows}, indent=2))


def _prefix(model, sub):
    """The part of `model` that produces `sub`'s input (so each part sees realistic data)."""
    import tf_keras

    first = sub.layers[2].name  # [Input, input_quant, first real layer, ...]
    if first == "flatten":
        src = model.get_layer("flatten").input
    else:
        src = model.get_layer(first).input
    return tf_keras.Model(model.input, src)
