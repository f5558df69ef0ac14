/* main.c - placeholder until the engine lands. */
#include <stdio.h>

int main(void)
{
    fputs("otsensor: engine not built yet\n", stderr);
    return 1;
}
