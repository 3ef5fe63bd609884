"""Entry point: ``python app.py`` serves the dashboard; ``gunicorn app:server`` for production.

HOST and PORT override 127.0.0.1:8050; DEBUG=1 turns on Dash's debug mode.
"""

import os

from dashboard.app import create_app

app = create_app()
server = app.server

if __name__ == "__main__":
    app.run(
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ.get("PORT", "8050")),
        debug=os.environ.get("DEBUG", "0") == "1",
    )
