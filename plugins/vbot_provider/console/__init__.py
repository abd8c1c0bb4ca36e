"""The campaign console: a page of the Airflow UI (campaigns, rejects, ambiguous runs, outcomes).

Served by Airflow's API server as a FastAPI app of the ``vbot_console`` plugin (``plugin.py``),
shown in the UI as an external view, and linked from task instances by extra links. Every
endpoint authenticates through Airflow's auth manager and checks the user's rights on the
campaign DAGs itself (``access.py``): FastAPI apps of plugins are not protected by Airflow.
"""
