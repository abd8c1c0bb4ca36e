"""The VBot webhook landing receiver (Flask): every delivery kept, exactly once. Imports no Airflow."""
