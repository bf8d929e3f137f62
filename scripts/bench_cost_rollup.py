"""The cost rollup benchmark (BENCHMARKS.md, "Cost rollup"): `asgard cost rollup` of DAYS days for
PROJECTS projects with SKUS SKUs each, against the fake Databricks seeded with that billing history
(FakeBillingSeed.generated: PROJECTS x SKUS x DAYS daily usage rows), twice (the second replaces
every row with the same figures). Prints, per run, the wall clock, the CPU seconds and the peak
resident memory of the `asgard` process (GNU time), and the fake's CPU seconds in the same span.

usage: bench_cost_rollup.py ASGARD_BIN FAKE_BIN [PROJECTS SKUS DAYS]
"""
import datetime
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    asgard, fake_bin = sys.argv[1], sys.argv[2]
    projects, skus, days = (int(v) for v in sys.argv[3:6]) if len(sys.argv) >= 6 else (1000, 5, 90)
    today = datetime.datetime.now(datetime.timezone.utc).date()
    first = today - datetime.timedelta(days=days - 1)
    work = tempfile.mkdtemp(prefix="asgard-bench-cost-")
    desired = os.path.join(work, "desired")
    os.makedirs(os.path.join(desired, "services", "databricks"))
    os.makedirs(os.path.join(desired, "people"))
    os.makedirs(os.path.join(desired, "projects"))
    shutil.copy(os.path.join(ROOT, "desired/services/databricks/service.yaml"), os.path.join(desired, "services/databricks"))
    with open(os.path.join(desired, "people/ops.yaml"), "w") as person:
        person.write(f"kind: Person\nid: ops\nemail: ops@example.com\ncredential: sha256:{secrets.token_hex(32)}\n")
    with open(os.path.join(desired, "projects/all.yaml"), "w") as out:
        out.write("\n---\n".join(
            f"kind: Project\nid: project-{n:03d}\nname: Project {n}\nowner: ops@example.com\nclassification: internal\n"
            f"monthly_budget_usd: 1000\napprovers: [ops@example.com]"
            for n in range(1, projects + 1)))
    token = "dapi" + secrets.token_hex(16)
    environment = dict(os.environ, ASGARD_AUDIT_KEY=secrets.token_hex(32), DATABRICKS_TOKEN=token,
                       DATABRICKS_WAREHOUSE_ID="fake-warehouse")
    fake = subprocess.Popen(
        [fake_bin, "--port", "0", "--token", token, "--billing", f"{projects},{skus},{days},{today.isoformat()}"],
        stdout=subprocess.PIPE, text=True)
    try:
        environment["DATABRICKS_HOST"] = fake.stdout.readline().strip()
        data = os.path.join(work, "data")
        subprocess.run([asgard, "reconcile", "--once", desired, "--policies", os.path.join(ROOT, "policies"), "--data-dir", data],
                       env=environment, check=True, stdout=subprocess.DEVNULL)
        print(f"rollup of {days} days x {projects} projects x {skus} SKUs ({projects * skus * days} usage rows in the fake)")
        for run in (1, 2):
            fake_before = cpu_seconds(fake.pid)
            timed = subprocess.run(
                ["/usr/bin/time", "-v", asgard, "cost", "rollup", "--from", first.isoformat(), "--to", today.isoformat(),
                 "--source", "databricks-billing", "--data-dir", data],
                env=environment, capture_output=True, text=True)
            if timed.returncode != 0:
                sys.exit(timed.stdout + timed.stderr)
            fake_cpu = cpu_seconds(fake.pid) - fake_before
            report = timed.stderr
            wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", report).group(1)
            user = float(re.search(r"User time \(seconds\): (\S+)", report).group(1))
            system = float(re.search(r"System time \(seconds\): (\S+)", report).group(1))
            rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", report).group(1))
            print(f"run {run}: {timed.stdout.strip()}")
            print(f"  asgard: wall {wall}, CPU {user + system:.2f} s (user {user:.2f}, system {system:.2f}), "
                  f"peak RSS {rss / 1024:.0f} MiB; the fake's CPU in the same span {fake_cpu:.2f} s")
    finally:
        fake.terminate()
        fake.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
