"""Real brokers for tests: a private mosquitto on a free port, or the embedded broker without one."""

import getpass
import shutil
import socket
import subprocess
import time
from pathlib import Path

from devices.transport import BrokerEndpoint
from hub.mqtt.embedded_broker import EmbeddedBroker, free_port

SHIPPED_CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "mosquitto.conf"


def mosquitto_binary() -> str | None:
    """Path of the mosquitto binary, if installed (Debian puts it in /usr/sbin)."""
    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until something accepts connections on ``host:port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s")


class MosquittoBroker:
    """A mosquitto started from the shipped configuration with its own port and data folder."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.config_path = workdir / "mosquitto.conf"
        self.log_path = workdir / "mosquitto.log"
        self._write_config()

    @property
    def endpoint(self) -> BrokerEndpoint:
        return BrokerEndpoint(host="127.0.0.1", port=self.port)

    def _write_config(self) -> None:
        lines = []
        for line in SHIPPED_CONFIG.read_text().splitlines():
            if line.startswith("listener "):
                line = f"listener {self.port} 127.0.0.1"
            elif line.startswith("persistence_location "):
                line = f"persistence_location {self.workdir}/"
            lines.append(line)
        lines.append(f"log_dest file {self.log_path}")
        # As root, mosquitto would drop to its own user and could not write this folder (no persistence).
        lines.append(f"user {getpass.getuser()}")
        self.config_path.write_text("\n".join(lines) + "\n")

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "-c", str(self.config_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port("127.0.0.1", self.port)

    def stop(self) -> None:
        """Graceful stop (SIGTERM): mosquitto saves its persistence file."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def kill(self) -> None:
        """Hard stop (SIGKILL): whatever was not autosaved is gone."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


class EmbeddedTestBroker:
    """The embedded broker behind the same interface, for machines without mosquitto."""

    def __init__(self) -> None:
        self._broker: EmbeddedBroker | None = None
        self.port = free_port()

    @property
    def endpoint(self) -> BrokerEndpoint:
        assert self._broker is not None and self._broker.endpoint is not None
        return self._broker.endpoint

    def start(self) -> None:
        self._broker = EmbeddedBroker(port=self.port)
        self._broker.start()

    def stop(self) -> None:
        if self._broker is not None:
            self._broker.stop()
            self._broker = None

    kill = stop

    def restart(self) -> None:
        self.stop()
        self.start()


TestBroker = MosquittoBroker | EmbeddedTestBroker


def start_test_broker(workdir: Path) -> TestBroker:
    """A running broker of the best kind this machine has."""
    binary = mosquitto_binary()
    broker: TestBroker = MosquittoBroker(binary, workdir) if binary else EmbeddedTestBroker()
    broker.start()
    return broker
