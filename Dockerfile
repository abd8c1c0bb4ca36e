# The vbotflow image: Airflow 3.3.2 with this project's pinned dependencies and code. Every service
# of docker-compose.yaml runs from it (Airflow components, the receiver, the demo simulator).
FROM apache/airflow:3.3.2-python3.11

# The project lives in /opt/vbotflow, laid out as in the repository: the DAG factory finds
# include/campaigns and include/sql next to the package, so it is installed editable, as by
# `make install`. The directory belongs to the image's airflow user, which runs everything.
USER root
RUN mkdir -p /opt/vbotflow && chown airflow:0 /opt/vbotflow
USER airflow
WORKDIR /opt/vbotflow

# Dependencies first, from the lock files only: this layer is rebuilt when a lock changes, not on
# every code edit. apache-airflow is named as well so pip can never swap the image's Airflow.
COPY --chown=airflow:0 requirements.txt requirements-deploy.txt ./
RUN pip install --no-cache-dir "apache-airflow==3.3.2" -r requirements.txt -r requirements-deploy.txt

COPY --chown=airflow:0 pyproject.toml README.md ./
COPY --chown=airflow:0 include ./include
COPY --chown=airflow:0 plugins ./plugins
COPY --chown=airflow:0 dags ./dags
COPY --chown=airflow:0 scripts ./scripts
# Named volumes take the ownership of the directory they are first mounted on, so the receiver's
# spool, dry-run previews and the simple auth manager's password file get theirs here.
RUN pip install --no-cache-dir --no-deps --no-build-isolation -e . \
    && mkdir -p /opt/vbotflow/spool /opt/vbotflow/var /opt/airflow/auth

ENV AIRFLOW__CORE__DAGS_FOLDER=/opt/vbotflow/dags \
    VBOTFLOW_SPOOL_DIR=/opt/vbotflow/spool \
    VBOTFLOW_VAR_DIR=/opt/vbotflow/var
