/* redis_url.h - where the alerts go: redis://[user:password@]host[:port][/db], unix:/path, none.
 *
 * TLS (rediss://) is refused: hiredis 0.14 has none. Run a local stunnel or a local
 * replica instead (docs/redis.md). A password may also come from a file
 * (redis.password_file), so it never has to be on the command line. */
#ifndef OTS_REDIS_URL_H
#define OTS_REDIS_URL_H

#include <stddef.h>

enum redis_url_kind { REDIS_URL_NONE = 0, REDIS_URL_TCP, REDIS_URL_UNIX };

struct redis_url {
    enum redis_url_kind kind;
    char host[256]; /* TCP: name or address (IPv6 without brackets) */
    int port;       /* TCP: 6379 unless given */
    char path[512]; /* unix socket */
    char user[128]; /* ACL user ("" = the default user) */
    char password[256];
    int has_password;
    int db; /* SELECT db; 0 unless given */
};

/* Parses s into u. Returns 0, or -1 with a message in err. "none" and "" give
 * REDIS_URL_NONE. User and password may be percent-encoded (%40 for '@'). */
int redis_url_parse(const char *s, struct redis_url *u, char *err, size_t errlen);

/* Reads a password from the first line of a file (trailing CR/LF and blanks cut).
 * Returns 0, or -1 with a message in err (missing file, empty, too long). */
int redis_password_file_read(const char *path, char *out, size_t outlen, char *err, size_t errlen);

/* "host:port", "[v6]:port" or "unix:/path" for log lines (never the password). */
void redis_url_describe(const struct redis_url *u, char *out, size_t outlen);

#endif
