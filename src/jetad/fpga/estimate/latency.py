"""Analytic model of hls4ml 1.3's conv, dense, activation and (jetad's) instance-norm layers:
per-layer pipeline latency, initiation interval (II), DSP, LUT, FF and BRAM, for io_parallel and
io_stream, Latency and Resource strategies and a reuse factor. No vendor tool: these are
estimates from the structure of the HLS code, labelled source='analytic' wherever they appear.

Which hls4ml 1.3 source each rule follows (site-packages/hls4ml/):
- backends/vivado/vivado_backend.py `init_conv2d`: with the default ParallelizationFactor 1,
  n_partitions = out_height * out_width, so an io_parallel conv computes ONE output pixel per
  partition; backends/vivado/passes/convolution_templates.py: n_pixels = pixels / n_partitions
  and multiplier_limit = ceil(n_in n_out / reuse) - n_zeros / reuse.
- templates/vivado/nnet_utils/nnet_conv2d_latency.h: PartitionLoop `PIPELINE II=reuse_factor`
  over the partitions, the kernel's products and sums unrolled in it -> a layer takes
  pixels x reuse cycles plus the depth of one pixel's multiply-add tree, and accepts a new image
  every pixels x reuse cycles.
- templates/vivado/nnet_utils/nnet_conv2d_resource.h: PartitionLoop not pipelined, its inner
  ReuseLoop `PIPELINE II=1` over reuse_factor -> pixels x (reuse + depth) cycles;
  nnet_dense_resource.h: weights `ARRAY_RESHAPE block factor=ceil(n_in n_out / reuse)` in
  `ROM_nP_BRAM` when reuse > 1 (BRAM), ceil(n_in n_out / reuse) multipliers on DSPs (the weights
  are read from memory, not constants); backends/fpga/fpga_backend.py `_validate_reuse_factor`:
  Resource takes the nearest valid reuse factor, rebuilt here in `valid_reuse_factor`.
- templates/vivado/nnet_utils/nnet_dense_latency.h: one `PIPELINE II=reuse_factor` region,
  ceil(n_in n_out / reuse) multipliers (`ALLOCATION ... mul limit`).
- templates/vivado/nnet_utils/nnet_conv2d_stream.h `conv_2d_buffer_cl`: one input pixel per
  iteration, `PIPELINE II=reuse_factor` -> in_height x in_width x reuse cycles per image;
  nnet_conv_stream.h: line buffers of (filt_height - 1) rows; backends/fpga/fpga_types.py
  StreamVariableConverter: FIFO depth = pixels of the tensor (width channels x bits).
- backends/vivado/passes/pipeline_style.py: io_stream, and io_parallel models with convs
  (n_partitions != 1), are DATAFLOW: layers overlap across images, so the model's II is the
  slowest layer's; one image passes the io_parallel layers one after another (latency = sum),
  while io_stream layers overlap on one image too (latency ~ the slowest layer's II plus each
  layer's fill delay and depth).
- jetad's nnet_instancenorm.h: a channel loop `PIPELINE II=reuse_factor` with unrolled sums over
  the pixels and one float reciprocal square root per channel, then a pass over the pixels.

Modelling constants (choices, not hls4ml facts; change them here, they are in every note):
a multiplication takes MULT_CYCLES, ADDS_PER_CYCLE adder levels fit in one 5 ns cycle, a float
reciprocal square root takes RSQRT_CYCLES; a constant multiplier takes a DSP only with more than
`dsp_min_bits` significant bits (`jetad.fpga.estimate.resources`), else (s - 1) shift-adds of the data
width; an adder costs one LUT per bit of the accumulator; io_parallel arrays between layers are
completely partitioned registers (ping-pong in DATAFLOW: 2 x size x bits FF); elementwise
activations in io_parallel are unrolled over the whole array (one LUT per bit per element).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from jetad.errors import JetadError
from jetad.fpga.estimate.resources import quantized_kernel, significant_bits
from jetad.params import default

MULT_CYCLES = 2
ADDS_PER_CYCLE = 3
RSQRT_CYCLES = 30
BRAM18_BITS = 18 * 1024
BRAM_MIN_BITS = 1024   # smaller memories go to LUTRAM/SRL (a Vivado habit, not a rule)


def _default(section: str, key: str):
    return field(default_factory=lambda: default(section, key))


@dataclass(frozen=True)
class Settings:
    """A design's settings; left out, each is the schema default of the params key named."""

    io_type: str = _default("hls", "io_type")
    strategy: str = _default("hls", "strategy")
    reuse_factor: int = _default("hls", "reuse_factor")
    bits: int = _default("qat", "bits")                # data and weight word (QKeras bits)
    clock_ns: float = _default("hls", "clock_period")
    frac_bits: int = _default("resources", "frac_bits")  # weight grid, for the DSP rule
    dsp_min_bits: int = _default("resources", "dsp_min_bits")

    def check(self) -> None:
        if self.io_type not in ("io_parallel", "io_stream"):
            raise JetadError(f"io_type must be io_parallel or io_stream, got {self.io_type!r}")
        if self.strategy not in ("Latency", "Resource"):
            raise JetadError(f"strategy must be Latency or Resource, got {self.strategy!r}")
        if self.reuse_factor < 1 or self.bits < 2:
            raise JetadError(f"bad reuse factor {self.reuse_factor} or bits {self.bits}")


@dataclass
class LayerEstimate:
    layer: str
    kind: str
    pixels_in: int
    pixels_out: int
    reuse_factor: int
    latency_cycles: int
    interval_cycles: int
    fill_cycles: int         # io_stream: cycles from the first input to the first output
    stage: int               # layers of one stage run side by side (the dense heads)
    DSP: int
    LUT: int
    FF: int
    BRAM: int
    note: str = ""

    def row(self) -> dict:
        return asdict(self)


def adder_levels(terms: int) -> int:
    return max(1, math.ceil(math.log2(max(terms, 2))))


def tree_cycles(terms: int) -> int:
    """Cycles of a pipelined sum of `terms` values."""
    return math.ceil(adder_levels(terms) / ADDS_PER_CYCLE)


def valid_reuse_factor(n_in: int, n_out: int, chosen: int) -> int:
    """The reuse factor hls4ml's Resource strategy takes: the valid one nearest to `chosen`
    (the smaller on a tie), valid meaning it divides n_in n_out and, below n_in, gives a
    multiplier count that is a multiple of n_out, above n_in, is a multiple of n_in."""
    total = n_in * n_out
    valid = []
    for rf in range(1, total + 1):
        if total % rf:
            continue
        mults = math.ceil(total / min(n_in, rf))
        if (mults % n_out == 0 or rf >= n_in) and (rf % n_in == 0 or rf < n_in):
            valid.append(rf)
    return min(valid, key=lambda rf: (abs(rf - chosen), rf))


def _bram18(width_bits: int, depth: int) -> int:
    if width_bits * depth <= BRAM_MIN_BITS:
        return 0
    # a BRAM18 is at most 36 bits wide (512 deep) or 18 kb deep at narrower widths
    return math.ceil(width_bits / 36) * math.ceil(depth / 512)


def _accum_bits(bits: int, terms: int) -> int:
    return 2 * bits + adder_levels(terms)


def kernel_layer(name: str, kernel: np.ndarray, pixels_in: int, pixels_out: int, out_size: int,
                 s: Settings, filt: tuple[int, int, int] | None = None) -> LayerEstimate:
    """A conv (kernel reshaped to (n_in, n_out), `pixels_out` output pixels) or a dense
    (pixels 1). `filt` = (filt_height, in_width, n_chan) of a conv, for io_stream line buffers."""
    k = np.asarray(kernel, dtype=np.float64)
    n_in, n_out = k.shape
    nonzero = int(np.count_nonzero(k))
    per_out = max(1, int(np.count_nonzero(k, axis=0).max())) if nonzero else 1
    sig = significant_bits(k, s.frac_bits)
    wide = int(np.count_nonzero(sig > s.dsp_min_bits))
    shift_adds = int(np.clip(sig[(sig > 0) & (sig <= s.dsp_min_bits)] - 1, 0, None).sum())
    rf = s.reuse_factor
    notes = []
    if s.strategy == "Resource":
        rf2 = valid_reuse_factor(n_in, n_out, rf)
        if rf2 != rf:
            notes.append(f"reuse {rf} -> {rf2} (nearest valid for Resource)")
        rf = rf2
    acc = _accum_bits(s.bits, per_out)
    depth = MULT_CYCLES + tree_cycles(per_out + 1) + 1  # products, sum with bias, cast
    dsp, lut, ff_engine, bram, step = _engine(s, rf, nonzero, wide, shift_adds, acc, depth, notes)
    latency, interval, fill, ff_out, buffers = _schedule(s, rf, depth, step, pixels_in,
                                                         pixels_out, out_size, filt)
    note = (f"{nonzero} nonzero of {n_in}x{n_out} weights, {wide} on DSPs, "
            f"{per_out} terms per output, depth {depth}; " + "; ".join(notes)).rstrip("; ")
    return LayerEstimate(name, "conv" if pixels_out > 1 or filt else "dense", pixels_in,
                         pixels_out, rf, int(latency), int(interval), int(fill), 0, int(dsp),
                         int(lut), int(ff_engine + ff_out), int(bram + buffers), note)


def _engine(s: Settings, rf: int, nonzero: int, wide: int, shift_adds: int, acc: int,
            depth: int, notes: list[str]) -> tuple[int, int, int, int, int]:
    """(DSP, LUT, FF, BRAM18, cycles per output pixel) of a kernel's multiply-accumulate
    engine at reuse factor `rf`; what it assumes goes to `notes`."""
    bram = 0
    if s.strategy == "Resource" and rf > 1:
        # weights read from a ROM: every multiplier is a real (DSP) one, zeros included only
        # where hls4ml keeps them (the per-group split drops the block-diagonal zeros)
        mults = math.ceil(nonzero / rf)
        dsp, lut_mult = mults, 0
        bram = _bram18(math.ceil(nonzero / rf) * s.bits, rf)
        adders = mults
        step = rf + depth              # ReuseLoop II=1 over rf, then the drain
        notes.append("weights in ROM (BRAM), multipliers on DSPs")
    else:
        dsp = math.ceil(wide / rf)
        lut_mult = math.ceil(shift_adds * s.bits / rf)
        adders = math.ceil(nonzero / rf)
        step = rf
    lut = lut_mult + adders * acc + (0 if rf == 1 else math.ceil(nonzero / rf) * s.bits
                                     * math.ceil(math.log2(rf)))  # input muxes when shared
    ff_engine = adders * acc  # one register per product/partial sum (pipelined tree)
    return dsp, lut, ff_engine, bram, step


def _schedule(s: Settings, rf: int, depth: int, step: int, pixels_in: int, pixels_out: int,
              out_size: int, filt) -> tuple[int, int, int, int, int]:
    """(latency, interval, cycles to the first output, output FF, buffer BRAM18) of a kernel
    layer in the configuration's io_type."""
    bram = 0
    if s.io_type == "io_parallel":
        if s.strategy == "Resource" and rf > 1:
            latency = pixels_out * step
            interval = latency
        else:
            latency = (pixels_out - 1) * step + depth + (rf - 1)
            interval = pixels_out * step
        ff_out = 2 * out_size * s.bits   # completely partitioned ping-pong output array
        fill = latency
    else:
        # one input pixel per rf cycles; an output pixel needs its window's rows in the buffer
        interval = pixels_in * rf
        if filt is not None:
            fh, in_w, n_chan = filt
            bram += _bram18(n_chan * s.bits, (fh - 1) * in_w)  # the line buffer
            fill = ((fh // 2) * in_w + fh // 2 + 1) * rf + depth
        else:
            fill = pixels_in * rf + depth    # a dense needs its whole input
        latency = interval + depth
        ff_out = 0
        channels = out_size // max(pixels_out, 1)
        bram += _bram18(channels * s.bits, pixels_out)  # the output FIFO (depth = pixels)
    return latency, interval, fill, ff_out, bram


def elementwise(name: str, kind: str, size: int, pixels: int, s: Settings,
                lut_per_bit: float = 1.0) -> LayerEstimate:
    """An activation (or other per-element op) on an array of `size` values in `pixels` pixels."""
    channels = size // max(pixels, 1)
    if s.io_type == "io_parallel":
        lut = int(size * s.bits * lut_per_bit)
        return LayerEstimate(name, kind, pixels, pixels, 1, 1, 1, 1, 0, 0, lut,
                             2 * size * s.bits, 0, "unrolled over the whole array")
    lut = int(channels * s.bits * lut_per_bit)
    return LayerEstimate(name, kind, pixels, pixels, 1, pixels + 1, pixels, 2, 0, 0, lut,
                         channels * s.bits, _bram18(channels * s.bits, pixels),
                         "one pixel per cycle")


def instance_norm(name: str, size: int, pixels: int, s: Settings) -> LayerEstimate:
    """jetad's instance norm: per channel, sums over the pixels, one float rsqrt, then scale."""
    channels = size // max(pixels, 1)
    rf = s.reuse_factor
    depth = 2 * tree_cycles(pixels) + 2 * MULT_CYCLES + RSQRT_CYCLES
    stats = (channels - 1) * rf + depth        # the pipelined channel loop
    apply = pixels if s.io_type == "io_stream" else MULT_CYCLES + 1
    latency = stats + apply
    if s.io_type == "io_stream":
        latency += pixels                      # buffers the image before the statistics
    acc = _accum_bits(s.bits, pixels)
    # unrolled over the pixels of one channel: 2 sums and the squares; scale of every element
    lut = 2 * pixels * acc + (size if s.io_type == "io_parallel" else channels) * acc
    dsp = pixels + (size if s.io_type == "io_parallel" else channels)  # squares, scalings
    ff = 2 * size * s.bits + pixels * acc if s.io_type == "io_parallel" else channels * acc
    bram = _bram18(channels * s.bits, pixels) if s.io_type == "io_stream" else 0
    return LayerEstimate(name, "instance_norm", pixels, pixels, rf, int(latency),
                         int(max(stats, channels * rf)), int(latency), 0, int(dsp), int(lut),
                         int(ff), int(bram),
                         f"float rsqrt {RSQRT_CYCLES} cycles per channel, {channels} channels")


def model_layers(model, s: Settings) -> list[LayerEstimate]:
    """Per-layer estimates of a QKeras encoder, in model order."""
    s.check()
    rows = []
    inputs_of: dict[str, str] = {}
    for layer in model.layers:
        cname = layer.__class__.__name__
        if cname == "InputLayer" or cname == "Flatten":
            continue
        out = layer.output_shape
        outs = out if isinstance(out, list) else [out]
        size = int(sum(np.prod(o[1:]) for o in outs))
        pixels = int(np.prod(outs[0][1:-1])) if len(outs[0]) > 2 else 1
        if cname in ("QConv2D", "Conv2D"):
            k = np.asarray(quantized_kernel(layer))
            h, w, c = (int(d) for d in layer.input_shape[1:])
            rows.append(kernel_layer(layer.name, k.reshape(-1, k.shape[-1]), h * w, pixels, size,
                                     s, filt=(k.shape[0], w, c)))
        elif cname in ("QDense", "Dense"):
            k = np.asarray(quantized_kernel(layer))
            rows.append(kernel_layer(layer.name, k, 1, 1, size, s))
        elif cname == "Add":
            # io_stream: also the skip branch's FIFO (hls4ml clones the stream), depth = pixels
            rows.append(elementwise(layer.name, "add", size, pixels, s))
            if s.io_type == "io_stream":
                rows[-1].BRAM *= 2
        elif cname == "GroupNormalization":
            rows.append(instance_norm(layer.name, size, pixels, s))
        elif cname in ("QActivation", "Activation"):
            act = getattr(layer, "activation", None)
            aname = act.__class__.__name__ if hasattr(act, "get_config") else \
                getattr(act, "__name__", "")
            if aname == "quantized_bits" or aname == "linear":
                continue  # a type cast: folded into the previous layer's output type
            slope = float(getattr(act, "negative_slope", 0.0) or 0.0)
            rows.append(elementwise(layer.name, "leaky_relu" if slope else "relu", size, pixels,
                                    s, lut_per_bit=2.0 if slope else 1.0))
        else:
            raise JetadError(f"layer '{layer.name}' ({cname}): no analytic model")
        if rows and rows[-1].layer == layer.name:
            # layers fed by the same tensor as the previous one run beside it (the heads)
            src = ",".join(n.name for n in _inbound(layer))
            prev = rows[-2] if len(rows) > 1 else None
            same = prev is not None and inputs_of.get(prev.layer) == src
            rows[-1].stage = prev.stage if same else (prev.stage + 1 if prev else 0)
            inputs_of[layer.name] = src
    return rows


def _inbound(layer) -> list:
    node = layer.inbound_nodes[0]
    ins = node.inbound_layers
    return list(ins) if isinstance(ins, list) else [ins]


def total(rows: list[LayerEstimate], s: Settings) -> dict:
    """Whole-design latency and II (DATAFLOW, see the module docstring) and resource sums."""
    if not rows:
        raise JetadError("no layers to sum")
    interval = max(r.interval_cycles for r in rows)
    stages: dict[int, list[LayerEstimate]] = {}
    for r in rows:
        stages.setdefault(r.stage, []).append(r)
    if s.io_type == "io_parallel":
        latency = sum(max(r.latency_cycles for r in st) for st in stages.values())
    else:
        latency = sum(max(r.fill_cycles for r in st) for st in stages.values()) + interval
    out = {k: sum(getattr(r, k) for r in rows) for k in ("DSP", "LUT", "FF", "BRAM")}
    out.update(latency_cycles=int(latency), interval_cycles=int(interval),
               latency_ns=latency * s.clock_ns, interval_ns=interval * s.clock_ns,
               bottleneck=max(rows, key=lambda r: r.interval_cycles).layer)
    return out
