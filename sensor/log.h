/* log.h - one-line messages to stderr, prefixed "otsensor: ". */
#ifndef OTS_LOG_H
#define OTS_LOG_H

#if defined(__GNUC__)
#define OTS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define OTS_PRINTF(a, b)
#endif

void log_error(const char *fmt, ...) OTS_PRINTF(1, 2);
void log_warn(const char *fmt, ...) OTS_PRINTF(1, 2);
void log_info(const char *fmt, ...) OTS_PRINTF(1, 2);
void log_set_quiet(int quiet);

#endif
