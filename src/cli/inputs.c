/* inputs.c - the list of documents of one invocation. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_inputs_add(struct cli_inputs *in, const char *path, const char *rel,
		   int stream)
{
	struct cli_input *e;

	if (in->n == in->alloc) {
		size_t na = in->alloc ? in->alloc * 2 : 256;
		struct cli_input *v = realloc(in->v, na * sizeof(*v));

		if (!v)
			return -1;
		in->v = v;
		in->alloc = na;
	}
	e = &in->v[in->n];
	e->path = strdup(path);
	e->rel = strdup(rel ? rel : path);
	e->stream = stream;
	if (!e->path || !e->rel) {
		free(e->path);
		free(e->rel);
		return -1;
	}
	in->n++;
	return 0;
}

void cli_inputs_release(struct cli_inputs *in)
{
	size_t i;

	for (i = 0; i < in->n; i++) {
		free(in->v[i].path);
		free(in->v[i].rel);
	}
	free(in->v);
	memset(in, 0, sizeof(*in));
}
