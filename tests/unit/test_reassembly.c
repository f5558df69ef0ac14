/* test_reassembly.c - TCP stream reassembly: exact delivered bytes and gaps.
 *
 * The recording callback turns the output into text: delivered bytes as they are,
 * a gap of N bytes as "[N]". So "ab[3]fg" means: 'a','b', three bytes lost, 'f','g'. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "reassembly.h"
#include "tcp_opts.h"
#include "testutil.h"

struct trace {
    char s[4096];
    size_t n;
    int calls;
    const uint8_t *last_ptr; /* data pointer of the last delivery */
};

static void rec_out(void *ctx, const uint8_t *data, uint32_t len, uint32_t gap_len)
{
    struct trace *t = ctx;
    int w;

    t->calls++;
    if (data == NULL) {
        ck_assert_uint_eq(len, 0);
        ck_assert_uint_gt(gap_len, 0);
        w = snprintf(t->s + t->n, sizeof(t->s) - t->n, "[%u]", gap_len);
        ck_assert(w > 0 && (size_t)w < sizeof(t->s) - t->n);
        t->n += (size_t)w;
        return;
    }
    ck_assert_uint_eq(gap_len, 0);
    ck_assert_uint_gt(len, 0);
    ck_assert_uint_lt(len, sizeof(t->s) - t->n);
    memcpy(t->s + t->n, data, len);
    t->n += len;
    t->s[t->n] = '\0';
    t->last_ptr = data;
}

/* One worker, two directions (a, b), one trace each. */
static struct reasm_global G;
static struct reasm_dir A, B;
static struct trace TA, TB;

static void init(uint32_t per_dir, uint32_t segs, uint64_t global, uint32_t history)
{
    struct reasm_config cfg = {per_dir, segs, global, history};

    reasm_global_init(&G, &cfg);
    memset(&A, 0, sizeof(A));
    memset(&B, 0, sizeof(B));
    memset(&TA, 0, sizeof(TA));
    memset(&TB, 0, sizeof(TB));
}

/* roomy caps, 256 bytes of history */
static void init_default(void)
{
    init(1 << 20, 64, 1 << 24, 256);
}

static unsigned put(struct reasm_dir *d, uint32_t seq, const char *s)
{
    struct trace *t = d == &A ? &TA : &TB;
    unsigned ev = reasm_data(&G, d, seq, (const uint8_t *)s, (uint32_t)strlen(s), rec_out, t);

    ck_assert_int_eq(reasm_dir_check(d), 0);
    return ev;
}

static unsigned ack(struct reasm_dir *d, uint32_t a)
{
    unsigned ev = reasm_ack(&G, d, a, rec_out, d == &A ? &TA : &TB);

    ck_assert_int_eq(reasm_dir_check(d), 0);
    return ev;
}

static unsigned flush(struct reasm_dir *d)
{
    unsigned ev = reasm_flush(&G, d, rec_out, d == &A ? &TA : &TB);

    ck_assert_int_eq(reasm_dir_check(d), 0);
    ck_assert_uint_eq(d->nsegs, 0);
    ck_assert_uint_eq(d->held_bytes, 0);
    return ev;
}

/* Frees both directions; nothing may stay counted as held. */
static void finish(void)
{
    reasm_dir_free(&G, &A);
    reasm_dir_free(&G, &B);
    ck_assert_uint_eq(G.stats.held_bytes, 0);
    ck_assert_ptr_null(A.segs);
    ck_assert_ptr_null(A.hist);
}

START_TEST(test_in_order)
{
    static const char hello[] = "hello";

    init_default();
    reasm_syn(&A, 1000);
    ck_assert_uint_eq(A.next_seq, 1001);
    ck_assert_uint_eq(reasm_data(&G, &A, 1001, (const uint8_t *)hello, 5, rec_out, &TA), 0);
    /* the in-order path hands the caller's buffer through, no copy */
    ck_assert_ptr_eq(TA.last_ptr, (const uint8_t *)hello);
    ck_assert_uint_eq(put(&A, 1006, " world"), 0);
    ck_assert_str_eq(TA.s, "hello world");
    ck_assert_int_eq(TA.calls, 2);
    ck_assert_uint_eq(A.next_seq, 1012);
    ck_assert_uint_eq(G.stats.segments, 2);
    ck_assert_uint_eq(G.stats.bytes_delivered, 11);
    ck_assert_uint_eq(G.stats.gaps, 0);
    ck_assert_uint_eq(G.stats.held_bytes, 0);
    /* the history holds the delivered bytes */
    ck_assert_uint_eq(A.hist_len, 11);
    finish();
}
END_TEST

/* Three segments in every order: the stream is the same, delivered as soon as it is
 * contiguous, and a segment is held exactly when something before it is missing. */
START_TEST(test_out_of_order_permutations)
{
    static const int perm[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                   {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    static const char *seg[3] = {"AAAA", "BBBB", "CCCC"};
    static const char *prefix[4] = {"", "AAAA", "AAAABBBB", "AAAABBBBCCCC"};
    int p = _i, k, arrived[3] = {0, 0, 0}, run, held = 0;
    unsigned ev;

    init_default();
    reasm_syn(&A, 100);
    for (k = 0; k < 3; k++) {
        int i = perm[p][k];
        int before_missing = 0;
        for (int j = 0; j < i; j++)
            before_missing |= !arrived[j];
        ev = put(&A, 101 + 4 * (uint32_t)i, seg[i]);
        arrived[i] = 1;
        held += before_missing;
        ck_assert_uint_eq(ev, before_missing ? REASM_EV_OUT_OF_ORDER : 0);
        for (run = 0; run < 3 && arrived[run]; run++)
            ;
        ck_assert_str_eq(TA.s, prefix[run]);
    }
    ck_assert_str_eq(TA.s, "AAAABBBBCCCC");
    ck_assert_uint_eq(A.next_seq, 113);
    ck_assert_uint_eq(G.stats.out_of_order, (uint64_t)held);
    ck_assert_uint_eq(G.stats.gaps, 0);
    ck_assert_uint_eq(G.stats.held_bytes, 0);
    ck_assert_ptr_null(A.segs);
    ck_assert_ptr_null(A.tail);
    finish();
}
END_TEST

START_TEST(test_retransmit_identical)
{
    init_default();
    reasm_syn(&A, 0);
    ck_assert_uint_eq(put(&A, 1, "hello"), 0);
    /* same bytes again: counted, not delivered again */
    ck_assert_uint_eq(put(&A, 1, "hello"), REASM_EV_RETRANSMIT);
    ck_assert_uint_eq(put(&A, 3, "ll"), REASM_EV_RETRANSMIT);
    ck_assert_str_eq(TA.s, "hello");
    ck_assert_uint_eq(G.stats.retransmissions, 2);
    ck_assert_uint_eq(G.stats.overlaps_changed, 0);
    /* a held segment sent twice is held once */
    ck_assert_uint_eq(put(&A, 10, "CCCC"), REASM_EV_OUT_OF_ORDER);
    ck_assert_uint_eq(put(&A, 10, "CCCC"), REASM_EV_RETRANSMIT);
    ck_assert_uint_eq(A.nsegs, 1);
    ck_assert_uint_eq(A.held_bytes, 4);
    ck_assert_uint_eq(put(&A, 6, "wxyz"), 0);
    ck_assert_str_eq(TA.s, "hellowxyzCCCC");
    ck_assert_uint_eq(G.stats.retransmissions, 3);
    /* a one-byte keepalive just before next_seq carries a junk byte: not a change */
    ck_assert_uint_eq(put(&A, 13, "!"), REASM_EV_RETRANSMIT);
    ck_assert_uint_eq(G.stats.overlaps_changed, 0);
    finish();
}
END_TEST

START_TEST(test_overlap_changed_delivered)
{
    init_default();
    reasm_syn(&A, 0);
    put(&A, 1, "hello");
    /* 'e' -> 'x' in a copy of delivered bytes: reported, first copy stays */
    ck_assert_uint_eq(put(&A, 1, "hxllo"), REASM_EV_OVERLAP_CHANGED);
    ck_assert_uint_eq(G.stats.overlaps_changed, 1);
    ck_assert_uint_eq(G.stats.retransmissions, 1);
    /* changed old part, new tail: tail delivered, change reported */
    ck_assert_uint_eq(put(&A, 4, "LO!"), REASM_EV_OVERLAP_CHANGED);
    ck_assert_str_eq(TA.s, "hello!");
    ck_assert_uint_eq(G.stats.overlaps_changed, 2);
    ck_assert_uint_eq(G.stats.overlaps, 1);
    finish();
}
END_TEST

START_TEST(test_overlap_changed_held)
{
    init_default();
    reasm_syn(&A, 0);
    put(&A, 1, "abc");
    ck_assert_uint_eq(put(&A, 11, "world"), REASM_EV_OUT_OF_ORDER);
    /* a second copy of held bytes with one byte changed */
    ck_assert_uint_eq(put(&A, 11, "wXrld"), REASM_EV_OVERLAP_CHANGED);
    /* a copy that overlaps the held one's end and adds new bytes after it */
    ck_assert_uint_eq(put(&A, 14, "LD!!"), REASM_EV_OVERLAP_CHANGED | REASM_EV_OUT_OF_ORDER);
    ck_assert_uint_eq(A.held_bytes, 7);
    ck_assert_uint_eq(A.nsegs, 2);
    /* the hole is filled by a segment that also covers the first held bytes, changed */
    ck_assert_uint_eq(put(&A, 4, "defghijWo"), REASM_EV_OVERLAP_CHANGED);
    ck_assert_str_eq(TA.s, "abcdefghijworld!!");
    ck_assert_uint_eq(G.stats.overlaps_changed, 3);
    ck_assert_uint_eq(G.stats.held_bytes, 0);
    finish();
}
END_TEST

/* Without history the delivered bytes cannot be compared; with a short history only
 * the most recent ones can. */
START_TEST(test_overlap_history_limits)
{
    init(1 << 20, 64, 1 << 24, 0);
    put(&A, 1, "hello");
    ck_assert_ptr_null(A.hist);
    ck_assert_uint_eq(put(&A, 1, "HELLO"), REASM_EV_RETRANSMIT);
    finish();

    init(1 << 20, 64, 1 << 24, 4);
    put(&A, 1, "abcdefgh");
    ck_assert_uint_eq(A.hist_len, 4);
    ck_assert_uint_eq(put(&A, 1, "Xbcdefgh"), REASM_EV_RETRANSMIT); /* 'a' is too old */
    ck_assert_uint_eq(put(&A, 1, "abcdXfgh"), REASM_EV_OVERLAP_CHANGED);
    ck_assert_uint_eq(put(&A, 7, "X"), REASM_EV_OVERLAP_CHANGED); /* 'g', 2 back */
    /* the ring wraps: it now holds "hijk" */
    put(&A, 9, "ijk");
    ck_assert_uint_eq(put(&A, 8, "hijk"), REASM_EV_RETRANSMIT);
    ck_assert_uint_eq(put(&A, 8, "hiJk"), REASM_EV_OVERLAP_CHANGED);
    ck_assert_uint_eq(put(&A, 7, "Xhijk"), REASM_EV_RETRANSMIT); /* 'g' is 5 back */
    ck_assert_str_eq(TA.s, "abcdefghijk");
    finish();
}
END_TEST

START_TEST(test_partial_overlaps)
{
    unsigned ev;

    init_default();
    reasm_syn(&A, 0);
    put(&A, 1, "abcdef");              /* 1..6 delivered */
    put(&A, 13, "mnop");               /* 13..16 held */
    ev = put(&A, 5, "efghijklmnopqr"); /* old head, new middle, held part, new tail */
    ck_assert_uint_eq(ev, REASM_EV_RETRANSMIT);
    ck_assert_str_eq(TA.s, "abcdefghijklmnopqr");
    ck_assert_uint_eq(G.stats.overlaps, 1);
    ck_assert_uint_eq(G.stats.retransmissions, 0);
    finish();

    /* the same with both overlapping parts changed: first copies delivered */
    init_default();
    reasm_syn(&A, 0);
    put(&A, 1, "abcdef");
    put(&A, 13, "mnop");
    ev = put(&A, 5, "eFghijklmNopqr");
    ck_assert_uint_eq(ev, REASM_EV_OVERLAP_CHANGED);
    ck_assert_str_eq(TA.s, "abcdefghijklmnopqr");
    finish();

    /* overlap at a held segment's start, its end, and spanning two with holes */
    init_default();
    reasm_syn(&A, 0);
    put(&A, 1, "ab");
    put(&A, 7, "gh");  /* 7..8 */
    put(&A, 11, "kl"); /* 11..12 */
    ck_assert_uint_eq(put(&A, 5, "efg"), REASM_EV_RETRANSMIT | REASM_EV_OUT_OF_ORDER);
    ck_assert_uint_eq(put(&A, 12, "lmn"), REASM_EV_RETRANSMIT | REASM_EV_OUT_OF_ORDER);
    ck_assert_uint_eq(put(&A, 8, "hijk"), REASM_EV_RETRANSMIT | REASM_EV_OUT_OF_ORDER);
    ck_assert_uint_eq(A.held_bytes, 10); /* 5..14, in pieces */
    ck_assert_str_eq(TA.s, "ab");
    ck_assert_uint_eq(put(&A, 2, "bcd"), REASM_EV_RETRANSMIT);
    ck_assert_str_eq(TA.s, "abcdefghijklmn");
    ck_assert_uint_eq(G.stats.held_bytes, 0);
    finish();
}
END_TEST

START_TEST(test_wrap_in_order)
{
    init_default();
    reasm_syn(&A, 0xFFFFFFF0u);
    ck_assert_uint_eq(A.next_seq, 0xFFFFFFF1u);
    ck_assert_uint_eq(put(&A, 0xFFFFFFF1u, "0123456789"), 0); /* ..0xFFFFFFFA */
    ck_assert_uint_eq(put(&A, 0xFFFFFFFBu, "abcdefghij"), 0); /* crosses 0, ..0x4 */
    ck_assert_uint_eq(A.next_seq, 5);
    ck_assert_uint_eq(put(&A, 5, "KLM"), 0);
    /* a retransmission across the wrap is compared with the history */
    ck_assert_uint_eq(put(&A, 0xFFFFFFFEu, "defghijK"), REASM_EV_RETRANSMIT);
    ck_assert_uint_eq(put(&A, 0xFFFFFFFEu, "defgHijK"), REASM_EV_OVERLAP_CHANGED);
    ck_assert_str_eq(TA.s, "0123456789abcdefghijKLM");
    finish();
}
END_TEST

START_TEST(test_wrap_out_of_order)
{
    init_default();
    reasm_syn(&A, 0xFFFFFFF0u);
    /* held: one segment after 0, one crossing 0; then the head fills the hole */
    ck_assert_uint_eq(put(&A, 5, "KLM"), REASM_EV_OUT_OF_ORDER);
    ck_assert_uint_eq(put(&A, 0xFFFFFFFBu, "abcdefghij"), REASM_EV_OUT_OF_ORDER);
    ck_assert_uint_eq(A.nsegs, 2);
    ck_assert_uint_eq(A.segs != NULL && A.tail != A.segs, 1);
    ck_assert_str_eq(TA.s, "");
    ck_assert_uint_eq(put(&A, 0xFFFFFFF1u, "0123456789"), 0);
    ck_assert_str_eq(TA.s, "0123456789abcdefghijKLM");
    ck_assert_uint_eq(A.next_seq, 8);
    finish();

    /* gap across the wrap, by ACK */
    init_default();
    reasm_syn(&A, 0xFFFFFFF0u);
    put(&A, 0xFFFFFFF1u, "ab");
    put(&A, 2, "xy");
    ck_assert_uint_eq(ack(&A, 4), REASM_EV_GAP);
    ck_assert_str_eq(TA.s, "ab[15]xy"); /* 0xFFFFFFF3..0x1 lost */
    finish();
}
END_TEST

START_TEST(test_midstream_pickup)
{
    init_default();
    /* no SYN, no ACK-driven gap: the stream has not started */
    ck_assert_uint_eq(ack(&A, 123456), 0);
    ck_assert_str_eq(TA.s, "");
    ck_assert_uint_eq(put(&A, 5000, "xyz"), 0);
    ck_assert_uint_eq(A.state, REASM_STARTED);
    ck_assert_str_eq(TA.s, "xyz");
    /* older bytes (before the pick-up) are not delivered */
    ck_assert_uint_eq(put(&A, 4990, "0123456789"), REASM_EV_RETRANSMIT);
    ck_assert_uint_eq(put(&A, 5003, "w"), 0);
    ck_assert_str_eq(TA.s, "xyzw");
    /* a SYN once started is ignored */
    reasm_syn(&A, 1);
    ck_assert_uint_eq(A.next_seq, 5004);
    ck_assert_uint_eq(put(&A, 5004, "v"), 0);
    ck_assert_str_eq(TA.s, "xyzwv");
    finish();
}
END_TEST

START_TEST(test_gap_via_ack)
{
    init_default();
    reasm_syn(&A, 0);
    ck_assert_uint_eq(ack(&A, 1), 0); /* acks the SYN */
    ck_assert_uint_eq(ack(&A, 5), 0); /* no data seen yet: no gap */
    ck_assert_uint_eq(A.next_seq, 1);
    put(&A, 1, "abc");                /* 1..3 */
    put(&A, 7, "ghi");                /* 7..9 held */
    ck_assert_uint_eq(ack(&A, 3), 0); /* behind next_seq */
    ck_assert_uint_eq(ack(&A, 4), 0); /* at next_seq */
    ck_assert_str_eq(TA.s, "abc");
    /* the peer acked past the hole 4..6: it is lost */
    ck_assert_uint_eq(ack(&A, 10), REASM_EV_GAP);
    ck_assert_str_eq(TA.s, "abc[3]ghi");
    ck_assert_uint_eq(G.stats.gaps, 1);
    ck_assert_uint_eq(G.stats.gap_bytes, 3);
    /* nothing held, acked beyond: the ACK is for bytes never seen (forged, or the
     * sender's tail was lost); nothing is declared lost until the sender shows more */
    ck_assert_uint_eq(ack(&A, 12), 0);
    ck_assert_str_eq(TA.s, "abc[3]ghi");
    ck_assert_uint_eq(A.next_seq, 10);
    ck_assert_uint_eq(G.stats.ack_unseen, 1);
    /* absurd acks are ignored */
    ck_assert_uint_eq(ack(&A, 12 + 0x80000000u), 0);
    ck_assert_uint_eq(ack(&A, 12 + (1u << 30) + 1), 0);
    /* ack inside a held segment: gap to it, then all of it */
    put(&A, 15, "opqrst"); /* 15..20 */
    put(&A, 25, "yz");     /* 25..26 stays held */
    ck_assert_uint_eq(ack(&A, 17), REASM_EV_GAP);
    ck_assert_str_eq(TA.s, "abc[3]ghi[5]opqrst");
    ck_assert_uint_eq(A.nsegs, 1);
    /* the FIN takes a sequence number: its ack is not a gap */
    put(&A, 21, "uvwx"); /* 21..24, then the held 25..26 */
    reasm_fin(&A, 27);
    ck_assert_uint_eq(ack(&A, 28), 0);
    ck_assert_str_eq(TA.s, "abc[3]ghi[5]opqrstuvwxyz");
    ck_assert_uint_eq(flush(&A), 0);
    finish();
}
END_TEST

/* One forged ACK far ahead (within any window) must not make the sensor skip the
 * bytes the sender sends next; an ACK past held data is taken up to the held data. */
START_TEST(test_ack_for_unseen_data)
{
    init_default();
    reasm_syn(&A, 0);
    put(&A, 1, "abc"); /* 1..3 */
    ck_assert_uint_eq(ack(&A, 100000), 0);
    ck_assert_uint_eq(A.next_seq, 4);
    ck_assert_uint_eq(put(&A, 4, "def"), 0); /* still delivered, in order */
    ck_assert_str_eq(TA.s, "abcdef");
    put(&A, 10, "jk"); /* 10..11 held, 7..9 missing */
    ck_assert_uint_eq(ack(&A, 5000), REASM_EV_GAP);
    ck_assert_str_eq(TA.s, "abcdef[3]jk");
    ck_assert_uint_eq(A.next_seq, 12); /* not 5000 */
    ck_assert_uint_eq(G.stats.ack_unseen, 2);
    ck_assert_uint_eq(put(&A, 12, "lm"), 0);
    ck_assert_str_eq(TA.s, "abcdef[3]jklm");
    /* a FIN shows how far the sender went: the bytes before it are lost */
    reasm_fin(&A, 20);
    ck_assert_uint_eq(ack(&A, 21), REASM_EV_GAP);
    ck_assert_str_eq(TA.s, "abcdef[3]jklm[6]");
    ck_assert_uint_eq(G.stats.ack_unseen, 2);
    finish();
}
END_TEST

/* After a gap the history no longer ends at next_seq: bytes from before the gap must
 * not be compared with what was delivered after it. */
START_TEST(test_gap_resets_history)
{
    init_default();
    reasm_syn(&A, 0);
    put(&A, 1, "abc");                           /* 1..3 */
    put(&A, 6, "xyz");                           /* 6..8, held */
    ck_assert_uint_eq(ack(&A, 9), REASM_EV_GAP); /* 4..5 lost */
    ck_assert_uint_eq(A.hist_len, 3);
    ck_assert_uint_eq(put(&A, 4, "QQ"), REASM_EV_RETRANSMIT); /* late, unknown bytes */
    ck_assert_uint_eq(put(&A, 4, "QQxYz"), REASM_EV_OVERLAP_CHANGED);
    ck_assert_str_eq(TA.s, "abc[2]xyz");
    finish();
}
END_TEST

START_TEST(test_cap_per_dir_bytes)
{
    init(8, 100, 1000, 64);
    reasm_syn(&A, 0);
    put(&A, 1, "ab");
    ck_assert_uint_eq(put(&A, 10, "ffff"), REASM_EV_OUT_OF_ORDER);
    ck_assert_uint_eq(put(&A, 14, "gggg"), REASM_EV_OUT_OF_ORDER);
    ck_assert_uint_eq(A.held_bytes, 8);
    /* two more bytes would exceed 8: flush held, with gaps, then the new segment */
    ck_assert_uint_eq(put(&A, 20, "hh"), REASM_EV_CAP | REASM_EV_GAP);
    ck_assert_str_eq(TA.s, "ab[7]ffffgggg[2]hh");
    ck_assert_uint_eq(G.stats.cap_flushes, 1);
    ck_assert_uint_eq(G.stats.gaps, 2);
    ck_assert_uint_eq(G.stats.gap_bytes, 9);
    ck_assert_uint_eq(A.held_bytes, 0);
    ck_assert_uint_eq(G.stats.held_bytes, 0);
    ck_assert_uint_eq(A.next_seq, 22);
    finish();

    /* a new segment that belongs before the held data is delivered in its place */
    init(8, 100, 1000, 64);
    reasm_syn(&A, 0);
    put(&A, 1, "ab");
    put(&A, 10, "ffff");
    put(&A, 14, "gggg");
    ck_assert_uint_eq(put(&A, 5, "dd"), REASM_EV_CAP | REASM_EV_GAP);
    ck_assert_str_eq(TA.s, "ab[2]dd[3]ffffgggg");
    finish();

    /* ... and one that falls between held segments, in its place too */
    init(8, 100, 1000, 64);
    reasm_syn(&A, 0);
    put(&A, 1, "ab");
    put(&A, 10, "ff");
    put(&A, 20, "gg");
    ck_assert_uint_eq(put(&A, 14, "hhhhh"), REASM_EV_CAP | REASM_EV_GAP); /* 4 + 5 > 8 */
    ck_assert_str_eq(TA.s, "ab[7]ff[2]hhhhh[1]gg");
    ck_assert_uint_eq(A.next_seq, 22);
    finish();

    /* a single segment larger than the cap is delivered, never held */
    init(8, 100, 1000, 64);
    reasm_syn(&A, 0);
    ck_assert_uint_eq(put(&A, 3, "0123456789"), REASM_EV_CAP | REASM_EV_GAP);
    ck_assert_str_eq(TA.s, "[2]0123456789");
    finish();
}
END_TEST

START_TEST(test_cap_segment_count)
{
    init(1000, 2, 1000, 64);
    reasm_syn(&A, 0);
    put(&A, 1, "ab");
    put(&A, 10, "f");
    put(&A, 12, "g");
    ck_assert_uint_eq(A.nsegs, 2);
    ck_assert_uint_eq(put(&A, 14, "h"), REASM_EV_CAP | REASM_EV_GAP);
    ck_assert_str_eq(TA.s, "ab[7]f[1]g[1]h");
    ck_assert_uint_eq(G.stats.cap_flushes, 1);
    /* a segment spanning a hole and a held one splits into pieces, each counted */
    put(&A, 20, "x");
    ck_assert_uint_eq(put(&A, 16, "pq"), REASM_EV_OUT_OF_ORDER);
    ck_assert_uint_eq(put(&A, 17, "qrsxyz"), REASM_EV_CAP | REASM_EV_GAP | REASM_EV_RETRANSMIT);
    ck_assert_str_eq(TA.s, "ab[7]f[1]g[1]h[1]pqrsxyz");
    ck_assert_uint_eq(G.stats.cap_flushes, 2);
    finish();
}
END_TEST

START_TEST(test_cap_global)
{
    init(100, 100, 6, 64);
    reasm_syn(&A, 0);
    reasm_syn(&B, 1000);
    put(&A, 5, "aaaa");  /* A holds 4 */
    put(&B, 1003, "bb"); /* B holds 2: the worker is at 6 */
    ck_assert_uint_eq(G.stats.held_bytes, 6);
    /* B needs one more byte: B flushes its own data; A keeps its held data */
    ck_assert_uint_eq(put(&B, 1010, "c"), REASM_EV_CAP | REASM_EV_GAP);
    ck_assert_str_eq(TB.s, "[2]bb[5]c");
    ck_assert_uint_eq(A.held_bytes, 4);
    ck_assert_uint_eq(G.stats.held_bytes, 4);
    ck_assert_str_eq(TA.s, "");
    /* A fits again (4 + 2 = 6) */
    ck_assert_uint_eq(put(&A, 20, "zz"), REASM_EV_OUT_OF_ORDER);
    ck_assert_uint_eq(G.stats.held_bytes, 6);
    /* freeing A returns its bytes to the worker */
    reasm_dir_free(&G, &A);
    ck_assert_uint_eq(G.stats.held_bytes, 0);
    ck_assert_str_eq(TA.s, "");
    finish();
}
END_TEST

START_TEST(test_flush_with_holes)
{
    init_default();
    reasm_syn(&A, 0);
    put(&A, 1, "ab");
    put(&A, 5, "cc");
    put(&A, 9, "ee");
    ck_assert_uint_eq(flush(&A), REASM_EV_GAP);
    ck_assert_str_eq(TA.s, "ab[2]cc[2]ee");
    ck_assert_uint_eq(G.stats.held_bytes, 0);
    ck_assert_ptr_null(A.hist);
    /* flushing again is harmless */
    ck_assert_uint_eq(flush(&A), 0);
    ck_assert_str_eq(TA.s, "ab[2]cc[2]ee");
    finish();

    /* with a FIN seen beyond the last data, the missing end is a gap too */
    init_default();
    reasm_syn(&A, 0);
    put(&A, 1, "ab");
    put(&A, 5, "cc");
    reasm_fin(&A, 20);
    ck_assert_uint_eq(flush(&A), REASM_EV_GAP);
    ck_assert_str_eq(TA.s, "ab[2]cc[13]");
    ck_assert_uint_eq(A.next_seq, 20);
    finish();
}
END_TEST

START_TEST(test_fin)
{
    init_default();
    reasm_syn(&A, 0);
    put(&A, 1, "abc");
    reasm_fin(&A, 4);
    reasm_fin(&A, 99); /* a second, different FIN does not move the end */
    ck_assert_uint_eq(A.fin_seq, 4);
    ck_assert_uint_eq(ack(&A, 5), 0);
    ck_assert_uint_eq(flush(&A), 0);
    ck_assert_str_eq(TA.s, "abc");
    ck_assert_uint_eq(G.stats.gaps, 0);
    finish();

    /* FIN arrives before the last data segment */
    init_default();
    reasm_syn(&A, 0);
    put(&A, 1, "ab");
    reasm_fin(&A, 6);
    put(&A, 4, "de");
    ck_assert_uint_eq(put(&A, 3, "c"), 0);
    ck_assert_uint_eq(ack(&A, 7), 0);
    ck_assert_uint_eq(flush(&A), 0);
    ck_assert_str_eq(TA.s, "abcde");
    finish();
}
END_TEST

START_TEST(test_zero_length)
{
    init_default();
    ck_assert_uint_eq(reasm_data(&G, &A, 77, (const uint8_t *)"", 0, rec_out, &TA), 0);
    ck_assert_uint_eq(A.state, REASM_NONE); /* a pure ACK does not start the stream */
    ck_assert_uint_eq(G.stats.segments, 0);
    reasm_syn(&A, 0);
    put(&A, 1, "ab");
    ck_assert_uint_eq(reasm_data(&G, &A, 3, NULL, 0, rec_out, &TA), 0);
    ck_assert_uint_eq(reasm_data(&G, &A, 50, (const uint8_t *)"x", 0, rec_out, &TA), 0);
    ck_assert_int_eq(TA.calls, 1);
    ck_assert_uint_eq(A.next_seq, 3);
    ck_assert_ptr_null(A.segs);
    finish();
}
END_TEST

START_TEST(test_garbage)
{
    init_default();
    reasm_syn(&A, 0);
    put(&A, 1, "abc");
    ck_assert_uint_eq(put(&A, 4 + 0x50000000u, "zzz"), REASM_EV_GARBAGE);    /* 1.25 GiB ahead */
    ck_assert_uint_eq(put(&A, 4 - 0x60000000u, "zzz"), REASM_EV_GARBAGE);    /* 1.5 GiB behind */
    ck_assert_uint_eq(put(&A, 4 + 0x80000000u, "zzz"), REASM_EV_GARBAGE);    /* opposite side */
    ck_assert_uint_eq(put(&A, 4 + (1u << 30) - 2, "zzz"), REASM_EV_GARBAGE); /* ends past */
    ck_assert_uint_eq(G.stats.garbage, 4);
    ck_assert_ptr_null(A.segs);
    /* right at the edge of the window: held */
    ck_assert_uint_eq(put(&A, 4 + (1u << 30) - 2, "zz"), REASM_EV_OUT_OF_ORDER);
    ck_assert_uint_eq(A.held_bytes, 2);
    ck_assert_str_eq(TA.s, "abc");
    ck_assert_uint_eq(A.next_seq, 4);
    put(&A, 4, "d");
    ck_assert_str_eq(TA.s, "abcd");
    finish();
}
END_TEST

/* A SYN whose ISN is nowhere near the data (stale, or forged before the real one) must
 * not blind the direction: the first data re-anchors the stream. Once data has been
 * seen, far segments are garbage. */
START_TEST(test_bogus_syn_reanchors)
{
    init_default();
    reasm_syn(&A, 0x80000000u);
    reasm_syn(&A, 99); /* the real SYN is ignored, as any SYN once started */
    ck_assert_uint_eq(A.next_seq, 0x80000001u);
    ck_assert_uint_eq(put(&A, 100, "abc"), 0);
    ck_assert_uint_eq(put(&A, 103, "def"), 0);
    ck_assert_str_eq(TA.s, "abcdef");
    ck_assert_uint_eq(G.stats.garbage, 0);
    ck_assert_uint_eq(put(&A, 0x80000001u, "xyz"), REASM_EV_GARBAGE);
    ck_assert_uint_eq(G.stats.garbage, 1);
    ck_assert_str_eq(TA.s, "abcdef");
    finish();

    /* a SYN a little ahead of the real one: data before ISN + 1 cannot follow it */
    init_default();
    reasm_syn(&A, 5000);
    ck_assert_uint_eq(put(&A, 4000, "abc"), 0);
    ck_assert_uint_eq(put(&A, 4003, "d"), 0);
    ck_assert_str_eq(TA.s, "abcd");
    ck_assert_uint_eq(put(&A, 3990, "zz"), REASM_EV_RETRANSMIT); /* once started: old */
    ck_assert_str_eq(TA.s, "abcd");
    finish();

    /* but a keepalive byte at ISN (nothing sent yet) is not data */
    init_default();
    reasm_syn(&A, 5000);
    ck_assert_uint_eq(put(&A, 5000, "!"), REASM_EV_RETRANSMIT);
    ck_assert_uint_eq(A.data_seen, 0);
    ck_assert_uint_eq(put(&A, 5001, "a"), 0);
    ck_assert_str_eq(TA.s, "a");
    finish();
}
END_TEST

START_TEST(test_free_returns_held)
{
    init_default();
    reasm_syn(&A, 0);
    reasm_syn(&B, 500);
    put(&A, 10, "0123456789");
    put(&A, 30, "abc");
    put(&B, 600, "xyz");
    put(&A, 1, "a");
    ck_assert_uint_eq(G.stats.held_bytes, 16);
    ck_assert_uint_eq(A.held_bytes, 13);
    ck_assert_uint_eq(A.nsegs, 2);
    reasm_dir_free(&G, &A);
    ck_assert_uint_eq(G.stats.held_bytes, 3);
    ck_assert_uint_eq(A.nsegs, 0);
    ck_assert_uint_eq(A.held_bytes, 0);
    ck_assert_ptr_null(A.tail);
    ck_assert_str_eq(TA.s, "a"); /* nothing delivered by a free */
    ck_assert_uint_eq(flush(&B), REASM_EV_GAP);
    ck_assert_str_eq(TB.s, "[99]xyz");
    ck_assert_uint_eq(G.stats.held_bytes, 0);
    finish();
}
END_TEST

/* The receiver's window: B acknowledges A's data; A's segments may start at most at
 * B's ack + window. Both SYNs without Window Scale: windows are bytes. */
START_TEST(test_window_beyond)
{
    init_default();
    reasm_syn(&A, 0);
    reasm_wscale(&A, &B, -1);
    reasm_syn(&B, 1000);
    reasm_wscale(&B, &A, -1);
    reasm_window(&A, &B, 1, 100, 1); /* SYN-ACK: ack 1, window 100 */
    ck_assert_uint_eq(A.win_edge, 101);
    put(&A, 1, "abc");
    ck_assert_uint_eq(put(&A, 50, "x"), REASM_EV_OUT_OF_ORDER);  /* in the window */
    ck_assert_uint_eq(put(&A, 101, "y"), REASM_EV_OUT_OF_ORDER); /* at the edge (probe) */
    ck_assert_uint_eq(put(&A, 102, "z"), REASM_EV_BEYOND_WINDOW);
    ck_assert_uint_eq(put(&A, 5000, "far"), REASM_EV_BEYOND_WINDOW);
    ck_assert_uint_eq(G.stats.beyond_window, 2);
    ck_assert_uint_eq(G.stats.garbage, 0);
    ck_assert_uint_eq(A.nsegs, 2); /* x and y only */
    /* an older, smaller edge (reordered ACK) does not pull the edge back */
    reasm_window(&A, &B, 4, 10, 0);
    ck_assert_uint_eq(A.win_edge, 101);
    /* the window opens: the same far segment is now taken */
    reasm_window(&A, &B, 4, 10000, 0);
    ck_assert_uint_eq(A.win_edge, 10004);
    ck_assert_uint_eq(put(&A, 5000, "far"), REASM_EV_OUT_OF_ORDER);
    ck_assert_uint_eq(flush(&A), REASM_EV_GAP);
    ck_assert_str_eq(TA.s, "abc[46]x[50]y[4898]far");
    finish();

    /* data at next_seq is never refused, even past a stale edge (ACKs not captured) */
    init_default();
    reasm_syn(&A, 0);
    put(&A, 1, "a");
    ck_assert_uint_eq(put(&A, 500, "z"), REASM_EV_OUT_OF_ORDER); /* no edge known yet */
    reasm_window(&A, &B, 1, 100, 0);                             /* edge 101 */
    char big[201];
    memset(big, 'd', 200);
    big[200] = 0;
    ck_assert_uint_eq(put(&A, 2, big), 0);
    ck_assert_uint_eq(put(&A, 202, "e"), 0); /* at next_seq, past the edge, data held */
    ck_assert_uint_eq(A.next_seq, 203);
    ck_assert_uint_eq(G.stats.beyond_window, 0);
    finish();

    /* before the receiver has acknowledged anything, there is no edge to check */
    init_default();
    reasm_syn(&A, 0);
    put(&A, 1, "a");
    ck_assert_uint_eq(put(&A, 900000, "b"), REASM_EV_OUT_OF_ORDER);
    finish();
}
END_TEST

/* The edge and the segments across 2^32. */
START_TEST(test_window_wrap)
{
    init_default();
    reasm_syn(&A, 0xFFFFFF00u);
    reasm_wscale(&A, &B, -1);
    reasm_window(&A, &B, 0xFFFFFF01u, 0x200, 0); /* edge 0x101, past the wrap */
    ck_assert_uint_eq(A.win_edge, 0x101);
    put(&A, 0xFFFFFF01u, "ab");
    ck_assert_uint_eq(put(&A, 0xFFFFFFF0u, "c"), REASM_EV_OUT_OF_ORDER); /* before the wrap */
    ck_assert_uint_eq(put(&A, 0x80, "d"), REASM_EV_OUT_OF_ORDER);        /* after it */
    ck_assert_uint_eq(put(&A, 0x101, "e"), REASM_EV_OUT_OF_ORDER);       /* at the edge */
    ck_assert_uint_eq(put(&A, 0x102, "f"), REASM_EV_BEYOND_WINDOW);
    ck_assert_uint_eq(put(&A, 0x7FFFFFFFu, "g"), REASM_EV_GARBAGE); /* far: garbage first */
    ck_assert_uint_eq(G.stats.beyond_window, 1);
    ck_assert_uint_eq(A.nsegs, 3);
    finish();
}
END_TEST

/* Window Scale (RFC 7323): windows are shifted only when both SYNs carried the option;
 * a SYN's own window never is; an unknown scale (no SYN seen) counts as 14. */
START_TEST(test_window_scale)
{
    /* both SYNs with shift 7: window 100 is 12800 bytes */
    init_default();
    reasm_syn(&A, 0);
    reasm_wscale(&A, &B, 2);
    reasm_syn(&B, 0);
    reasm_wscale(&B, &A, 7);
    reasm_window(&A, &B, 1, 100, 1); /* the SYN-ACK's window: not scaled */
    ck_assert_uint_eq(A.win_edge, 101);
    reasm_window(&A, &B, 1, 100, 0);
    ck_assert_uint_eq(A.win_edge, 1 + 12800);
    put(&A, 1, "a");
    ck_assert_uint_eq(put(&A, 12801, "b"), REASM_EV_OUT_OF_ORDER);
    ck_assert_uint_eq(put(&A, 12802, "c"), REASM_EV_BEYOND_WINDOW);
    reasm_window(&B, &A, 1, 100, 0); /* A's own shift is 2 */
    ck_assert_uint_eq(B.win_edge, 1 + 400);
    finish();

    /* one SYN without the option: no scaling either way */
    init_default();
    reasm_syn(&A, 0);
    reasm_wscale(&A, &B, 7);
    reasm_syn(&B, 0);
    reasm_wscale(&B, &A, -1);
    reasm_window(&A, &B, 1, 100, 0);
    reasm_window(&B, &A, 1, 100, 0);
    ck_assert_uint_eq(A.win_edge, 101);
    ck_assert_uint_eq(B.win_edge, 101);
    put(&A, 1, "a");
    ck_assert_uint_eq(put(&A, 12000, "b"), REASM_EV_BEYOND_WINDOW);
    finish();

    /* mid-stream: no SYN seen, the scale is unknown: the largest (14) */
    init_default();
    reasm_window(&A, &B, 1000, 100, 0);
    ck_assert_uint_eq(A.win_edge, 1000 + (100u << 14));
    put(&A, 1000, "a");
    ck_assert_uint_eq(put(&A, 1000 + 1000000, "b"), REASM_EV_OUT_OF_ORDER);
    ck_assert_uint_eq(put(&A, 1000 + (100u << 14) + 1, "c"), REASM_EV_BEYOND_WINDOW);
    finish();

    /* only the sender's SYN seen, with shift 3: its windows count as shifted by 3 (if
     * the other SYN had no option they are smaller: a bound); shifts above 14 are 14 */
    init_default();
    reasm_wscale(&B, &A, 3);
    reasm_window(&A, &B, 1, 100, 0);
    ck_assert_uint_eq(A.win_edge, 801);
    reasm_wscale(&A, &B, 20);
    reasm_window(&B, &A, 1, 1, 0);
    ck_assert_uint_eq(B.win_edge, 1 + (1u << 14));
    finish();
}
END_TEST

/* A SYN's Window Scale option, read from the frame through the cursor. */
START_TEST(test_tcp_wscale_option)
{
    /* Ethernet, IPv4 10.0.0.1 -> 10.0.0.2, TCP SYN 40000 -> 502, 20 bytes of options:
     * MSS 1460, SACK permitted, timestamps, NOP, window scale 7 */
    static const char *syn = "000000000002 000000000001 0800"
                             "4500003c 00014000 40060000 0a000001 0a000002"
                             "9c4001f6 00000000 00000000 a002ffff 00000000"
                             "020405b4 0402 080a0000000100000000 01 030307";
    uint8_t f[128];
    struct decoded d;
    size_t n = hex_to_bytes(syn, f, sizeof(f));
    ck_assert_uint_eq(n, 74);
    ck_assert_int_eq(decode_frame(&d, 1, f, (uint32_t)n), DECODED_IP);
    ck_assert_int_eq(tcp_wscale(f, (uint32_t)n, &d), 7);
    f[73] = 20; /* more than RFC 7323 allows: 14 */
    ck_assert_int_eq(tcp_wscale(f, (uint32_t)n, &d), 14);
    f[71] = 1; /* the option replaced by NOPs: none */
    f[72] = 1;
    f[73] = 1;
    ck_assert_int_eq(tcp_wscale(f, (uint32_t)n, &d), -1);
    f[54] = 2; /* MSS with length 0: malformed */
    f[55] = 0;
    ck_assert_int_eq(tcp_wscale(f, (uint32_t)n, &d), -1);
    f[54] = 3; /* window scale with its length running past the options */
    f[55] = 40;
    ck_assert_int_eq(tcp_wscale(f, (uint32_t)n, &d), -1);
}
END_TEST

static Suite *reassembly_suite(void)
{
    Suite *s = suite_create("reassembly");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_in_order);
    tcase_add_loop_test(tc, test_out_of_order_permutations, 0, 6);
    tcase_add_test(tc, test_retransmit_identical);
    tcase_add_test(tc, test_overlap_changed_delivered);
    tcase_add_test(tc, test_overlap_changed_held);
    tcase_add_test(tc, test_overlap_history_limits);
    tcase_add_test(tc, test_partial_overlaps);
    tcase_add_test(tc, test_wrap_in_order);
    tcase_add_test(tc, test_wrap_out_of_order);
    tcase_add_test(tc, test_midstream_pickup);
    tcase_add_test(tc, test_gap_via_ack);
    tcase_add_test(tc, test_ack_for_unseen_data);
    tcase_add_test(tc, test_gap_resets_history);
    tcase_add_test(tc, test_cap_per_dir_bytes);
    tcase_add_test(tc, test_cap_segment_count);
    tcase_add_test(tc, test_cap_global);
    tcase_add_test(tc, test_flush_with_holes);
    tcase_add_test(tc, test_fin);
    tcase_add_test(tc, test_zero_length);
    tcase_add_test(tc, test_garbage);
    tcase_add_test(tc, test_bogus_syn_reanchors);
    tcase_add_test(tc, test_free_returns_held);
    tcase_add_test(tc, test_window_beyond);
    tcase_add_test(tc, test_window_wrap);
    tcase_add_test(tc, test_window_scale);
    tcase_add_test(tc, test_tcp_wscale_option);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(reassembly_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
