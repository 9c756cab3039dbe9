"""A vendor-free flow from a QKeras model to a netlist: da4ml 0.6 -> Verilog -> Verilator, yosys.

`jetad.fpga.rtl.trace` replays a QKeras model on da4ml's symbolic fixed-point variables
(`da4ml.trace.FixedVariableArrayInput`): every constant kernel becomes a constant-matrix-vector
product that da4ml's solver turns into shift-and-add logic (distributed arithmetic, no DSPs),
every quantizer a rounding and saturation of known bit widths. `build()` cuts the traced logic
into pipeline stages (`da4ml.trace.to_pipeline`, da4ml's default cutoff of 5 adder delays per
stage, as its `da4ml convert` CLI) and writes Verilog with `da4ml.codegen.RTLModel`;
`Design.compile()` builds that Verilog with Verilator into a library that clocks one sample in
per cycle and reads each result `latency` cycles later (da4ml's binder), so a wrong latency or an
initiation interval above 1 gives wrong outputs; `Design.synthesize()` runs yosys
`synth_xilinx -family xcup` (`jetad.fpga.rtl.yosys`) for LUT and FF. Latency in cycles is the number of
pipeline stages; at the 5 ns clock of [Valente 2022] (200 MHz) ns = 5 x cycles. Nothing here needs a
vendor tool.

The RTL's input is the model's input quantizer's output (an FPGA receives fixed-point words): feed
`Design.predict` the quantized inputs (`input_grid`), QKeras the raw ones.
Not traced (a JetadError names the layer): normalization layers (the instance norm needs a
division and a square root per image, outside what da4ml traces), other activations, pooling.
QKeras computes in float32: the comparison is exact only while every sum fits float32's 24-bit
mantissa, true of small widths (the test model), not of the <16,6> encoder's accumulators.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jetad.errors import JetadError
from jetad.fpga.naming import project_name
from jetad.fpga.rtl import yosys
from jetad.fpga.rtl.trace import trace

LATENCY_CUTOFF = 5.0   # da4ml's `convert` default: adder delays per pipeline stage
CLOCK_NS = 5.0         # the 200 MHz clock of the thesis' hls4ml designs
# the C++ program that measures a Verilated design's latency and interval
PROBE = Path(__file__).with_name("probe.cpp")


@dataclass
class Design:
    """A traced, pipelined and written da4ml design."""

    name: str
    path: Path
    latency_cycles: int
    clock_ns: float
    cost: float           # da4ml's LUT estimate (adder bits)
    reg_bits: int         # pipeline register bits (FF before synthesis)
    n_inputs: int
    n_outputs: int
    _model: object = field(default=None, repr=False)
    _lib: str | None = None

    @property
    def latency_ns(self) -> float:
        return self.latency_cycles * self.clock_ns

    def compile(self, jobs: int = 1) -> Path:
        """Verilator's C++ of the Verilog, linked with da4ml's binder into a library."""
        for tool in ("verilator", "g++"):
            if shutil.which(tool) is None:
                raise JetadError(f"{tool} is not on PATH (Debian: apt-get install verilator)")
        sim = self.path / "sim"
        top = f"{self.name}_wrapper"
        ret = subprocess.run(
            ["verilator", "--cc", "-j", str(jobs), "-build", f"{top}.v", "--prefix", f"V{top}",
             "-Wall", "-CFLAGS", "-std=c++17 -fPIC -O0", "-I../src", "-I../src/static",
             # a whole network is one huge eval function: g++ takes superlinear time on it
             # (the distilled student: > 18 min for one file); split, it builds in 2-3 min
             "--output-split-cfuncs", "500", "--output-split", "2000"],
            cwd=sim, capture_output=True, text=True)
        archive = sim / "obj_dir" / f"V{top}__ALL.a"
        if ret.returncode != 0 or not archive.is_file():
            said = (ret.stderr or ret.stdout).strip().splitlines()[-5:]
            raise JetadError(f"{self.path}: verilator failed ({ret.returncode}): "
                             + " | ".join(said))
        # da4ml's build_binder.mk expects libverilated.a, which Debian's Verilator 5.006 does
        # not build; its runtime sources are compiled in instead
        root = subprocess.run(["verilator", "--getenv", "VERILATOR_ROOT"], capture_output=True,
                              text=True).stdout.strip()
        inc = Path(root) / "include"
        stamp = hashlib.sha256(b"".join(p.read_bytes() for p in
                                        sorted((self.path / "src").rglob("*.v")))).hexdigest()[:8]
        lib = sim / f"lib{top}_{stamp}.so"
        ret = subprocess.run(
            ["g++", "-std=c++17", "-fPIC", "-O1", "-shared", "-faligned-new", "-I", "obj_dir",
             "-I", str(inc), "-I", str(inc / "vltstd"), "-I", "../src", "-o", lib.name,
             f"{top}_binder.cc", str(inc / "verilated.cpp"), str(inc / "verilated_threads.cpp"),
             str(archive.relative_to(sim)), "-pthread", "-Wl,--no-undefined"],
            cwd=sim, capture_output=True, text=True)
        if ret.returncode != 0 or not lib.is_file():
            said = [ln for ln in ret.stderr.splitlines() if "error" in ln.lower()][:5]
            raise JetadError(f"{self.path}: linking the Verilator model failed: "
                             + (" | ".join(said) or str(ret.returncode)))
        self._model._load_lib(stamp)
        self._lib = str(lib)
        return lib

    def predict(self, x_quantized: np.ndarray) -> np.ndarray:
        """Verilator simulation of the RTL on inputs already on the input quantizer's grid;
        (n, outputs) float."""
        if self._lib is None:
            raise JetadError(f"{self.path}: compile() the design first")
        x = np.asarray(x_quantized, dtype=np.float32).reshape(len(x_quantized), -1)
        return np.asarray(self._model.predict(x, n_threads=-1)).reshape(len(x), -1)

    def measure_latency(self, trials: int = 8, seed: int = 0) -> int:
        """Clock the Verilated model and count the cycles from input to output: hold an input B
        until the output settles, present A for one rising edge (edge 0), then B again; the
        output must read out(A) after exactly one edge k and out(B) before and after it. Returns
        k, the latency in cycles of da4ml's convention (the binder that `predict` uses reads a
        sample's result `latency_cycles` edges after the edge that samples it). Random bit
        patterns are valid inputs (every word is a value of its fixed-point type); trials with
        out(A) == out(B) are skipped. Raises JetadError if the pattern is not seen."""
        if self._lib is None:
            raise JetadError(f"{self.path}: compile() the design first")
        sim = self.path / "sim"
        top = f"{self.name}_wrapper"
        width = _port_width(self.path / "src" / f"{top}.v", "model_inp")
        probe = sim / "latency_probe.cc"
        probe.write_text(PROBE.read_text().replace("@TOP@", f"V{top}"))
        root = subprocess.run(["verilator", "--getenv", "VERILATOR_ROOT"], capture_output=True,
                              text=True).stdout.strip()
        inc = Path(root) / "include"
        exe = sim / "latency_probe"
        ret = subprocess.run(
            ["g++", "-std=c++17", "-O1", "-faligned-new", f"-DIN_WIDTH={width}", "-I", "obj_dir",
             "-I", str(inc), "-I", str(inc / "vltstd"), "-o", exe.name, probe.name,
             str(inc / "verilated.cpp"), str(inc / "verilated_threads.cpp"),
             f"obj_dir/V{top}__ALL.a", "-pthread"], cwd=sim, capture_output=True, text=True)
        if ret.returncode != 0:
            said = [ln for ln in ret.stderr.splitlines() if "error" in ln.lower()][:5]
            raise JetadError(f"{probe}: build failed: " + (" | ".join(said) or str(ret.returncode)))
        edges = 2 * self.latency_cycles + 8
        ret = subprocess.run([str(exe), str(trials), str(seed), str(edges)], capture_output=True,
                             text=True)
        found = {int(v) for v in ret.stdout.split()}
        if ret.returncode != 0 or len(found) != 1 or -1 in found:
            raise JetadError(f"{self.path}: no single input-to-output latency within {edges} "
                             f"edges (probe said {ret.stdout.strip()!r}, {ret.returncode})")
        return found.pop()

    def synthesize(self) -> dict:
        """{'LUT', 'FF', 'cells'} of yosys synth_xilinx -family xcup of the whole design."""
        return yosys.synthesize(self.path, self.name, label=self.name)


def _port_width(wrapper: Path, port: str) -> int:

    m = re.search(rf"input\s*\[(\d+):0\]\s*{port}\b", wrapper.read_text())
    if m is None:
        raise JetadError(f"{wrapper}: no 'input [N:0] {port}' port (da4ml's wrapper changed?)")
    return int(m.group(1)) + 1


# Drives the Verilated top directly (not da4ml's binder, which assumes the latency it is told):
# per trial, B held for `edges` edges, A for edge 0, B again; prints the one edge after which
# the output reads out(A) and before and after which it reads out(B), or -1.


def _old_lint_codes(src: Path) -> None:
    """da4ml's negative.v silences WIDTHTRUNC, a lint code Verilator 5.008 split off WIDTH:
    Debian's 5.006 stops on the unknown code. WIDTH silences it in both (a comment, not logic)."""
    for f in src.rglob("*.v"):
        text = f.read_text()
        if "WIDTHTRUNC" in text:
            f.write_text(text.replace("lint_off WIDTHTRUNC", "lint_off WIDTH")
                         .replace("lint_on WIDTHTRUNC", "lint_on WIDTH"))


def build(model, out_dir, name: str | None = None, latency_cutoff: float = LATENCY_CUTOFF,
          clock_ns: float = CLOCK_NS) -> Design:
    """Trace `model`, pipeline it and write its Verilog under `out_dir`."""
    # optional and heavy: da4ml loads only on the RTL route
    from da4ml.codegen import RTLModel
    from da4ml.trace import comb_trace

    name = project_name(name or model.name)
    inp, out = trace(model)
    comb = comb_trace(inp, out)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # da4ml prints the pipeline's latency; jetad logs it instead
    with open(os.devnull, "w") as null:
        with contextlib.redirect_stdout(null):
            rtl = RTLModel(comb, name, out_dir, latency_cutoff=latency_cutoff,
                           clock_period=clock_ns, print_latency=False)
            rtl.write()
    _old_lint_codes(out_dir / "src")
    pipe = rtl._pipe
    return Design(name=name, path=out_dir, latency_cycles=len(pipe.solutions), clock_ns=clock_ns,
                  cost=float(comb.cost), reg_bits=int(pipe.reg_bits), n_inputs=comb.shape[0],
                  n_outputs=comb.shape[1], _model=rtl)
