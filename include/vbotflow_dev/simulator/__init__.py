"""A faithful, deterministic stand-in for VBot (vbot-api.md): token grants, campaign creation with
template validation and injected faults, background dialing with seeded outcomes, webhook deliveries
with retries and optional chaos, the call history query, and ``/_sim/`` inspection endpoints.

Imports no Airflow. Start it with ``vbotflow simulator`` or, in tests, ``run_simulator_in_thread``.
"""

from __future__ import annotations

from vbotflow_dev.simulator.config import SimConfig, Template, default_config, load_config
from vbotflow_dev.simulator.core import Simulator
from vbotflow_dev.simulator.server import SimulatorServer, run_simulator_in_thread

__all__ = ["SimConfig", "Simulator", "SimulatorServer", "Template", "default_config", "load_config",
           "run_simulator_in_thread"]
