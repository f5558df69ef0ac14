#!/usr/bin/python3
"""Compares otsensor's alerts with the alert checks of a suricata-verify test.yaml.

usage: suricata_verify_check.py TEST.yaml ALERTS.json KNOWN

Each `event_type: alert` filter of the test.yaml is counted on the alert JSON lines
(alert.signature_id = rule.id; the few EVE fields the tests add are translated to our
alert fields below). KNOWN is "sid=count,..." for documented differences: there the
expected count is ours (and the test.yaml's is printed), so a change in either fails.
Other filters (EVE protocol logs) are listed as skipped. Exit 0 when every check holds.
"""
import json
import sys

import yaml

# Modbus function names of Suricata's EVE (sawp FunctionCode) used by the tests
MB_FUNC = {"RdCoils": 1, "MEI": 43}
# public assigned Modbus functions (Suricata's CodeCategory::PUBLIC_ASSIGNED)
MB_ASSIGNED = {1, 2, 3, 4, 5, 6, 7, 8, 11, 12, 15, 16, 17, 20, 21, 22, 23, 24, 43}


def field_pred(key, val):
    """A predicate on our alert for one EVE match field, or None if not translatable."""
    if key == "alert.signature_id":
        return lambda a: a["rule"]["id"] == str(val)
    if key == "event_type":
        return lambda a: True
    if key == "app_proto":
        return lambda a: a["network"]["protocol"] == val
    mb = lambda a: a.get("ot", {}).get("modbus", {})
    if key == "modbus.request.function_code" and val in MB_FUNC:
        return lambda a: mb(a).get("func") == MB_FUNC[val]
    if key == "modbus.request.access_type" and val == "READ | COILS":
        return lambda a: mb(a).get("func") == 1
    if key == "modbus.response.category" and val == "PUBLIC_ASSIGNED":
        return lambda a: mb(a).get("func") in MB_ASSIGNED
    return None


def main():
    test, alerts_path, known_arg = sys.argv[1:4]
    known = {}
    for item in filter(None, known_arg.split(",")):
        sid, n = item.split("=")
        known[sid] = int(n)
    alerts = [json.loads(line) for line in open(alerts_path)]
    checks = yaml.safe_load(open(test))["checks"]
    fails = 0
    for chk in checks:
        f = chk.get("filter")
        if not f:
            continue
        match = f["match"]
        if match.get("event_type") != "alert":
            print(f"  skip  {match} (not an alert)")
            continue
        preds = []
        for k, v in match.items():
            p = field_pred(k, v)
            if p is None:
                print(f"  FAIL  cannot translate {k}: {v}")
                fails += 1
                break
            preds.append(p)
        else:
            got = sum(1 for a in alerts if all(p(a) for p in preds))
            want = f["count"]
            sid = str(match["alert.signature_id"])
            extra = len(match) > 2
            if sid in known and not extra:
                ok = got == known[sid]
                tag = "known" if ok else "FAIL"
                print(f"  {tag:5} sid {sid}: suricata {want}, otsensor {got} "
                      f"(documented difference: otsensor {known[sid]})")
            else:
                ok = got == want
                print(f"  {'ok' if ok else 'FAIL':5} {match}: suricata {want}, otsensor {got}")
            fails += not ok
    # a known difference that no check names is a stale entry
    named = {str(c["filter"]["match"].get("alert.signature_id")) for c in checks if "filter" in c}
    for sid in known:
        if sid not in named:
            print(f"  FAIL  known difference for sid {sid} names no check")
            fails += 1
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
