"""Convert a QKeras model with hls4ml 1.3 and write its project: the settings, the conversion
(always `bit_exact=True`, [hls4ml] 1.3: without it hls4ml's default types overflow the accumulators),
the project directory with its build script, and bytes that do not change between runs.

Three things hls4ml and Keras write differently on every run are made deterministic here
(tests/fpga/hls4ml/test_project.py checks that upstream still does each):
- hls4ml 1.3.0 `model/optimizer/passes/stamp.py::MakeStamp` names the emulation library with a
  random uuid4 stamp (in build_lib.sh and hls4ml_config.yml): replaced by a hash of the sources
  (`_content_stamp`);
- tf_keras' `saving_lib` stamps the `keras_model.keras` archive hls4ml saves into the project
  with the save time, and names objects shared between layers by their id(): rewritten by
  `normalize_keras_archive`;
- hls4ml 1.3.0 has no option for the C++ compiler or its flags (`templates/vivado/build_lib.sh`
  hard-codes `CC=g++`, `CFLAGS="-O3 -fPIC"`): `write_project` edits those two lines.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import shutil
import time
import zipfile
from pathlib import Path

from jetad.atomic import atomic_path
from jetad.errors import JetadError
from jetad.fpga.hls4ml import csim as csim_kernels
from jetad.fpga.hls4ml.compat import import_hls4ml
from jetad.fpga.naming import project_name
from jetad.models.reduced_encoder import is_quantized
from jetad.params import or_default

# The `hls` keys hls4ml's conversion reads, in the order the emulation report lists them
CONVERSION_KEYS = ("backend", "io_type", "strategy", "reuse_factor", "part", "clock_period",
                   "norm_precision")


def conversion(settings) -> dict:
    """The CONVERSION_KEYS of the `hls` settings (jetad.sections.Hls, or a copy changed by
    dataclasses.replace), the clock period as a float."""
    return {key: float(settings[key]) if key == "clock_period" else copy.deepcopy(settings[key])
            for key in CONVERSION_KEYS}


def check_quantized(model) -> None:
    """Refuse a float model: hls4ml is given the QAT encoder (jetad qat)."""
    if not is_quantized(model):
        raise JetadError(
            f"model '{model.name}' is not quantized (its conv/dense layers have no QKeras "
            "quantizers): convert the QAT encoder (jetad qat), not the float one"
        )


def _check_supported(model) -> None:
    hls4ml = import_hls4ml()
    supported = set(hls4ml.converters.get_supported_keras_layers())
    for layer in model.layers:
        cname = layer.__class__.__name__
        if cname not in supported:
            raise JetadError(
                f"layer '{layer.name}' ({cname}) cannot be converted by hls4ml {hls4ml.__version__}"
            )


def hls_config(model, settings) -> dict:
    hls4ml = import_hls4ml()
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


def convert(model, output_dir, settings, name: str | None = None):
    """hls4ml model (not yet compiled) of a QKeras model, with bit_exact=True; `settings` is
    the `hls` section (jetad.sections.Hls)."""
    check_quantized(model)
    _check_supported(model)
    hls4ml = import_hls4ml()
    cfg = hls_config(model, settings)
    try:
        return hls4ml.converters.convert_from_keras_model(
            model,
            hls_config=cfg,
            output_dir=str(output_dir),
            project_name=project_name(name or model.name),
            backend=settings.backend,
            part=settings.part,
            clock_period=float(settings.clock_period),
            io_type=settings.io_type,
            bit_exact=True,
        )
    except JetadError:
        raise
    except Exception as exc:  # hls4ml raises bare Exceptions; name the layer when it does
        raise JetadError(f"hls4ml could not convert model '{model.name}': {exc}") from exc


def write_project(hls_model, cflags: str | None = None, cxx: str | None = None,
                  csim: str | None = None) -> Path:
    """Write the hls4ml project, with jetad's integer C-simulation kernels (`csim`, see
    jetad.fpga.hls4ml.csim; "ap_fixed" builds hls4ml's loops as written; left out: hls.csim's
    schema default). `cflags` replaces hls4ml's
    flags ("-O3 -fPIC") in its build_lib.sh, `cxx` its compiler (g++). Returns the directory.

    Outputs do not depend on the compiler (the arithmetic is integer). Measured with hls4ml's
    ap_fixed loops (before the integer kernels): conv1_b0_0 block, 200 images, one core: g++ -O1
    10.7 ms/image and 164 s to compile, -O3 9.1 ms and 323 s, clang++ 14 -O3 -march=native 6.4 ms
    and 50 s; the whole per-group encoder: g++ -O1 64.7 images/s (2 processes), clang++ 52.3."""
    extra = csim_kernels.mode_flags(or_default(csim, "hls", "csim"))
    hls_model.write()
    out = Path(hls_model.config.get_output_dir())
    csim_kernels.patch_project(out)
    _set_compiler(out / "build_lib.sh", cflags, cxx, extra)
    normalize_keras_archive(out / "keras_model.keras")
    _content_stamp(hls_model, out)
    return out


def _set_compiler(script: Path, cflags: str | None, cxx: str | None, extra: str) -> None:
    """Set the CFLAGS (`cflags`, else hls4ml's, plus `extra`) and CC (`cxx`, else hls4ml's g++)
    lines of hls4ml's build_lib.sh."""
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


def normalize_keras_archive(path: Path) -> None:
    """hls4ml saves the part's Keras model into the project; Keras stamps the archive with the
    save time (metadata.json and the zip entries) and shared objects with their id(). Rewrite it
    with SOURCE_DATE_EPOCH's date and shared objects numbered 1, 2, ..."""
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
