"""The WSGI entry point for gunicorn (see ``gunicorn_conf``): ``vbotflow.receiver.wsgi:app``."""

from vbotflow.receiver.app import create_app

app = create_app()
