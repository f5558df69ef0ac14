#!/usr/bin/python3
"""Structural check of deploy/siem/: the Vector TOML and the Logstash pipeline.

Neither tool is a Debian package, so this does not run them. It parses the Vector file
with tomllib and the Logstash file with a small parser of the config language (sections,
plugin blocks, "key => value" settings with strings, numbers, barewords, arrays and
hashes; conditionals are not accepted), and asserts that both read the list the sensor
writes: key <prefix>:alerts:list as in docs/redis.md, list mode, JSON decoding.

usage: check_configs.py DEPLOY_SIEM_DIR DOCS_REDIS_MD
"""
import re
import sys
import tomllib


class ParseError(Exception):
    pass


def tokenize(text):
    toks = []
    i, n, line = 0, len(text), 1
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
            i += 1
        elif c in " \t\r":
            i += 1
        elif c == "#":
            while i < n and text[i] != "\n":
                i += 1
        elif c in "{}[],":
            toks.append((c, c, line))
            i += 1
        elif text.startswith("=>", i):
            toks.append(("=>", "=>", line))
            i += 2
        elif c in "\"'":
            j, buf = i + 1, []
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n:
                    buf.append(text[j + 1])
                    j += 2
                    continue
                if text[j] == "\n":
                    line += 1
                buf.append(text[j])
                j += 1
            if j >= n:
                raise ParseError(f"line {line}: unterminated string")
            toks.append(("str", "".join(buf), line))
            i = j + 1
        else:
            m = re.compile(r"-?[0-9]+(\.[0-9]+)?|[A-Za-z_@][A-Za-z0-9_@.\-]*").match(text, i)
            if not m:
                raise ParseError(f"line {line}: unexpected {c!r}")
            kind = "num" if m.group(0)[0] in "-0123456789" else "word"
            toks.append((kind, m.group(0), line))
            i = m.end()
    return toks


class Parser:
    def __init__(self, toks):
        self.t, self.i = toks, 0

    def peek(self):
        return self.t[self.i] if self.i < len(self.t) else (None, None, -1)

    def take(self, kind=None, value=None):
        tok = self.peek()
        if tok[0] is None or (kind and tok[0] != kind) or (value and tok[1] != value):
            raise ParseError(f"line {tok[2]}: expected {value or kind}, got {tok[1]!r}")
        self.i += 1
        return tok

    def value(self):
        kind, v, line = self.peek()
        if kind in ("str", "num", "word"):
            self.i += 1
            return v
        if kind == "[":
            self.i += 1
            out = []
            while self.peek()[0] != "]":
                out.append(self.value())
                if self.peek()[0] == ",":
                    self.i += 1
            self.take("]")
            return out
        if kind == "{":
            self.i += 1
            out = {}
            while self.peek()[0] != "}":
                k = self.take()[1]
                self.take("=>")
                out[k] = self.value()
            self.take("}")
            return out
        raise ParseError(f"line {line}: bad value {v!r}")

    def plugin(self):
        name = self.take("word")[1]
        if name in ("if", "else"):
            raise ParseError(f"line {self.peek()[2]}: conditionals are not checked here")
        self.take("{")
        settings = {}
        while self.peek()[0] != "}":
            k, line = self.take("word")[1], self.peek()[2]
            self.take("=>")
            if k in settings:
                raise ParseError(f"line {line}: {name}: '{k}' set twice")
            settings[k] = self.value()
        self.take("}")
        return name, settings

    def config(self):
        sections = {"input": [], "filter": [], "output": []}
        while self.peek()[0] is not None:
            sec = self.take("word")[1]
            if sec not in sections:
                raise ParseError(f"unknown section {sec!r}")
            self.take("{")
            while self.peek()[0] != "}":
                sections[sec].append(self.plugin())
            self.take("}")
        return sections


# the redis input's settings (logstash-input-redis 3.x) and the common input settings
REDIS_INPUT_OPTIONS = {
    "add_field", "batch_count", "codec", "command_map", "data_type", "db", "enable_metric",
    "host", "id", "key", "password", "path", "port", "ssl", "tags", "threads", "timeout", "type",
}


def list_key(docs_redis_md):
    """The list key from the layout table of docs/redis.md (DESIGN §4)."""
    for line in open(docs_redis_md, encoding="utf-8"):
        m = re.match(r"\|\s*`([^`]+:alerts:list)`\s*\|\s*list\s*\|", line)
        if m:
            return m.group(1)
    raise SystemExit("docs/redis.md has no list row")


def check_logstash(path, key):
    sections = Parser(tokenize(open(path, encoding="utf-8").read())).config()
    inputs = sections["input"]
    assert len(inputs) == 1 and inputs[0][0] == "redis", f"inputs: {inputs}"
    s = inputs[0][1]
    unknown = set(s) - REDIS_INPUT_OPTIONS
    assert not unknown, f"unknown redis input settings: {unknown}"
    assert s.get("data_type") == "list", s.get("data_type")
    assert s.get("key") == key, f"key {s.get('key')!r}, the sensor writes {key!r}"
    assert s.get("codec") == "json", s.get("codec")
    assert "password" not in s or s["password"].startswith("${"), "a literal password"
    assert sections["output"], "no output"
    for name, settings in sections["output"]:
        if name == "elasticsearch":
            assert settings.get("data_stream_dataset") == "otsensor.alert"
    return len(inputs) + len(sections["filter"]) + len(sections["output"])


def check_vector(path, key):
    with open(path, "rb") as f:
        cfg = tomllib.load(f)
    srcs = cfg.get("sources", {})
    assert len(srcs) == 1, srcs
    sid, src = next(iter(srcs.items()))
    assert src.get("type") == "redis", src
    assert src.get("key") == key, f"key {src.get('key')!r}, the sensor writes {key!r}"
    assert src.get("data_type") == "list", src.get("data_type")
    # RPUSH by the sensor + LPOP here = oldest first
    assert src.get("list", {}).get("method") == "lpop", src.get("list")
    assert src.get("decoding", {}).get("codec") == "json", src.get("decoding")
    assert src.get("url", "").startswith(("redis://", "${")), src.get("url")
    assert "@" not in src.get("url", "") or "${" in src["url"], "a literal password in url"
    # every transform and sink reads from a component that exists, and the graph
    # reaches a sink from the source
    ids = set(srcs) | set(cfg.get("transforms", {})) | set(cfg.get("sinks", {}))
    reach = {sid}
    for kind in ("transforms", "sinks"):
        for cid, comp in cfg.get(kind, {}).items():
            ins = comp.get("inputs")
            assert ins and all(i in ids for i in ins), f"{cid}: inputs {ins}"
            assert "type" in comp, cid
            if any(i in reach for i in ins):
                reach.add(cid)
    assert any(s in reach for s in cfg.get("sinks", {})), "no sink reads the alerts"
    return len(ids)


def main():
    d, docs = sys.argv[1], sys.argv[2]
    key = list_key(docs)
    n = check_logstash(f"{d}/logstash-otsensor.conf", key)
    m = check_vector(f"{d}/vector-otsensor.toml", key)
    print(f"structural check ok: logstash {n} plugin blocks, vector {m} components, key {key}")


if __name__ == "__main__":
    try:
        main()
    except (ParseError, AssertionError, tomllib.TOMLDecodeError) as e:
        print(f"check_configs: {e}", file=sys.stderr)
        sys.exit(1)
