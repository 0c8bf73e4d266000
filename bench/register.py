"""`python -m bench.register`: the complaint register at scale (issue 13) on PostgreSQL (database kesu_register) and
SQLite: seed N complaints fast, then time the search (p50/p95 per kind of query), page 1 against page 2,000 (keyset,
and the OFFSET it replaced), and the Excel and CSV export of 100,000 rows (time, peak Python memory).

Seeding: one company as bench/world.py builds it, one complaint registered the real way, then N complaint rows and
their instance rows inserted directly with SQLAlchemy Core in batches (realistic Chinese customers, products and
complaint texts over three years). The instance rows carry a short placeholder state: the register never reads it.
It only measures and prints.

    python -m bench.register --n 100000 [--databases postgresql sqlite] [--export-rows 100000]
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench import world
from complaints import queries
from complaints.choices import STATUSES
from complaints.models import Complaint
from engine.records import Instance

POSTGRES_DATABASE = "kesu_register"
BATCH = 5000
CITIES = ["上海", "杭州", "苏州", "南京", "宁波", "无锡", "广州", "深圳", "成都", "武汉", "天津", "青岛", "佛山",
          "东莞"]
FIRMS = ["明达", "青山", "华瑞", "永盛", "鑫源", "恒通", "宏发", "金鼎", "新民", "长江", "东方", "联创", "瑞丰", "海天"]
TRADES = ["涂料", "电气", "化工", "建材", "机电", "贸易", "五金", "塑胶", "包装", "科技"]
PEOPLE = ["周", "王", "李", "张", "刘", "陈", "杨", "赵", "黄", "吴"]
TITLES = ["经理", "工", "主任", "总", "女士", "先生"]
PRODUCTS = [("环氧树脂", "E-51"), ("聚氨酯漆", "PU-300"), ("三相电机", "YE3-132M"), ("断路器", "NXM-125"),
            ("电缆", "YJV-3x95"), ("丙烯酸乳液", "AC-261"), ("固化剂", "T-31"), ("变压器", "SCB13-630")]
PROBLEMS = ["运输后漏液，桶身变形", "树脂结块，无法使用", "电机异响，温升过高", "漆膜起泡脱落", "包装破损，数量短缺",
            "送货延迟三天", "客服态度差，电话无人接听", "颜色与样板不符", "断路器频繁跳闸", "发票信息错误",
            "固化时间过长", "电缆绝缘层破损", "质检报告缺失", "安装指导不到位"]
TAILS = ["，要求退换货。", "，请尽快处理。", "，影响生产进度。", "，客户要求赔偿。", "。", "，已是第二次反映。"]
# Search terms by kind: what a customer-service clerk types.
SEARCHES = {
    "2 Chinese characters (漏液)": "漏液",
    "2 Chinese characters, rare (争议)": "争议",  # no trigram to look up: PostgreSQL reads every row
    "5 Chinese characters (运输后漏液)": "运输后漏液",
    "customer, partial (明达涂料)": "明达涂料",
    "contract number (HT-2024-0042)": "HT-2024-0042",
    "phone, partial (5555 01)": "5555 01",
    "model (YE3-132)": "YE3-132",
    "rare word (赔偿金额争议)": "赔偿金额争议",
    "nothing matches (不存在的词语)": "不存在的词语",
}


def _text(rng: random.Random, n: int) -> dict:
    product, model = rng.choice(PRODUCTS)
    customer = f"{rng.choice(CITIES)}{rng.choice(FIRMS)}{rng.choice(TRADES)}有限公司"
    problem = rng.choice(PROBLEMS) + rng.choice(TAILS)
    if n % 20000 == 7:
        problem = "赔偿金额争议，" + problem  # a handful of rows
    return {"customer_name": customer, "contact_person": rng.choice(PEOPLE) + rng.choice(TITLES),
            "contact": f"0{rng.randint(10, 999)}-{rng.randint(5550, 5559)} {rng.randint(0, 9999):04d}",
            "channel": rng.choice(["phone", "in_store", "delivery_staff", "written", "email", "web"]),
            "category": rng.choice(["product_quality", "delivery", "service_attitude", "handling", "other"]),
            "product": f"{product} {model}", "specification": f"{model} {rng.choice(['25 kg', '200 L', '1 t'])}",
            "contract_number": f"HT-{rng.randint(2023, 2026)}-{rng.randint(1, 9999):04d}",
            "work_number": f"WO-{rng.randint(1, 99999):05d}", "content": problem,
            "customer_request": rng.choice(["退换货", "赔偿", "技术指导", "", ""])}


def seed(built: world.World, n: int) -> int:
    """N complaints of the bench company, registered over three years; returns the company id."""
    base = built.register()  # one the real way: its instance row is the template of the others
    database = built.database
    rng = random.Random(13)
    with database.engine.begin() as connection:
        template = connection.execute(sa.select(Instance).where(Instance.id == base)).mappings().one()
        company_id, version_id = template["company_id"], template["version_id"]
        service = connection.scalar(sa.select(Complaint.registered_by_id))
        start = datetime(2024, 1, 1, tzinfo=UTC)
        step = timedelta(days=3 * 365) / n
        serials: dict[str, int] = {}
        for first in range(0, n, BATCH):
            instances, complaints = [], []
            for i in range(first, min(first + BATCH, n)):
                at = start + step * i + timedelta(seconds=rng.randint(0, 59))
                month = at.strftime("%Y%m")
                serials[month] = serials.get(month, 0) + 1
                number = f"{month[2:]}B-{serials[month]:05d}"  # not the real pattern: never clashes with it
                status = rng.choices(["running", "completed", "error"], [30, 69, 1])[0]
                instances.append({"company_id": company_id, "version_id": version_id, "business_key": number,
                                  "status": status, "sandbox": False, "state": "{}",
                                  "serializer_version": template["serializer_version"], "lock_version": 1,
                                  "event_count": 0, "created_at": at, "updated_at": at,
                                  "completed_at": at + timedelta(days=5) if status == "completed" else None})
                complaints.append({"company_id": company_id, "number": number, "registered_by_id": service,
                                   "registered_at": at, **_text(rng, i)})
            ids = connection.execute(sa.insert(Instance).returning(Instance.id, sort_by_parameter_order=True),
                                     instances).scalars().all()
            connection.execute(sa.insert(Complaint), [{**c, "instance_id": i}
                                                      for c, i in zip(complaints, ids, strict=True)])
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("ANALYZE complaints")
            connection.exec_driver_sql("ANALYZE instances")
        else:
            connection.exec_driver_sql("ANALYZE")
    return company_id


def timed(action: Callable[[], object], repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat):
        began = time.perf_counter()
        action()
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def line(label: str, samples: list[float], extra: str = "") -> None:
    print(f"  {label:<44} p50 {statistics.median(samples):8.1f} ms   p95 {percentile(samples, 95):8.1f} ms"
          f"   ({len(samples)} runs){extra}")


def measure_register(built: world.World, company_id: int, repeat: int) -> None:
    database = built.database
    with database.session() as s:
        print(" search (register page 1 of the matches, 50 rows):")
        every = []
        for label, q in SEARCHES.items():
            queries.complaint_page(s, company_id, q)  # warm
            samples = timed(lambda q=q: queries.complaint_page(s, company_id, q), repeat)
            every += samples
            found = queries.count_matching(s, company_id, q, limit=10**9)
            line(label, samples, f"   {found} matches")
        line("all searches", every)
        timed(lambda: queries.complaint_page(s, company_id, "漏液", "running"), 1)
        line("2 characters + status running", timed(lambda: queries.complaint_page(s, company_id, "漏液",
                                                                                     "running"), repeat))
        print(" pages (newest first, 50 rows):")
        line("page 1 (keyset)", timed(lambda: queries.complaint_page(s, company_id), repeat))
        total = queries.count_matching(s, company_id)
        last_page = min(2000, (total - 1) // queries.PAGE_SIZE + 1)
        edge = s.execute(sa.select(Complaint.registered_at, Complaint.id).where(Complaint.company_id == company_id)
                         .order_by(Complaint.registered_at.desc(), Complaint.id.desc())
                         .offset((last_page - 1) * queries.PAGE_SIZE - 1).limit(1)).one()
        cursor = queries.Cursor(edge.registered_at, edge.id)
        line(f"page {last_page} (keyset)", timed(lambda: queries.complaint_page(s, company_id, after=cursor), repeat))
        line(f"page {last_page} (OFFSET, as before)",
             timed(lambda: queries.complaint_list(s, company_id, None, last_page), repeat))
        line(f"page {last_page}, status running (keyset)",
             timed(lambda: queries.complaint_page(s, company_id, status="running", after=cursor), repeat))


def measure_export(built: world.World, company_id: int, rows: int) -> None:
    from web import register_export  # the web layer writes the files; the bench drives it in a request context

    app, database = built.app, built.database
    with app.test_request_context(), database.session() as s:
        people = queries.registrars(s, company_id)

        def found():
            return register_export.rows(
                (c for c, _ in zip(queries.register_rows(s, company_id), range(rows), strict=False)),
                "Asia/Shanghai", people, STATUSES)

        for kind, write in (("xlsx", lambda: register_export.write_xlsx(found(), "bench")),
                            ("csv", lambda: register_export.write_csv(found()))):
            began = time.perf_counter()
            output = write()
            seconds = time.perf_counter() - began
            size = output.seek(0, 2)
            output.close()
            tracemalloc.start()
            write().close()
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            print(f"  export {kind} of {rows} rows: {seconds:6.1f} s, {size / 2**20:5.1f} MiB file, "
                  f"peak Python memory {peak / 2**20:5.1f} MiB (tracemalloc, second run)")


def run(url: str, label: str, n: int, repeat: int, export_rows: int) -> None:
    print(f"\n{label}: seeding {n} complaints ...", flush=True)
    built = world.build(url)
    try:
        began = time.perf_counter()
        company_id = seed(built, n)
        print(f"  seeded in {time.perf_counter() - began:.1f} s", flush=True)
        measure_register(built, company_id, repeat)
        if export_rows:
            measure_export(built, company_id, min(export_rows, n))
    finally:
        world.dispose(built)


def postgres_url() -> str:
    server = sa.create_engine(f"{world.POSTGRES_SERVER}/test", isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as connection:
            if not connection.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                     {"name": POSTGRES_DATABASE}):
                connection.execute(sa.text(f'CREATE DATABASE "{POSTGRES_DATABASE}"'))
    finally:
        server.dispose()
    return f"{world.POSTGRES_SERVER}/{POSTGRES_DATABASE}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="complaints to seed")
    parser.add_argument("--repeat", type=int, default=20, help="runs of each timed query")
    parser.add_argument("--export-rows", type=int, default=100_000, help="rows to export (0: skip)")
    parser.add_argument("--databases", nargs="+", default=["postgresql", "sqlite"], choices=["postgresql", "sqlite"])
    options = parser.parse_args()
    for name in options.databases:
        if name == "postgresql":
            run(postgres_url(), f"PostgreSQL {world.server_version(postgres_url())} (database {POSTGRES_DATABASE})",
                options.n, options.repeat, options.export_rows)
        else:
            with tempfile.TemporaryDirectory() as directory:
                run(f"sqlite:///{Path(directory) / 'register.db'}", "SQLite (temp file)", options.n,
                    options.repeat, options.export_rows)


if __name__ == "__main__":
    main()
