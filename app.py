"""Entry point: ``python app.py`` serves the dashboard; ``gunicorn app:server`` for production
(settings in gunicorn.conf.py).

HOST and PORT override 127.0.0.1:8050; DEBUG=1 turns on Dash's debug mode.
"""

import os

from dashboard.app import create_app

app = create_app()
server = app.server

if __name__ == "__main__":
    from werkzeug.serving import WSGIRequestHandler

    # The development server's Server header names Werkzeug's and Python's versions: say neither.
    WSGIRequestHandler.server_version = "xborder"
    WSGIRequestHandler.sys_version = ""
    app.run(
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8050")),
        debug=os.environ.get("DEBUG", "0") == "1",
    )
