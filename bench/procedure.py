"""The standard procedure and the answers the benchmark gives its tasks, on the straight path and in the reopen loop."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STANDARD = ROOT / "processes" / "complaint_standard.bpmn"
GRADING_TABLE = ROOT / "processes" / "grading.dmn"  # the standard procedure's grading step calls it
GROUPS = ("Customer Service", "Handling Department", "Quality", "Management")
USER_OF_LANE = {"Customer Service": "service", "Handling Department": "handler", "Quality": "quality",
                "Management": "manager"}

COMPLAINT = {
    "customer_name": "上海明达涂料有限公司", "contact_person": "周经理", "contact": "021-5555 0101",
    "channel": "phone", "category": "product_quality", "product": "环氧树脂 E-51", "specification": "25 kg",
    "contract_number": "HT-2026-0311", "work_number": "", "content": "树脂结块，无法使用。",
    "customer_request": "退换货",
}

# Straight through: valid, no site visit, both approvals, effective, customer reached and satisfied (10 tasks).
STRAIGHT = {
    "check_validity": {"valid": True, "validity_note": "批次质量问题，投诉成立"},
    "grade_complaint": {"handling_cost": 20000, "affected_kw": 0, "defect_type": "none", "major_impact": False,
                        "lawsuit": False, "repeated": False, "safety_hazard": False, "group_complaint": False,
                        "media_exposure": False, "urgency": "urgent"},
    "assign": {"handling_department": "Handling Department", "responsible_person": "handler@bench.test"},
    "analyse_cause": {"root_cause": "储存温度过低导致结晶", "responsibility": "仓储",
                      "customer_caused": False, "site_visit": False},
    "plan": {"countermeasures": "更换该批次", "preventive_actions": "仓库保温", "planned_completion": "2026-06-30"},
    "approve_quality": {"approved": True, "approval_comment": "同意"},
    "approve_manager": {"approved": True, "approval_comment": "同意"},
    "implement": {"implementation_note": "已换货", "completed_on": "2026-06-20"},
    "verify": {"effective": True, "verification_note": "客户确认可用"},
    "callback": {"callback_reached": True, "satisfied": True, "callback_note": "满意"},
}

# The reopen loop: customer-caused reply, then an unsatisfied callback sends the case back to analyse_cause.
LOOP = {
    **STRAIGHT,
    "analyse_cause": {"root_cause": "客户使用不当", "responsibility": "客户", "customer_caused": True,
                      "site_visit": False},
    "reply_customer_caused": {"reply_content": "请按说明书储存"},
    "callback": {"callback_reached": True, "satisfied": False, "callback_note": "仍不满意"},
}
LOOP_TASKS = ("analyse_cause", "reply_customer_caused", "callback")
