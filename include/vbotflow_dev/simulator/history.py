"""``GET /api/crm/historycall/getAll``: the simulator's own call records as call history (2a), paged."""

from __future__ import annotations

from typing import Any

from vbotflow_dev.simulator.state import SimState

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 500


def query_history(state: SimState, *, vbot_id: str, project_code: str = "", phone: str = "", page: int = 1,
                  size: int = DEFAULT_PAGE_SIZE) -> dict[str, Any]:
    """Calls made so far, oldest first (so pages stay put while calls go on); ``page`` counts from 1."""
    calls = state.call_list()
    campaigns = {c.campaign_id: c for c in state.campaign_list()}
    matches = [c for c in calls
               if (campaign := campaigns.get(c.campaign_id)) is not None and campaign.vbot_id == vbot_id
               and (not project_code or c.group_code == project_code) and (not phone or c.phone == phone)]
    matches.sort(key=lambda c: (c.started_at, c.record_id))
    start = (page - 1) * size
    return {"status": 1, "error": 0, "msg": "success", "page": page, "size": size, "total": len(matches),
            "data": [c.history_record() for c in matches[start:start + size]]}
