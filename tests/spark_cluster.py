"""A standalone Spark cluster on 127.0.0.1 for tests/test_spark_cluster.py and benchmarks: a master and workers
started from pyspark's own scripts (``bin/spark-class``), each worker in its own mount namespace with an
empty tmpfs over the driver's temporary folder, so that it cannot see the driver's files, as on a real
cluster (``unshare --mount``, root needed).

    with LocalCluster(base, workers=2) as cluster:   # base: a folder for logs, work dirs, the driver's temp
        cluster.master_url                            # spark://127.0.0.1:PORT
        cluster.driver_env()                          # environment of a driver process (TMPDIR hidden from workers)

Every port is bound to 127.0.0.1 (``SPARK_LOCAL_IP``; the master's REST server is off). ``stop()`` (also on
leaving the ``with`` block, and at exit) ends the processes this object started -- each worker with its
executors and their Python workers, by process group -- and nothing else.
"""
from __future__ import annotations

import atexit
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def missing_requirements() -> list[str]:
    """What this machine lacks to run the cluster (empty: nothing)."""
    out = []
    try:
        ok = subprocess.run(["java", "-version"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if not ok:
        out.append("a Java runtime ('java -version' fails; make setup installs openjdk-17-jre-headless)")
    if not shutil.which("unshare"):
        out.append("unshare (util-linux)")
    if os.geteuid() != 0:
        out.append("root (unshare --mount needs it)")
    try:
        import pyspark  # noqa: F401
    except ImportError:
        out.append("pyspark")
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalCluster:
    def __init__(self, base: Path, workers: int = 2, worker_memory: str = "1g", executor_memory: str = "512m",
                 start_timeout: float = 240):
        import pyspark

        self.base = Path(base)
        self.spark_home = Path(pyspark.__file__).parent
        self.n_workers, self.worker_memory, self.executor_memory = workers, worker_memory, executor_memory
        self.start_timeout = start_timeout
        self.driver_tmp = self.base / "driver-tmp"
        self.logs = self.base / "logs"
        self.conf = self.base / "conf"
        self.processes: list[subprocess.Popen] = []
        self.master_url = ""

    # ------------------------------------------------------------------ start / stop
    def _env(self) -> dict:
        env = dict(os.environ)
        env.update({"SPARK_LOCAL_IP": "127.0.0.1", "SPARK_HOME": str(self.spark_home),
                    "SPARK_MASTER_OPTS": "-Dspark.master.rest.enabled=false", "SPARK_DAEMON_MEMORY": "256m",
                    "SPARK_CONF_DIR": str(self.conf)})
        return env

    def _spawn(self, argv: list[str], log: Path) -> subprocess.Popen:
        handle = open(log, "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=self._env(), start_new_session=True)
        handle.close()
        self.processes.append(proc)
        return proc

    def start(self) -> "LocalCluster":
        for folder in (self.driver_tmp, self.logs, self.conf):
            folder.mkdir(parents=True, exist_ok=True)
        # what a driver of this cluster asks for (read by spark-submit from SPARK_CONF_DIR)
        (self.conf / "spark-defaults.conf").write_text(
            f"spark.executor.memory {self.executor_memory}\nspark.executor.cores 1\n"
            "spark.driver.host 127.0.0.1\nspark.driver.bindAddress 127.0.0.1\n")
        atexit.register(self.stop)
        spark_class = str(self.spark_home / "bin" / "spark-class")
        port = free_port()
        self._spawn([spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port", str(port),
                     "--webui-port", str(free_port())], self.logs / "master.log")
        self.master_url = f"spark://127.0.0.1:{port}"
        self._wait(lambda: "I have been elected leader" in self._log("master"), "the master")
        for k in range(self.n_workers):
            work = self.base / f"worker{k}"
            work.mkdir(exist_ok=True)
            # the worker's own mount namespace: an empty tmpfs over the driver's temporary folder
            self._spawn(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                         'mount -t tmpfs -o size=16m tmpfs "$0" && exec "$@"', str(self.driver_tmp),
                         spark_class, "org.apache.spark.deploy.worker.Worker", "--host", "127.0.0.1",
                         "--port", str(free_port()), "--webui-port", str(free_port()), "--cores", "1",
                         "--memory", self.worker_memory, "--work-dir", str(work), self.master_url],
                        self.logs / f"worker{k}.log")
        self._wait(lambda: self._log("master").count("Registering worker") >= self.n_workers,
                   f"{self.n_workers} workers to register")
        return self

    def _log(self, name: str) -> str:
        try:
            return (self.logs / f"{name}.log").read_text(errors="replace")
        except OSError:
            return ""

    def _wait(self, ready, what: str) -> None:
        deadline = time.monotonic() + self.start_timeout
        while not ready():
            if any(p.poll() is not None for p in self.processes):
                raise RuntimeError(f"a cluster process ended while waiting for {what}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out after {self.start_timeout:.0f} s waiting for {what}:\n{self.tail()}")
            time.sleep(0.5)

    def tail(self, lines: int = 15) -> str:
        out = []
        for log in sorted(self.logs.glob("*.log")):
            out.append(f"== {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(out)

    def stop(self) -> None:
        """End the master, the workers and everything they started (their process groups)."""
        for proc in reversed(self.processes):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 30
        for proc in self.processes:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)   # the group may outlive its leader (executors)
            except (ProcessLookupError, PermissionError):
                pass
            if proc.poll() is None:
                proc.wait(timeout=30)
        self.processes = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------------ a driver
    def driver_env(self) -> dict:
        """Environment of a driver process: its temporary folder is the one the workers cannot see, the
        package is the checkout's, the Python is this one."""
        env = self._env()
        env.update({"TMPDIR": str(self.driver_tmp), "PYTHONPATH": str(ROOT), "PYSPARK_PYTHON": sys.executable})
        env.pop("SPARK_MASTER_OPTS", None)
        return env
