/* main.c - the dedup command (work in progress skeleton). */
#include <stdio.h>

#include "dedup/common.h"

int main(void)
{
	printf("dedup %s\n", DEDUP_VERSION_STRING);
	return 0;
}
