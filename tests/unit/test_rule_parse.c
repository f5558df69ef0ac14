/* test_rule_parse.c - the rule parser: every error path with its exact file:line:col
 * message, the Suricata-documented examples of the OT keywords, variables, lists,
 * multi-line rules and the classification file.
 *
 * Every error message of rule_parse.c, zones.c, classification.c and suppress.c is asserted
 * here except those no input can reach: "out of memory", "too many protocols" (17 names
 * exist, 64 fit) and "empty field path" (an empty value is refused before).
 *
 * Columns were counted by hand on each rule text (1-based bytes); the Suricata examples
 * are those of Suricata's modbus-keyword, dnp3-keywords and enip-keyword pages. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rule_int.h"
#include "rules.h"

static char err[16384];

static struct ruleset *load(const char *text)
{
    return ruleset_load_text("t.rules", text, strlen(text), NULL, err, sizeof(err));
}

static const char *cls_text = "config classification: ot-write,OT write,2,FR1|FR2,SR 1.2|SR "
                              "2.1,TC.HCK.CMD\n"
                              "config classification: misc-activity,Misc activity,3\n";

/* The text must fail with exactly this error output. */
static void expect_err(const char *text, const char *want)
{
    struct ruleset *rs =
        ruleset_load_text("t.rules", text, strlen(text), cls_text, err, sizeof(err));
    ck_assert_msg(rs == NULL, "loaded: %s", text);
    ck_assert_str_eq(err, want);
}

static void expect_ok(const char *text)
{
    struct ruleset *rs =
        ruleset_load_text("t.rules", text, strlen(text), cls_text, err, sizeof(err));
    ck_assert_msg(rs != NULL, "%s -> %s", text, err);
    ck_assert_str_eq(err, "");
    ruleset_free(rs);
}

#define H "alert tcp any any -> any any (" /* 30 bytes: options start at col 31 */

START_TEST(header_errors)
{
    expect_err("drop tcp any any -> any any (sid:1;)",
               "t.rules:1:1: unknown action 'drop' (alert or pass)\n");
    expect_err("alert foo any any -> any any (sid:1;)", "t.rules:1:7: unknown protocol 'foo'\n");
    expect_err("alert tcp any any any any (sid:1;)",
               "t.rules:1:27: rule header needs: action proto src_addr src_port direction "
               "dst_addr dst_port\n");
    expect_err("alert tcp any any => any any (sid:1;)",
               "t.rules:1:19: direction must be -> or <>\n");
    expect_err("alert tcp any any -> any any sid:1;",
               "t.rules:1:36: expected '(' after the rule header\n");
    expect_err("alert tcp any any -> any any (sid:1;",
               "t.rules:1:30: rule options are not closed with ')'\n");
    expect_err("alert tcp any any -> any any (sid:1;) junk",
               "t.rules:1:39: unexpected text after the rule\n");
}
END_TEST

START_TEST(address_errors)
{
    expect_err("alert tcp 1.2.3.256 any -> any any (sid:1;)",
               "t.rules:1:11: bad address '1.2.3.256'\n");
    expect_err("alert tcp 10.0.0.0/33 any -> any any (sid:1;)",
               "t.rules:1:11: prefix length 33 is longer than 32\n");
    expect_err("alert tcp 10.0.0.0/x any -> any any (sid:1;)",
               "t.rules:1:20: bad prefix length 'x'\n");
    expect_err("alert tcp $NOPE any -> any any (sid:1;)",
               "t.rules:1:11: unknown variable '$NOPE'\n");
    expect_err("alert tcp [1.2.3.4,!] any -> any any (sid:1;)", "t.rules:1:21: empty address\n");
    expect_err("alert tcp [1.2.3.4 any -> any any (sid:1;)",
               "t.rules:1:35: rule header needs: action proto src_addr src_port direction "
               "dst_addr dst_port\n");
    expect_err("alert tcp 1.2.3.4] any -> any any (sid:1;)",
               "t.rules:1:11: bad address '1.2.3.4]'\n");
    expect_err("alert tcp [] any -> any any (sid:1;)", "t.rules:1:11: empty address list\n");
    expect_err("alert tcp !any any -> any any (sid:1;)", "t.rules:1:12: '!any' matches nothing\n");
    expect_err("alert tcp any any -> fe80::1/129 any (sid:1;)",
               "t.rules:1:30: bad prefix length '129'\n");
}
END_TEST

START_TEST(port_errors)
{
    expect_err("alert tcp any 70000 -> any any (sid:1;)", "t.rules:1:15: bad port '70000'\n");
    expect_err("alert tcp any 10:5 -> any any (sid:1;)",
               "t.rules:1:15: port range '10:5' is empty\n");
    expect_err("alert tcp any : -> any any (sid:1;)", "t.rules:1:15: bad port range ':'\n");
    expect_err("alert tcp any !any -> any any (sid:1;)", "t.rules:1:16: '!any' matches nothing\n");
    expect_err("alert tcp any [80,x] -> any any (sid:1;)", "t.rules:1:19: bad port 'x'\n");
    /* an unclosed list swallows the rest of the header */
    expect_err("alert tcp any [80 -> any any (sid:1;)",
               "t.rules:1:30: rule header needs: action proto src_addr src_port direction "
               "dst_addr dst_port\n");
    expect_err("alert tcp any 80] -> any any (sid:1;)", "t.rules:1:15: bad port '80]'\n");
    expect_err("alert tcp any $NOPORT -> any any (sid:1;)",
               "t.rules:1:15: unknown variable '$NOPORT'\n");
}
END_TEST

START_TEST(variable_errors)
{
    /* errors inside a variable's value are reported where the variable is used */
    expect_err("var BAD 1.2.3.x\nalert tcp $BAD any -> any any (sid:1;)",
               "t.rules:2:11: bad address '1.2.3.x'\n");
    /* ipvar/portvar are checked where they are defined */
    expect_err("ipvar X 1.2.3.4/40\n", "t.rules:1:9: prefix length 40 is longer than 32\n");
    expect_err("portvar P 1:x\n", "t.rules:1:11: bad port range '1:x'\n");
    expect_err("var X\n", "t.rules:1:1: 'var' needs a name and a value\n");
    expect_err("var A-B 1\n", "t.rules:1:6: bad variable name\n");
    expect_err("var LOOP $LOOP\nalert tcp $LOOP any -> any any (sid:1;)",
               "t.rules:2:11: variable '$LOOP' nests too deep\n");
}
END_TEST

START_TEST(option_errors)
{
    expect_err(H "foo:1; sid:1;)", "t.rules:1:31: unknown keyword 'foo'\n");
    expect_err(H "msg:\"x\"; sid:1)", "t.rules:1:45: expected ';' after 'sid'\n");
    expect_err(H "msg:\"x\";)", "t.rules:1:1: rule has no sid\n");
    expect_err(H "sid:1;)\n" H "sid:1;)",
               "t.rules:2:1: duplicate sid 1 (first defined at t.rules:1)\n");
    expect_err(H "sid:0;)", "t.rules:1:35: 'sid' must be an integer from 1 to 4294967295\n");
    expect_err(H "sid:x;)", "t.rules:1:35: 'sid' must be an integer from 1 to 4294967295\n");
    expect_err(H "msg; sid:1;)", "t.rules:1:31: 'msg' needs a value\n");
    expect_err(H "msg:\"a\"b\"; sid:1;)", "t.rules:1:30: rule options are not closed with ')'\n");
    expect_err(H "msg:\"a\"b; sid:1;)", "t.rules:1:35: unterminated string\n");
    expect_err(H "msg:\"a\\\"b; sid:1;)", "t.rules:1:30: rule options are not closed with ')'\n");
    expect_err(H "priority:0; sid:1;)",
               "t.rules:1:40: 'priority' must be an integer from 1 to 255\n");
    expect_err(H "severity:huge; sid:1;)",
               "t.rules:1:40: 'severity' must be 0-4 or info, low, medium, high, critical\n");
    expect_err(H "classtype:nope; sid:1;)", "t.rules:1:41: unknown classtype 'nope'\n");
    expect_err(H "classtype:a b; sid:1;)", "t.rules:1:42: bad classtype name\n");
    expect_err(H "reference:url; sid:1;)", "t.rules:1:41: 'reference' must be <type>,<id>\n");
    expect_err(H "flow:sideways; sid:1;)", "t.rules:1:36: unknown flow option 'sideways'\n");
    expect_err(H "flow:to_server,to_client; sid:1;)",
               "t.rules:1:36: flow cannot be both to_server and to_client\n");
    expect_err(H "flow:established,not_established; sid:1;)",
               "t.rules:1:36: flow cannot be both established and not_established\n");
    expect_err(H "sid:1;\n  msg:\"x\";\n  bogus;)", "t.rules:3:3: unknown keyword 'bogus'\n");
}
END_TEST

START_TEST(content_errors)
{
    expect_err(H "content:abc; sid:1;)", "t.rules:1:39: content must be a quoted string\n");
    expect_err(H "content:\"|4g|\"; sid:1;)", "t.rules:1:42: bad hex digit 'g' in content\n");
    expect_err(H "content:\"|414|\"; sid:1;)",
               "t.rules:1:44: odd number of hex digits in content\n");
    expect_err(H "content:\"|41\"; sid:1;)", "t.rules:1:39: unterminated hex block in content\n");
    expect_err(H "content:\"\"; sid:1;)", "t.rules:1:39: empty content\n");
    expect_err(H "nocase; sid:1;)", "t.rules:1:31: 'nocase' needs a preceding content\n");
    expect_err(H "content:\"a\"; nocase:1; sid:1;)", "t.rules:1:44: 'nocase' takes no value\n");
    expect_err(H "content:\"abcd\"; depth:2; sid:1;)",
               "t.rules:1:53: depth 2 is shorter than the content (4 bytes)\n");
    expect_err(H "content:\"abcd\"; within:3; sid:1;)",
               "t.rules:1:54: within 3 is shorter than the content (4 bytes)\n");
    expect_err(H "content:\"a\"; offset:-1; sid:1;)",
               "t.rules:1:51: 'offset' must be an integer from 0 to 65535\n");
    expect_err(H "content:\"a\"; distance:x; sid:1;)",
               "t.rules:1:53: 'distance' must be an integer\n");
    expect_err(H "depth:3; sid:1;)", "t.rules:1:31: 'depth' needs a preceding content\n");
}
END_TEST

START_TEST(threshold_errors)
{
    expect_err(H "threshold: type limit, count 1; sid:1;)",
               "t.rules:1:41: threshold needs type, track, count and seconds\n");
    expect_err(H "threshold: type many, track by_src, count 1, seconds 1; sid:1;)",
               "t.rules:1:47: threshold type must be limit, threshold or both\n");
    expect_err(H "threshold: type limit, track by_x, count 1, seconds 1; sid:1;)",
               "t.rules:1:60: threshold track must be by_src, by_dst, by_rule or by_both\n");
    expect_err(H "threshold: type limit, track by_src, count 0, seconds 1; sid:1;)",
               "t.rules:1:74: threshold count must be a positive integer\n");
    expect_err(H "threshold: type limit, track by_src, count 1, seconds 0; sid:1;)",
               "t.rules:1:85: threshold seconds must be a positive integer\n");
    expect_err(H "threshold: foo 1; sid:1;)", "t.rules:1:42: unknown threshold setting 'foo'\n");
    expect_err(H "detection_filter: type limit, track by_src, count 1, seconds 1; sid:1;)",
               "t.rules:1:49: unknown detection_filter setting 'type'\n");
    expect_err(H "threshold: type limit, track by_src, count 1, seconds 1; threshold: type "
                 "limit, track by_src, count 1, seconds 1; sid:1;)",
               "t.rules:1:88: only one threshold per rule\n");
}
END_TEST

START_TEST(event_errors)
{
    expect_err(H "app-layer-event:Modbus.x; sid:1;)",
               "t.rules:1:47: app-layer-event name must be <proto>.<name> in lower case\n");
    expect_err(H "app-layer-event:modbus; sid:1;)",
               "t.rules:1:47: app-layer-event name must be <proto>.<name>\n");
    expect_err(H "event:flow.; sid:1;)", "t.rules:1:37: event name must be <proto>.<name>\n");
    expect_err("alert dnp3 any any -> any any (app-layer-event:modbus.invalid_length; sid:1;)",
               "t.rules:1:48: 'app-layer-event' matches modbus events but 'the rule header' "
               "already binds the rule to dnp3\n");
    /* names nothing raises: errors with the name's position */
    expect_err(H "app-layer-event:modbus.nosuch; sid:1;)",
               "t.rules:1:47: unknown app-layer-event name 'modbus.nosuch'\n");
    expect_err(H "app-layer-event:!modbus.nosuch; sid:1;)",
               "t.rules:1:48: unknown app-layer-event name 'modbus.nosuch'\n");
    expect_err(H "event:modbus.write_single_coil; sid:1;)",
               "t.rules:1:37: unknown event name 'modbus.write_single_coil' (a protocol "
               "operation is matched with op:)\n");
    /* an engine event is no anomaly */
    expect_err("alert any any any -> any any (app-layer-event:flow.new; sid:1;)",
               "t.rules:1:47: unknown app-layer-event name 'flow.new'\n");
    expect_err("alert any any any -> any any (event:flow.newer; sid:1;)",
               "t.rules:1:37: unknown event name 'flow.newer'\n");
    /* known: dissector and decoder anomalies, engine and correlation events, Suricata's
     * names (mapped, or accepted and never raised) */
    static const char *const good[] = {"app-layer-event:modbus.invalid_length",
                                       "app-layer-event:modbus.invalid_function_code",
                                       "app-layer-event:dnp3.flooded",
                                       "app-layer-event:decoder.ipv4_truncated",
                                       "app-layer-event:goose.stnum_regression",
                                       "event:goose_publisher.ttl_expired",
                                       "event:goose_publisher.new",
                                       "event:mms.new_client",
                                       "event:flow.new_intra_zone",
                                       "event:scan.vertical",
                                       "event:yara.match",
                                       "event:stream.overlap_changed",
                                       "event:modbus.invalid_length"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "alert any any any -> any any (msg:\"k\"; %s; sid:1;)\n",
                 good[i]);
        struct ruleset *rs =
            ruleset_load_text("t.rules", text, strlen(text), NULL, err, sizeof(err));
        ck_assert_msg(rs != NULL, "%s: %s", good[i], err);
        ruleset_free(rs);
    }
}
END_TEST

START_TEST(modbus_errors)
{
    expect_err(H "modbus: function 0; sid:1;)", "t.rules:1:48: modbus function must be 1-255\n");
    expect_err(H "modbus: function foo; sid:1;)", "t.rules:1:48: unknown modbus function 'foo'\n");
    expect_err(H "modbus: access write discretes; sid:1;)",
               "t.rules:1:52: discretes access is only read access\n");
    expect_err(H "modbus: access write input; sid:1;)",
               "t.rules:1:52: input access is only read access\n");
    expect_err(H "modbus: access write holding, address 1<>5, value 3; sid:1;)",
               "t.rules:1:75: modbus value needs a single address, not a range\n");
    expect_err(H "modbus: access read holding, address 5, value 3; sid:1;)",
               "t.rules:1:71: modbus value only works with write access\n");
    expect_err(H "modbus: access modify; sid:1;)",
               "t.rules:1:46: modbus access must be read or write\n");
    expect_err(H "modbus: access read tables; sid:1;)",
               "t.rules:1:51: unknown modbus table 'tables'\n");
    expect_err(H "modbus: bogus; sid:1;)", "t.rules:1:39: modbus needs function, access or unit\n");
    expect_err(H "modbus: function 8, sub 4; sid:1;)",
               "t.rules:1:51: expected 'subfunction' after the modbus function\n");
    expect_err(H "modbus: function user, subfunction 4; sid:1;)",
               "t.rules:1:54: modbus subfunction needs a function number\n");
    expect_err(H "modbus: function 8, subfunction x; sid:1;)",
               "t.rules:1:63: modbus subfunction must be 0-65535\n");
    expect_err(H "modbus: access write holding, address 1<>1; sid:1;)",
               "t.rules:1:69: bad modbus address range '1<>1'\n");
    expect_err(H "modbus: access write holding, address x; sid:1;)",
               "t.rules:1:69: bad modbus address 'x'\n");
    expect_err(H "modbus: unit 300; sid:1;)", "t.rules:1:44: bad modbus unit '300'\n");
    expect_err(H "modbus: access write coils, unit 1; sid:1;)",
               "t.rules:1:59: unexpected 'unit' in modbus access\n");
    expect_err("alert dnp3 any any -> any any (modbus: function 1; sid:1;)",
               "t.rules:1:32: 'modbus' matches modbus events but 'the rule header' already "
               "binds the rule to dnp3\n");
}
END_TEST

START_TEST(ot_keyword_errors)
{
    expect_err(H "dnp3_func:bogus; sid:1;)", "t.rules:1:41: unknown dnp3 function 'bogus'\n");
    expect_err(H "dnp3_ind:need_time,bogus; sid:1;)",
               "t.rules:1:50: unknown dnp3 indicator 'bogus'\n");
    expect_err(H "dnp3_obj:1; sid:1;)",
               "t.rules:1:40: dnp3_obj must be <group>,<variation> (0-255 each)\n");
    expect_err(H "dnp3_obj:1,256; sid:1;)",
               "t.rules:1:40: dnp3_obj must be <group>,<variation> (0-255 each)\n");
    expect_err(H "enip_command:70000; sid:1;)", "t.rules:1:44: enip_command must be 0-65535\n");
    expect_err(H "enip_command:bogus; sid:1;)", "t.rules:1:44: bad enip_command value 'bogus'\n");
    expect_err(H "cip_service:1,2,3,4; sid:1;)",
               "t.rules:1:49: cip_service takes at most service,class,attribute\n");
    expect_err(H "cip_service:200; sid:1;)", "t.rules:1:43: bad cip service '200'\n");
    expect_err(H "cip_service:1,x; sid:1;)", "t.rules:1:45: bad cip class 'x'\n");
    expect_err(H "enip_command:99; cip_service:75; sid:1;)",
               "t.rules:1:48: 'cip_service' matches cip events but 'enip_command' already "
               "binds the rule to enip\n");
    expect_err(H "iec104: bogus 1; sid:1;)", "t.rules:1:39: unknown iec104 setting 'bogus'\n");
    expect_err(H "iec104: type; sid:1;)", "t.rules:1:43: iec104 type needs a value\n");
    expect_err(H "iec104: cot 1-1; sid:1;)", "t.rules:1:43: bad iec104 cot range '1-1'\n");
    expect_err(H "mqtt: type \"connect\"; sid:1;)", "t.rules:1:42: mqtt type needs a number\n");
    expect_err(H "op:Write; sid:1;)", "t.rules:1:34: op names are lower-case snake_case\n");
    expect_err(H "op:a,,b; sid:1;)", "t.rules:1:36: empty op name\n");
    expect_err(H "code:abc; sid:1;)", "t.rules:1:36: bad code value 'abc'\n");
    expect_err(H "code:>x; sid:1;)", "t.rules:1:36: bad code value '>x'\n");
    expect_err(H "field: A.b 1; sid:1;)", "t.rules:1:38: bad field path\n");
}
END_TEST

START_TEST(tag_errors)
{
    expect_err(H "iec62443: fr FR9; sid:1;)", "t.rules:1:44: iec62443 fr must be FR1 to FR7\n");
    expect_err(H "iec62443: sr \"2.1\"; sid:1;)",
               "t.rules:1:44: iec62443 sr must look like \"SR 2.1\"\n");
    expect_err(H "iec62443: level 3; sid:1;)",
               "t.rules:1:41: unknown iec62443 setting 'level' (fr or sr)\n");
    expect_err(H "iso27032: TC.FOO; sid:1;)",
               "t.rules:1:41: unknown ISO/IEC 27032 threat code 'TC.FOO'\n");
    expect_err(H "iso27032: TC.HCK.CMD, tc.hck; sid:1;)",
               "t.rules:1:53: unknown ISO/IEC 27032 threat code 'tc.hck'\n");
}
END_TEST

START_TEST(several_errors)
{
    /* every error of a file is reported, each rule on its own */
    expect_err("alert tcp any any -> any any (sid:1; foo;)\n"
               "# a comment\n"
               "alert tcp any any -> any any (sid:2;)\n"
               "alert tcp any 99999 -> any any (sid:3;)\n",
               "t.rules:1:38: unknown keyword 'foo'\n"
               "t.rules:4:15: bad port '99999'\n");
}
END_TEST

START_TEST(classification_errors)
{
    struct ruleset *rs;
    const char *r = H "sid:1;)";
#define CLS_ERR(text, want)                                                                        \
    rs = ruleset_load_text("t.rules", r, strlen(r), text, err, sizeof(err));                       \
    ck_assert_ptr_null(rs);                                                                        \
    ck_assert_str_eq(err, want);
    CLS_ERR("config classif: a,b,1\n",
            "classification.config:1:1: expected 'config classification:'\n");
    CLS_ERR("config classification: a,b\n",
            "classification.config:1:23: expected name,description,priority[,FR,SR,TC] (2 "
            "fields)\n");
    CLS_ERR("config classification: a,b,0\n",
            "classification.config:1:28: priority must be 1-255\n");
    CLS_ERR("# ok\nconfig classification: a b,b,1\n",
            "classification.config:2:25: bad classtype name\n");
    CLS_ERR("config classification: a,b,1,FR8\n",
            "classification.config:1:30: FR must be FR1 to FR7\n");
    CLS_ERR("config classification: a,b,1,FR1,SR 1.1|SR1.2\n",
            "classification.config:1:41: SR must look like SR 2.1\n");
    CLS_ERR("config classification: a,b,1,FR1,-,TC.NOPE\n",
            "classification.config:1:36: unknown ISO/IEC 27032 threat code 'TC.NOPE'\n");
    CLS_ERR("config classification: a,b,1\nconfig classification: a,c,2\n",
            "classification.config:2:24: duplicate classtype 'a'\n");
#undef CLS_ERR
}
END_TEST

START_TEST(zone_errors)
{
    struct ruleset *rs;
    const char *r = "alert tcp $PLC any -> any any (sid:1;)";
#define ZONE_ERR(text, want)                                                                       \
    rs = ruleset_load_texts("t.rules", r, strlen(r), NULL, text, err, sizeof(err));                \
    ck_assert_ptr_null(rs);                                                                        \
    ck_assert_str_eq(err, want);
    /* a zone that fails leaves its variable undefined: the rule's error follows */
    ZONE_ERR("zone PLC 10.0.0.0/33\n", "zones.conf:1:10: bad zone address '10.0.0.0/33'\n"
                                       "t.rules:1:11: unknown variable '$PLC'\n");
    ZONE_ERR("zone PLC\n", "zones.conf:1:1: zone needs a name and addresses\n"
                           "t.rules:1:11: unknown variable '$PLC'\n");
    ZONE_ERR("zone P-1 10.0.0.1\n", "zones.conf:1:7: zone names are letters, digits and _\n"
                                    "t.rules:1:11: unknown variable '$PLC'\n");
    ZONE_ERR("zone PLC 10.0.0.1\nzone PLC 10.0.0.2\n", "zones.conf:2:6: duplicate zone 'PLC'\n");
    ZONE_ERR("zone PLC 10.0.0.1 sl 5\n", "zones.conf:1:22: sl must be 0-4 or FRn=0-4[,...]\n"
                                         "t.rules:1:11: unknown variable '$PLC'\n");
    ZONE_ERR("zone PLC 10.0.0.1 sl FR1=2,FR8=1\n",
             "zones.conf:1:28: sl must be 0-4 or FRn=0-4[,...]\n"
             "t.rules:1:11: unknown variable '$PLC'\n");
    ZONE_ERR("zone PLC 10.0.0.1 level 2\n", "zones.conf:1:19: unknown zone setting 'level'\n"
                                            "t.rules:1:11: unknown variable '$PLC'\n");
    ZONE_ERR("zone PLC 10.0.0.1 type\n", "zones.conf:1:19: 'type' needs a value\n"
                                         "t.rules:1:11: unknown variable '$PLC'\n");
    ZONE_ERR("zone PLC 10.0.0.1\nconduit PLC X\n", "zones.conf:2:13: unknown zone 'X'\n");
    ZONE_ERR("zone PLC 10.0.0.1\nconduit PLC PLC ops read,write\n",
             "zones.conf:2:21: unknown operation class 'read'\n");
    ZONE_ERR("zone PLC 10.0.0.1\nconduit PLC PLC via x\n",
             "zones.conf:2:17: unknown conduit setting 'via'\n");
    ZONE_ERR("zones PLC 1.2.3.4\n", "zones.conf:1:1: expected 'zone' or 'conduit'\n"
                                    "t.rules:1:11: unknown variable '$PLC'\n");
    /* without the zone, $PLC is an unknown variable */
    ZONE_ERR("# none\n", "t.rules:1:11: unknown variable '$PLC'\n");
#undef ZONE_ERR
    const char *z = "zone PLC [10.0.0.0/24,fd00::/8] sl 3 type safety # comment\n"
                    "conduit PLC PLC protocols modbus ops read-only\n";
    rs = ruleset_load_texts("t.rules", r, strlen(r), NULL, z, err, sizeof(err));
    ck_assert_msg(rs != NULL, "%s", err);
    ck_assert_int_eq(rs->nzones, 1);
    ck_assert_int_eq(rs->zones[0].nnets, 2);
    ck_assert_int_eq(rs->rules[0].src.n, 2); /* $PLC */
    ck_assert_str_eq(rs->conduits[0].name, "PLC-PLC");
    ruleset_free(rs);
}
END_TEST

/* ---- limits and rarer paths: texts built in code; the expected column is where the
 * offending item was written (recorded while building), not taken from the output ---- */

static char big[1 << 20];
static size_t blen;

static size_t put(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static size_t put(const char *fmt, ...)
{
    size_t at = blen;
    va_list ap;
    va_start(ap, fmt);
    blen += (size_t)vsnprintf(big + blen, sizeof(big) - blen, fmt, ap);
    va_end(ap);
    return at; /* offset where this piece starts */
}

/* Column (1-based) of byte offset at on its line of big. */
static int col_at(size_t at)
{
    size_t ls = at;
    while (ls > 0 && big[ls - 1] != '\n')
        ls--;
    return (int)(at - ls) + 1;
}

static char wantbuf[1024];
#define WANT(...) (snprintf(wantbuf, sizeof(wantbuf), __VA_ARGS__), wantbuf)

START_TEST(limit_errors)
{
    size_t at = 0;
    /* 65 addresses, 65 "any", 65 ports: lists hold 64 */
    blen = 0;
    put("alert tcp [");
    for (int i = 0; i < 65; i++) {
        size_t o = put("10.0.%d.1%s", i, i < 64 ? "," : "");
        if (i == 64) at = o;
    }
    put("] any -> any any (sid:1;)");
    expect_err(big, WANT("t.rules:1:%d: address list longer than 64\n", col_at(at)));
    blen = 0;
    put("alert tcp [");
    for (int i = 0; i < 65; i++) {
        size_t o = put("any%s", i < 64 ? "," : "");
        if (i == 64) at = o;
    }
    put("] any -> any any (sid:1;)");
    expect_err(big, WANT("t.rules:1:%d: address list longer than 64\n", col_at(at)));
    blen = 0;
    put("alert tcp any [");
    for (int i = 0; i < 65; i++) {
        size_t o = put("%d%s", 1000 + i, i < 64 ? "," : "");
        if (i == 64) at = o;
    }
    put("] -> any any (sid:1;)");
    expect_err(big, WANT("t.rules:1:%d: port list longer than 64\n", col_at(at)));
    /* 25 conditions (24 kept), 9 references (8), 9 contents (8), 17 op names (16) */
    blen = 0;
    put(H);
    for (int i = 0; i < 25; i++) {
        size_t o = put("op:a; ");
        if (i == 24) at = o;
    }
    put("sid:1;)");
    expect_err(big, WANT("t.rules:1:%d: too many conditions (at most 24)\n", col_at(at)));
    blen = 0;
    put(H);
    for (int i = 0; i < 9; i++) {
        size_t o = put("reference:url,x%d; ", i);
        if (i == 8) at = o;
    }
    put("sid:1;)");
    expect_err(big, WANT("t.rules:1:%d: too many references (at most 8)\n", col_at(at)));
    blen = 0;
    put(H);
    for (int i = 0; i < 9; i++) {
        size_t o = put("content:\"a\"; ");
        if (i == 8) at = o;
    }
    put("sid:1;)");
    expect_err(big, WANT("t.rules:1:%d: too many content keywords (at most 8)\n", col_at(at)));
    blen = 0;
    put(H "op:");
    for (int i = 0; i < 17; i++) {
        size_t o = put("%c%s", 'a' + i, i < 16 ? "," : "");
        if (i == 16) at = o;
    }
    put("; sid:1;)");
    expect_err(big, WANT("t.rules:1:%d: too many op names (at most 16)\n", col_at(at)));
    /* 17 SRs (16), 9 threat codes (8) */
    blen = 0;
    put(H "iec62443: ");
    for (int i = 0; i < 17; i++) {
        size_t o = put("%ssr ", i ? ", " : "");
        o = put("\"SR 1.%d\"", i + 1);
        if (i == 16) at = o;
    }
    put("; sid:1;)");
    expect_err(big, WANT("t.rules:1:%d: too many SRs (at most 16)\n", col_at(at)));
    static const char *const tcs[] = {"TC.SOC", "TC.ZDE", "TC.PRV", "TC.HCK",    "TC.MAL",
                                      "TC.DOS", "TC.VUL", "TC.OBS", "TC.HCK.CMD"};
    blen = 0;
    put(H "iso27032: ");
    for (int i = 0; i < 9; i++) {
        size_t o = put("%s%s", tcs[i], i < 8 ? ", " : "");
        if (i == 8) at = o;
    }
    put("; sid:1;)");
    expect_err(big, WANT("t.rules:1:%d: too many threat codes (at most 8)\n", col_at(at)));
    /* 257 variables (256) */
    blen = 0;
    for (int i = 0; i < 257; i++)
        put("var V%d 1\n", i);
    put(H "sid:1;)");
    expect_err(big, "t.rules:257:1: too many variables (at most 256)\n");
    /* single rules, columns counted by hand: H is 30 bytes */
    expect_err(H "content:\"a;b\"; sid:1;)", "t.rules:1:41: ';' in content must be escaped\n");
    expect_err(H "detection_filter: track by_src, count 1, seconds 1; "
                 "detection_filter: track by_src, count 2, seconds 1; sid:1;)",
               "t.rules:1:83: only one detection_filter per rule\n");
    expect_err(H "field:a..b 1; sid:1;)", "t.rules:1:37: bad field path 'a..b'\n");
    expect_err(H "field:a.b.c.d.e 1; sid:1;)", "t.rules:1:37: bad field path 'a.b.c.d.e'\n");
    expect_err(H ":x; sid:1;)", "t.rules:1:31: expected a keyword\n");
    expect_err("(sid:1;)", "t.rules:1:1: empty rule header\n");
    expect_err(H "sid:1;)\n \\\n(sid:2;)", "t.rules:2:2: empty rule header\n");
    expect_err(H "msg:\"a\"b\"c\"; sid:1;)", "t.rules:1:37: unescaped '\"' inside a string\n");
}
END_TEST

START_TEST(zone_limit_errors)
{
    const char *r = "alert tcp $PLC any -> any any (sid:1;)";
    struct ruleset *rs;
    size_t at = 0;
    /* 65 addresses in one zone (64 kept), an address of 64 bytes or more */
    blen = 0;
    put("zone PLC ");
    for (int i = 0; i < 65; i++) {
        size_t o = put("10.0.%d.1%s", i, i < 64 ? "," : "");
        if (i == 64) at = o;
    }
    put("\n");
    rs = ruleset_load_texts("t.rules", r, strlen(r), NULL, big, err, sizeof(err));
    ck_assert_ptr_null(rs);
    ck_assert_str_eq(err, WANT("zones.conf:1:%d: too many or too long addresses\n"
                               "t.rules:1:11: unknown variable '$PLC'\n",
                               col_at(at)));
    blen = 0;
    put("zone PLC 10.0.0.1,");
    at = put("1111:2222:3333:4444:5555:6666:7777:8888:9999:aaaa:bbbb:cccc:dddd\n");
    rs = ruleset_load_texts("t.rules", r, strlen(r), NULL, big, err, sizeof(err));
    ck_assert_ptr_null(rs);
    ck_assert_str_eq(err, WANT("zones.conf:1:%d: too many or too long addresses\n"
                               "t.rules:1:11: unknown variable '$PLC'\n",
                               col_at(at)));
    /* 257 zones (256), 1025 conduits (1024) */
    blen = 0;
    for (int i = 0; i < 257; i++)
        put("zone Z%d 10.%d.%d.0/24\n", i, i / 256, i % 256);
    put("zone PLC 10.255.0.1\n");
    rs = ruleset_load_texts("t.rules", r, strlen(r), NULL, big, err, sizeof(err));
    ck_assert_ptr_null(rs);
    ck_assert_str_eq(err, "zones.conf:257:1: too many zones (at most 256)\n"
                          "zones.conf:258:1: too many zones (at most 256)\n"
                          "t.rules:1:11: unknown variable '$PLC'\n");
    blen = 0;
    put("zone PLC 10.0.0.1\n");
    for (int i = 0; i < 1025; i++)
        put("conduit PLC PLC\n");
    rs = ruleset_load_texts("t.rules", r, strlen(r), NULL, big, err, sizeof(err));
    ck_assert_ptr_null(rs);
    ck_assert_str_eq(err, "zones.conf:1026:1: too many conduits (at most 1024)\n");
    /* single lines */
#define ZONE_ERR(text, want)                                                                       \
    rs = ruleset_load_texts("t.rules", r, strlen(r), NULL, text, err, sizeof(err));                \
    ck_assert_ptr_null(rs);                                                                        \
    ck_assert_str_eq(err, want);
    ZONE_ERR("zone PLC []\n", "zones.conf:1:10: zone needs at least one address\n"
                              "t.rules:1:11: unknown variable '$PLC'\n");
    ZONE_ERR("zone PLC 1.2.3.4\nconduit PLC\n", "zones.conf:2:1: conduit needs two zones\n");
    ZONE_ERR("zone PLC 1.2.3.4 a b c d e f g h i j k l m n\n",
             "zones.conf:1:1: too many words\n"
             "t.rules:1:11: unknown variable '$PLC'\n");
#undef ZONE_ERR
}
END_TEST

START_TEST(classification_limit_errors)
{
    const char *r = H "sid:1;)";
    struct ruleset *rs;
    size_t at = 0;
    blen = 0;
    put("config classification: a,b,1,FR1,");
    for (int i = 0; i < 17; i++) {
        size_t o = put("SR 1.%d%s", i + 1, i < 16 ? "|" : "");
        if (i == 16) at = o;
    }
    put("\n");
    rs = ruleset_load_text("t.rules", r, strlen(r), big, err, sizeof(err));
    ck_assert_ptr_null(rs);
    ck_assert_str_eq(err,
                     WANT("classification.config:1:%d: too many SRs (at most 16)\n", col_at(at)));
    static const char *const tcs[] = {"TC.SOC", "TC.ZDE", "TC.PRV", "TC.HCK",    "TC.MAL",
                                      "TC.DOS", "TC.VUL", "TC.OBS", "TC.HCK.CMD"};
    blen = 0;
    put("config classification: a,b,1,FR1,-,");
    for (int i = 0; i < 9; i++) {
        size_t o = put("%s%s", tcs[i], i < 8 ? "|" : "");
        if (i == 8) at = o;
    }
    put("\n");
    rs = ruleset_load_text("t.rules", r, strlen(r), big, err, sizeof(err));
    ck_assert_ptr_null(rs);
    ck_assert_str_eq(
        err, WANT("classification.config:1:%d: too many threat codes (at most 8)\n", col_at(at)));
    rs = ruleset_load_text("t.rules", r, strlen(r), "config classification: ,b,1\n", err,
                           sizeof(err));
    ck_assert_ptr_null(rs);
    ck_assert_str_eq(err, "classification.config:1:23: empty classtype name\n");
}
END_TEST

/* The suppression file: every error with its column (counted by hand). */
static void supp_err(const char *text, const char *want)
{
    const char *r = "var SRV 10.0.0.2\n" H "sid:1;)\n" H "sid:2; gid:3;)\n";
    struct ruleset_texts t = {"t.rules", r, strlen(r), NULL, NULL, text};
    struct ruleset *rs = ruleset_load_mem(&t, err, sizeof(err));
    ck_assert_msg(rs == NULL, "loaded: %s", text);
    ck_assert_str_eq(err, want);
}

START_TEST(suppress_errors)
{
    supp_err("supress gen_id 1, sig_id 1\n",
             "threshold.config:1:1: unknown directive 'supress' (expected suppress or "
             "threshold)\n");
    supp_err("rate_filter gen_id 1, sig_id 1, track by_src, count 1, seconds 1, new_action "
             "drop, timeout 5\n",
             "threshold.config:1:1: rate_filter is not supported (use suppress or threshold)\n");
    supp_err("event_filter gen_id 1, sig_id 1\n",
             "threshold.config:1:1: event_filter is not supported (use suppress or threshold)\n");
    supp_err("suppress\n", "threshold.config:1:1: suppress needs gen_id and sig_id\n");
    supp_err("# c\n  suppress gen_id 1\n",
             "threshold.config:2:3: suppress needs gen_id and sig_id\n");
    supp_err("suppress gen_id 1, sid 1\n",
             "threshold.config:1:20: unknown suppress setting 'sid'\n");
    supp_err("suppress gen_id 1, sig_id 1, count 2\n",
             "threshold.config:1:30: unknown suppress setting 'count'\n");
    supp_err("threshold gen_id 1, sig_id 1, ip 1.2.3.4\n",
             "threshold.config:1:31: unknown threshold setting 'ip'\n");
    supp_err("suppress gen_id 1, sig_id x1\n",
             "threshold.config:1:27: sig_id must be a number from 0 to 4294967295\n");
    supp_err("suppress gen_id 4294967296, sig_id 1\n",
             "threshold.config:1:17: gen_id must be a number from 0 to 4294967295\n");
    supp_err("suppress gen_id, sig_id 1\n", "threshold.config:1:10: gen_id needs a value\n");
    supp_err("suppress gen_id 1, sig_id 1, sig_id 2\n",
             "threshold.config:1:30: sig_id given twice\n");
    supp_err("suppress gen_id 1, , sig_id 1\n", "threshold.config:1:20: empty setting\n");
    supp_err("suppress gen_id 1, sig_id 1,\n", "threshold.config:1:29: empty setting\n");
    supp_err("suppress gen_id 1, sig_id 1, a 1, b 2, c 3, d 4, e 5, f 6, g 7\n",
             "threshold.config:1:60: too many settings (at most 8)\n");
    supp_err("suppress gen_id 1, sig_id 1, track by_source, ip 1.2.3.4\n",
             "threshold.config:1:36: track must be by_src, by_dst or by_either\n");
    supp_err("suppress gen_id 1, sig_id 1, track by_src\n",
             "threshold.config:1:1: suppress: track and ip go together\n");
    supp_err("suppress gen_id 1, sig_id 1, ip 1.2.3.4\n",
             "threshold.config:1:1: suppress: track and ip go together\n");
    supp_err("suppress gen_id 1, sig_id 1, track by_src, ip\n",
             "threshold.config:1:44: ip needs an address, CIDR, list or $VAR\n");
    supp_err("suppress gen_id 1, sig_id 1, track by_src, ip 1.2.3.400\n",
             "threshold.config:1:47: bad address '1.2.3.400'\n");
    supp_err("suppress gen_id 1, sig_id 1, track by_src, ip [1.2.3.4,10.0.0.0/40]\n",
             "threshold.config:1:56: prefix length 40 is longer than 32\n");
    supp_err("suppress gen_id 1, sig_id 1, track by_src, ip $NOPE\n",
             "threshold.config:1:47: unknown variable '$NOPE'\n");
    supp_err("suppress gen_id 1, sig_id 7\n",
             "threshold.config:1:1: no loaded rule has gen_id 1, sig_id 7\n");
    supp_err("suppress gen_id 1, sig_id 2\n",
             "threshold.config:1:1: no loaded rule has gen_id 1, sig_id 2\n"); /* sid 2 is gid 3 */
    supp_err("threshold gen_id 1, sig_id 1, type limit, track by_src, count 1\n",
             "threshold.config:1:1: threshold needs type, track, count and seconds\n");
    supp_err("threshold gen_id 1, sig_id 1, type rate, track by_src, count 1, seconds 1\n",
             "threshold.config:1:36: threshold type must be limit, threshold or both\n");
    supp_err("threshold gen_id 1, sig_id 1, type limit, track by_either, count 1, seconds 1\n",
             "threshold.config:1:49: track must be by_src, by_dst, by_rule or by_both\n");
    supp_err("threshold gen_id 1, sig_id 1, type limit, track by_src, count 0, seconds 1\n",
             "threshold.config:1:1: threshold count and seconds must be at least 1\n");
    /* several lines: every error, in order */
    supp_err("suppress gen_id 1, sig_id 1\nfoo\nsuppress gen_id 3, sig_id 9\n",
             "threshold.config:2:1: unknown directive 'foo' (expected suppress or threshold)\n"
             "threshold.config:3:1: no loaded rule has gen_id 3, sig_id 9\n");
    /* the file itself must exist */
    const char *paths[] = {"/nonexistent/r.rules"};
    struct ruleset_files f = {paths, 0, NULL, NULL, "/nonexistent/threshold.config"};
    ck_assert_ptr_null(ruleset_load_files(&f, err, sizeof(err)));
    ck_assert_str_eq(err,
                     "/nonexistent/threshold.config:0:0: cannot open: No such file or directory\n");
}
END_TEST

START_TEST(suppress_ok)
{
    const char *r = "var SRV 10.0.0.2\n" H "sid:1;)\n" H "sid:2; gid:3;)\n";
    const char *text = "# comment\n\n"
                       "suppress gen_id 1, sig_id 1\n"
                       "suppress gen_id 3, sig_id 2, track by_either, ip [$SRV, 10.1.0.0/16]\n"
                       "suppress gen_id 0, sig_id 0, track by_dst, ip fd00::1\n"
                       "threshold gen_id 3, sig_id 2, type both, track by_rule, count 5, "
                       "seconds 9\n";
    struct ruleset_texts t = {"t.rules", r, strlen(r), NULL, NULL, text};
    struct ruleset *rs = ruleset_load_mem(&t, err, sizeof(err));
    ck_assert_msg(rs != NULL, "%s", err);
    ck_assert_ptr_nonnull(rs->rules[0].supp);
    ck_assert_int_eq(rs->rules[0].supp->track, SUPP_ALL);
    ck_assert_ptr_null(rs->rules[0].supp->next);
    ck_assert_int_eq(rs->rules[1].supp->track, SUPP_EITHER);
    ck_assert_int_eq(rs->rules[1].supp->ips.n, 2);
    ck_assert_ptr_nonnull(rs->supp_all);
    ck_assert_int_eq(rs->supp_all->ips.n, 1);
    ck_assert_int_eq(rs->rules[1].thr.type, THR_BOTH);
    ck_assert_int_eq(rs->rules[1].thr.track, TRACK_RULE);
    ck_assert_int_eq(rs->rules[1].thr.count, 5);
    ck_assert_int_eq(rs->rules[1].thr.seconds, 9);
    ck_assert_int_eq(rs->rules[0].thr.type, THR_NONE);
    ruleset_free(rs);
}
END_TEST

/* ---- what parses ---- */

START_TEST(suricata_modbus_examples)
{
    /* Suricata's documented modbus examples */
    static const char *const ex[] = {
        "function 21",
        "function 4, subfunction 4",
        "function assigned",
        "function public",
        "function user",
        "function reserved",
        "function !reserved",
        "access read",
        "access write",
        "access read input",
        "access write coils",
        "access read discretes, address <100",
        "access write holding, address 500, value >200",
        "unit 10",
        "unit 10, function 21",
        "unit 10<>20, access read",
        "unit <10",
        "function !3", /* ours: negated number */
    };
    char buf[512];
    for (size_t i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
        snprintf(buf, sizeof(buf),
                 "alert modbus any any -> any 502 (msg:\"x\"; modbus: %s; sid:%zu;)", ex[i], i + 1);
        expect_ok(buf);
    }
}
END_TEST

START_TEST(suricata_dnp3_enip_examples)
{
    expect_ok("alert dnp3 any any -> any any (dnp3_func:write; sid:1;)\n"
              "alert dnp3 any any -> any any (dnp3_func:2; sid:2;)\n"
              "alert dnp3 any any -> any any (dnp3_func:unsolicited_response; sid:3;)\n"
              "alert dnp3 any any -> any any (dnp3_ind:all_stations; sid:4;)\n"
              "alert dnp3 any any -> any any (dnp3_ind:class_1_events,class_2_events; sid:5;)\n"
              "alert dnp3 any any -> any any (dnp3_obj:1,2; sid:6;)\n"
              "alert tcp any any -> any 20000 (dnp3_func:cold_restart; sid:7;)\n"
              "alert enip any any -> any any (enip_command:99; sid:8;)\n"
              "alert enip any any -> any any (enip_command:list_identity; sid:9;)\n"
              "alert enip any any -> any any (cip_service:75; sid:10;)\n"
              "alert enip any any -> any any (cip_service:16,246,6; sid:11;)\n"
              "alert tcp any any -> any 44818 (cip_service:1,1; sid:12;)\n");
}
END_TEST

START_TEST(design_example_and_ours)
{
    /* DESIGN §5's example, over two lines, with a zone-like variable */
    const char *t = "var ENGINEERING [10.1.1.0/24,!10.1.1.9]\n"
                    "ipvar PLC_NET 10.2.0.0/16\n"
                    "alert modbus $ENGINEERING any -> $PLC_NET 502 (msg:\"Modbus write from "
                    "outside engineering\";\n"
                    "  modbus: access write; iec62443: fr FR2, sr \"SR 2.1\"; iso27032: "
                    "TC.HCK.CMD;\n"
                    "  classtype:ot-write; sid:1000001; rev:1;)\n";
    struct ruleset *rs = ruleset_load_text("t.rules", t, strlen(t), cls_text, err, sizeof(err));
    ck_assert_msg(rs != NULL, "%s", err);
    ck_assert_int_eq(rs->nrules, 1);
    const struct rule *r = &rs->rules[0];
    ck_assert_int_eq(r->line, 3);
    ck_assert_uint_eq(r->sid, 1000001);
    ck_assert_int_eq(r->src.n, 2); /* 10.1.1.0/24 and !10.1.1.9 */
    ck_assert_int_eq(r->src.v[1].neg, 1);
    ck_assert_int_eq(r->src.v[1].bits, 128);
    ck_assert_int_eq(r->dst.v[0].bits, 96 + 16);
    ck_assert_int_eq(r->dp.n, 1);
    ck_assert_int_eq(r->dp.v[0].lo, 502);
    ck_assert_uint_eq(r->fr, 1u << 1);
    ck_assert_int_eq(r->nsr, 1);
    ck_assert_str_eq(r->sr[0], "SR 2.1");
    ck_assert_int_eq(r->ntc, 1);
    ck_assert_str_eq(r->classtype, "ot-write");
    ck_assert_ptr_nonnull(r->cls);
    ck_assert_int_eq(r->eff_severity, 3); /* classtype priority 2 -> high */
    ruleset_free(rs);

    expect_ok("alert iec104 any any -> any 2404 (iec104: type 45, cot 6; sid:1;)\n"
              "alert iec104 any any -> any any (iec104: type C_SC_NA_1; sid:2;)\n"
              "alert iec104 any any -> any any (iec104: apci U, u \"stopdt_act\"; sid:3;)\n"
              "alert s7comm any any -> any 102 (s7comm: rosctr 1, function 0x29; sid:4;)\n"
              "alert s7comm any any -> any 102 (s7comm: pi_service \"_N_*\"; sid:5;)\n"
              "alert ip any any -> any any (event:flow.new; sid:6;)\n"
              "alert any any any -> any any (app-layer-event:decoder.ipv4_truncated; sid:7;)\n"
              "alert modbus any any <> any any (op:write_single_register,write_single_coil; "
              "code:5-7; severity:high; sid:8;)\n"
              "pass modbus 10.0.0.1 any -> any any (modbus: function 6; sid:9;)\n"
              "alert tcp any [1024:,!8080] -> [::1,fe80::/10] :1023 (flow:established,to_server; "
              "content:\"ab|00 01|c\"; nocase; offset:2; depth:10; content:!\"x\"; distance:0; "
              "within:4; sid:10; gid:3; priority:1; reference:url,example.com; "
              "metadata:created 2026, updated 2026; metadata:x y; rawbytes;)\n"
              "alert modbus any any -> any any (threshold: type both, track by_src, count 3, "
              "seconds 60; detection_filter: track by_dst, count 2, seconds 10; sid:11;)\n"
              "alert mqtt any any -> any any (mqtt: type 1, password_present true; sid:12;)\n"
              "alert cip any any -> any any (cip: service 0x4d, tag \"Motor*\"; sid:13;)\n"
              "alert dnp3 any any -> any any (field: al.func 13; sid:14;)\n"
              "alert tcp any any -> any any (iso27032: TC.HCK.CMD, TC.DOS.HALT; iec62443: sr "
              "\"SR 2.11 RE1\"; sid:15;)\n"
              "alert tcp any any -> any any \\\n  (sid:16;)\n");
}
END_TEST

START_TEST(dispatch_keys)
{
    const char *t = "alert modbus any any -> any any (modbus: function 6; sid:1;)\n"
                    "alert modbus any any -> any any (modbus: access write; sid:2;)\n"
                    "alert tcp any any -> any any (dnp3_func:13; sid:3;)\n"
                    "alert tcp any any -> any any (sid:4;)\n"
                    "alert tcp any any -> any any (code:5; sid:5;)\n";
    struct ruleset *rs = load(t);
    ck_assert_msg(rs != NULL, "%s", err);
    ck_assert_int_eq(rs->rules[0].has_code_key, 1);
    ck_assert_int_eq(rs->rules[0].ncodes, 1);
    ck_assert_int_eq(rs->rules[0].codes[0], 6);
    ck_assert_int_eq(rs->rules[1].has_code_key, 1); /* access write: the write codes */
    ck_assert_int_eq(rs->rules[1].ncodes, 7);
    ck_assert_int_eq(rs->rules[2].has_code_key, 1);
    ck_assert_int_ge(rs->rules[2].proto, 0);
    ck_assert_str_eq(rs->protos[rs->rules[2].proto].name, "dnp3");
    ck_assert_int_eq(rs->rules[3].proto, -1);
    ck_assert_int_eq(rs->rules[4].has_code_key, 0); /* code without protocol: generic */
    ck_assert_int_eq(rs->ngeneric, 2);
    ruleset_free(rs);
}
END_TEST

START_TEST(classification_ok)
{
    const char *t = H "classtype:ot-write; sid:1;)\n" H "classtype:misc-activity; sid:2;)\n";
    struct ruleset *rs = ruleset_load_text("t.rules", t, strlen(t), cls_text, err, sizeof(err));
    ck_assert_msg(rs != NULL, "%s", err);
    const struct classification *c = ruleset_classification(rs, "ot-write");
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(c->fr, 0x3);
    ck_assert_int_eq(c->nsr, 2);
    ck_assert_str_eq(c->sr[1], "SR 2.1");
    ck_assert_str_eq(c->tc[0], "TC.HCK.CMD");
    ck_assert_int_eq(rs->rules[0].eff_severity, 3); /* priority 2 */
    ck_assert_int_eq(rs->rules[1].eff_severity, 2); /* priority 3 */
    ruleset_free(rs);
}
END_TEST

START_TEST(shipped_files)
{
    /* the default ruleset and classification file load cleanly */
    char rules[4096], cls[4096];
    const char *root = getenv("OTS_SOURCE_DIR");
    snprintf(rules, sizeof(rules), "%s/rules/otsensor", root ? root : ".");
    snprintf(cls, sizeof(cls), "%s/rules/classification.config", root ? root : ".");
    const char *paths[] = {rules};
    struct ruleset *rs = ruleset_load(paths, 1, cls, NULL, err, sizeof(err));
    ck_assert_msg(rs != NULL, "%s", err);
    /* modbus 25, dnp3 29, iec104 23, s7 22 + 8, enip/cip 20, bacnet 16, mqtt 7, cross 10,
     * opcua 16, mms 14 + goose 10 + sv 1, profinet_dcp 9, hart_ip 5 + fins 14 */
    ck_assert_int_eq(rs->nrules, 229);
    for (int i = 0; i < rs->nrules; i++) {
        const struct rule *r = &rs->rules[i];
        /* FR from the rule or its classtype; TC and severity always the rule's own */
        ck_assert_msg((r->fr || (r->cls && r->cls->fr)) && r->ntc && r->severity >= 0 && r->msg &&
                          r->cls,
                      "sid %u lacks tags", r->sid);
    }
    ruleset_free(rs);
    const char *missing[] = {"/nonexistent/x.rules"};
    rs = ruleset_load(missing, 1, NULL, NULL, err, sizeof(err));
    ck_assert_ptr_null(rs);
    ck_assert_str_eq(err, "/nonexistent/x.rules:0:0: cannot open: No such file or directory\n");
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("rule_parse");
    TCase *tc = tcase_create("errors");
    tcase_add_test(tc, header_errors);
    tcase_add_test(tc, address_errors);
    tcase_add_test(tc, port_errors);
    tcase_add_test(tc, variable_errors);
    tcase_add_test(tc, option_errors);
    tcase_add_test(tc, content_errors);
    tcase_add_test(tc, threshold_errors);
    tcase_add_test(tc, event_errors);
    tcase_add_test(tc, modbus_errors);
    tcase_add_test(tc, ot_keyword_errors);
    tcase_add_test(tc, tag_errors);
    tcase_add_test(tc, several_errors);
    tcase_add_test(tc, classification_errors);
    tcase_add_test(tc, zone_errors);
    tcase_add_test(tc, suppress_errors);
    tcase_add_test(tc, limit_errors);
    tcase_add_test(tc, zone_limit_errors);
    tcase_add_test(tc, classification_limit_errors);
    suite_add_tcase(s, tc);
    TCase *ok = tcase_create("ok");
    tcase_add_test(ok, suricata_modbus_examples);
    tcase_add_test(ok, suricata_dnp3_enip_examples);
    tcase_add_test(ok, design_example_and_ours);
    tcase_add_test(ok, dispatch_keys);
    tcase_add_test(ok, classification_ok);
    tcase_add_test(ok, shipped_files);
    tcase_add_test(ok, suppress_ok);
    suite_add_tcase(s, ok);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
