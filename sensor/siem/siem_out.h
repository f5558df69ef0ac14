/* siem_out.h - where the SIEM connector writes: stdout, a file, UDP or TCP syslog.
 *
 * A record is accepted when it is in the file and flushed (fwrite + fflush), sent as one
 * UDP datagram, or fully handed to the kernel on a TCP connection; only then does the
 * caller XACK it. TCP syslog is framed by octet counting (RFC 6587 3.4.1:
 * "LEN SP MSG"), other formats on TCP by a newline. */
#ifndef OTS_SIEM_OUT_H
#define OTS_SIEM_OUT_H

#include <stdio.h>
#include <stddef.h>

#include "siem_format.h"

enum siem_out_kind { SIEM_OUT_FILE = 0, SIEM_OUT_UDP, SIEM_OUT_TCP };

struct siem_out {
    enum siem_out_kind kind;
    char path[1024]; /* "-" = stdout */
    char host[256], port[8];
    int octet_count; /* TCP: RFC 6587 octet counting instead of newlines */
    FILE *f;
    int fd;
    struct sbuf pend;        /* file, TCP: records of the batch not yet written */
    unsigned long truncated; /* UDP datagrams cut to the maximum size */
};

/* "-", "FILE", "udp://host:port" or "tcp://host:port" ([v6] in brackets). 0 or -1 + err. */
int siem_out_parse(struct siem_out *o, const char *spec, char *err, size_t errlen);
int siem_out_open(struct siem_out *o, char *err, size_t errlen);
/* Queues (file, TCP) or sends (UDP) one record. 0 or -1 + err. */
int siem_out_write(struct siem_out *o, const char *rec, size_t n, char *err, size_t errlen);
/* Makes everything written so far accepted: fwrite + fflush, or the TCP send. 0 or -1. */
int siem_out_flush(struct siem_out *o, char *err, size_t errlen);
void siem_out_close(struct siem_out *o);

#endif
