/* ftp_names.h - FTP file names, from the control connection to the data connection.
 *
 * The control dissector (ftp.c) sees where a transfer's data connection will be
 * accepted (PASV/EPSV reply: the server's address and port; PORT/EPRT: the
 * client's) and which command uses it (STOR/RETR/LIST ... and its argument). It
 * publishes (listening endpoint -> command, name, which address sends the bytes)
 * into its worker's table, and ftp_data.c looks its flow's accepting endpoint up
 * when a direction's first bytes come (and again at the end if that found nothing).
 * The capture threads send every flow between two addresses to the same worker
 * (capture.c), so the control and data connections of a transfer meet in one
 * worker, in packet order: no table shared between threads, and the same names
 * with any -w. Entries are few (one per transfer) and short-lived: a fixed array,
 * direct-mapped by endpoint (a newer entry overwrites). */
#ifndef OTS_FTP_NAMES_H
#define OTS_FTP_NAMES_H

#include <stdint.h>

#include "../sensor/event.h"

#define FTPN_NAME_MAX 64
#define FTPN_SLOTS    512
#define FTPN_MAX_AGE  (600ull * 1000000ull) /* a command older than this names nothing */

struct ftpn_entry {
    struct ev_addr addr; /* the data connection's accepting end */
    uint16_t port;
    struct ev_addr sender; /* the address that sends the file's bytes */
    uint64_t ts_us;        /* packet time of the command */
    char cmd[8];           /* STOR, RETR, LIST ... */
    char name[FTPN_NAME_MAX];
};

struct ftpn_table;

/* A worker's table (~70 KiB), or NULL when out of memory (then nothing is named). */
struct ftpn_table *ftpn_new(void);
void ftpn_free(struct ftpn_table *t);
/* Publishes a transfer (control side). A NULL table keeps nothing. */
void ftpn_publish(struct ftpn_table *t, const struct ftpn_entry *e);
/* Finds the transfer announced for the data connection accepted at addr:port
 * whose bytes sender sends, at packet time now_us (not before its command, not
 * FTPN_MAX_AGE after); it is claimed: a later data connection to the same
 * endpoint does not take the same name. Returns 1 and fills out when found. */
int ftpn_claim(struct ftpn_table *t, const struct ev_addr *addr, uint16_t port,
               const struct ev_addr *sender, uint64_t now_us, struct ftpn_entry *out);
/* Whether a transfer waits for a data connection accepted at addr:port (not claimed). */
int ftpn_announced(const struct ftpn_table *t, const struct ev_addr *addr, uint16_t port,
                   uint64_t now_us);

#endif
