"""The kazdata WSGI app for servers other than `kazdata serve` (granian in bench/servers.py).

Settings come from the environment (KAZDATA_RELEASE, KAZDATA_QUERY_TIMEOUT, ...), exactly as
`kazdata.config.load_settings` reads them; nothing else differs from the gunicorn app.
"""

from kazdata.config import load_settings
from kazdata.web import create_app

app = create_app(load_settings())
