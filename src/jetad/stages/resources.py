"""`jetad resources`: per-layer resource table of the quantized encoder without Vivado: analytic
DSP (Latency strategy), da4ml LUT when installed, Vivado HLS reports when given (read with
hls4ml's parser), rho extrapolation from measured layers; percentages of the U250."""

from __future__ import annotations

HELP = "per-layer FPGA resource estimates (analytic, da4ml, Vivado reports, rho extrapolation)"


def add_arguments(parser) -> None:
    parser.add_argument("--model", required=True, help="QKeras encoder (jetad qat)")
    parser.add_argument("--reports", nargs="*", default=[],
                        help="hls4ml project dirs synthesized elsewhere (named after the layer)")
    parser.add_argument("--out", required=True, help="output JSON table")


def run(args, params) -> None:
    import json
    from pathlib import Path

    from jetad.atomic import write_text
    from jetad.fpga import report, resources, rho
    from jetad.stages.hls import load_qmodel

    rp = params["resources"]
    model = load_qmodel(args.model)
    rows = resources.estimate(model, params["hls"]["reuse_factor"], rp["frac_bits"],
                              rp["dsp_min_bits"], rp["da4ml"])
    measured = {Path(d).name: report.read(d) for d in args.reports}
    shapes = {}
    for layer in model.layers:
        if layer.__class__.__name__ == "QConv2D":
            h, w, d_in = (int(v) for v in layer.input_shape[1:])
            shapes[layer.name] = (h, w, d_in, int(layer.filters))
    extra = []
    if measured:
        extra = rho.extrapolate(shapes, {k: v for k, v in measured.items() if k in shapes},
                                stride=rp["rho_stride"])
        for r in extra:
            r["source"] = "vivado_hls" if not r["extrapolated"] else "rho_extrapolated"
            r.update(resources.percentages(r))
    write_text(args.out, json.dumps({"estimates": rows, "vivado": extra,
                                     "da4ml_available": resources.da4ml_available()}, indent=2))
