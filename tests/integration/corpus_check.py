#!/usr/bin/env python3
"""Runs otsensor over every capture of a corpus with an oracle and checks, per capture:
  - exit 0 (or 2 where tshark itself found the capture damaged), nothing on stderr but
    the damage report;
  - every --events line is a JSON object with the DESIGN §2 common fields;
  - `-w 4` gives the same multiset of events as `-w 1` (flow.end's reason aside: when a
    flow's timeout is noticed depends on the worker's clock);
  - the TCP/UDP flow count equals tshark's conversation count from the oracle (run with
    timeouts longer than any capture, so idle gaps do not split flows).
usage: corpus_check.py OTSENSOR CORPUS_DIR [--only SUBSTRING]
"""
import collections
import glob
import json
import os
import subprocess
import sys
import tempfile

# Where tshark's conversation table counts something that is not a flow. Each entry
# is checked exactly: the difference must be what is written here, no more.
CONVERSATION_QUIRKS = {
    # frame 27 is an ICMP port-unreachable; tshark makes a UDP conversation of the
    # UDP header quoted inside it (the reverse of an existing flow)
    "icsnpp-hart-ip/hart-ip.pcap": {"udp": 1},
}

COMMON = ("ts", "flow_id", "transport", "proto", "code", "op", "event", "anomalies")


def run(binary, cap, workers, conf):
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as ev:
        r = subprocess.run([binary, "-r", cap, "--events", ev.name, "-w", str(workers),
                            "--redis", "none", "-c", conf],
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
        lines = open(ev.name, errors="strict").read().splitlines()
    return r.returncode, r.stderr.decode(errors="replace"), lines


def main():
    binary, corpus = sys.argv[1], sys.argv[2]
    only = sys.argv[4] if len(sys.argv) > 4 and sys.argv[3] == "--only" else None
    conf = tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False)
    for k in ("tcp_new", "tcp_established", "tcp_closed", "udp", "other"):
        conf.write("flow.timeout.%s = 4000000000\n" % k)
    conf.close()
    failures, checked = [], 0
    for ofile in sorted(glob.glob(os.path.join(corpus, "oracle", "*.json"))):
        oracle = json.load(open(ofile))
        cap = os.path.join(corpus, oracle["capture"]["file"])
        if not os.path.exists(cap) or (only and only not in cap):
            continue
        checked += 1
        name = oracle["capture"]["file"]
        damaged = oracle.get("tshark_exit", 0) != 0
        results = {}
        for w in (1, 4):
            rc, err, lines = run(binary, cap, w, conf.name)
            if rc != 0 and not (rc == 2 and damaged):
                failures.append("%s -w %d: exit %d: %s" % (name, w, rc, err.strip()[:200]))
                continue
            if rc == 0 and err.strip():
                failures.append("%s -w %d: unexpected stderr: %s" % (name, w, err.strip()[:200]))
            evs = []
            for i, line in enumerate(lines):
                try:
                    e = json.loads(line)
                except ValueError as x:
                    failures.append("%s -w %d: line %d is not JSON: %s" % (name, w, i + 1, x))
                    break
                missing = [k for k in COMMON if k not in e]
                if missing:
                    failures.append("%s: event lacks %s: %s" % (name, missing, line[:160]))
                    break
                if not (0 <= e["flow_id"] < 2 ** 53):
                    failures.append("%s: flow_id out of range" % name)
                    break
                if e["event"] == "flow.end":
                    e["flow"].pop("reason", None)
                evs.append(json.dumps(e, sort_keys=True))
            results[w] = evs
        if len(results) == 2:
            a, b = collections.Counter(results[1]), collections.Counter(results[4])
            if a != b:
                diff = list((a - b).elements())[:2] + list((b - a).elements())[:2]
                failures.append("%s: -w 4 differs from -w 1 (%d vs %d events), e.g. %s" %
                                (name, len(results[1]), len(results[4]), diff))
            flows = collections.Counter()
            for line in results[1]:
                e = json.loads(line)
                if e["event"] == "flow.new" and e["transport"] in ("tcp", "udp"):
                    flows[e["transport"]] += 1
            want = collections.Counter(c["proto"] for c in oracle.get("conversations", [])
                                       if c["proto"] in ("tcp", "udp"))
            want.subtract(CONVERSATION_QUIRKS.get(name, {}))
            want = +want
            if flows != want:
                failures.append("%s: flows %s, tshark conversations %s" %
                                (name, dict(flows), dict(want)))
    os.unlink(conf.name)
    for f in failures:
        print("FAIL", f)
    print("%d captures checked, %d failures" % (checked, len(failures)))
    sys.exit(1 if failures or not checked else 0)


if __name__ == "__main__":
    main()
