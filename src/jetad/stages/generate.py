"""`jetad generate`: one seeded chunk of QCD (or gluon, quark), top, W or Z jets with Pythia8 + FastJet
([Kasieczka et al. 2019]'s jet definition; the generator is jetad.data.generate).

Each chunk is independent and byte-reproducible from (seed, process, chunk id), so chunks are
parallel Snakemake jobs and DVC stages. Output is the top-tagging layout ([Kasieczka et al. 2019]),
or JetNet's ([Kansal et al. 2021]; jetad.data.jetnet) with generate.layout jetnet."""

from __future__ import annotations

import numpy as np

from jetad import log
from jetad.atomic import file_md5
from jetad.data.generate import (
    Cuts,
    chunk_seed,
    generate_chunk,
    jet_mass,
    mass_peak,
    pthat_window,
)
from jetad.data.jetnet import from_jets, write_jetnet
from jetad.data.layout import write_jets
from jetad.data.processes import PROCESSES
from jetad.errors import ConfigError

LOG = log.get("jetad.generate")


def run(args, params) -> None:
    gen = params.generate
    origin = args.params or "params.yaml"
    if args.process not in PROCESSES:
        raise ConfigError(f"{origin}: unknown process '{args.process}' "
                          f"(known: {', '.join(PROCESSES)})")
    n_jets = args.n_jets or gen.jets_per_chunk.get(args.process)
    if not n_jets:
        raise ConfigError(f"{origin}: generate.jets_per_chunk has no entry for '{args.process}'")
    seed = chunk_seed(params.seed, args.process, args.chunk)
    pthat_min, pthat_max = pthat_window(gen, args.process)
    jets, stats = generate_chunk(args.process, n_jets, seed, Cuts.from_params(gen),
                                 ecm=gen.ecm, pthat_min=pthat_min, pthat_max=pthat_max)
    if gen.layout == "jetnet":
        write_jetnet(args.out, from_jets(jets))
    else:
        write_jets(args.out, jets)
    mass = jet_mass(jets)
    LOG.info(
        "wrote %s: %d %s jets from %d events (acceptance %.1f%%, pTHat %s-%s GeV), %.1f jets/s, "
        "jet mass median %.1f GeV, peak %.0f GeV, mean constituents %.1f, md5 %s",
        args.out, len(jets), args.process, stats["events"], 100 * stats["acceptance"],
        f"{pthat_min:g}", "inf" if pthat_max is None else f"{pthat_max:g}",
        stats["jets_per_second"], np.median(mass), mass_peak(mass),
        jets.n_constituents().mean(), file_md5(args.out),
    )
