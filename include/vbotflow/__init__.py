"""vbotflow: the domain of the CRM → VBot auto-call integration. Imports no Airflow."""

__version__ = "0.1.0"
