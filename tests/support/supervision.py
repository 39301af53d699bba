"""supervisord as a test's child: the local stack's own supervision (deploy/local/supervisor_config.py), on the
test's ports, database, topics and directories."""
from __future__ import annotations

import asyncio
import importlib.util
import signal
import sys
import xmlrpc.client
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from supervisor.xmlrpc import SupervisorTransport

from support.auth import auth_settings
from support.infra import REPO, Infra, free_port
from support.services import SERVICES
from support.stack import eventually

SUPERVISORD = Path(sys.executable).with_name("supervisord")


def _load_config_module() -> ModuleType:
    path = REPO / "deploy" / "local" / "supervisor_config.py"
    spec = importlib.util.spec_from_file_location("supervisor_config", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


config = _load_config_module()


class Supervisord:
    """supervisord in the foreground as the test's child, with its own config, socket and logs."""

    def __init__(self, state_dir: Path, log_dir: Path) -> None:
        self.state_dir, self.log_dir = state_dir, log_dir
        self.daemon = config.Daemon(socket=state_dir / "supervisor.sock", pidfile=state_dir / "supervisord.pid",
                                    logfile=log_dir / "supervisord.log")
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self, programs: Iterable[Any]) -> None:
        conf = self.state_dir / "supervisord.conf"
        conf.write_text(config.render(programs, self.daemon, directory=REPO))
        with (self.log_dir / "supervisord.out").open("ab") as out:
            self._proc = await asyncio.create_subprocess_exec(str(SUPERVISORD), "-n", "-c", str(conf),
                                                              stdout=out, stderr=out)
        await eventually(self._answers, timeout=15, what="supervisord's control socket")

    async def _answers(self) -> bool:
        try:
            state = await self.call("getState")
        except OSError:
            return False
        return bool(state["statename"] == "RUNNING")

    async def call(self, method: str, *args: Any) -> Any:
        """One XML-RPC call on a fresh connection: a failed call leaves the transport's connection unusable."""
        rpc: Any = xmlrpc.client.ServerProxy(
            "http://127.0.0.1", transport=SupervisorTransport(None, None, f"unix://{self.daemon.socket}"))
        return await asyncio.to_thread(getattr(rpc.supervisor, method), *args)

    async def process(self, name: str) -> dict[str, Any]:
        return dict(await self.call("getProcessInfo", name))

    async def processes(self) -> list[dict[str, Any]]:
        return [dict(info) for info in await self.call("getAllProcessInfo")]

    async def stop(self) -> None:
        if self._proc is None or self._proc.returncode is not None:
            return
        self._proc.send_signal(signal.SIGTERM)  # supervisord stops its programs first, each within stopwaitsecs
        try:
            await asyncio.wait_for(self._proc.wait(), timeout=config.WORKER.stopwaitsecs + 15)
        except TimeoutError:
            self._proc.kill()
            await self._proc.wait()


def service_programs(infra: Infra, database: str, topic_prefix: str, service: str, keys_dir: Path, log_dir: Path,
                     *, workers: int = 1, extra_env: dict[str, str] | None = None,
                     ) -> tuple[list[Any], str, list[str]]:
    """The service's api and `workers` worker replicas as supervised programs on the test's database and topics;
    the api's URL and each worker's probe URL."""
    port = free_port()
    env = SERVICES[service].env(infra, database, topic_prefix, port)
    prefix = SERVICES[service].env_prefix
    # supervisord's environment= line cannot carry PEM text: the keys go in as files, as on Kubernetes
    env = {key: value for key, value in env.items() if not key.endswith("_PEM")}
    keys = auth_settings()
    (keys_dir / "public.pem").write_text("".join(keys.public_keys_pem))
    env[f"{prefix}AUTH__PUBLIC_KEYS_FILE"] = str(keys_dir / "public.pem")
    if service == "intake" and keys.private_key_pem is not None:
        private = keys_dir / "private.pem"
        private.write_text(keys.private_key_pem.get_secret_value())
        env[f"{prefix}AUTH__PRIVATE_KEY_FILE"] = str(private)
    env.update(extra_env or {})
    programs = [config.Program(f"{service}-api", (sys.executable, "-m", service, "api"), env,
                               log_dir / f"{service}-api.log", config.API)]
    probes = []
    for replica in range(1, workers + 1):
        health_port = free_port()
        name = f"{service}-worker" if workers == 1 else f"{service}-worker-{replica}"
        worker_env = {**env, f"{prefix}WORKER__HEALTH_PORT": str(health_port)}
        programs.append(config.Program(name, (sys.executable, "-m", service, "worker"), worker_env,
                                       log_dir / f"{name}.log", config.WORKER))
        probes.append(f"http://127.0.0.1:{health_port}")
    return programs, f"http://127.0.0.1:{port}", probes
