"""Real triple stores on loopback ports, with throw-away databases, for the backend tests and
``bench/scale.py``: OpenLink Virtuoso (Debian's ``virtuoso-opensource``).

Virtuoso keeps everything it writes (database, transaction log, error log) in the folder its ini
names, so each instance gets its own folder and ini, its own two ports (SQL for ``isql``, HTTP
for SPARQL and the Graph Store) and its own ``dba`` password, set through ``isql`` on standard
input (never on a command line) and written to the credentials file ``kazdata load`` reads.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import requests

from tests.processes import stop_process

VIRTUOSO = "/usr/bin/virtuoso-t"
ISQL = "/usr/bin/isql-vt"
#: Where Debian's package keeps Virtuoso's bundled web pages; the HTTP server needs a root.
VSP_ROOT = "/var/lib/virtuoso-opensource-7/vsp"

INI = """\
[Database]
DatabaseFile = {dir}/virtuoso.db
ErrorLogFile = {dir}/virtuoso.log
LockFile = {dir}/virtuoso.lck
TransactionFile = {dir}/virtuoso.trx
xa_persistent_file = {dir}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
Striping = 0
[TempDatabase]
DatabaseFile = {dir}/virtuoso-temp.db
TransactionFile = {dir}/virtuoso-temp.trx
[Parameters]
ServerPort = 127.0.0.1:{sql_port}
DisableUnixSocket = 1
DirsAllowed = ., {dir}, {load_dir}
NumberOfBuffers = {buffers}
MaxDirtyBuffers = {dirty}
CaseMode = 2
ThreadsPerQuery = 2
[HTTPServer]
ServerPort = 127.0.0.1:{http_port}
ServerRoot = {vsp}
ServerThreads = 10
MaxClientConnections = 10
[SPARQL]
ResultSetMaxRows = 1000000
MaxQueryExecutionTime = {query_seconds}
MaxQueryCostEstimationTime = 0
"""


def listens(pid: int, port: int) -> bool:
    """Whether process ``pid`` holds the socket listening on loopback ``port`` (Linux /proc)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{port:04X}") and fields[3] == "0A":  # 0A: LISTEN
            inodes.add(f"socket:[{fields[9]}]")
    fd_folder = Path(f"/proc/{pid}/fd")
    return any(_readlink(fd) in inodes for fd in fd_folder.iterdir()) if fd_folder.exists() else False


def _readlink(path: Path) -> str:
    try:
        return str(path.readlink())
    except OSError:  # closed meanwhile
        return ""


class VirtuosoServer:
    """``virtuoso-t`` in the foreground on two loopback ports, its database in ``folder``.

    ``sparql`` is its SPARQL 1.1 Protocol URL, ``graph_store`` its Graph Store Protocol URL that
    takes HTTP Digest authentication (Virtuoso's unauthenticated ``/sparql-graph-crud`` needs the
    anonymous ``SPARQL`` user to be granted updates, which no operator should do), and
    ``credentials`` the file holding ``dba:PASSWORD``. ``load_dir`` is a folder Virtuoso may read
    files from (``DirsAllowed``), for its bulk loader. ``query_seconds`` is Virtuoso's own limit
    on a query (``MaxQueryExecutionTime``).
    """

    def __init__(self, folder: Path, sql_port: int, http_port: int, *, buffers: int = 20_000,
                 query_seconds: int = 6, seconds: float = 60) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.load_dir = self.folder / "load"
        self.load_dir.mkdir(exist_ok=True)
        self.sql = f"127.0.0.1:{sql_port}"
        self.root = f"http://127.0.0.1:{http_port}"
        self.sparql = self.root + "/sparql"
        self.graph_store = self.root + "/sparql-graph-crud-auth"
        (self.folder / "virtuoso.ini").write_text(INI.format(
            dir=self.folder, load_dir=self.load_dir, sql_port=sql_port, http_port=http_port, vsp=VSP_ROOT,
            buffers=buffers, dirty=buffers * 3 // 4, query_seconds=query_seconds))
        self.log = open(self.folder / "stdout.log", "wb")
        self.process = subprocess.Popen([VIRTUOSO, "+foreground", "+configfile", str(self.folder / "virtuoso.ini")],
                                        stdout=self.log, stderr=subprocess.STDOUT, cwd=self.folder)
        try:
            self._wait(seconds)
            self.password = "kz" + secrets.token_hex(12)  # isql reads a leading digit as a number
            self.isql(f"SET PASSWORD dba {self.password};", password="dba")
        except BaseException:
            self.stop()
            raise
        self.credentials = self.folder / "credentials"
        self.credentials.write_text(f"dba:{self.password}\n")
        self.credentials.chmod(0o600)

    @classmethod
    def start(cls, folder: Path, free_port: Callable[[], int], tries: int = 3, **options) -> VirtuosoServer:
        """Start on ports from ``free_port``, again on others when one was taken meanwhile
        (Virtuoso opens its ports seconds after it starts, a wide window)."""
        for attempt in range(tries):
            try:
                return cls(Path(folder) / f"try{attempt}", free_port(), free_port(), **options)
            except RuntimeError as error:
                if "Address already in use" not in str(error) or attempt == tries - 1:
                    raise
        raise AssertionError("unreachable")

    def _wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("virtuoso-t exited: " + (self.folder / "stdout.log").read_text(errors="replace"))
            try:  # its HTTP server comes up before its SQL port, which isql needs
                if (requests.get(self.sparql, params={"query": "ASK {}"}, timeout=2).status_code == 200
                        and socket.create_connection(self._sql_address(), timeout=2).close() is None):
                    if not listens(self.process.pid, int(self.root.rsplit(":", 1)[1])):
                        # Virtuoso carries on without the HTTP port it could not bind: what answered
                        # was another server (another test session's), which SIGSTOP would not pause
                        raise RuntimeError("Address already in use: the HTTP port answers for another process")
                    return
            except (requests.ConnectionError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"virtuoso-t did not answer within {seconds:g} s")

    def _sql_address(self) -> tuple[str, int]:
        host, port = self.sql.rsplit(":", 1)
        return host, int(port)

    def isql(self, script: str, *, password: str | None = None, seconds: float = 3600) -> str:
        """Run SQL through ``isql`` (the script on standard input); RuntimeError on an error."""
        done = subprocess.run([ISQL, self.sql, "dba", password or self.password], input=script,
                              capture_output=True, text=True, timeout=seconds)
        if done.returncode != 0 or "*** Error" in done.stdout:
            raise RuntimeError(f"isql: {done.stdout[-2000:]}{done.stderr[-2000:]}")
        return done.stdout

    def bulk_load(self, nquads: Path, graph: str = "urn:kazdata:bulk") -> None:
        """Virtuoso's own bulk loader (``ld_dir`` + ``rdf_loader_run``) on an N-Quads file: the
        fastest way in, for comparison with the Graph Store Protocol (``graph`` is only the
        fallback for triples; every quad names its graph)."""
        target = self.load_dir / nquads.name
        shutil.copyfile(nquads, target)
        self.isql(f"ld_dir('{self.load_dir}', '{nquads.name}', '{graph}');\nrdf_loader_run();\ncheckpoint;\n")

    def stop(self) -> None:
        stop_process(self.process, 30)  # a checkpoint on the way out may take a while
        self.log.close()
