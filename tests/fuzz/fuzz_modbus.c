/* fuzz_modbus.c - libFuzzer harness: the Modbus dissector fed as the engine feeds it.
 *
 * Input: fuzz_stream.h format 2, TCP only, one-byte chunk lengths. Chunk flags bit 1
 * puts port 502 on the server side, bit 2 on the client side (the dissector then
 * takes the direction from the ports), neither: no 502 at all. */
#include "fuzz_stream.h"

extern const struct dissector modbus_dissector;

static void fuzz_modbus_ports(struct ev_net *net, int to_server, uint8_t flags)
{
    int dir = !to_server; /* 0: client -> server */
    net->src_port = (flags & 2) && dir == 1 ? 502 : (flags & 4) && dir == 0 ? 502 : 40000;
    net->dst_port = (flags & 2) && dir == 0 ? 502 : (flags & 4) && dir == 1 ? 502 : 40001;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_run_chunks(&modbus_dissector, data, size, FUZZ_LEN_U8, 0, fuzz_modbus_ports);
}
