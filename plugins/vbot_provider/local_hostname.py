"""A host name per Celery worker on one machine (``make up EXECUTOR=celery``).

In docker-compose every worker is a container with a host name of its own, and Airflow records it
on each task instance (the UI's "Hostname"): which worker ran a try. Several workers started as
processes on one machine would all report the machine's name. Selected by
``AIRFLOW__CORE__HOSTNAME_CALLABLE=vbot_provider.local_hostname.hostname`` with
``VBOTFLOW_HOSTNAME`` set per worker; without it, Airflow's own answer.
"""

from __future__ import annotations

import os


def hostname() -> str:
    """``VBOTFLOW_HOSTNAME`` if set, else the machine's fully qualified name (Airflow's default)."""
    from airflow.utils.net import getfqdn

    return os.environ.get("VBOTFLOW_HOSTNAME", "").strip() or getfqdn()
