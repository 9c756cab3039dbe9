"""Convert the quantized encoder with hls4ml 1.3 (Vivado backend, or Vitis with `hls.backend`),
compile the C++ with g++ and emulate it: whole, per layer and per block (conv + norm +
activation), one project each.

Keras 2 vs 3: hls4ml picks its parser from `import keras`. Here `keras` is Keras 3 (installed as a
TensorFlow dependency) while the models are tf_keras (Keras 2, needed by QKeras): hls4ml would
take the Keras-3 parser and fail on a tf_keras model. So this module, and only this one, aliases
`sys.modules['keras']` to `tf_keras` before importing hls4ml (`_hls4ml()`); `keras_alias_needed()`
reports whether that was necessary. The alias stays for the process (hls4ml imports `keras` lazily
at conversion time); with TF_USE_LEGACY_KERAS=1 (set by `jetad`) all jetad code uses tf_keras anyway.

Two hls4ml 1.3 issues are handled here:
- `bit_exact=True` is required (SPEC 5); without it the default types overflow the accumulators.
- the bit-exact pass does not know QKeras' `quantized_relu(..., negative_slope=s)`, which hls4ml
  names 'leaky_relu' while the pass matches 'leakyrelu' (it then crashes in `np.ones(k)`); the
  range rule for 'leakyrelu' is applied to it (`_patch_leaky_relu`).

The emulation runs the compiled library through ctypes, in batches over several processes
(`emulate`), since hls4ml's own `predict` is one sample at a time in one thread.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jetad import log
from jetad.errors import JetadError

PART = "xcu250-figd2104-2L-e"
CLOCK_NS = 5.0
DEFAULT_NORM_PRECISION = {
    "result": "ap_fixed<24,8>",
    "accum": "ap_fixed<40,16>",
    "norm": "ap_fixed<24,8>",
    "scale": "ap_fixed<24,8>",
    "bias": "ap_fixed<24,8>",
}
LOG = log.get("jetad.fpga.hls")
_KERAS_ALIAS_NEEDED: bool | None = None
_PATCHED = False


def keras_alias_needed() -> bool:
    """True when `import keras` would give Keras 3 (so hls4ml needed the tf_keras alias)."""
    _hls4ml()
    return bool(_KERAS_ALIAS_NEEDED)


def _hls4ml():
    """Import hls4ml with `keras` -> tf_keras, register the instance-norm extension, patch."""
    global _KERAS_ALIAS_NEEDED, _PATCHED
    if _KERAS_ALIAS_NEEDED is None:
        import tf_keras

        current = sys.modules.get("keras")
        if current is None:
            import importlib.util

            spec = importlib.util.find_spec("keras")
            if spec is not None:
                import keras as current  # noqa: F401  (only to read its version)
        version = getattr(current, "__version__", "0") if current is not None else "0"
        _KERAS_ALIAS_NEEDED = version >= "3"
        sys.modules["keras"] = tf_keras
    import hls4ml

    if not _PATCHED:
        from jetad.fpga import instancenorm

        instancenorm.register()
        _patch_leaky_relu()
        _patch_cropping()
        _PATCHED = True
    return hls4ml


def _patch_leaky_relu() -> None:
    from hls4ml.model.layers import ParametrizedActivation
    from hls4ml.model.optimizer.passes import bit_exact

    original = bit_exact._produce_kif.dispatch(ParametrizedActivation)

    def produce(layer):
        name = layer.attributes["activation"]
        if str(name).lower() != "leaky_relu":
            return original(layer)
        layer.attributes["activation"] = "leakyrelu"
        try:
            return original(layer)
        finally:
            layer.attributes["activation"] = name

    bit_exact._produce_kif.register(ParametrizedActivation, produce)


def _patch_cropping() -> None:
    """Bit-exact rules for Cropping2D (hls4ml 1.3 has none): an exact data move, so the output
    range is the input's, cropped, and the cropped-away inputs are requested by no one.
    Used by the per-group form of grouped convs (`jetad.fpga.grouped`)."""
    from hls4ml.model.layers import Cropping2D
    from hls4ml.model.optimizer.passes import bit_exact

    def window(layer):
        a = layer.attributes
        if a.get("data_format", "channels_last") != "channels_last":
            raise JetadError(f"layer '{layer.name}': only channels_last cropping is supported")
        return (slice(a["crop_top"], a["in_height"] - a["crop_bottom"]),
                slice(a["crop_left"], a["in_width"] - a["crop_right"]))

    def produce(layer):
        k, i, f = bit_exact.get_input_kifs(layer)[0]
        rows, cols = window(layer)
        return k[rows, cols], i[rows, cols], f[rows, cols]

    def request(layer):
        k, i, f = bit_exact.requested_kif(layer)
        shape = bit_exact.get_input_shapes(layer)[0]
        rows, cols = window(layer)
        # nothing downstream reads the cropped-away inputs: request no bits of them (hls4ml's
        # "no request" is k = 0, i = f = -127, as in bit_exact.requested_kif)
        out = []
        for a, empty in ((k, 0), (i, -127), (f, -127)):
            full = np.full(shape, empty, dtype=a.dtype)
            full[rows, cols] = a
            out.append(full)
        return (tuple(out),)

    bit_exact._produce_kif.register(Cropping2D, produce)
    bit_exact._request_kif.register(Cropping2D, request)


@dataclass
class HLSSettings:
    backend: str = "Vivado"
    io_type: str = "io_parallel"
    strategy: str = "Latency"
    reuse_factor: int = 1
    part: str = PART
    clock_period: float = CLOCK_NS
    norm_precision: dict = field(default_factory=lambda: dict(DEFAULT_NORM_PRECISION))

    @classmethod
    def from_params(cls, hls) -> HLSSettings:
        """The settings of params.yaml's validated `hls` section (jetad.sections.Hls): the
        schema has checked the values and filled in the defaults."""
        return cls(backend=hls["backend"], io_type=hls["io_type"], strategy=hls["strategy"],
                   reuse_factor=hls["reuse_factor"], part=hls["part"],
                   clock_period=float(hls["clock_period"]),
                   norm_precision=dict(hls["norm_precision"]))


def _check_quantized(model) -> None:
    from jetad.quant.encoder import is_quantized

    if not is_quantized(model):
        raise JetadError(
            f"model '{model.name}' is not quantized (its conv/dense layers have no QKeras "
            "quantizers): convert the QAT encoder (jetad qat), not the float one"
        )


def _check_supported(model) -> None:
    hls4ml = _hls4ml()
    supported = set(hls4ml.converters.get_supported_keras_layers())
    for layer in model.layers:
        cname = layer.__class__.__name__
        if cname not in supported:
            raise JetadError(
                f"layer '{layer.name}' ({cname}) cannot be converted by hls4ml {hls4ml.__version__}"
            )


def hls_config(model, settings: HLSSettings) -> dict:
    hls4ml = _hls4ml()
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name",
                                               backend=settings.backend)
    cfg["Model"]["Strategy"] = settings.strategy
    cfg["Model"]["ReuseFactor"] = settings.reuse_factor
    for layer in model.layers:
        lc = cfg["LayerName"].setdefault(layer.name, {})
        lc["ReuseFactor"] = settings.reuse_factor
        lc["Strategy"] = settings.strategy
        if layer.__class__.__name__ == "GroupNormalization":
            lc["Precision"] = dict(settings.norm_precision)
    return cfg


def project_name(name: str) -> str:
    clean = re.sub(r"[^A-Za-z0-9_]", "_", name)
    return clean if clean[:1].isalpha() else f"p_{clean}"


def convert(model, output_dir, settings: HLSSettings | None = None, name: str | None = None):
    """hls4ml model (not yet compiled) of a QKeras model, with bit_exact=True."""
    settings = settings or HLSSettings()
    _check_quantized(model)
    _check_supported(model)
    hls4ml = _hls4ml()
    cfg = hls_config(model, settings)
    try:
        return hls4ml.converters.convert_from_keras_model(
            model,
            hls_config=cfg,
            output_dir=str(output_dir),
            project_name=project_name(name or model.name),
            backend=settings.backend,
            part=settings.part,
            clock_period=settings.clock_period,
            io_type=settings.io_type,
            bit_exact=True,
        )
    except JetadError:
        raise
    except Exception as exc:  # hls4ml raises bare Exceptions; name the layer when it does
        raise JetadError(f"hls4ml could not convert model '{model.name}': {exc}") from exc


def compile_model(hls_model, cflags: str | None = None, cxx: str | None = None,
                  csim: str = "integer") -> Path:
    """Write and compile the project (write_project + build_library); returns the library."""
    write_project(hls_model, cflags, cxx, csim)
    return build_library(hls_model)


def write_project(hls_model, cflags: str | None = None, cxx: str | None = None,
                  csim: str = "integer") -> Path:
    """Write the hls4ml project, with jetad's integer C-simulation kernels (`csim`, see
    jetad.fpga.csim; "ap_fixed" builds hls4ml's loops as written). `cflags` replaces hls4ml's
    flags ("-O3 -fPIC") in its build_lib.sh, `cxx` its compiler (g++). Returns the directory.

    Outputs do not depend on the compiler (the arithmetic is integer). Measured with hls4ml's
    ap_fixed loops (before the integer kernels): conv1_b0_0 block, 200 images, one core: g++ -O1
    10.7 ms/image and 164 s to compile, -O3 9.1 ms and 323 s, clang++ 14 -O3 -march=native 6.4 ms
    and 50 s; the whole per-group encoder: g++ -O1 64.7 images/s (2 processes), clang++ 52.3."""
    import shutil

    from jetad.fpga import csim as csim_kernels

    extra = csim_kernels.mode_flags(csim)
    hls_model.write()
    out = Path(hls_model.config.get_output_dir())
    csim_kernels.patch_project(out)
    script = out / "build_lib.sh"
    text = script.read_text()
    current = re.search(r'^CFLAGS="?([^"\n]*)"?\s*$', text, flags=re.M)
    if current is None:
        raise JetadError(f"{script}: no CFLAGS line to set (hls4ml template changed?)")
    flags = (cflags or current.group(1)) + extra
    for key, value in (("CFLAGS", flags), ("CC", cxx)):
        if not value:
            continue
        if key == "CC" and shutil.which(value) is None:
            raise JetadError(f"hls.cxx: compiler {value!r} is not on PATH")
        quoted = f'"{value}"' if key == "CFLAGS" else value
        if not re.search(rf'^{key}=', text, flags=re.M):
            raise JetadError(f"{script}: no {key} line to set (hls4ml template changed?)")
        text = re.sub(rf'^{key}=.*$', lambda _m, k=key, q=quoted: f"{k}={q}", text, count=1,
                      flags=re.M)
    script.write_text(text)
    _normalize_keras_archive(out / "keras_model.keras")
    _content_stamp(hls_model, out)
    return out


# what hls4ml writes that is not compiled into the emulation library
_NOT_HASHED = {"hls4ml_config.yml", "keras_model.keras"}


def _content_stamp(hls_model, out: Path) -> None:
    """Replace hls4ml's random library stamp (uuid4: every run wrote different bytes) by a hash
    of the sources and the build script. The same project keeps its library name; a changed
    one gets a new name, so a process never reuses an older library loaded under that path.

    The old stamp is removed from build_lib.sh only (the one hashed file that holds it): removing
    it from every file would also cut any equal digit run out of a weights file. The YAML line is
    rewritten whole, not by substring: hls4ml quotes a stamp that YAML would read as a number
    ('12345678', about 2% of uuid4 stamps), so a substring replace left `Stamp: 'j...'` in some
    runs and `Stamp: j...` in others (the rerun test failed on that, seemingly under load)."""
    import hashlib

    old = str(hls_model.config.get_config_value("Stamp"))
    script = out / "build_lib.sh"
    h = hashlib.sha256()
    for f in sorted(p for p in out.rglob("*") if p.is_file()):
        if f.name in _NOT_HASHED or f.suffix in (".so", ".o"):
            continue
        data = f.read_bytes()
        if f == script:
            data = data.replace(old.encode(), b"")
        h.update(str(f.relative_to(out)).encode() + b"\0")
        h.update(data)
    # a leading letter: YAML would read a stamp such as "12345678" as a number
    new = "j" + h.hexdigest()[:7]
    text = script.read_text()
    if old not in text:
        raise JetadError(f"{script}: hls4ml's stamp {old} not found (hls4ml template changed?)")
    script.write_text(text.replace(old, new))
    yml = out / "hls4ml_config.yml"
    text, n = re.subn(r"^Stamp: .*$", f"Stamp: {new}", yml.read_text(), flags=re.M)
    if n != 1:
        raise JetadError(f"{yml}: expected one 'Stamp:' line, found {n} (hls4ml writer changed?)")
    yml.write_text(text)
    hls_model.config.config["Stamp"] = new


def _renumber_shared(node, ids: dict):
    """Keras names objects shared between layers by their Python id() (a memory address):
    number them in order of appearance instead."""
    if isinstance(node, dict):
        return {k: (ids.setdefault(v, len(ids) + 1) if k == "shared_object_id"
                    else _renumber_shared(v, ids)) for k, v in node.items()}
    if isinstance(node, list):
        return [_renumber_shared(v, ids) for v in node]
    return node


def _normalize_keras_archive(path: Path) -> None:
    """hls4ml saves the part's Keras model into the project; Keras stamps the archive with the
    save time (metadata.json and the zip entries) and shared objects with their id(). Rewrite it
    with SOURCE_DATE_EPOCH's date and shared objects numbered 1, 2, ..."""
    import json
    import time
    import zipfile

    from jetad.atomic import atomic_path

    if not path.is_file():
        return
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    # zip dates start in 1980
    date_time = time.gmtime(max(epoch, 315532800))[:6]
    with zipfile.ZipFile(path) as z:
        members = [(info, z.read(info)) for info in z.infolist()]
    with atomic_path(path, suffix=".keras") as tmp, zipfile.ZipFile(tmp, "w") as z:
        for info, data in members:
            if info.filename == "metadata.json":
                meta = json.loads(data)
                meta["date_saved"] = time.strftime("%Y-%m-%d@%H:%M:%S", time.gmtime(epoch))
                data = json.dumps(meta).encode()
            elif info.filename == "config.json":
                data = json.dumps(_renumber_shared(json.loads(data), {})).encode()
            entry = zipfile.ZipInfo(info.filename, date_time=date_time)
            entry.compress_type, entry.external_attr = info.compress_type, info.external_attr
            z.writestr(entry, data)


def build_library(hls_model) -> Path:
    """Run the project's build_lib.sh (g++), without loading the library into this process (the
    emulation workers load it); safe to call from several threads at once."""
    import subprocess

    out = Path(hls_model.config.get_output_dir())
    name = hls_model.config.get_project_name()
    stamp = hls_model.config.get_config_value("Stamp")
    ret = subprocess.run(["bash", "build_lib.sh"], cwd=out, capture_output=True, text=True)
    lib = out / "firmware" / f"{name}-{stamp}.so"
    if ret.returncode != 0 or not lib.is_file():
        errors = [line for line in ret.stdout.splitlines() + ret.stderr.splitlines()
                  if "error" in line.lower()][:5]
        raise JetadError(f"g++ compilation of {out} failed: {' | '.join(errors) or ret.returncode}")
    return lib


@dataclass
class Compiled:
    """What a worker process needs to run a compiled project: no hls4ml object."""

    lib: str
    project: str
    in_size: int
    out_sizes: list[int]

    @classmethod
    def of(cls, hls_model, lib: Path) -> Compiled:
        return cls(
            lib=str(lib),
            project=hls_model.config.get_project_name(),
            in_size=int(hls_model.get_input_variables()[0].size()),
            out_sizes=[int(v.size()) for v in hls_model.get_output_variables()],
        )


def _run_chunk(args):
    comp, x = args
    lib = ctypes.cdll.LoadLibrary(comp.lib)
    fn = getattr(lib, comp.project + "_float")
    fn.restype = None
    fn.argtypes = [np.ctypeslib.ndpointer(ctypes.c_float, flags="C_CONTIGUOUS")] * (
        1 + len(comp.out_sizes)
    )
    x = np.ascontiguousarray(x, dtype=np.float32).reshape(len(x), comp.in_size)
    outs = [np.zeros((len(x), n), dtype=np.float32) for n in comp.out_sizes]
    for i in range(len(x)):
        row = [o[i] for o in outs]
        fn(x[i], *row)
    return outs


def emulate(comp: Compiled, x: np.ndarray, processes: int = 1, batch: int = 1000) -> list[np.ndarray]:
    """Run the compiled C++ on every sample; batches over `processes` worker processes.

    Returns one (n, out_size) float32 array per model output.
    """
    x = np.asarray(x, dtype=np.float32)
    chunks = [x[i:i + batch] for i in range(0, len(x), batch)]
    if not chunks:
        return [np.zeros((0, n), dtype=np.float32) for n in comp.out_sizes]
    if processes <= 1 or len(chunks) == 1:
        parts = [_run_chunk((comp, c)) for c in chunks]
    else:
        import multiprocessing as mp

        with mp.get_context("fork").Pool(processes) as pool:
            parts = pool.map(_run_chunk, [(comp, c) for c in chunks])
    return [np.concatenate([p[k] for p in parts]) for k in range(len(comp.out_sizes))]


def keras_outputs(model, x, batch: int = 1000) -> list[np.ndarray]:
    y = model.predict(x, batch_size=batch, verbose=0)
    if not isinstance(y, list):
        y = [y]
    return [np.asarray(a).reshape(len(x), -1) for a in y]


def max_abs_diff(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    return float(max(np.max(np.abs(p - q)) if p.size else 0.0 for p, q in zip(a, b, strict=True)))


# ---------------------------------------------------------------- splitting


def _input_quantizer(model):
    for layer in model.layers:
        if layer.name == "input_quant":
            return layer.quantizer
    return None


def _submodel(model, layer_names: list[str], name: str):
    """A model of consecutive layers of `model` (shared weights), fed by a quantized input."""
    import tf_keras
    from qkeras import QActivation, quantized_bits

    first = model.get_layer(layer_names[0])
    shape = tuple(int(d) for d in first.input_shape[1:])
    inp = tf_keras.Input(shape, name=f"{name}_in")
    q = _input_quantizer(model) or quantized_bits(16, 6, alpha=1)
    x = QActivation(q.__class__.from_config(q.get_config()), name=f"{name}_input_quant")(inp)
    for lname in layer_names:
        x = model.get_layer(lname)(x)
    return tf_keras.Model(inp, x, name=name)


def split(model, mode: str) -> dict[str, object]:
    """Sub-models of the encoder: mode 'layer' (each conv alone, plus the dense heads) or 'block'
    (conv + norm + activation; conv_fin alone; flatten + dense heads)."""
    from jetad.quant.encoder import HEADS

    if mode not in ("layer", "block"):
        raise JetadError(f"split mode must be 'layer' or 'block', got {mode!r}")
    names = {layer.name for layer in model.layers}
    convs = [
        layer.name for layer in model.layers
        if layer.__class__.__name__ in ("QConv2D", "Conv2D")
    ]
    parts: dict[str, object] = {}
    for c in convs:
        chain = [c]
        if mode == "block":
            chain += [n for n in (f"{c}_norm", f"{c}_act") if n in names]
        parts[c] = _submodel(model, chain, project_name(c))
    heads = [h for h in HEADS if h in names]
    if "flatten" in names and heads:
        import tf_keras
        from qkeras import QActivation

        flat = model.get_layer("flatten")
        shape = tuple(int(d) for d in flat.input_shape[1:])
        inp = tf_keras.Input(shape, name="heads_in")
        q = _input_quantizer(model)
        x = QActivation(q.__class__.from_config(q.get_config()), name="heads_input_quant")(inp)
        x = flat(x)
        parts["heads"] = tf_keras.Model(inp, [model.get_layer(h)(x) for h in heads], name="heads")
    return parts


def default_processes() -> int:
    return max(1, len(os.sched_getaffinity(0)))
