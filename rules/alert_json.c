/* alert_json.c - one alert as the DESIGN §3 JSON object: nested ECS objects, never dotted
 * keys. Every string goes through jbuf_str, so the text is valid UTF-8 JSON whatever
 * bytes the wire carried. */
#include <stdio.h>
#include <string.h>

#include "jbuf.h"
#include "rule_int.h"

/* When neither the rule nor its classtype names an FR or a TC: every alert is evidence
 * for FR6 (timely response to events: SR 6.2 continuous monitoring), and a rule that
 * fires on unknown intent is filed under the top-level hacking category. */
#define FALLBACK_FR 6
#define FALLBACK_SR "SR 6.2"
#define FALLBACK_TC "TC.HCK"

static const char *transport_name(uint8_t t)
{
    switch (t) {
    case EV_TRANSPORT_TCP: return "tcp";
    case EV_TRANSPORT_UDP: return "udp";
    case EV_TRANSPORT_L2: return "l2";
    case EV_TRANSPORT_ICMP: return "icmp";
    default: return "other";
    }
}

static void kv(struct jbuf *j, const char *key, int first)
{
    if (!first) jbuf_putc(j, ',');
    jbuf_putc(j, '"');
    jbuf_puts(j, key);
    jbuf_puts(j, "\":");
}

static void jstr(struct jbuf *j, const char *s)
{
    jbuf_str(j, s, strlen(s));
}

/* ---- yara.match: the YARA rule's own metadata may set fr, sr, tc, severity --- */

#define YARA_TAGS    8
#define YARA_TAG_LEN 32

struct yara_tags {
    char sr[YARA_TAGS][YARA_TAG_LEN], tc[YARA_TAGS][YARA_TAG_LEN];
    const char *srp[YARA_TAGS], *tcp[YARA_TAGS];
};

/* Text of meta.<key> (a string) into buf; 0 if absent or not a string. */
static int meta_text(const struct event *e, const char *key, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof(path), "meta.%s", key);
    const struct ev_field *f = event_find(e, path);
    if (!f || f->type != EVF_STR) return 0;
    size_t n = f->len < len - 1 ? f->len : len - 1;
    memcpy(buf, event_field_text(e, f), n);
    buf[n] = '\0';
    return 1;
}

/* Splits "a, b; c" into trimmed items; returns how many. */
static int split_list(char *s, char out[][YARA_TAG_LEN], const char **ptr)
{
    int n = 0;
    for (char *tok = strtok(s, ",;"); tok && n < YARA_TAGS; tok = strtok(NULL, ",;")) {
        while (*tok == ' ')
            tok++;
        size_t l = strlen(tok);
        while (l && tok[l - 1] == ' ')
            tok[--l] = '\0';
        if (!l) continue;
        snprintf(out[n], YARA_TAG_LEN, "%s", tok);
        ptr[n] = out[n];
        n++;
    }
    return n;
}

static void yara_overrides(const struct event *e, uint8_t *fr, const char *const **sr, int *nsr,
                           const char *const **tc, int *ntc, int *sev, struct yara_tags *t)
{
    char buf[256];
    const struct ev_field *f = event_find(e, "meta.fr");
    if (f && (f->type == EVF_INT || f->type == EVF_UINT) && f->v.u >= 1 && f->v.u <= 7) {
        *fr = (uint8_t)(1u << (f->v.u - 1));
    } else if (meta_text(e, "fr", buf, sizeof(buf))) {
        uint8_t m = 0;
        for (const char *p = buf; *p; p++)
            if ((p[0] == 'F' || p[0] == 'f') && (p[1] == 'R' || p[1] == 'r') && p[2] >= '1' &&
                p[2] <= '7')
                m |= (uint8_t)(1u << (p[2] - '1'));
        if (m) *fr = m;
    }
    if (meta_text(e, "sr", buf, sizeof(buf))) {
        int n = split_list(buf, t->sr, t->srp);
        if (n) {
            *sr = t->srp;
            *nsr = n;
        }
    }
    if (meta_text(e, "tc", buf, sizeof(buf))) {
        int n = split_list(buf, t->tc, t->tcp);
        if (n) {
            *tc = t->tcp;
            *ntc = n;
        }
    }
    f = event_find(e, "meta.severity");
    static const char *const names[] = {"info", "low", "medium", "high", "critical"};
    if (f && (f->type == EVF_INT || f->type == EVF_UINT) && f->v.u <= 4) {
        *sev = (int)f->v.u;
    } else if (meta_text(e, "severity", buf, sizeof(buf))) {
        for (int i = 0; i < 5; i++)
            if (!strcmp(buf, names[i]) || (buf[0] == '0' + i && !buf[1])) *sev = i;
    }
}

/* otsensor.yara: the rule, its tags and the object, for consumers that read no ot.* */
static void yara_summary(struct jbuf *j, const struct event *e)
{
    static const char *const keys[] = {"rule", "object.sha256", "object.type", "object.name"};
    static const char *const names[] = {"rule", "sha256", "object_type", "object_name"};
    jbuf_puts(j, ",\"yara\":{");
    int first = 1;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const struct ev_field *f = event_find(e, keys[i]);
        if (!f || f->type != EVF_STR) continue;
        kv(j, names[i], first);
        first = 0;
        jbuf_str(j, event_field_text(e, f), f->len);
    }
    const struct ev_field *tags = event_find(e, "tags");
    if (tags && tags->type == EVF_ARR) {
        kv(j, "tags", first);
        first = 0;
        jbuf_putc(j, '[');
        for (const struct ev_field *f = tags + 1; f < e->fields + e->nfields && f->type == EVF_STR;
             f++) {
            if (f != tags + 1) jbuf_putc(j, ',');
            jbuf_str(j, event_field_text(e, f), f->len);
        }
        jbuf_putc(j, ']');
    }
    jbuf_putc(j, '}');
}

static void endpoint(struct jbuf *j, const struct ev_net *n, const struct ev_addr *a, uint16_t port,
                     const uint8_t *mac)
{
    jbuf_putc(j, '{');
    int first = 1;
    if (n->ip_version) {
        kv(j, "ip", 1);
        jbuf_ip(j, a);
        kv(j, "port", 0);
        jbuf_u64(j, port);
        first = 0;
    }
    if (n->has_mac) {
        kv(j, "mac", first);
        jbuf_mac(j, mac);
    }
    jbuf_putc(j, '}');
}

/* "url,example.com" -> "http://example.com" (Suricata's reference.config), others as given */
static void reference(struct jbuf *j, const char *ref)
{
    char b[600];
    if (!strncmp(ref, "url,", 4)) {
        const char *u = ref + 4;
        if (strstr(u, "://"))
            snprintf(b, sizeof(b), "%s", u);
        else
            snprintf(b, sizeof(b), "http://%s", u);
    } else if (!strncmp(ref, "cve,", 4)) {
        snprintf(b, sizeof(b), "https://cve.mitre.org/cgi-bin/cvename.cgi?name=%s", ref + 4);
    } else {
        snprintf(b, sizeof(b), "%s", ref);
    }
    jstr(j, b);
}

/* The text of an RFC 3339 time with a 4-digit year: what the aggregator can merge. */
#define TS_YEAR_10000_US 253402300800000000ull

size_t alert_to_json(const struct ruleset *rs, const struct rule *r, const struct event *ev,
                     const char *sensor_name, uint32_t count, uint64_t start_us, char *buf,
                     size_t cap, struct alert_hdr *h)
{
    struct jbuf jb, *j = &jb;
    const struct ev_net *n = &ev->net;
    const char *op = ev->op ? ev->op : "unknown";
    const char *proto = ev->proto ? ev->proto : "unknown";
    jbuf_init(j, buf, cap);

    /* the packet time is written three times: format it once */
    char tsb[48];
    struct jbuf tj;
    jbuf_init(&tj, tsb, sizeof(tsb));
    jbuf_ts(&tj, n->ts_us);
    jbuf_puts(j, "{\"@timestamp\":");
    struct alert_span sp[ALERT_SPANS];
    sp[ALERT_SPAN_TS] = (struct alert_span){(uint32_t)j->len, (uint32_t)tj.len};
    jbuf_put(j, tsb, tj.len);

    /* tags: the rule's own, else its classtype's, else the documented fallback */
    uint8_t fr = r->fr;
    const char *const *sr = r->sr;
    int nsr = r->nsr;
    const char *const *tc = r->tc;
    int ntc = r->ntc;
    if (!fr && !nsr && r->cls) {
        fr = r->cls->fr;
        sr = r->cls->sr;
        nsr = r->cls->nsr;
    }
    if (!ntc && r->cls) {
        tc = r->cls->tc;
        ntc = r->cls->ntc;
    }
    static const char *const fb_sr[] = {FALLBACK_SR};
    static const char *const fb_tc[] = {FALLBACK_TC};
    if (!fr) {
        fr = 1u << (FALLBACK_FR - 1);
        if (!nsr) {
            sr = fb_sr;
            nsr = 1;
        }
    }
    if (!ntc) {
        tc = fb_tc;
        ntc = 1;
    }

    /* zones, and the taxonomy's severity modifiers that need them */
    int zs = -1, zd = -1;
    int sev = r->eff_severity;
    int is_yara = !strcmp(proto, "yara");
    struct yara_tags ytags;
    if (is_yara) yara_overrides(ev, &fr, &sr, &nsr, &tc, &ntc, &sev, &ytags);
    const struct conduit *cd = NULL;
    if (rs && rs->nzones && n->ip_version) {
        zs = zone_of(rs, &n->src);
        zd = zone_of(rs, &n->dst);
        if (zs >= 0 && zd >= 0 && zs != zd) {
            sev++; /* crosses a zone boundary, even inside a conduit */
            cd = conduit_between(rs, zs, zd);
        }
        if (zd >= 0) {
            const struct zone *z = &rs->zones[zd];
            if (z->type && !strcmp(z->type, "safety")) sev++;
            int hi = 0;
            for (int i = 0; i < 7; i++)
                if ((fr & (1u << i)) && z->has_sl && z->sl_t[i] >= 3) hi = 1;
            sev += hi;
        }
        if (sev > 4) sev = 4;
    }

    jbuf_puts(j, ",\"event\":{\"kind\":\"alert\",\"dataset\":\"otsensor.alert\",\"severity\":");
    jbuf_u64(j, (uint64_t)sev);
    kv(j, "start", 0);
    sp[ALERT_SPAN_START].off = (uint32_t)j->len;
    if (start_us < n->ts_us)
        jbuf_ts(j, start_us);
    else
        jbuf_put(j, tsb, tj.len);
    sp[ALERT_SPAN_START].len = (uint32_t)(j->len - sp[ALERT_SPAN_START].off);
    kv(j, "end", 0);
    sp[ALERT_SPAN_END] = (struct alert_span){(uint32_t)j->len, (uint32_t)tj.len};
    jbuf_put(j, tsb, tj.len);
    jbuf_putc(j, '}');

    /* rule.id and rule.version are strings in ECS: digits need no escaping */
    jbuf_puts(j, ",\"rule\":{\"id\":\"");
    jbuf_u64(j, r->sid);
    jbuf_putc(j, '"');
    kv(j, "name", 0);
    jstr(j, r->msg ? r->msg : "");
    kv(j, "ruleset", 0);
    jstr(j, r->ruleset ? r->ruleset : "");
    if (r->nrefs) {
        kv(j, "reference", 0);
        reference(j, r->refs[0]);
    }
    if (r->classtype) {
        kv(j, "category", 0);
        jstr(j, r->classtype);
    }
    if (r->cls && r->cls->desc) {
        kv(j, "description", 0);
        jstr(j, r->cls->desc);
    }
    kv(j, "version", 0);
    jbuf_putc(j, '"');
    jbuf_u64(j, r->rev);
    jbuf_putc(j, '"');
    jbuf_putc(j, '}');

    jbuf_puts(j, ",\"source\":");
    endpoint(j, n, &n->src, n->src_port, n->src_mac);
    jbuf_puts(j, ",\"destination\":");
    endpoint(j, n, &n->dst, n->dst_port, n->dst_mac);

    jbuf_puts(j, ",\"network\":{\"transport\":");
    jstr(j, transport_name(n->transport));
    kv(j, "protocol", 0);
    jstr(j, proto);
    if (n->community_id[0]) {
        kv(j, "community_id", 0);
        jbuf_str(j, n->community_id, strnlen(n->community_id, sizeof(n->community_id)));
    }
    if (n->vlan_count) {
        kv(j, "vlan", 0);
        jbuf_puts(j, "{\"id\":");
        jbuf_u64(j, n->vlan[0]);
        jbuf_putc(j, '}');
    }
    jbuf_putc(j, '}');

    jbuf_puts(j, ",\"observer\":{\"name\":");
    jstr(j, sensor_name ? sensor_name : "");
    jbuf_puts(j, ",\"type\":\"sensor\"}");

    jbuf_puts(j, ",\"iec62443\":{\"fr\":[");
    int first = 1;
    for (int i = 0; i < 7; i++)
        if (fr & (1u << i)) {
            if (!first) jbuf_putc(j, ',');
            first = 0;
            char b[5] = {'"', 'F', 'R', (char)('1' + i), '"'};
            jbuf_put(j, b, sizeof(b));
        }
    jbuf_puts(j, "],\"sr\":[");
    for (int i = 0; i < nsr; i++) {
        if (i) jbuf_putc(j, ',');
        jstr(j, sr[i]);
    }
    jbuf_puts(j, "],\"zone\":{\"src\":");
    if (zs >= 0)
        jstr(j, rs->zones[zs].name);
    else
        jbuf_puts(j, "null");
    jbuf_puts(j, ",\"dst\":");
    if (zd >= 0)
        jstr(j, rs->zones[zd].name);
    else
        jbuf_puts(j, "null");
    jbuf_puts(j, "},\"conduit\":");
    if (cd)
        jstr(j, cd->name);
    else
        jbuf_puts(j, "null");
    jbuf_puts(j, ",\"sl_t\":");
    if (zd >= 0 && rs->zones[zd].has_sl) {
        jbuf_putc(j, '{');
        for (int i = 0; i < 7; i++) {
            char b[6] = {',', '"', 'F', 'R', (char)('1' + i), '"'};
            jbuf_put(j, i ? b : b + 1, i ? 6 : 5);
            jbuf_putc(j, ':');
            jbuf_u64(j, rs->zones[zd].sl_t[i]);
        }
        jbuf_putc(j, '}');
    } else {
        jbuf_puts(j, "null");
    }
    jbuf_putc(j, '}');

    jbuf_puts(j, ",\"iso27032\":{\"threat\":[");
    for (int i = 0; i < ntc; i++) {
        if (i) jbuf_putc(j, ',');
        jstr(j, tc[i]);
    }
    jbuf_puts(j, "]}");

    jbuf_puts(j, ",\"ot\":{");
    jstr(j, proto);
    jbuf_puts(j, ":{");
    jbuf_event_fields(j, ev);
    jbuf_puts(j, "},\"event\":");
    char name[160];
    size_t lp = strnlen(proto, 79), lo = strnlen(op, 79); /* 79 + 1 + 79 < 160 */
    memcpy(name, proto, lp);
    name[lp] = '.';
    memcpy(name + lp + 1, op, lo);
    jbuf_str(j, name, lp + 1 + lo);
    kv(j, "op", 0);
    jstr(j, op);
    kv(j, "code", 0);
    if (ev->has_code)
        jbuf_i64(j, ev->code);
    else
        jbuf_puts(j, "null");
    static const char *const dirs[] = {NULL, "request", "response", "indication"};
    if (ev->dir && ev->dir < 4) {
        kv(j, "dir", 0);
        jstr(j, dirs[ev->dir]);
    }
    kv(j, "anomalies", 0);
    jbuf_putc(j, '[');
    for (unsigned i = 0; i < ev->nanom; i++) {
        if (i) jbuf_putc(j, ',');
        jstr(j, ev->anomalies[i]);
    }
    jbuf_puts(j, "]}");

    jbuf_puts(j, ",\"otsensor\":{\"count\":");
    sp[ALERT_SPAN_COUNT].off = (uint32_t)j->len;
    jbuf_u64(j, count ? count : 1);
    sp[ALERT_SPAN_COUNT].len = (uint32_t)(j->len - sp[ALERT_SPAN_COUNT].off);
    kv(j, "sensor", 0);
    jstr(j, sensor_name ? sensor_name : "");
    kv(j, "gid", 0);
    jbuf_u64(j, r->gid);
    kv(j, "flow_id", 0);
    jbuf_u64(j, n->flow_id);
    if (is_yara) yara_summary(j, ev);
    jbuf_putc(j, '}');

    kv(j, "message", 0);
    jstr(j, r->msg ? r->msg : "");

    if (n->ip_version) {
        jbuf_puts(j, ",\"related\":{\"ip\":[");
        jbuf_ip(j, &n->src);
        if (memcmp(&n->src, &n->dst, sizeof(n->src))) {
            jbuf_putc(j, ',');
            jbuf_ip(j, &n->dst);
        }
        jbuf_puts(j, "]}");
    }
    jbuf_putc(j, '}');
    if (!jbuf_ok(j)) return 0;
    if (h) {
        /* the values just written, for the aggregator */
        alert_hdr_fill(r, ev, count, start_us, h);
        memcpy(h->span, sp, sizeof(sp));
    }
    return j->len;
}

void alert_hdr_fill(const struct rule *r, const struct event *ev, uint32_t count, uint64_t start_us,
                    struct alert_hdr *h)
{
    const struct ev_net *n = &ev->net;
    memset(h, 0, sizeof(*h));
    h->ok = n->ts_us < TS_YEAR_10000_US;
    h->ts_us = h->end_us = n->ts_us;
    h->start_us = start_us < n->ts_us ? start_us : n->ts_us;
    h->count = count ? count : 1;
    h->sid = r->sid;
    h->vlan = n->vlan_count ? n->vlan[n->vlan_count - 1] : 0;
    if (n->ip_version) {
        h->has_ip = 1;
        h->src = n->src;
        h->dst = n->dst;
    }
}
