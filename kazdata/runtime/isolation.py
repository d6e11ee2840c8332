"""Taking the network away from a query process, at the operating system's level.

pyoxigraph really performs ``SERVICE`` calls. The query check (``kazdata.sparql.query_check``)
decides on a parse of the query, but a parser can disagree with the engine's (issue 15 found
three such disagreements in the regular expressions it replaced). So a query process that needs
no federation also has no network: it moves into a network namespace of its own, which holds
only a loopback interface that is down, so no connect to any address can succeed, loopback
included. Unix sockets (the supervisor's control socket, the connections it hands over) are
files and descriptors, and keep working.

As root (CAP_SYS_ADMIN) a network namespace is created directly; otherwise inside a new user
namespace, which Linux lets unprivileged processes create unless the administrator forbids it.
Where neither is allowed (some container runtimes' seccomp profiles), ``cut_network`` raises and
the query process refuses to start: a server that cannot isolate its queries says so in its log
and answers SPARQL with 503 rather than run them with the network open (README, "Security").
With a ``service_allowlist`` the operator has explicitly opened the network to the endpoints it
names, and query processes keep it; the parsed check alone then guards the allow-list.
"""

from __future__ import annotations

import ctypes
import os

#: from <sched.h>
CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
#: the ways tried, in order: a network namespace alone, then inside a user namespace
_ATTEMPTS = (("network namespace", CLONE_NEWNET), ("user and network namespace", CLONE_NEWUSER | CLONE_NEWNET))


def cut_network() -> str:
    """Move this (single-threaded) process into a network namespace of its own; return how.

    Raises OSError when the kernel allows none of the ways tried.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    errors = []
    for name, flags in _ATTEMPTS:
        if libc.unshare(flags) == 0:
            return name
        code = ctypes.get_errno()
        errors.append(f"{name}: {os.strerror(code)}")
    raise OSError("cannot take the network away from query processes (" + "; ".join(errors) + "); "
                  "allow unprivileged user namespaces, run with CAP_SYS_ADMIN, or set "
                  "--service-allowlist to keep the network open deliberately")
