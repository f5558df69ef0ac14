#!/usr/bin/python3
"""Every name a shipped rule keys on is raised somewhere in the sources.

usage: rule_names_check.py SOURCE_DIR

For each rule of rules/otsensor/*.rules, the names it matches on must be emitted:
  op:N             (header proto P)  P is emitted by a file (event_begin(.., "P", ..)) that
                                     holds the string literal "N", or by a call
                                     ev_start(c, .., "P", "N") / emit_engine_event(w, "P", "N")
  event:P.N        the same pair (P, N), or an anomaly literal "P.N"
  app-layer-event:P.N  an anomaly literal "P.N" in dissectors/*.c, sensor/decode.c or
                   sensor/worker.c
Literals are read from the code with comments removed, so a comment or a list of names
(correlate.c's corr_event_names, rules/event_names.c) cannot stand in for an emitter;
the rule loader's own lists of known names are checked against the same emitters.
A synthetic rule with made-up names must be flagged (the check cannot pass vacuously).
"""
import glob
import os
import re
import sys

SRC = sys.argv[1]
LIT = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
DOTTED = re.compile(r"^[a-z][a-z0-9_]*\.[a-z0-9_]+$")


def code(path):
    s = open(path, encoding="utf-8").read()
    s = re.sub(r"/\*.*?\*/", " ", s, flags=re.S)
    s = re.sub(r"//[^\n]*", " ", s)
    # a list of names is no emitter
    s = re.sub(r"corr_event_names\[\]\s*=\s*\{.*?\};", " ", s, flags=re.S)
    return s


ops = {}  # proto -> op names it may emit
anomalies = set()
for path in sorted(glob.glob(os.path.join(SRC, "dissectors", "*.c")) +
                   glob.glob(os.path.join(SRC, "sensor", "*.c"))):
    s = code(path)
    lits = set(LIT.findall(s))
    base = os.path.basename(path)
    for p in re.findall(r'event_begin\([^,]*,\s*"([a-z0-9_]+)"', s):
        ops.setdefault(p, set()).update(l for l in lits if re.fullmatch(r"[a-z0-9_]+", l))
    for p, o in re.findall(r'ev_start\(\s*c\s*,[^,]*,\s*"([a-z0-9_]+)"\s*,\s*"([a-z0-9_]+)"', s):
        ops.setdefault(p, set()).add(o)
    for p, o in re.findall(r'emit_engine_event\(\s*w\s*,\s*"([a-z0-9_]+)"\s*,\s*"([a-z0-9_]+)"', s):
        ops.setdefault(p, set()).add(o)
    if path.startswith(os.path.join(SRC, "dissectors")) or base in ("decode.c", "worker.c"):
        anomalies.update(l for l in lits if DOTTED.match(l) and not l.endswith((".h", ".c")))
# decoder events are named after their anomaly (worker.c decoder_event)
ops.setdefault("decoder", set()).update(a.split(".", 1)[1] for a in anomalies
                                        if a.startswith("decoder."))


def event_known(name):
    p, _, o = name.partition(".")
    return o in ops.get(p, ()) or name in anomalies


def options(rule):
    """(keyword, value) pairs of a rule's options, quotes respected."""
    body = rule[rule.index("(") + 1:rule.rindex(")")]
    out, cur, q, esc = [], "", False, False
    for ch in body:
        if esc:
            cur += ch
            esc = False
        elif ch == "\\":
            cur += ch
            esc = True
        elif ch == '"':
            q = not q
            cur += ch
        elif ch == ";" and not q:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    kv = []
    for o in out:
        k, _, v = o.partition(":")
        kv.append((k.strip(), v.strip()))
    return kv


def check(rules):
    """Problems of (where, rule text) pairs, and how many names were checked."""
    problems, checked = [], 0
    for where, r in rules:
        head = r[:r.index("(")].split()
        proto = head[1]
        kv = options(r)
        sid = next((v for k, v in kv if k == "sid"), "?")
        for k, v in kv:
            v = v.lstrip("!").strip()
            if k == "op":
                for n in (x.strip() for x in v.split(",")):
                    checked += 1
                    if proto in ("any", "ip", "tcp", "udp"):
                        ok = any(n in s for s in ops.values())
                    else:
                        ok = n in ops.get(proto, ())
                    if not ok:
                        problems.append(f"{where} sid {sid}: op:{n} is raised by no {proto} emitter")
            elif k == "event":
                checked += 1
                if not event_known(v):
                    problems.append(f"{where} sid {sid}: event:{v} is raised by nothing")
            elif k == "app-layer-event":
                checked += 1
                if v not in anomalies:
                    problems.append(f"{where} sid {sid}: app-layer-event:{v} is raised by nothing")
    return problems, checked


rules = []
for path in sorted(glob.glob(os.path.join(SRC, "rules", "otsensor", "*.rules"))):
    for i, line in enumerate(open(path, encoding="utf-8"), 1):
        line = line.strip()
        if line and not line.startswith("#"):
            rules.append((f"{os.path.basename(path)}:{i}", line))

fails = 0
problems, checked = check(rules)
for p in problems:
    print("FAIL:", p)
fails += len(problems)
if len(rules) < 200 or checked < 100:
    print(f"FAIL: only {len(rules)} rules and {checked} names found: the parser is broken")
    fails += 1

# the loader's lists of known names (rules/event_names.c, corr_event_names) name emitted events
known = []
s = open(os.path.join(SRC, "sensor", "correlate.c"), encoding="utf-8").read()
m = re.search(r"corr_event_names\[\]\s*=\s*\{(.*?)\};", s, re.S)
known += LIT.findall(m.group(1)) if m else []
en = os.path.join(SRC, "rules", "event_names.c")
if os.path.exists(en):
    for lst in ("engine_events", "derived_events"):
        m = re.search(lst + r"\[\]\s*=\s*\{(.*?)\};", open(en, encoding="utf-8").read(), re.S)
        known += LIT.findall(m.group(1)) if m else []
for n in known:
    if not event_known(n):
        print(f"FAIL: known-name list holds {n}, which nothing raises")
        fails += 1

# negative control: made-up names are flagged, real ones are not
bogus = [("control", 'alert goose any any -> any any (msg:"x"; op:never_emitted_op; sid:1;)'),
         ("control", 'alert any any any -> any any (msg:"x"; event:flow.never_emitted; sid:2;)'),
         ("control", 'alert any any any -> any any (msg:"x"; app-layer-event:modbus.nope; sid:3;)'),
         ("control", 'alert any any any -> any any (msg:"x; op:y"; event:flow.new; sid:4;)')]
p, n = check(bogus)
if len(p) != 3 or n != 4:
    print("FAIL: the negative control gave", p, n)
    fails += 1

print(f"{len(rules)} shipped rules, {checked} names checked, {fails} problems")
sys.exit(1 if fails else 0)
