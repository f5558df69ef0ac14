/* floor: the cheapest possible pass over a capture, a bare libpcap read loop.
 *
 * The benchmark's floor: no decoding at all, just pcap_next_ex() over every record.
 * Prints "packets: N" and "bytes: N" (sum of original frame lengths).
 */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    char err[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t pkts = 0, bytes = 0, sum = 0;
    int rc;
    if (argc != 2) {
        fprintf(stderr, "usage: floor FILE\n");
        return 1;
    }
    pcap_t *p = pcap_open_offline(argv[1], err);
    if (!p) {
        fprintf(stderr, "floor: %s\n", err);
        return 2;
    }
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        pkts++;
        bytes += h->len;
        sum += data[h->caplen ? h->caplen - 1 : 0]; /* touch the data, as any reader must */
    }
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "floor: %s\n", pcap_geterr(p));
        pcap_close(p);
        return 2;
    }
    pcap_close(p);
    printf("packets: %llu\nbytes: %llu\nchecksum: %llu\n", (unsigned long long)pkts,
           (unsigned long long)bytes, (unsigned long long)sum);
    return 0;
}
