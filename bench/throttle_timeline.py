#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""What smooch-mock's token bucket saw during a bench/throttle.sh run (KEEP=DIR), from the record's requests.

    python3 bench/throttle_timeline.py R BURST DIR/1-1000-none.record.json [more.record.json ...]

For each record: the 201s and 429s; the tokens the server's bucket threw away because it was full (refill
beyond BURST: capacity the client left unused), as a fraction of R x the run's span; the silences after a run of
429s (how long the gate stayed closed); and, averaged over every reopening (an arrival after at least 40 ms of
silence), how many requests arrived in each 10 ms window after it, and where the thrown-away tokens fell.
The bucket is simulated from the arrival times (the mock takes a token per request it admits), so the figures
are close to, not exactly, the mock's own. Python 3 standard library only.
"""
import bisect
import json
import statistics
import sys


def analyse(rate, burst, path):
    rec = json.load(open(path))
    reqs = [q for q in rec["requests"] if q["route"] == "post_message"]
    if not reqs:
        print(f"{path}: no recorded post_message request (was the mock run with --max-recorded?)")
        return
    t0 = reqs[0]["arrival_ns"]
    times = [(q["arrival_ns"] - t0) / 1e9 for q in reqs]
    status = [q["status"] for q in reqs]
    span = times[-1]
    reopen = [times[i] for i in range(1, len(times)) if times[i] - times[i - 1] >= 0.04]

    level, last, wasted, k = float(burst), 0.0, 0.0, 0
    wasted_by_phase = [0.0] * 5  # before any reopening / 0-20 ms after one / 20-40 / 40-60 / later
    for t, s in zip(times, status):
        level += (t - last) * rate
        last = t
        while k + 1 < len(reopen) and reopen[k + 1] <= t:
            k += 1
        if level > burst:
            since = t - reopen[k] if reopen and reopen[k] <= t else None
            phase = 0 if since is None else min(4, int(since / 0.02) + 1)
            wasted_by_phase[phase] += level - burst
            wasted += level - burst
            level = float(burst)
        if s == 201:
            level -= 1

    silences, i = [], 0
    while i < len(status):
        if status[i] != 429:
            i += 1
            continue
        j = i
        while j + 1 < len(status) and status[j + 1] == 429:
            j += 1
        if j + 1 < len(status):
            silences.append(times[j + 1] - times[j])
        i = j + 1

    windows = 8
    arrivals, ok = [0] * windows, [0] * windows
    for r in reopen:
        i = bisect.bisect_left(times, r)
        while i < len(times) and times[i] < r + windows * 0.01:
            w = int((times[i] - r) / 0.01)
            arrivals[w] += 1
            ok[w] += status[i] == 201
            i += 1
    n = max(len(reopen), 1)
    print(path)
    print(f"  {status.count(201)} x 201, {status.count(429)} x 429 over {span:.2f} s: "
          f"{status.count(201) / span / rate:.3f} R")
    print(f"  tokens thrown away (bucket full): {wasted:.0f} = {wasted / (rate * span):.3f} of R x span; "
          f"before any reopening {wasted_by_phase[0]:.0f}, 0-20 ms after one {wasted_by_phase[1]:.0f}, "
          f"20-40 ms {wasted_by_phase[2]:.0f}, 40-60 ms {wasted_by_phase[3]:.0f}, later {wasted_by_phase[4]:.0f}")
    if len(silences) >= 2:
        q = statistics.quantiles(silences, n=10)
        print(f"  silence after a run of 429s: {len(silences)} runs, median {q[4] * 1000:.0f} ms, "
              f"p90 {q[8] * 1000:.0f} ms, max {max(silences) * 1000:.0f} ms")
    print(f"  {len(reopen)} reopenings; mean arrivals per 10 ms window after one: "
          f"{[round(a / n, 1) for a in arrivals]}")
    print(f"                   of which 201: {[round(a / n, 1) for a in ok]}")


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    for path in sys.argv[3:]:
        analyse(float(sys.argv[1]), float(sys.argv[2]), path)


if __name__ == "__main__":
    main()
