#!/usr/bin/env python3
"""Replays 100-job windows of the Philly trace, one per day, and prints how far each policy's average JCT is
from its bound.

Each window follows the rule of data/traces/philly/subsets/philly100_2017-10-03.csv (see
data/traces/SOURCE.md): the first 100 jobs submitted at or after a day's midnight with 1, 2, 4 or 8 GPUs and
60 s <= duration <= 1 day, arrivals in seconds since the first. Days run from 2017-09-04 to 2017-12-20; the
day of the published window is left out (--include-published puts it back), so that settings can be chosen
on the other days and then tried on it.

    scripts/philly-windows.py [--allot PATH] [--nodes 4] [--gpus-per-node 4] -- [allot simulate options]

Prints, per policy, the geometric and arithmetic means over the windows of average JCT / bound (the bound is
the windows' mean duration), and the mean of the average JCTs.
"""

import argparse
import csv
import datetime
import json
import math
import os
import subprocess
import sys
import tempfile
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PUBLISHED = "2017-10-03"


def windows(trace, include_published):
    with open(trace) as handle:
        rows = [
            row
            for row in csv.DictReader(handle)
            if row["num_gpus"] in ("1", "2", "4", "8") and 60 <= float(row["duration"]) <= 86400
        ]
    rows.sort(key=lambda row: row["timestamp"])
    day = datetime.date(2017, 9, 4)
    while day <= datetime.date(2017, 12, 20):
        name = day.isoformat()
        day += datetime.timedelta(days=1)
        if name == PUBLISHED and not include_published:
            continue
        start = next((index for index, row in enumerate(rows) if row["timestamp"] >= name + " 00:00:00"), None)
        if start is None or start + 100 > len(rows):
            continue
        chosen = rows[start : start + 100]
        first = datetime.datetime.fromisoformat(chosen[0]["timestamp"])
        lines = ["job_id,arrival_s,num_gpus,duration_s,vc"]
        for index, row in enumerate(chosen):
            arrival = int((datetime.datetime.fromisoformat(row["timestamp"]) - first).total_seconds())
            lines.append(f"{index},{arrival},{row['num_gpus']},{int(float(row['duration']))},{row['cluster']}")
        yield name, "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--allot", default=os.path.join(ROOT, ".build/release/allot-full"))
    parser.add_argument("--trace", default=os.path.join(ROOT, "data/traces/philly/philly_jobs.csv"))
    parser.add_argument("--nodes", default="4")
    parser.add_argument("--gpus-per-node", default="4")
    parser.add_argument("--include-published", action="store_true")
    parser.add_argument("simulate", nargs="*", help="options passed to allot simulate (after --)")
    arguments = parser.parse_args()
    ratios = defaultdict(list)
    jcts = defaultdict(list)
    with tempfile.TemporaryDirectory() as directory:
        for name, text in windows(arguments.trace, arguments.include_published):
            path = os.path.join(directory, name + ".csv")
            with open(path, "w") as handle:
                handle.write(text)
            command = [arguments.allot, "simulate", "--trace", path, "--format", "philly", "--nodes", arguments.nodes,
                       "--gpus-per-node", arguments.gpus_per_node, "--output", "json", *arguments.simulate]
            result = subprocess.run(command, capture_output=True, text=True)
            if result.returncode != 0:
                sys.exit(f"{name}: {' '.join(command)} failed: {result.stderr.strip()}")
            for policy in json.loads(result.stdout)["policies"]:
                ratios[policy["policy"]].append(policy["averageJCT"] / policy["averageJCTBound"])
                jcts[policy["policy"]].append(policy["averageJCT"])
    print(f"{'POLICY':10} {'WINDOWS':>7} {'GEOMEAN JCT/BOUND':>18} {'MEAN JCT/BOUND':>15} {'MEAN AVG JCT':>13}")
    for policy, values in ratios.items():
        geometric = math.exp(sum(map(math.log, values)) / len(values))
        print(f"{policy:10} {len(values):>7} {geometric:>18.3f} {sum(values) / len(values):>15.3f} {sum(jcts[policy]) / len(values):>11.0f} s")


if __name__ == "__main__":
    main()
