"""Demo data for `make run`: two companies (to show isolation), a user for every role, the shipped decision
tables and procedures published, and a few complaints at different steps. Running it again changes nothing."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from accounts.directory import actor_for
from accounts.provisioning import company_named, create_company, create_user
from complaints.registration import register
from complaints.sla import save_policy
from engine import queries
from engine.repository.decisions import publish_decision
from engine.repository.publishing import latest_version, publish
from engine.runtime.steps import Engine

PASSWORD = "kesu-demo-2026"
PROCESSES = Path(__file__).resolve().parent / "processes"
DECISION_TABLES = ("grading.dmn", "complaint_class.dmn")  # before the procedures that call them
SHIPPED = (  # file, the note of its first version
    ("complaint_standard.bpmn", "标准流程首次发布"),
    ("complaint_qp07.bpmn", "QP07 客户投诉处理程序（化工）首次发布"),
    ("complaint_ecommerce.bpmn", "电商平台投诉管理制度首次发布"),
    ("complaint_graded.bpmn", "分级投诉处理流程首次发布"),
    ("supervision_monthly.bpmn", "服务质量监督月报首次发布"),
)
GROUPS = ("Customer Service", "Handling Department", "Quality", "Management")
SLA_POLICIES = (  # the service commitments of the domain's graded rules: all answered within 24 hours, the
    # most serious within the hour; closure in working days, faster for level 1 and 2
    {"grade": "", "category": "", "response_target": "PT24H", "resolution_target": "5 working days",
     "warn_fraction": 0.8, "escalate_to": "Management", "note": "服务承诺：24 小时内响应，5 个工作日内解决"},
    {"grade": "level:1", "category": "", "response_target": "PT1H", "resolution_target": "2 working days",
     "warn_fraction": 0.5, "escalate_to": "Management", "note": "一级投诉：1 小时内响应，总经理跟进"},
    {"grade": "level:2", "category": "", "response_target": "4 working hours", "resolution_target": "3 working days",
     "warn_fraction": 0.8, "escalate_to": "Management", "note": "二级投诉：4 个工作小时内响应"},
)

COMPANIES = {
    "华东精细化工有限公司": "demo.kesu.cn",
    "南方电气设备有限公司": "other.kesu.cn",
}
USERS = (  # local part, display name, role, groups
    ("admin", "管理员 王强", "admin", ()),
    ("owner", "流程负责人 赵敏", "process_owner", ()),
    ("service", "客服专员 李娜", "employee", ("Customer Service",)),
    ("handler", "技术部 张伟", "employee", ("Handling Department",)),
    ("quality", "质量负责人 刘洋", "employee", ("Quality",)),
    ("manager", "总经理 陈静", "employee", ("Management",)),
    ("auditor", "审核员 孙丽", "auditor", ()),
)

SAMPLE_COMPLAINTS = (
    {"customer_name": "上海明达涂料有限公司", "contact_person": "周经理", "contact": "021-5555 0101",
     "channel": "phone", "category": "product_quality", "product": "环氧树脂 E-51", "specification": "25 kg/桶",
     "contract_number": "HT-2026-0311", "work_number": "", "content": "第 3 批货桶内树脂结块，无法使用。",
     "customer_request": "退换货并说明原因"},
    {"customer_name": "杭州佳禾建材", "contact_person": "吴女士", "contact": "wu@jiahe.example.cn",
     "channel": "email", "category": "delivery", "product": "固化剂 T-31", "specification": "",
     "contract_number": "", "work_number": "", "content": "约定 11 月 10 日送达，实际 11 月 16 日才到。",
     "customer_request": "说明延误原因，今后按时送货"},
    {"customer_name": "苏州恒信电子材料有限公司", "contact_person": "郑工", "contact": "0512-6666 0303",
     "channel": "in_store", "category": "product_quality", "product": "环氧灌封胶 G-2", "specification": "5 kg/组",
     "contract_number": "HT-2026-0402", "work_number": "", "content": "灌封后表面出现气泡，影响绝缘。",
     "customer_request": "查明原因"},
)
# The third sample's path: judged customer-caused, the customer is not satisfied at the first callback, the
# analysis is redone, and the second callback closes it: a reopened complaint for the auditor to replay.
REOPENED = (
    ("check_validity", "service", {"valid": True, "validity_note": "投诉成立"}),
    ("grade_complaint", "quality", {"handling_cost": 8000, "affected_kw": 0, "defect_type": "none",
                                    "major_impact": False, "lawsuit": False, "repeated": False,
                                    "safety_hazard": False, "group_complaint": False, "media_exposure": False,
                                    "urgency": "general"}),
    ("assign", "quality", {"handling_department": "Handling Department", "responsible_person": "handler"}),
    ("analyse_cause", "handler", {"root_cause": "客户未按说明真空脱泡", "responsibility": "客户",
                                  "customer_caused": True, "site_visit": False}),
    ("reply_customer_caused", "service", {"reply_content": "已说明真空脱泡工艺"}),
    ("callback", "service", {"callback_reached": True, "satisfied": False, "callback_note": "客户认为是胶的问题"}),
    ("analyse_cause", "handler", {"root_cause": "现场复查：脱泡时间不足", "responsibility": "客户",
                                  "customer_caused": True, "site_visit": False}),
    ("reply_customer_caused", "service", {"reply_content": "提供现场复查报告与工艺卡"}),
    ("callback", "service", {"callback_reached": True, "satisfied": True, "callback_note": "客户认可"}),
)


def _company(session: Session, name: str, domain: str):
    company = create_company(session, name)
    users = {local: create_user(session, company, f"{local}@{domain}", role, PASSWORD, groups, display)
             for local, display, role, groups in USERS}
    for table in DECISION_TABLES:
        publish_decision(session, company.id, (PROCESSES / table).read_bytes(), users["owner"].id, "分级规则首次发布")
    for filename, note in SHIPPED:
        publish(session, company.id, (PROCESSES / filename).read_bytes(), users["owner"].id, note, GROUPS)
    for policy in SLA_POLICIES:
        save_policy(session, company.id, users["owner"].id, **policy)
    return company, users


def _samples(session: Session, engine: Engine, company, users) -> None:
    version = latest_version(session, company.id, "complaint_standard")
    service = actor_for(users["service"])
    first = register(session, engine, version, service, SAMPLE_COMPLAINTS[0], company.timezone)
    register(session, engine, version, service, SAMPLE_COMPLAINTS[1], company.timezone)
    task = queries.instance_tasks(session, engine, first.instance)[0]
    engine.complete(session, task.id, service, {"valid": True, "validity_note": "批次质量问题，投诉成立"})
    reopened = register(session, engine, version, service, SAMPLE_COMPLAINTS[2], company.timezone)
    for element, user, data in REOPENED:
        [task] = queries.instance_tasks(session, engine, reopened.instance)
        if task.element_id != element:  # the standard procedure changed under the demo
            raise RuntimeError(f"the demo path expected {element}, the case is at {task.element_id}")
        if element == "assign":  # the responsible person is chosen by e-mail, which differs per company
            data = {**data, "responsible_person": users[data["responsible_person"]].email}
        engine.complete(session, task.id, actor_for(users[user]), data)


def load_demo(session: Session, engine: Engine) -> str:
    """Create what is missing and return the logins to print."""
    for name, domain in COMPANIES.items():
        if company_named(session, name) is None:
            company, users = _company(session, name, domain)
            _samples(session, engine, company, users)
    lines = [f"Demo logins (password for all: {PASSWORD}):"]
    for name, domain in COMPANIES.items():
        lines.append(f"  {name}")
        lines += [f"    {local + '@' + domain:<24} {role:<14} {', '.join(groups) or '-'}"
                  for local, _, role, groups in USERS]
    return "\n".join(lines)
