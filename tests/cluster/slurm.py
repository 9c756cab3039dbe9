"""A real single-node SLURM on 127.0.0.1 for the tests (Debian's slurm-wlm and munge).

There is no systemd: the daemons are started here in the foreground mode, in the background,
and stopped by the PIDs saved. Everything lives in one temporary directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def available() -> bool:
    return all(shutil.which(t) for t in ("slurmctld", "slurmd", "munged", "mungekey", "sbatch"))


class Slurm:
    def __init__(self, root: Path):
        self.root = root
        self.procs: list[subprocess.Popen] = []
        self.conf = root / "slurm.conf"
        self.bin = root / "bin"

    def env(self) -> dict[str, str]:
        return dict(os.environ, SLURM_CONF=str(self.conf),
                    PATH=f"{self.bin}{os.pathsep}{os.environ['PATH']}")

    def start(self) -> None:
        r = self.root
        for d in ("munge", "state", "spool", "log", "bin"):
            (r / d).mkdir(parents=True, exist_ok=True)
        os.chmod(r / "munge", 0o700)
        key = r / "munge" / "munge.key"
        subprocess.run(["mungekey", "--create", "--keyfile", str(key)], check=True)
        os.chmod(key, 0o600)
        sock = r / "munge" / "munge.socket"
        self.procs.append(subprocess.Popen(
            ["munged", "-F", "--force", f"--key-file={key}", f"--socket={sock}",
             f"--pid-file={r / 'munge' / 'munged.pid'}", f"--seed-file={r / 'munge' / 'seed'}",
             f"--log-file={r / 'log' / 'munged.log'}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for _ in range(100):
            if sock.exists():
                break
            time.sleep(0.1)
        host = socket.gethostname().split(".")[0]
        cpus = len(os.sched_getaffinity(0))
        mem_mb = int(Path("/proc/meminfo").read_text().split()[1]) // 1024 - 1024
        self.conf.write_text("\n".join([
            "ClusterName=jetadtest",
            f"SlurmctldHost={host}(127.0.0.1)",
            "SlurmUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={sock}",
            f"SlurmctldPort={free_port()}",
            f"SlurmdPort={free_port()}",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "AccountingStorageType=accounting_storage/none",
            "JobAcctGatherType=jobacct_gather/none",
            "MpiDefault=none",
            "ReturnToService=2",
            "MinJobAge=300",
            f"StateSaveLocation={r / 'state'}",
            f"SlurmdSpoolDir={r / 'spool'}",
            f"SlurmctldPidFile={r / 'slurmctld.pid'}",
            f"SlurmdPidFile={r / 'slurmd.pid'}",
            f"SlurmctldLogFile={r / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={r / 'log' / 'slurmd.log'}",
            f"NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={mem_mb} State=UNKNOWN",
            "PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
            "",
        ]))
        # the SLURM executor strips SLURM_CONF before its inner srun: a wrapper restores it
        for tool in ("srun",):
            wrapper = self.bin / tool
            wrapper.write_text(f"#!/bin/sh\nSLURM_CONF={self.conf} exec {shutil.which(tool)} \"$@\"\n")
            wrapper.chmod(0o755)
        env = self.env()
        self.procs.append(subprocess.Popen(
            ["slurmctld", "-D", "-i", "-f", str(self.conf)], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        self.procs.append(subprocess.Popen(
            ["slurmd", "-D", "-f", str(self.conf)], env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.time() + 60
        while time.time() < deadline:
            out = subprocess.run(["sinfo", "-h", "-o", "%T"], env=env, capture_output=True,
                                 text=True)
            if out.returncode == 0 and out.stdout.strip() in ("idle", "mixed"):
                return
            time.sleep(0.5)
        self.stop()
        raise RuntimeError("SLURM did not come up: " + self.logs())

    def logs(self) -> str:
        return "\n".join(p.read_text()[-2000:] for p in (self.root / "log").glob("*.log"))

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.procs.clear()
